#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

#include "log.h"
#include "memc.h"
#include "util.h"

#define MEMC_CONNECT_TIMEOUT_MS	50
#define MEMC_IO_TIMEOUT_US	100000	/* 100 ms send and receive */
#define MEMC_BACKOFF_MIN_US	500000
#define MEMC_BACKOFF_MAX_US	30000000

struct memc {
	memcached_st	*mc;
	int64_t		 open_until;	/* breaker open until (mono us) */
	int64_t		 backoff;	/* current back-off (us) */
};

struct memc *
memc_open(const char *servers, char *err, size_t errsz)
{
	memcached_server_list_st	 list;
	struct memc			*m;

	if ((list = memcached_servers_parse(servers)) == NULL) {
		snprintf(err, errsz, "memcached: bad server list '%s'", servers);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	if ((m->mc = memcached_create(NULL)) == NULL ||
	    memcached_server_push(m->mc, list) != MEMCACHED_SUCCESS) {
		snprintf(err, errsz, "memcached: cannot set up '%s'", servers);
		memcached_server_list_free(list);
		memc_close(m);
		return NULL;
	}
	memcached_server_list_free(list);
	/* Consistent hashing: a server leaving moves only its own keys. */
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
	    MEMCACHED_DISTRIBUTION_CONSISTENT);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
	    MEMC_CONNECT_TIMEOUT_MS);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
	    MEMC_IO_TIMEOUT_US / 1000);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
	    MEMC_IO_TIMEOUT_US);
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
	    MEMC_IO_TIMEOUT_US);
	/* Our breaker decides when to retry, not libmemcached's. */
	memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
	return m;
}

void
memc_close(struct memc *m)
{
	if (m == NULL)
		return;
	if (m->mc != NULL)
		memcached_free(m->mc);
	free(m);
}

int
memc_up(struct memc *m)
{
	return m->open_until == 0;
}

/* 1 if a call may go to the network now (closed, or time for a probe). */
static int
breaker_allows(struct memc *m)
{
	return m->open_until == 0 || util_mono_usec() >= m->open_until;
}

static void
breaker_result(struct memc *m, int ok, const char *what, memcached_return_t rc)
{
	if (ok) {
		if (m->open_until != 0)
			log_info("memcached answers again");
		m->open_until = 0;
		m->backoff = 0;
		return;
	}
	if (m->open_until == 0)
		log_warn("memcached %s failed (%s): using SQLite alone", what,
		    memcached_strerror(m->mc, rc));
	if (m->backoff == 0)
		m->backoff = MEMC_BACKOFF_MIN_US;
	else if (m->backoff < MEMC_BACKOFF_MAX_US / 2)
		m->backoff *= 2;
	else
		m->backoff = MEMC_BACKOFF_MAX_US;
	m->open_until = util_mono_usec() + m->backoff;
	/* Drop the connections: a frozen server leaves them half-used. */
	memcached_quit(m->mc);
}

enum memc_rc
memc_get(struct memc *m, const char *key, size_t maxlen, struct buf *out)
{
	memcached_return_t	 rc;
	uint32_t		 flags;
	size_t			 len;
	char			*v;

	buf_reset(out);
	if (!breaker_allows(m))
		return MEMC_DOWN;
	v = memcached_get(m->mc, key, strlen(key), &len, &flags, &rc);
	if (v == NULL) {
		if (rc == MEMCACHED_NOTFOUND) {
			breaker_result(m, 1, "get", rc);
			return MEMC_MISS;
		}
		breaker_result(m, 0, "get", rc);
		return MEMC_DOWN;
	}
	breaker_result(m, 1, "get", rc);
	if (len > maxlen || buf_append(out, v, len) == -1) {
		free(v);
		return MEMC_MISS;	/* not ours, or no memory: a miss */
	}
	free(v);
	return MEMC_OK;
}

enum memc_rc
memc_set(struct memc *m, const char *key, const char *val, size_t len,
    int64_t ttl)
{
	memcached_return_t	 rc;

	if (!breaker_allows(m))
		return MEMC_DOWN;
	if (ttl < 1)
		ttl = 1;
	rc = memcached_set(m->mc, key, strlen(key), val, len, (time_t)ttl, 0);
	/* A full server refusing a store is not down. */
	breaker_result(m, rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTSTORED ||
	    rc == MEMCACHED_E2BIG || rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE ||
	    rc == MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE, "set", rc);
	return rc == MEMCACHED_SUCCESS ? MEMC_OK :
	    memc_up(m) ? MEMC_MISS : MEMC_DOWN;
}

enum memc_rc
memc_del(struct memc *m, const char *key)
{
	memcached_return_t	 rc;

	if (!breaker_allows(m))
		return MEMC_DOWN;
	rc = memcached_delete(m->mc, key, strlen(key), 0);
	if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND) {
		breaker_result(m, 1, "delete", rc);
		return rc == MEMCACHED_SUCCESS ? MEMC_OK : MEMC_MISS;
	}
	breaker_result(m, 0, "delete", rc);
	return MEMC_DOWN;
}
