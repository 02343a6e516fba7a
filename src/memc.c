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
	MEMC_FUNC(memcached_generate_hash) \
	MEMC_FUNC(memcached_server_count) \
	MEMC_FUNC(memcached_server_instance_by_position) \
	MEMC_FUNC(memcached_server_name) \
	MEMC_FUNC(memcached_server_port) \
	MEMC_FUNC(memcached_set) \
	MEMC_FUNC(memcached_add) \
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

/*
 * A breaker per server of the pool: a dead or frozen server costs the
 * first call (a refused connection, or the 100 ms time-out) and then
 * nothing until its back-off runs out; the keys it holds miss to the
 * database meanwhile, the other servers keep serving theirs. Keys are not
 * moved to the survivors (no auto-eject): a server that comes back holds
 * only entries it held before, which the generations refuse when an
 * invalidation could not reach it (doc/design.md, "memcached pool").
 */
struct memc_node {
	int64_t	 open_until;	/* breaker open until (mono us), 0 closed */
	int64_t	 backoff;	/* current back-off (us) */
	char	 name[80];	/* host:port, for the log */
	char	 probe[32];	/* a key that lives on it, "" none found */
};

struct memc {
	memcached_st		*mc;
	uint32_t		 n;
	struct memc_node	*node;
};

/* Name the servers; 0, or -1 when the list is empty. */
static int
memc_nodes(struct memc *m)
{
	const memcached_instance_st	*in;
	uint32_t			 i;

	if ((m->n = lib.memcached_server_count(m->mc)) == 0)
		return -1;
	m->node = xcalloc(m->n, sizeof(*m->node));
	for (i = 0; i < m->n; i++) {
		in = lib.memcached_server_instance_by_position(m->mc, i);
		(void)snprintf(m->node[i].name, sizeof(m->node[i].name),
		    "%s:%u", in ? lib.memcached_server_name(in) : "?",
		    in ? (unsigned)lib.memcached_server_port(in) : 0);
	}
	return 0;
}

/* A probe key for each server (after the distribution is set). */
static void
memc_probe_keys(struct memc *m)
{
	char		 key[32];
	uint32_t	 i, left = m->n;
	unsigned	 k;

	for (k = 0; left > 0 && k < 64 * m->n; k++) {
		(void)snprintf(key, sizeof(key), "authgw:probe:%u", k);
		i = lib.memcached_generate_hash(m->mc, key, strlen(key));
		if (i < m->n && m->node[i].probe[0] == '\0') {
			(void)util_strlcpy(m->node[i].probe, key,
			    sizeof(m->node[i].probe));
			left--;
		}
	}
}

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
	    lib.memcached_server_push(m->mc, list) != MEMCACHED_SUCCESS ||
	    memc_nodes(m) == -1) {
		snprintf(err, errsz, "memcached: cannot set up '%s'", servers);
		lib.memcached_server_list_free(list);
		memc_close(m);
		return NULL;
	}
	lib.memcached_server_list_free(list);
	/*
	 * Consistent hashing, libketama's (MD5 points of "host:port"): every
	 * host and every process puts a key on the same server whatever the
	 * order of the list, and a server leaving the list moves only its
	 * own keys.
	 */
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
	    MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
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
	/*
	 * Our breakers decide when a server is tried again, not
	 * libmemcached's retry and dead time-outs; and a failed server is
	 * never ejected (its keys would move to the survivors and move back
	 * when it returns, to the entries it kept while it was away).
	 */
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 0);
	lib.memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS,
	    0);
	memc_probe_keys(m);
	return m;
}

void
memc_close(struct memc *m)
{
	if (m == NULL)
		return;
	if (m->mc != NULL)
		lib.memcached_free(m->mc);
	free(m->node);
	free(m);
}

int
memc_up(struct memc *m)
{
	uint32_t	 i;

	for (i = 0; i < m->n; i++)
		if (m->node[i].open_until != 0)
			return 0;
	return 1;
}

/* The server a key lives on. */
static struct memc_node *
memc_node_of(struct memc *m, const char *key)
{
	uint32_t	 i = lib.memcached_generate_hash(m->mc, key, strlen(key));

	return &m->node[i < m->n ? i : 0];
}

/* 1 if a call may go to the network now (closed, or time for a probe). */
static int
breaker_allows(const struct memc_node *nd)
{
	return nd->open_until == 0 || util_mono_usec() >= nd->open_until;
}

