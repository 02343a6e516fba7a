/* The state of one serving process (a worker, or the CGI process). */
#ifndef AUTHGW_APP_H
#define AUTHGW_APP_H

#include "config.h"
#include "password.h"
#include "policy.h"

struct cache;
struct store;
struct stats;

struct app {
	const struct config	*cfg;
	struct store		*store;		/* opened lazily; NULL if unusable */
	struct cache		*cache;		/* opened lazily; never NULL after */
	struct stats		*stats;
	int			 worker;	/* worker slot, -1 for CGI */
	struct policy		 policy;
	struct password_params	 pwparams;
	unsigned char		 secret[32];	/* CSRF key, from the store */
	int			 have_secret;
};

/* Set up app for cfg; the store is opened on first use. */
void		 app_init(struct app *, const struct config *, struct stats *,
		    int worker);
/* The store, (re)opening it if needed; NULL when SQLite is unusable. */
struct store	*app_store(struct app *);
/* The session cache (its tiers may be off). */
struct cache	*app_cache(struct app *);
/* The CSRF key; NULL when the store is unusable. */
const unsigned char *app_secret(struct app *);
void		 app_free(struct app *);

#endif
