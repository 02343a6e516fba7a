#include <dlfcn.h>
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

/* The file configure found the program would link (libmemcached.so.11). */
#ifndef MEMCACHED_SONAME
#define MEMCACHED_SONAME	"libmemcached.so.11"
#endif

/*
 * libmemcached is loaded with dlopen at the first memc_open, not linked:
 * it pulls in libstdc++, libhashkit, libsasl2 and libgcc_s, whose loading
 * and relocation cost every process start (a plain CGI run a millisecond
 * or more) although a check the host table answers never calls memcached.
 * Each function has the type its header declares.
 */
#define MEMC_FUNCS \
	MEMC_FUNC(memcached_servers_parse) \
	MEMC_FUNC(memcached_server_list_free) \
	MEMC_FUNC(memcached_create) \
	MEMC_FUNC(memcached_server_push) \
	MEMC_FUNC(memcached_behavior_set) \
	MEMC_FUNC(memcached_free) \
	MEMC_FUNC(memcached_strerror) \
	MEMC_FUNC(memcached_quit) \
	MEMC_FUNC(memcached_get) \
	MEMC_FUNC(memcached_set) \
	MEMC_FUNC(memcached_delete)

static struct {
#define MEMC_FUNC(f)	__typeof__(f) *f;
	MEMC_FUNCS
#undef MEMC_FUNC
} lib;
static int	lib_state;	/* 0 not tried, 1 loaded, -1 failed */
static char	lib_err[256];

static int
memc_missing(const char *what)
{
	snprintf(lib_err, sizeof(lib_err), "memcached: %s has no %s",
	    MEMCACHED_SONAME, what);
	return -1;
}

/* dlopen and dlsym everything: 0, or -1 with lib_err set. */
static int
memc_resolve(void)
{
	void	*h;

	if ((h = dlopen(MEMCACHED_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(lib_err, sizeof(lib_err), "memcached: cannot load "
		    "%s: %s", MEMCACHED_SONAME, dlerror());
		return -1;
	}
#define MEMC_FUNC(f) \
	if ((lib.f = (__typeof__(f) *)dlsym(h, #f)) == NULL) \
		return memc_missing(#f);
	MEMC_FUNCS
#undef MEMC_FUNC
	return 0;	/* never closed: it lives as long as we do */
}

/* Load libmemcached, once per process: 0, or -1 with err (each time). */
static int
memc_load(char *err, size_t errsz)
{
	if (lib_state == 0)
		lib_state = memc_resolve() == 0 ? 1 : -1;
	if (lib_state == 1)
		return 0;
	snprintf(err, errsz, "%s", lib_err);
	return -1;
}

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

	if (memc_load(err, errsz) == -1)
		return NULL;
	if ((list = lib.memcached_servers_parse(servers)) == NULL) {
		snprintf(err, errsz, "memcached: bad server list '%s'", servers);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	if ((m->mc = lib.memcached_create(NULL)) == NULL ||
	    lib.memcached_server_push(m->mc, list) != MEMCACHED_SUCCESS) {
		snprintf(err, errsz, "memcached: cannot set up '%s'", servers);
		lib.memcached_server_list_free(list);
		memc_close(m);
		return NULL;
	}
	lib.memcached_server_list_free(list);
	/* Consistent hashing: a server leaving moves only its own keys. */
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
	    MEMCACHED_DISTRIBUTION_CONSISTENT);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
	    MEMC_CONNECT_TIMEOUT_MS);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
	    MEMC_IO_TIMEOUT_US / 1000);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
	    MEMC_IO_TIMEOUT_US);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
	    MEMC_IO_TIMEOUT_US);
	/* Our breaker decides when to retry, not libmemcached's. */
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
	return m;
}

void
memc_close(struct memc *m)
{
	if (m == NULL)
		return;
	if (m->mc != NULL)
		lib.memcached_free(m->mc);
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
		    lib.memcached_strerror(m->mc, rc));
	if (m->backoff == 0)
		m->backoff = MEMC_BACKOFF_MIN_US;
	else if (m->backoff < MEMC_BACKOFF_MAX_US / 2)
		m->backoff *= 2;
	else
		m->backoff = MEMC_BACKOFF_MAX_US;
	m->open_until = util_mono_usec() + m->backoff;
	/* Drop the connections: a frozen server leaves them half-used. */
	lib.memcached_quit(m->mc);
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
	v = lib.memcached_get(m->mc, key, strlen(key), &len, &flags, &rc);
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
	rc = lib.memcached_set(m->mc, key, strlen(key), val, len, (time_t)ttl,
	    0);
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
	rc = lib.memcached_delete(m->mc, key, strlen(key), 0);
	if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND) {
		breaker_result(m, 1, "delete", rc);
		return rc == MEMCACHED_SUCCESS ? MEMC_OK : MEMC_MISS;
	}
	breaker_result(m, 0, "delete", rc);
	return MEMC_DOWN;
}