static void
breaker_result(struct memc *m, struct memc_node *nd, int ok, const char *what,
    memcached_return_t rc)
{
	if (ok) {
		if (nd->open_until != 0)
			log_info("memcached %s answers again", nd->name);
		nd->open_until = 0;
		nd->backoff = 0;
		return;
	}
	if (nd->open_until == 0)
		log_warn("memcached %s: %s failed (%s): its keys go to the "
		    "database", nd->name, what, lib.memcached_strerror(m->mc,
		    rc));
	if (nd->backoff == 0)
		nd->backoff = MEMC_BACKOFF_MIN_US;
	else if (nd->backoff < MEMC_BACKOFF_MAX_US / 2)
		nd->backoff *= 2;
	else
		nd->backoff = MEMC_BACKOFF_MAX_US;
	nd->open_until = util_mono_usec() + nd->backoff;
	/* Drop the connections: a frozen server leaves them half-used (the
	 * others' are made again at their next call, on a LAN cheaply). */
	lib.memcached_quit(m->mc);
}

enum memc_rc
memc_get(struct memc *m, const char *key, size_t maxlen, struct buf *out)
{
	memcached_return_t	 rc;
	uint32_t		 flags;
	size_t			 len;
	char			*v;

	struct memc_node	*nd = memc_node_of(m, key);

	buf_reset(out);
	if (!breaker_allows(nd))
		return MEMC_DOWN;
	v = lib.memcached_get(m->mc, key, strlen(key), &len, &flags, &rc);
	if (v == NULL) {
		if (rc == MEMCACHED_NOTFOUND) {
			breaker_result(m, nd, 1, "get", rc);
			return MEMC_MISS;
		}
		breaker_result(m, nd, 0, "get", rc);
		return MEMC_DOWN;
	}
	breaker_result(m, nd, 1, "get", rc);
	if (len > maxlen || buf_append(out, v, len) == -1) {
		free(v);
		return MEMC_MISS;	/* not ours, or no memory: a miss */
	}
	free(v);
	return MEMC_OK;
}

/*
 * set or add (only when the key is absent), for ttl seconds: at least 1,
 * at most MEMC_TTL_MAX (memcached reads a larger expiry as a Unix time,
 * one long past: the item would expire at once, a tombstone with it).
 */
static enum memc_rc
memc_store(struct memc *m, const char *key, const char *val, size_t len,
    int64_t ttl, int add)
{
	memcached_return_t	 rc;
	struct memc_node	*nd = memc_node_of(m, key);

	if (!breaker_allows(nd))
		return MEMC_DOWN;
	if (ttl < 1)
		ttl = 1;
	else if (ttl > MEMC_TTL_MAX)
		ttl = MEMC_TTL_MAX;
	rc = (add ? lib.memcached_add : lib.memcached_set)(m->mc, key,
	    strlen(key), val, len, (time_t)ttl, 0);
	/* A full server refusing a store is not down, nor is a key that
	 * add finds present. */
	breaker_result(m, nd, rc == MEMCACHED_SUCCESS ||
	    rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS ||
	    rc == MEMCACHED_E2BIG ||
	    rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE ||
	    rc == MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE, add ? "add" :
	    "set", rc);
	return rc == MEMCACHED_SUCCESS ? MEMC_OK :
	    nd->open_until == 0 ? MEMC_MISS : MEMC_DOWN;
}

enum memc_rc
memc_set(struct memc *m, const char *key, const char *val, size_t len,
    int64_t ttl)
{
	return memc_store(m, key, val, len, ttl, 0);
}

enum memc_rc
memc_add(struct memc *m, const char *key, const char *val, size_t len,
    int64_t ttl)
{
	return memc_store(m, key, val, len, ttl, 1);
}

enum memc_rc
memc_del(struct memc *m, const char *key)
{
	memcached_return_t	 rc;
	struct memc_node	*nd = memc_node_of(m, key);

	if (!breaker_allows(nd))
		return MEMC_DOWN;
	rc = lib.memcached_delete(m->mc, key, strlen(key), 0);
	if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND) {
		breaker_result(m, nd, 1, "delete", rc);
		return rc == MEMCACHED_SUCCESS ? MEMC_OK : MEMC_MISS;
	}
	breaker_result(m, nd, 0, "delete", rc);
	return MEMC_DOWN;
}

void
memc_probe(struct memc *m, struct buf *scratch)
{
	uint32_t	 i;

	for (i = 0; i < m->n; i++)
		if (m->node[i].probe[0] != '\0')
			(void)memc_get(m, m->node[i].probe, 16, scratch);
}
