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
	/* Several hosts (a PostgreSQL authority, SPEC 8): the host table
	 * only while the listener hears, memcached under the authority's
	 * namespace with tombstones (doc/design.md, "Several hosts"). */
	int			 shared;
	const struct cache_authority *auth;
	void			*autharg;
	int64_t			 ns_asked_us;	/* last asked the authority */
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
	c->shared = config_database_is_pg(cfg->database);
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
cache_warm(struct cache *c)
{
	(void)cache_mc(c);
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

void
cache_set_authority(struct cache *c, const struct cache_authority *auth,
    void *arg)
{
	c->auth = auth;
	c->autharg = arg;
}

/* The host table, when it may be read and written: with several hosts
 * only while this host's listener hears the invalidations. */
static int
l1_trusted(struct cache *c)
{
	return c->l1 != NULL && (!c->shared ||
	    shmcache_listener_alive(c->l1, util_mono_usec()));
}

int
cache_listener_alive(struct cache *c)
{
	return c->l1 != NULL &&
	    shmcache_listener_alive(c->l1, util_mono_usec());
}

/*
 * The namespace of memcached keys: this host's, or with several hosts the
 * authority's as the listener copied it. While the listener is down (it
 * may miss a bump) a worker asks the authority itself, at most once a
 * second; when the authority is down too, the last known one holds (no
 * bump can happen without the authority). 0: not known, memcached
 * unused.
 */
static uint64_t
mc_namespace(struct cache *c)
{
	int64_t		 now;
	uint64_t	 ns;

	if (!c->shared)
		return shmcache_namespace(c->l1);
	if (!shmcache_listener_alive(c->l1, now = util_mono_usec()) &&
	    c->auth != NULL && now - c->ns_asked_us >= 1000000) {
		c->ns_asked_us = now;
		if (c->auth->namespace_get(c->autharg, &ns) == 0)
			shmcache_authority_ns_raise(c->l1, ns);
	}
	return shmcache_authority_ns(c->l1);
}

/* The memcached key of a token hash in the current namespace: 0, or -1
 * when the namespace is not known. */
static int
mc_key(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    char key[MEMC_KEY_MAX + 1])
{
	char		 hex[2 * CRYPTO_SHA256_LEN + 1];
	uint64_t	 ns = mc_namespace(c);

	if (c->shared && ns == 0)
		return -1;
	crypto_hex(hash, CRYPTO_SHA256_LEN, hex);
	(void)snprintf(key, MEMC_KEY_MAX + 1, "authgw:%016llx:%s",
	    (unsigned long long)ns, hex);
	return 0;
}

/*
 * With several hosts an invalidation writes this in the entry's place,
 * for cache_ttl, and a refill only adds (never replaces): a refill that
 * read the session before the invalidation cannot put it back, whichever
 * host it runs on and whenever its add arrives (an add after the
 * tombstone's time would carry an entry already past its own).
 */
#define MC_TOMBSTONE	"-"


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
	uint64_t	 gen, hgen;
	int64_t		 vu, until;

	/* Before the get: an invalidation heard after it refuses the copy
	 * into the host table. */
	hgen = shmcache_gen(c->l1, hash);
	/* Several hosts: invalidated lately, here or anywhere this host's
	 * listener heard of: memcached may still hold the entry (the
	 * tombstone not written yet) or be handed it back. The database
	 * answers. (Revocations are written before the generation moves.) */
	if (c->shared && shmcache_revoked(c->l1, hash, util_now()))
		return 0;
	if (mc_key(c, hash, key) == -1)
		return 0;
	switch (memc_get(c->mc, key, CACHEENTRY_MAX, &c->val)) {
	case MEMC_OK:
		break;
	case MEMC_DOWN:
		stats_inc(c->stats, STAT_CACHE_ERRORS);
		return 0;
	default:
		return 0;
	}
	if (c->shared && c->val.len == sizeof(MC_TOMBSTONE) - 1 &&
	    memcmp(c->val.data, MC_TOMBSTONE, c->val.len) == 0)
		return 0;
	if (cacheentry_decode(c->val.data, c->val.len, hash, c->key, se,
	    &gen, &vu) == -1) {
		log_warn("memcached: forged, malformed or misplaced entry "
		    "ignored");
		stats_inc(c->stats, STAT_CACHE_ERRORS);
		return 0;
	}
	/* Loaded before the hash's last invalidation (left behind, or
	 * replayed): stale. With several hosts generations are each host's
	 * own: the tombstones and the namespace stand for them. */
	if ((!c->shared && gen != hgen) || se->expires <= now || vu <= now)
		return 0;
	/* Under the generation read before the get: an invalidation since
	 * then leaves the copy unread. Never past the entry's own end. */
	if (l1_trusted(c)) {
		until = valid_until(se, now, local_ttl(c));
		shmcache_put(c->l1, se, now, vu < until ? vu : until, hgen);
	}
	return 1;
}

