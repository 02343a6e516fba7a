#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "session.h"
#include "shmcache.h"
#include "signals.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/*
 * The beat is the time a probe was sent whose answer came back (and
 * every notice read before it applied): a round trip proven to complete,
 * four times within the table's trust window. A probe unanswered this
 * long ends the connection (the table went untrusted long before).
 */
#define LISTENER_PROBE_MS	(SHMCACHE_BEAT_MAX_US / 4000)
#define LISTENER_PROBE_WAIT_MS	2000
#define LISTENER_HOSTBEAT_S	10	/* this host's row for /admin */
#define LISTENER_RETRY_MIN_MS	100	/* reconnection back-off */
#define LISTENER_RETRY_MAX_MS	2000
#define LISTENER_STABLE_MS	10000	/* a life this long resets it */
#define LISTENER_ITEMS_MAX	4096	/* items applied per read */
/* Full clears ('*', an unknown item, too many items) at most this often;
 * more within the interval make one more at its end. */
#define LISTENER_CLEAR_US	1000000

/* ------------------------------------------------------------ the master */

static pid_t	listener_pid;
static int64_t	listener_started_ms;
static int64_t	listener_backoff_ms;
static int64_t	listener_due_ms;	/* start again at, 0: now */

int
listener_wanted(const struct config *cfg)
{
	return config_database_is_pg(cfg->database);
}

int
listener_running(void)
{
	return listener_pid > 0;
}

int64_t
listener_next_ms(void)
{
	return listener_pid > 0 ? 0 : listener_due_ms;
}

void
listener_start(const struct config *cfg, struct stats *stats, int64_t now_ms)
{
	pid_t	 pid;

	if (!listener_wanted(cfg) || listener_pid > 0 ||
	    now_ms < listener_due_ms)
		return;
	if ((pid = fork()) == -1) {
		log_error("listener: fork: %s", strerror(errno));
		listener_due_ms = now_ms + LISTENER_RETRY_MAX_MS;
		return;
	}
	if (pid == 0)
		listener_main(cfg, stats);
	listener_pid = pid;
	listener_started_ms = now_ms;
	listener_due_ms = 0;
}

