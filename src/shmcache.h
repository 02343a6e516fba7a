/*
 * The host-local session cache: a fixed-size table in a file-backed shared
 * mapping next to the database (DATABASE-sessions.cache), so that every
 * process using the database on this host (workers, other instances, the
 * command line) sees the same entries and the same invalidations at once.
 * Readers take no lock (a sequence counter per slot); writers claim a slot
 * with a compare-and-swap and skip it when another writer holds it.
 *
 * Coherence: every token hash has an invalidation generation in the
 * table (a counter shared by the hashes that fall on it). A refill reads
 * it before loading the session from the database and stores the entry
 * with it; every invalidation bumps it after the database change; a
 * lookup accepts only an entry whose generation is the current one. So an
 * entry loaded before an invalidation never validates after it, whoever
 * wrote it and when (doc/design.md, "Cache coherence").
 *
 * The file is refused unless it is a regular file owned by the effective
 * uid and writable by no one else (anyone who can write it can mint a
 * session), and it is never opened through a symbolic link.
 */
#ifndef AUTHGW_SHMCACHE_H
#define AUTHGW_SHMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

#define SHMCACHE_WAYS	4	/* slots a hash may live in */

struct shmcache;

/*
 * Map (creating if needed) the cache file at path. It must be a regular
 * file owned by the effective uid or by also_uid (-1: none; the owner of
 * the database, who can write the authority anyway, e.g. the service user
 * when root runs the command line) and writable by its owner alone. NULL
 * with err.
 */
struct shmcache	*shmcache_open(const char *path, size_t entries,
		    long also_uid, char *err, size_t errsz);
void		 shmcache_close(struct shmcache *);

/* 1 and se filled on a hit valid at now; 0 on a miss. */
int		 shmcache_get(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct session *se);

/*
 * The invalidation generation of hash. Read it before loading the session
 * from the database and pass it to shmcache_put() (and keep it with any
 * copy of the entry elsewhere, e.g. memcached).
 */
uint64_t	 shmcache_gen(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
/*
 * Cache se until valid_until under generation gen (as read before the
 * load); nothing is written when the generation has moved since. Slots
 * dead at now are reused first.
 */
void		 shmcache_put(struct shmcache *, const struct session *,
		    int64_t now, int64_t valid_until, uint64_t gen);

/*
 * Invalidations, after the database change: bump the generation of the
 * hash (of each of the user's hashes), then clear the matching slots
 * (drop_user: every slot of user_id, whatever its hash).
 */
void		 shmcache_drop(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
void		 shmcache_drop_user(struct shmcache *, int64_t user_id,
		    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n);
/* Every entry at once (a new table generation), and every hash's
 * generation moves, so no refill that began before it caches anything. */
void		 shmcache_clear(struct shmcache *);

/* The memcached key namespace shared by this host's processes. */
uint64_t	 shmcache_namespace(struct shmcache *);
void		 shmcache_namespace_bump(struct shmcache *);
/*
 * With several hosts the namespace is the authority's (store.h): this
 * host's copy, plus one, 0 while not known. The listener sets it when it
 * connects and when it hears of a bump; a worker that asked the authority
 * itself only raises it (the authority's only grows, so a slow worker
 * never puts an older value back).
 */
uint64_t	 shmcache_authority_ns(struct shmcache *);
void		 shmcache_authority_ns_set(struct shmcache *, uint64_t ns);
void		 shmcache_authority_ns_raise(struct shmcache *, uint64_t ns);

/*
 * With several hosts (SPEC 8) the table is trusted only while this host's
 * listener hears the authority's invalidations: the listener beats (with
 * util_mono_usec()) at least every SHMCACHE_BEAT_MAX_US / 4 while its
 * connection LISTENs, and beats 0 when it loses it; the table is alive
 * while the last beat is at most SHMCACHE_BEAT_MAX_US old. A listener
 * that hangs or dies stops beating, and the table goes untrusted by
 * itself.
 */
#define SHMCACHE_BEAT_MAX_US	1000000

/*
 * Several hosts: the hashes invalidated lately, so that memcached is not
 * believed about them while it may still hold (or be handed back) an
 * entry loaded before the invalidation: until is when the last such
 * entry's life ends (now + cache_ttl). A revocation evicted while live
 * (more than the table holds within cache_ttl) makes every hash count as
 * revoked until its time is up: memcached unused meanwhile, never wrong.
 */
void		 shmcache_revoke(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    int64_t until);
/* Revoke hash from now for as long as an entry loaded before now can
 * live in memcached: ttl (cache_ttl) and a margin for another host's
 * clock being ahead (an entry's end is its writer's clock). */
void		 shmcache_revoke_for(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t ttl);
int		 shmcache_revoked(struct shmcache *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now);
void		 shmcache_listener_beat(struct shmcache *, int64_t mono_us);
int		 shmcache_listener_alive(struct shmcache *, int64_t mono_us);

#endif
