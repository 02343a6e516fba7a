/*
 * Fixtures for the unit tests of the upper layers (session, cache, csrf,
 * router): a temporary directory with a real SQLite database, a config
 * with the defaults, a serving-process state (struct app) over them, and a
 * fake transport (struct http_io) whose parameters and body the test sets
 * and whose output it reads back.
 */
#ifndef AUTHGW_UNITFIX_H
#define AUTHGW_UNITFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "util.h"

struct stats;

struct unitfix {
	char		 dir[64];	/* the temporary directory */
	struct config	 cfg;
	struct stats	*stats;		/* private (not shared) */
	struct app	 app;
};

/*
 * Make a temporary directory with authgw.db in it, cfg = the defaults
 * (database in the directory, www_dir the source tree's www/, the host
 * table and memcached off) overridden by kv (NULL, or "key", "value"
 * pairs ending with NULL, as in a config file), the schema migrated, and
 * app initialised on them. Returns 0 or -1.
 */
int	unitfix_setup(struct unitfix *, const char *const *kv);
/* Close the app and remove every file of the directory. */
void	unitfix_teardown(struct unitfix *);

/*
 * For cmocka fixtures: *state = a new unitfix set up with kv (0), or
 * everything undone (-1); unitfix_free tears it down and frees it.
 */
int	unitfix_new(void **state, const char *const *kv);
int	unitfix_free(void **state);

/* A NULL-terminated list of request parameters for a fake transport. */
#define UNITFIX_PARAMS_MAX	32
struct unitfix_params {
	const char	*v[UNITFIX_PARAMS_MAX + 1];
	size_t		 n;
};

/* Add name = value (nothing for a NULL value); aborts when full. */
void	unitfix_param(struct unitfix_params *, const char *name,
	    const char *value);

/* A user added directly in the store; returns its id (asserts on error). */
int64_t	unitfix_user(struct unitfix *, const char *email, const char *role,
	    int verified);

/* A memcached this program started (pid 0: none running). */
struct unitfix_mcd {
	pid_t		 pid;
	char		 addr[32];	/* "127.0.0.1:PORT" */
};

/*
 * Start a memcached on a free loopback port (-U 0; as root it runs as
 * nobody) and wait until it listens. 0, or -1 when memcached is not
 * installed or would not start (the caller skips).
 */
int	unitfix_mcd_start(struct unitfix_mcd *);
/* Stop it by its pid (SIGTERM) and reap it; nothing if not running. */
void	unitfix_mcd_stop(struct unitfix_mcd *);

/* A fake transport. */
struct fake_io {
	const char *const *params;	/* "NAME", "value", ..., NULL */
	const char	*body;		/* request body, or NULL */
	size_t		 body_len;
	size_t		 body_off;
	int		 fail_write;	/* set: every write fails */
	struct buf	 out;		/* what was written */
	struct http_io	 io;
};

/* Set up f with params (NULL-terminated name/value pairs) and body. */
void	fakeio_init(struct fake_io *, const char *const *params,
	    const char *body);
void	fakeio_free(struct fake_io *);

/*
 * The value of header name in what was written (the CGI-style head up to
 * the blank line), copied into out; 1 if found, 0 if not.
 */
int	fakeio_header(const struct fake_io *, const char *name, char *out,
	    size_t outsz);
/* The status code written ("Status: NNN"), or -1. */
int	fakeio_status(const struct fake_io *);

#endif
