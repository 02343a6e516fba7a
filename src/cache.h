/*
 * The session cache in front of SQLite, in two tiers: the host-local shared
 * table (shmcache.c, a microsecond) and memcached (memc.c, a network round
 * trip), each optional. SQLite stays the authority: the cache only ever
 * makes a check cheaper. Invalidation goes to both tiers before the caller
 * answers; when memcached cannot be reached to delete an entry, the whole
 * memcached namespace of this database is abandoned instead, so a revoked
 * session never validates again from memcached.
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
 * Open the tiers cfg asks for; a tier that cannot open is logged and off.
 * key (32 bytes, from the database's secret) tags memcached entries;
 * without it memcached stays off.
 */
struct cache	*cache_open(const struct config *, struct stats *,
		    const unsigned char *key);
void		 cache_close(struct cache *);

/*
 * 1 and se filled on a hit valid at now (from either tier), 0 on a miss.
 * epoch: as read by cache_epoch() before the lookup (a memcached hit is
 * copied into the host table under it).
 */
int		 cache_get(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    uint64_t epoch, struct session *se);
/* Read before loading from SQLite; pass to cache_put (see shmcache.h). */
uint64_t	 cache_epoch(struct cache *);
/* Cache se for min(cache_ttl, time to expiry). */
void		 cache_put(struct cache *, const struct session *, int64_t now,
		    uint64_t epoch);

/*
 * Invalidate one session, or every session of a user (hashes from SQLite,
 * read before they were deleted), or everything. Return 0, or -1 when the
 * host table is configured but this process could not open it (other
 * processes may then still hold the entries: the caller must not report
 * success).
 */
int		 cache_drop(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
int		 cache_drop_user(struct cache *, int64_t user_id,
		    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n);
int		 cache_clear(struct cache *);

/* "off" (not configured), "ok" or "down"; probe asks memcached now. */
const char	*cache_memcached_state(struct cache *, int probe);

#endif
