/*
 * The host-local session cache: a fixed-size table in a file-backed shared
 * mapping next to the database (DATABASE-sessions.cache), so that every
 * process using the database on this host (workers, other instances, the
 * command line) sees the same entries and the same invalidations at once.
 * Readers take no lock (a sequence counter per slot); writers claim a slot
 * with a compare-and-swap and skip it when another writer holds it.
 */
#ifndef AUTHGW_SHMCACHE_H
#define AUTHGW_SHMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

#define SHMCACHE_WAYS	4	/* slots a hash may live in */

struct shmcache;

/* Map (creating if needed) the cache file at path. NULL with err. */
struct shmcache	*shmcache_open(const char *path, size_t entries, char *err,
		    size_t errsz);
void		 shmcache_close(struct shmcache *);

/* 1 and se filled on a hit valid at now; 0 on a miss. */
int		 shmcache_get(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct session *se);

/*
 * The invalidation epoch. Read it before loading a session from SQLite and
 * pass it to shmcache_put(): an invalidation in between (which bumps the
 * epoch) makes the put undo itself, so a stale load is never left cached.
 */
uint64_t	 shmcache_epoch(struct shmcache *);
/* Cache se until valid_until; slots dead at now are reused first. */
void		 shmcache_put(struct shmcache *, const struct session *,
		    int64_t now, int64_t valid_until, uint64_t epoch);

/* Invalidations: bump the epoch, then clear matching slots. */
void		 shmcache_drop(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
void		 shmcache_drop_user(struct shmcache *, int64_t user_id);
void		 shmcache_clear(struct shmcache *);

/* The memcached key namespace shared by this host's processes. */
uint64_t	 shmcache_namespace(struct shmcache *);
void		 shmcache_namespace_bump(struct shmcache *);

#endif