int
cache_get(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct session *se)
{
	if (l1_trusted(c) && shmcache_get(c->l1, hash, now, se))
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
	char		 key[MEMC_KEY_MAX + 1];
	int64_t		 until = valid_until(se, now, c->cfg->cache_ttl), t;
	enum memc_rc	 rc;

	if (until <= now)
		return;
	if (l1_trusted(c))
		shmcache_put(c->l1, se, now, valid_until(se, now,
		    local_ttl(c)), gen);
	if (cache_mc(c) == NULL || cacheentry_encode(se, c->shared ? 0 : gen,
	    until, c->key, &c->val) == -1 ||
	    mc_key(c, se->token_hash, key) == -1)
		return;
	if (!c->shared) {
		/* Even if an invalidation came first, the entry carries the
		 * old generation and no reader accepts it. */
		rc = memc_set(c->mc, key, c->val.data, c->val.len,
		    until - now);
	} else {
		/* Its life counted from now, not from the load: a refill
		 * that stalled past until adds nothing. */
		if ((t = until - util_now()) <= 0)
			return;
		rc = memc_add(c->mc, key, c->val.data, c->val.len, t);
	}
	if (rc == MEMC_DOWN)
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

/*
 * One host: delete a memcached entry, only for space (the generation
 * already refuses it), so a failure costs nothing but the count. Several
 * hosts: write its tombstone; when that cannot reach the server (down,
 * frozen, cut off), move the authority's namespace, so that whatever the
 * server holds is never read again by any host (they hear of it within
 * the listener's second): -1 when even that fails.
 */
static int
mc_del(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	char		 key[MEMC_KEY_MAX + 1];
	uint64_t	 ns;

	if (mc_key(c, hash, key) == -1)
		return c->shared ? -1 : 0;
	if (!c->shared) {
		if (memc_del(c->mc, key) == MEMC_DOWN)
			stats_inc(c->stats, STAT_CACHE_ERRORS);
		return 0;
	}
	if (memc_set(c->mc, key, MC_TOMBSTONE, sizeof(MC_TOMBSTONE) - 1,
	    c->cfg->cache_ttl) == MEMC_OK)
		return 0;
	stats_inc(c->stats, STAT_CACHE_ERRORS);
	if (c->auth == NULL || c->auth->namespace_bump(c->autharg, &ns) != 0) {
		log_error("memcached: an invalidation reached neither "
		    "memcached nor the authority's namespace");
		return -1;
	}
	shmcache_authority_ns_raise(c->l1, ns);
	log_warn("memcached: an invalidation could not be written: the key "
	    "namespace moved on every host");
	return 0;
}

int
cache_drop(struct cache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	int	 rc = 0;

	if (c->l1 != NULL) {
		if (c->shared)
			shmcache_revoke_for(c->l1, hash, c->cfg->cache_ttl);
		shmcache_drop(c->l1, hash);
	}
	if (cache_mc(c) != NULL)
		rc = mc_del(c, hash);
	return rc == 0 ? tiers_reachable(c) : -1;
}

int
cache_drop_user(struct cache *c, int64_t user_id,
    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n)
{
	size_t	 i;
	int	 rc = 0;

	if (c->l1 != NULL) {
		for (i = 0; c->shared && i < n; i++)
			shmcache_revoke_for(c->l1, hashes[i],
			    c->cfg->cache_ttl);
		shmcache_drop_user(c->l1, user_id, hashes, n);
	}
	for (i = 0; n > 0 && cache_mc(c) != NULL && i < n; i++)
		if (mc_del(c, hashes[i]) == -1)
			rc = -1;
	return rc == 0 ? tiers_reachable(c) : -1;
}

int
cache_clear(struct cache *c)
{
	uint64_t	 ns;

	if (c->l1 == NULL)
		return tiers_reachable(c);
	shmcache_clear(c->l1);
	/* Only our keys: a new namespace makes every old entry unreachable
	 * (memcached evicts them in time); other applications' keys stay.
	 * With several hosts, the authority's, for every host. */
	if (!c->shared) {
		shmcache_namespace_bump(c->l1);
		return 0;
	}
	if (c->auth == NULL || c->auth->namespace_bump(c->autharg, &ns) != 0)
		return -1;
	shmcache_authority_ns_raise(c->l1, ns);
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
