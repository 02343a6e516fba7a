/* The state of one serving process (a worker, or the CGI process). */
#ifndef AUTHGW_APP_H
#define AUTHGW_APP_H

#include "config.h"
#include "password.h"
#include "policy.h"

struct cache;
struct hashslot;
struct hashslot_ticket;
struct store;
struct stats;

struct app {
	const struct config	*cfg;
	struct store		*store;		/* opened lazily; NULL if unusable */
	int			 store_migrate;	/* opening it creates or migrates
						   the schema (CGI) */
	struct cache		*cache;		/* opened lazily; never NULL after */
	struct stats		*stats;
	int			 worker;	/* worker slot, -1 for CGI */
	struct policy		 policy;
	struct password_params	 pwparams;
	unsigned char		 secret[32];	/* CSRF key, from the store */
	int			 have_secret;
	struct hashslot		*hashslot;	/* opened lazily, after fork */
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
/*
 * A password-hashing slot of the host-wide bound (SPEC 5): 0 with a slot
 * held in *t (give it back with app_hash_release), or -1 with none held:
 * slots and queue full, the wait for a slot ran out, or the lock file is
 * unusable (logged). The caller answers 503 Retry-After: 1 and counts no
 * attempt.
 */
int		 app_hash_acquire(struct app *, struct hashslot_ticket *);
void		 app_hash_release(struct app *, struct hashslot_ticket *);
void		 app_free(struct app *);

#endif
