/*
 * The only module that includes libmemcached: get, set and delete with
 * short time-outs behind a circuit breaker. When memcached fails, the
 * breaker opens and calls return MEMC_DOWN at once, without touching the
 * network, until a probe after a back-off finds it answering again.
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
enum memc_rc	 memc_set(struct memc *, const char *key, const char *val,
		    size_t len, int64_t ttl);
enum memc_rc	 memc_del(struct memc *, const char *key);

/* 1 while the breaker is closed (memcached answering), 0 while open. */
int		 memc_up(struct memc *);

#endif
