#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cacheentry.h"
#include "config.h"
#include "log.h"
#include "memc.h"
#include "shmcache.h"
#include "stats.h"
#include "util.h"

struct cache {
	const struct config	*cfg;
	struct stats		*stats;
	struct shmcache		*l1;
	struct memc		*mc;
	int			 mc_tried;	/* memcached opened (or not) */
	int			 have_key;
	cache_key_fn		 keyfn;
	void			*keyarg;
	unsigned char		 key[CACHEENTRY_KEY_LEN];
	struct buf		 val;
};

struct cache *
cache_open_keyfn(const struct config *cfg, struct stats *stats,
    cache_key_fn keyfn, void *arg)
{
	struct cache	*c = xcalloc(1, sizeof(*c));
	char		 path[CONFIG_PATH_MAX + 32], err[1024];

	c->cfg = cfg;
	c->stats = stats;
	c->keyfn = keyfn;
	c->keyarg = arg;
	if (cfg->cache_entries > 0) {
		if (config_cache_path(cfg, path, sizeof(path)) == -1)
			log_warn("session cache: its file's path is too long");
		else if ((c->l1 = shmcache_open(path, (size_t)cfg->cache_entries,
		    config_files_owner(cfg), err,
		    sizeof(err))) == NULL)
			log_warn("session cache off: %s", err);
	}
	return c;
}

struct cache *
cache_open(const struct config *cfg, struct stats *stats,
    const unsigned char *key)
{
	struct cache	*c = cache_open_keyfn(cfg, stats, NULL, NULL);

	if (key != NULL) {
		memcpy(c->key, key, sizeof(c->key));
		c->have_key = 1;
	}
	return c;
}

/*
 * memcached, opened at the first call that needs it (once: a failure is
 * logged and leaves it off for the life of the process); NULL when off.
 */
static struct memc *
cache_mc(struct cache *c)
{
	char	 err[1024];

	if (c->mc_tried)
		return c->mc;
	c->mc_tried = 1;
	if (c->cfg->memcached[0] == '\0')
		return NULL;
	/* Without the host table there is no shared namespace to abandon
	 * when an invalidation cannot reach memcached: stay with SQLite. */
	if (c->l1 == NULL) {
		log_error("memcached off: the host session table is unavailable");
		return NULL;
	}
	if (!c->have_key && c->keyfn != NULL &&
	    c->keyfn(c->keyarg, c->key) == 0)
		c->have_key = 1;
	if (!c->have_key) {
		log_error("memcached off: no key to tag entries (database?)");
		return NULL;
	}
	if ((c->mc = memc_open(c->cfg->memcached, err, sizeof(err))) == NULL)
		log_error("%s", err);
	return c->mc;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	shmcache_close(c->l1);
	memc_close(c->mc);
	buf_free(&c->val);
	crypto_cleanse(c->key, sizeof(c->key));
	free(c);
}

/* The memcached key of a token hash in the current namespace. */
static void
mc_key(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    char key[MEMC_KEY_MAX + 1])
{
	char	 hex[2 * CRYPTO_SHA256_LEN + 1];

	crypto_hex(hash, CRYPTO_SHA256_LEN, hex);
	(void)snprintf(key, MEMC_KEY_MAX + 1, "authgw:%016llx:%s",
	    (unsigned long long)shmcache_namespace(c->l1), hex);
}

/* An entry lives min(ttl, time to the session's expiry). */
static int64_t
valid_until(const struct session *se, int64_t now, int64_t ttl)
{
	int64_t	 t = now + ttl;

	return se->expires < t ? se->expires : t;
}

static int64_t
local_ttl(const struct cache *c)
{
	return c->cfg->cache_local_ttl < c->cfg->cache_ttl ?
	    c->cfg->cache_local_ttl : c->cfg->cache_ttl;
}

