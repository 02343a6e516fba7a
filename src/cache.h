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

/* Open the tiers cfg asks for; a tier that cannot open is logged and off. */
struct cache	*cache_open(const struct config *, struct stats *);
void		 cache_close(struct cache *);

/* 1 and se filled on a hit valid at now (from either tier), 0 on a miss. */
int		 cache_get(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct session *se);
/* Read before loading from SQLite; pass to cache_put (see shmcache.h). */
uint64_t	 cache_epoch(struct cache *);
/* Cache se for min(cache_ttl, time to expiry). */
void		 cache_put(struct cache *, const struct session *, int64_t now,
		    uint64_t epoch);

/* Invalidate one session, or every session of a user (hashes from SQLite,
 * read before they were deleted), or everything. */
void		 cache_drop(struct cache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
void		 cache_drop_user(struct cache *, int64_t user_id,
		    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n);
void		 cache_clear(struct cache *);

/* "off" (not configured), "ok" or "down"; probe asks memcached now. */
const char	*cache_memcached_state(struct cache *, int probe);

#endif