int
listener_reaped(pid_t pid, int status, int64_t now_ms)
{
	if (pid <= 0 || pid != listener_pid)
		return 0;
	listener_pid = 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
		log_warn("listener (pid %ld) killed by signal %d", (long)pid,
		    WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warn("listener (pid %ld) exited with %d", (long)pid,
		    WEXITSTATUS(status));
	if (now_ms - listener_started_ms >= LISTENER_STABLE_MS)
		listener_backoff_ms = 0;
	else if (listener_backoff_ms == 0)
		listener_backoff_ms = LISTENER_RETRY_MIN_MS;
	else if (listener_backoff_ms < LISTENER_RETRY_MAX_MS / 2)
		listener_backoff_ms *= 2;
	else
		listener_backoff_ms = LISTENER_RETRY_MAX_MS;
	listener_due_ms = now_ms + listener_backoff_ms;
	return 1;
}

void
listener_signal(int sig)
{
	if (listener_pid > 0)
		(void)kill(listener_pid, sig);
}

/* ------------------------------------------------------- the listener */

static volatile sig_atomic_t	listener_stopping;

static void
on_listener_signal(int sig)
{
	(void)sig;
	listener_stopping = 1;
}

struct listener {
	const struct config	*cfg;
	struct stats		*stats;
	struct shmcache		*l1;		/* NULL: no host table */
	struct store		*st;		/* NULL: not connected */
	int			 fd;
	char			 host[STORE_HOST_NAME_MAX + 1];
	/* The items of one read, applied after it (the connection then
	 * runs the queries some of them need). */
	char			**items;
	size_t			 nitems;
	int			 overflow;
	int64_t			 cleared;	/* last full clear, mono usec */
	int			 clear_due;	/* one more at cleared + 1 s */
};

static void
item_collect(void *arg, const char *item)
{
	struct listener	*l = arg;

	if (l->nitems == LISTENER_ITEMS_MAX) {
		l->overflow = 1;	/* too many at once: forget all */
		return;
	}
	l->items[l->nitems++] = xstrdup(item);
}

static void
items_free(struct listener *l)
{
	size_t	 i;

	for (i = 0; i < l->nitems; i++)
		free(l->items[i]);
	l->nitems = 0;
	l->overflow = 0;
}

/*
 * The authority's namespace into the table: 0, or -1 (reconnect). At
 * (re)connect it is set (this may be another database); later it is
 * only raised: a notice is a hint to read it, never a value to take
 * (anyone who can connect can NOTIFY), and the namespace never goes back.
 */
static int
namespace_copy(struct listener *l, int set)
{
	uint64_t	 ns;

	if (store_namespace_get(l->st, &ns) != STORE_OK)
		return -1;
	if (set)
		shmcache_authority_ns_set(l->l1, ns);
	else
		shmcache_authority_ns_raise(l->l1, ns);
	return 0;
}

/*
 * Forget every entry, at most once per LISTENER_CLEAR_US: a flood of '*'
 * costs one clear a second, the excess coalesced into one more at the end
 * of the second (clear_due; no beat until then). 0, or -1 (reconnect).
 */
static int
table_clear(struct listener *l)
{
	int64_t	 now = util_mono_usec();

	if (l->cleared != 0 && now - l->cleared < LISTENER_CLEAR_US) {
		l->clear_due = 1;
		return 0;
	}
	l->cleared = now;
	l->clear_due = 0;
	shmcache_clear(l->l1);
	return namespace_copy(l, 0);
}

/*
 * Apply one item to the table: 0, or -1 when the authority could not be
 * asked (the connection is then made again, and the table forgotten).
 */
static int
item_apply(struct listener *l, const char *item)
{
	unsigned char		 h[CRYPTO_SHA256_LEN];
	struct session_hashes	 hs = SESSION_HASHES_INIT;
	int64_t			 uid, v;
	size_t			 i;
	int			 rc;

	if (item[0] == 'h' && item[1] == ' ' &&
	    crypto_unhex(item + 2, strlen(item + 2), h, sizeof(h)) == 0) {
		/* Revoked before the generation moves (shmcache.h). */
		shmcache_revoke_for(l->l1, h, l->cfg->cache_ttl);
		shmcache_drop(l->l1, h);
		return 0;
	}
	if (item[0] == 'u' && item[1] == ' ') {
		if (util_parse_int64(item + 2, strlen(item + 2), 1, INT64_MAX,
		    &uid) == 0) {
			/* Every hash the user holds now: their generations
			 * move, so no refill in flight caches the old user. */
			rc = store_session_each(l->st, uid,
			    session_hashes_collect, &hs) == STORE_OK &&
			    store_token_hashes(l->st, uid,
			    session_hashes_collect, &hs) == STORE_OK &&
			    !hs.failed ? 0 : -1;
			for (i = 0; rc == 0 && i < hs.n; i++)
				shmcache_revoke_for(l->l1, hs.h[i],
				    l->cfg->cache_ttl);
			if (rc == 0)
				shmcache_drop_user(l->l1, uid,
				    (const unsigned char (*)[CRYPTO_SHA256_LEN])
				    hs.h, hs.n);
			free(hs.h);
			return rc;
		}
	}
	if (item[0] == 'n' && item[1] == ' ' &&
	    util_parse_int64(item + 2, strlen(item + 2), 0, INT64_MAX,
	    &v) == 0) {
		/* The key namespace moved: the table itself stays. The value
		 * is the authority's, not the notice's. */
		return namespace_copy(l, 0);
	}
	if (strcmp(item, "*") != 0)
		log_warn("listener: unknown notice item: forgetting every "
		    "cached entry");
	return table_clear(l);
}

static void
disconnect(struct listener *l, const char *why)
{
	/* First: nothing this host's table holds is sure any more. */
	if (l->l1 != NULL)
		shmcache_listener_beat(l->l1, 0);
	if (l->st != NULL) {
		log_warn("listener: %s: the host table is not trusted until "
		    "it hears again", why);
		store_close(l->st);
		l->st = NULL;
	}
	l->fd = -1;
}

static int	drain(struct listener *);

/*
 * The URI with this listener's name for pg_stat_activity, "authgw-listener
 * <host>" (a name in the URI wins): uri, or the URI alone if too long.
 */
static void
listener_uri(const struct listener *l, char *uri, size_t urisz)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const char		*db = l->cfg->database;
	size_t			 i, used;
	int			 n;
	unsigned char		 c;

	n = snprintf(uri, urisz, "%s%sfallback_application_name="
	    "authgw-listener%%20", db, strchr(db, '?') != NULL ? "&" : "?");
	if (n < 0 || (size_t)n >= urisz) {
		(void)util_strlcpy(uri, db, urisz);
		return;
	}
	used = (size_t)n;
	/* PostgreSQL keeps 63 bytes of a name. */
	for (i = 0; l->host[i] != '\0' && i < 40; i++) {
		c = (unsigned char)l->host[i];
		if (urisz - used < 4) {
			(void)util_strlcpy(uri, db, urisz);
			return;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			uri[used++] = (char)c;
		else {
			uri[used++] = '%';
			uri[used++] = hex[c >> 4];
			uri[used++] = hex[c & 15];
		}
	}
	uri[used] = '\0';
}

/*
 * Connect and LISTEN, then forget what the table held (whatever was sent
 * before the LISTEN is lost) and take the namespace: only then beat.
 */
static int
connect_listen(struct listener *l)
{
	char	 uri[CONFIG_PATH_MAX + 192], err[512];
	int64_t	 now;

	listener_uri(l, uri, sizeof(uri));
	if ((l->st = store_open(uri, 0, err, sizeof(err))) == NULL) {
		log_debug("listener: %s", err);
		return -1;
	}
	if ((l->fd = store_listen(l->st)) == -1) {
		disconnect(l, "LISTEN failed");
		return -1;
	}
	if (l->l1 != NULL) {
		/* Heard from here on: what the table held before goes. */
		now = util_mono_usec();
		shmcache_clear(l->l1);
		l->cleared = now;
		l->clear_due = 0;
		if (namespace_copy(l, 1) == -1 || drain(l) == -1) {
			disconnect(l, "reading the namespace failed");
			return -1;
		}
		shmcache_listener_beat(l->l1, now);
	}
	log_info("listener: listening for invalidations");
	return 0;
}

static void
host_beat(struct listener *l, int64_t now)
{
	struct store_host	 h;

	memset(&h, 0, sizeof(h));
	(void)util_strlcpy(h.name, l->host, sizeof(h.name));
	h.started = l->stats->started;
	h.seen = now;
	h.checks = (int64_t)stats_get(l->stats, STAT_CHECKS);
	h.cache_hits = (int64_t)stats_get(l->stats, STAT_CACHE_HITS);
	h.cache_misses = (int64_t)stats_get(l->stats, STAT_CACHE_MISSES);
	h.workers = l->cfg->workers;
	if (store_host_beat(l->st, &h) != STORE_OK)
		log_debug("listener: heartbeat row not written");
}

/* Apply the items collected: 0, or -1 (reconnect). */
static int
items_apply(struct listener *l)
{
	size_t	 i;
	int	 rc = 0;

	if (l->l1 == NULL) {
		items_free(l);
		return 0;
	}
	if (l->overflow)
		rc = table_clear(l);
	else
		for (i = 0; i < l->nitems && rc == 0; i++)
			rc = item_apply(l, l->items[i]);
	items_free(l);
	return rc;
}

/*
 * Read what arrived, socket or libpq's queue (a notice that came with
 * the answer of one of our own statements is only in the queue), and
 * apply it; applying can run statements that bring more, so until
 * nothing new comes: 0, or -1 (reconnect).
 */
static int
drain(struct listener *l)
{
	for (;;) {
		if (store_listen_read(l->st, item_collect, l) != STORE_OK) {
			items_free(l);
			return -1;
		}
		if (l->nitems == 0 && !l->overflow)
			return 0;
		if (items_apply(l) == -1)
			return -1;
	}
}

/*
 * One probe: send it, and until its answer comes collect what arrives
 * (no statement can run meanwhile), then apply it all. 0 with *sent the
 * probe's time, or -1 (reconnect: lost, or no answer in time).
 */
static int
probe(struct listener *l, int64_t *sent)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 done;

	*sent = util_mono_usec();
	if (store_probe_send(l->st) == -1)
		return -1;
	for (;;) {
		if (store_listen_read(l->st, item_collect, l) != STORE_OK ||
		    (done = store_probe_done(l->st)) == -1)
			break;
		if (done)
			return items_apply(l) == -1 ? -1 : drain(l);
		left = LISTENER_PROBE_WAIT_MS - (util_mono_usec() - *sent) /
		    1000;
		if (left <= 0 || listener_stopping) {
			log_warn("listener: no answer to a probe in %d ms",
			    LISTENER_PROBE_WAIT_MS);
			break;
		}
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
	}
	items_free(l);
	return -1;
}