/* A memcached hit for hash under the current generation, or 0. */
static int
mc_get(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct session *se)
{
	char		 key[MEMC_KEY_MAX + 1];
	uint64_t	 gen;

	mc_key(c, hash, key);
	switch (memc_get(c->mc, key, CACHEENTRY_MAX, &c->val)) {
	case MEMC_OK:
		break;
	case MEMC_DOWN:
		stats_inc(c->stats, STAT_CACHE_ERRORS);
		return 0;
	default:
		return 0;
	}
	if (cacheentry_decode(c->val.data, c->val.len, hash, c->key, se,
	    &gen) == -1) {
		log_warn("memcached: forged, malformed or misplaced entry "
		    "ignored");
		stats_inc(c->stats, STAT_CACHE_ERRORS);
		return 0;
	}
	/* Loaded before the hash's last invalidation (left behind, or
	 * replayed): stale. */
	if (gen != shmcache_gen(c->l1, hash) || se->expires <= now)
		return 0;
	/* Under the generation it was loaded with: an invalidation since
	 * then leaves the copy unread. */
	shmcache_put(c->l1, se, now, valid_until(se, now, local_ttl(c)), gen);
	return 1;
}

int
cache_get(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct session *se)
{
	if (c->l1 != NULL && shmcache_get(c->l1, hash, now, se))
		return 1;
	return cache_mc(c) != NULL ? mc_get(c, hash, now, se) : 0;
}

uint64_t
cache_gen(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	return c->l1 != NULL ? shmcache_gen(c->l1, hash) : 0;
}

void
cache_put(struct cache *c, const struct session *se, int64_t now,
    uint64_t gen)
{
	char	 key[MEMC_KEY_MAX + 1];
	int64_t	 until = valid_until(se, now, c->cfg->cache_ttl);

	if (until <= now)
		return;
	if (c->l1 != NULL)
		shmcache_put(c->l1, se, now, valid_until(se, now,
		    local_ttl(c)), gen);
	if (cache_mc(c) == NULL ||
	    cacheentry_encode(se, gen, c->key, &c->val) == -1)
		return;
	mc_key(c, se->token_hash, key);
	/* Even if an invalidation came first, the entry carries the old
	 * generation and no reader accepts it. */
	if (memc_set(c->mc, key, c->val.data, c->val.len, until - now) ==
	    MEMC_DOWN)
		stats_inc(c->stats, STAT_CACHE_ERRORS);
}

/* 0 if this process reaches the host table (when one is configured). */
static int
tiers_reachable(const struct cache *c)
{
	return c->cfg->cache_entries == 0 || c->l1 != NULL ? 0 : -1;
}

int
cache_reachable(const struct cache *c)
{
	return tiers_reachable(c);
}

/* Delete a memcached entry: only for space, the generation already
 * refuses it, so a failure costs nothing but the count. */
static void
mc_del(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	char	 key[MEMC_KEY_MAX + 1];

	mc_key(c, hash, key);
	if (memc_del(c->mc, key) == MEMC_DOWN)
		stats_inc(c->stats, STAT_CACHE_ERRORS);
}

int
cache_drop(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	if (c->l1 != NULL)
		shmcache_drop(c->l1, hash);
	if (cache_mc(c) != NULL)
		mc_del(c, hash);
	return tiers_reachable(c);
}

int
cache_drop_user(struct cache *c, int64_t user_id,
    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n)
{
	size_t	 i;

	if (c->l1 != NULL)
		shmcache_drop_user(c->l1, user_id, hashes, n);
	for (i = 0; n > 0 && cache_mc(c) != NULL && i < n; i++)
		mc_del(c, hashes[i]);
	return tiers_reachable(c);
}

int
cache_clear(struct cache *c)
{
	if (c->l1 == NULL)
		return tiers_reachable(c);
	shmcache_clear(c->l1);
	/* Only our keys: a new namespace makes every old entry unreachable
	 * (memcached evicts them in time); other applications' keys stay. */
	shmcache_namespace_bump(c->l1);
	return 0;
}

const char *
cache_memcached_state(struct cache *c, int probe)
{
	if (cache_mc(c) == NULL)
		return "off";
	if (probe)
		memc_probe(c->mc, &c->val);
	return memc_up(c->mc) ? "ok" : "down";
}
