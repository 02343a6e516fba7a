/*
 * The session cache in front of SQLite, in two tiers: the host-local shared
 * table (shmcache.c, a microsecond) and memcached (memc.c, a network round
 * trip), each optional. SQLite stays the authority: the cache only ever
 * makes a check cheaper. Every entry, in either tier, carries the
 * invalidation generation of its hash read before its session was loaded
 * (shmcache.h); invalidations bump it after the database change, so an
 * entry loaded before one (left in memcached because memcached was away,
 * copied between tiers by a racing check, or replayed by someone who can
 * write to memcached) is never accepted after it. Deleting entries only
 * frees their space.
 */
#ifndef AUTHGW_CACHE_H
#define AUTHGW_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

struct cache;
struct config;
struct stats;

/*
 * The memcached tag key (32 bytes, derived from the database's secret)
 * into key: 0, or -1 when there is none (memcached then stays off).
 */
typedef int	(*cache_key_fn)(void *arg, unsigned char *key);

/*
 * Open the host table if cfg asks for it (a table that cannot open is
 * logged and off). memcached is opened on its first use, not here: a
 * lookup the host table answers (most checks, and every check of a CGI
 * run with a warm table) never loads libmemcached nor asks for the key.
 * key (32 bytes) tags memcached entries; without it memcached stays off.
 * cache_open_keyfn asks keyfn(arg) for the key at that first use instead,
 * once.
 */
struct cache	*cache_open(const struct config *, struct stats *,
		    const unsigned char *key);
struct cache	*cache_open_keyfn(const struct config *, struct stats *,
		    cache_key_fn keyfn, void *arg);
void		 cache_close(struct cache *);
/* Open memcached (and ask for its key) now rather than at first use. */
void		 cache_warm(struct cache *);

/*
 * With several hosts (a PostgreSQL authority, SPEC 8) the memcached key
 * namespace is the authority's: how to read it and move it (0, or -1).
 */
struct cache_authority {
	int	(*namespace_get)(void *arg, uint64_t *ns);
	int	(*namespace_bump)(void *arg, uint64_t *ns);
};
void		 cache_set_authority(struct cache *,
		    const struct cache_authority *, void *arg);
/* 1 while this host's listener hears the authority (its table trusted). */
int		 cache_listener_alive(struct cache *);

/*
 * 1 and se filled on a hit valid at now under the hash's current
 * generation (from either tier; a memcached hit is copied into the host
 * table), 0 on a miss.
 */
int		 cache_get(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct session *se);
/* The hash's generation: read it before loading the session from the
 * store, and pass it to cache_put. */
uint64_t	 cache_gen(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
/* Cache se for min(cache_ttl, time to expiry) under gen. */
void		 cache_put(struct cache *, const struct session *, int64_t now,
		    uint64_t gen);

/*
 * Invalidate one session, or every session of a user (hashes from the
 * store, read in the same unit of work as the change), or everything.
 * Call after the store's change. Return 0, or -1 when the host table is
 * configured but this process could not open it (other processes may then
 * still accept the entries: the caller must not report success).
 */
int		 cache_drop(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
int		 cache_drop_user(struct cache *, int64_t user_id,
		    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n);
int		 cache_clear(struct cache *);
/*
 * 0 if this process can invalidate every tier it should (the host table
 * is open when one is configured), -1 if not: ask before a change whose
 * invalidation must not fail, and refuse the change (503).
 */
int		 cache_reachable(const struct cache *);

/* "off" (not configured), "ok" or "down"; probe asks memcached now. */
const char	*cache_memcached_state(struct cache *, int probe);

#endif
