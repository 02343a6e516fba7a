/*
 * The only module that includes libmemcached: get, set and delete on a
 * pool of servers (consistent hashing, libketama's), with short time-outs
 * behind a circuit breaker per server. When a server fails, its breaker
 * opens and calls for its keys return MEMC_DOWN at once, without touching
 * the network, until a call after a back-off finds it answering again;
 * the other servers go on serving their keys.
 */
#ifndef AUTHGW_MEMC_H
#define AUTHGW_MEMC_H

#include <stddef.h>
#include <stdint.h>

#define MEMC_KEY_MAX	250

enum memc_rc {
	MEMC_DOWN = -1,		/* failed now, or the breaker is open */
	MEMC_OK = 0,
	MEMC_MISS = 1		/* get: no such key; delete: already gone */
};

struct memc;
struct buf;

/* Servers "host:port[,host:port...]". NULL with err on a bad list. */
struct memc	*memc_open(const char *servers, char *err, size_t errsz);
void		 memc_close(struct memc *);

/* A value of at most maxlen bytes into out (reset first). */
enum memc_rc	 memc_get(struct memc *, const char *key, size_t maxlen,
		    struct buf *out);
/*
 * The longest time to live memcached counts from now (30 days): a longer
 * one given to memc_set or memc_add is clamped to it.
 */
#define MEMC_TTL_MAX	2592000
enum memc_rc	 memc_set(struct memc *, const char *key, const char *val,
		    size_t len, int64_t ttl);
/* Store only when the key is absent: MEMC_MISS when it is present. */
enum memc_rc	 memc_add(struct memc *, const char *key, const char *val,
		    size_t len, int64_t ttl);
enum memc_rc	 memc_del(struct memc *, const char *key);

/* 1 while every server's breaker is closed (all answering), 0 if not. */
int		 memc_up(struct memc *);
/* Ask each server (those whose breaker is open only after their back-off):
 * for /healthz. scratch receives what comes back. */
void		 memc_probe(struct memc *, struct buf *scratch);

#endif
