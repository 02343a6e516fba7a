#include <errno.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "hashslot.h"
#include "log.h"
#include "store.h"
#include "util.h"

void
app_init(struct app *app, const struct config *cfg, struct stats *stats,
    int worker)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->stats = stats;
	app->worker = worker;
	app->policy.lifetime = cfg->session_lifetime;
	app->policy.max_lifetime = cfg->session_max_lifetime;
	app->pwparams.log2n = cfg->scrypt_log2n;
	app->pwparams.r = cfg->scrypt_r;
	app->pwparams.p = cfg->scrypt_p;
}

struct store *
app_store(struct app *app)
{
	char	 err[512];

	if (app->store != NULL)
		return app->store;
	if ((app->store = store_open(app->cfg->database, app->store_migrate,
	    err, sizeof(err))) == NULL)
		log_error("%s", err);
	return app->store;
}

/* The memcached tag key: derived from, never equal to, the secret. Asked
 * for when memcached is first needed, so a check the host table answers
 * does not open the database for it. */
static int
app_cache_key(void *arg, unsigned char *key)
{
	struct app		*app = arg;
	const unsigned char	*secret;

	if ((secret = app_secret(app)) == NULL ||
	    crypto_hmac_sha256(secret, 32, "authgw cache entry tag v1", 25,
	    key) != 0)
		return -1;
	return 0;
}

/* With several hosts, the memcached key namespace is the authority's. */
static int
app_namespace_get(void *arg, uint64_t *ns)
{
	struct store	*st = app_store(arg);

	return st != NULL && store_namespace_get(st, ns) == STORE_OK ? 0 : -1;
}

static int
app_namespace_bump(void *arg, uint64_t *ns)
{
	struct store	*st = app_store(arg);

	return st != NULL && store_namespace_bump(st, ns) == STORE_OK ? 0 : -1;
}

static const struct cache_authority app_authority = {
	app_namespace_get,
	app_namespace_bump
};

struct cache *
app_cache(struct app *app)
{
	if (app->cache == NULL) {
		app->cache = cache_open_keyfn(app->cfg, app->stats,
		    app_cache_key, app);
		cache_set_authority(app->cache, &app_authority, app);
	}
	return app->cache;
}

const unsigned char *
app_secret(struct app *app)
{
	struct store	*st;

	if (app->have_secret)
		return app->secret;
	if ((st = app_store(app)) == NULL ||
	    store_secret_get(st, app->secret) != STORE_OK)
		return NULL;
	app->have_secret = 1;
	return app->secret;
}

int
app_hash_acquire(struct app *app, struct hashslot_ticket *t)
{
	char	 path[CONFIG_PATH_MAX + 32], err[512];
	int	 slots, queue;

	t->slot = -1;
	t->queued = 0;
	if (app->hashslot == NULL) {
		if (hashslot_lockpath(config_host_base(app->cfg), path,
		    sizeof(path)) == -1) {
			log_error("password hashing: lock file path too long");
			return -1;
		}
		/* Workers leave one of them for checks; CGI runs and the
		 * command line are single processes. */
		hashslot_bound(app->cfg->hash_slots, app->cfg->hash_queue,
		    app->worker >= 0 ? app->cfg->workers : 1, &slots, &queue);
		if ((app->hashslot = hashslot_open(path, slots, queue,
		    HASHSLOT_WAIT_MS,
		    config_files_owner(app->cfg), err,
		    sizeof(err))) == NULL) {
			log_error("password hashing refused: %s", err);
			return -1;
		}
	}
	switch (hashslot_acquire(app->hashslot, t)) {
	case HASHSLOT_OK:
		return 0;
	case HASHSLOT_ERROR:
		log_error("password hashing: lock file: %s", strerror(errno));
		return -1;
	default:
		return -1;	/* busy, or waited long enough */
	}
}

void
app_hash_release(struct app *app, struct hashslot_ticket *t)
{
	if (app->hashslot != NULL)
		hashslot_release(app->hashslot, t);
}

void
app_free(struct app *app)
{
	hashslot_close(app->hashslot);
	app->hashslot = NULL;
	store_close(app->store);
	app->store = NULL;
	cache_close(app->cache);
	app->cache = NULL;
	crypto_cleanse(app->secret, sizeof(app->secret));
	app->have_secret = 0;
}