/*
 * Between probes: wait on the socket until the next one is due, applying
 * what arrives; the queue is emptied before each wait. 0, or -1.
 */
static int
listen_until(struct listener *l, int64_t due_us)
{
	struct pollfd	 pfd;
	int64_t		 left;

	while (!listener_stopping) {
		if (drain(l) == -1)
			return -1;
		if ((left = (due_us - util_mono_usec()) / 1000) <= 0)
			return 0;
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

static void
listener_loop(struct listener *l)
{
	int64_t		 retry_ms = LISTENER_RETRY_MIN_MS;
	int64_t		 next_host = 0, sent;

	while (!listener_stopping) {
		if (l->st == NULL) {
			if (connect_listen(l) == -1) {
				(void)poll(NULL, 0, (int)retry_ms);
				if (retry_ms < LISTENER_RETRY_MAX_MS / 2)
					retry_ms *= 2;
				else
					retry_ms = LISTENER_RETRY_MAX_MS;
				continue;
			}
			retry_ms = LISTENER_RETRY_MIN_MS;
		}
		if (probe(l, &sent) == -1) {
			disconnect(l, "probe failed");
			continue;
		}
		if (l->clear_due && util_mono_usec() - l->cleared >=
		    LISTENER_CLEAR_US && table_clear(l) == -1) {
			disconnect(l, "reading the namespace failed");
			continue;
		}
		/* Everything committed before sent is applied: vouch (not
		 * while a clear waits for its turn). */
		if (l->l1 != NULL && !l->clear_due)
			shmcache_listener_beat(l->l1, sent);
		if (util_now() >= next_host) {
			host_beat(l, util_now());
			next_host = util_now() + LISTENER_HOSTBEAT_S;
		}
		if (listen_until(l, sent + LISTENER_PROBE_MS * 1000) == -1) {
			disconnect(l, "connection lost");
			continue;
		}
	}
}

void
listener_main(const struct config *cfg, struct stats *stats)
{
	struct listener	 l;
	char		 path[CONFIG_PATH_MAX + 32], err[1024];
	sigset_t	 none;

	sigemptyset(&none);
	signals_child(on_listener_signal, &none);
	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.stats = stats;
	l.fd = -1;
	l.items = xcalloc(LISTENER_ITEMS_MAX, sizeof(*l.items));
	if (cfg->host_name[0] != '\0')
		(void)util_strlcpy(l.host, cfg->host_name, sizeof(l.host));
	else if (gethostname(l.host, sizeof(l.host) - 1) == -1)
		(void)util_strlcpy(l.host, "?", sizeof(l.host));
	if (cfg->cache_entries > 0) {
		if (config_cache_path(cfg, path, sizeof(path)) == -1)
			log_warn("listener: the host table's path is too long");
		else if ((l.l1 = shmcache_open(path,
		    (size_t)cfg->cache_entries, config_files_owner(cfg), err,
		    sizeof(err))) == NULL)
			log_warn("listener: host table: %s", err);
	}
	listener_loop(&l);
	if (l.l1 != NULL)
		shmcache_listener_beat(l.l1, 0);
	if (l.st != NULL)
		store_close(l.st);
	shmcache_close(l.l1);
	free(l.items);
	_exit(0);
}
