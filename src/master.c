/*
 * The prefork master: binds the socket, forks the workers, restarts those
 * that die (with back-off), reloads on SIGHUP without closing the socket,
 * drains on SIGTERM, and runs the maintenance tick.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "maint.h"
#include "master.h"
#include "privdrop.h"
#include "signals.h"
#include "stats.h"
#include "store.h"
#include "util.h"
#include "worker.h"

#define LISTEN_BACKLOG		1024
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000
#define STABLE_MS		1000	/* a worker alive this long was fine */
#define DRAIN_RESEND_MS		200	/* re-signal workers while draining */
#define DRAIN_MAX_MS		30000	/* then SIGKILL */
#define DRAINING_MAX		(2 * CONFIG_WORKERS_MAX)

struct slot {
	pid_t	 pid;		/* 0: not running */
	int64_t	 started_ms;
	int64_t	 respawn_ms;	/* when to start again, if pid == 0 */
	int	 backoff_ms;
};

static volatile sig_atomic_t	got_chld, got_term, got_hup, got_alrm;

static pid_t		 master_pid;
static struct slot	 slots[CONFIG_WORKERS_MAX];
static pid_t		 draining[DRAINING_MAX];
static int64_t		 drain_deadline_ms;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD: got_chld = 1; break;
	case SIGTERM:
	case SIGINT: got_term = 1; break;
	case SIGHUP: got_hup = 1; break;
	case SIGALRM: got_alrm = 1; break;
	}
}

static int64_t
now_ms(void)
{
	return util_mono_usec() / 1000;
}

int
master_socket_owner(const struct config *cfg, uid_t *uid, gid_t *gid,
    char *err, size_t errsz)
{
	struct passwd	*pw;
	struct group	*gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() == 0 && cfg->user[0] != '\0') {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, errsz, "user %s: no such user", cfg->user);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (cfg->socket_group[0] == '\0')
		return 0;
	if ((gr = getgrnam(cfg->socket_group)) == NULL) {
		snprintf(err, errsz, "socket_group %s: no such group",
		    cfg->socket_group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/*
 * A stale socket from an earlier run is replaced; one a running server
 * still answers on is not (that would orphan it). Returns 0 or -1.
 */
static int
unix_clear_stale(const struct sockaddr_un *sun, char *err, size_t errsz)
{
	struct stat	 sb;
	int		 fd;

	if (lstat(sun->sun_path, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1 &&
	    connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		snprintf(err, errsz, "listen %s: in use by a running server",
		    sun->sun_path);
		return -1;
	}
	if (fd != -1)
		close(fd);
	(void)unlink(sun->sun_path);
	return 0;
}

/*
 * Give the bound socket file its owner, group and mode. It was created
 * with no permission bits, and listen() comes after this, so nobody can
 * connect before it has all three. Returns 0 or -1 (errno).
 */
static int
unix_set_owner(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    lchown(path, uid, gid) == -1)
		return -1;
	if (fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOTSUP && errno != EOPNOTSUPP)
		return -1;
	return chmod(path, mode);
}

static int
listen_unix(const struct config *cfg, char *err, size_t errsz)
{
	struct sockaddr_un	 sun;
	uid_t			 uid;
	gid_t			 gid;
	mode_t			 mask;
	int			 fd, rc, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, cfg->listen, sizeof(sun.sun_path)) ==
	    -1) {
		snprintf(err, errsz, "listen: socket path too long");
		return -1;
	}
	if (master_socket_owner(cfg, &uid, &gid, err, errsz) == -1 ||
	    unix_clear_stale(&sun, err, errsz) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		goto fail;
	mask = umask(0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(mask);
	if (rc == -1)
		goto fail;
	if (unix_set_owner(cfg->listen, uid, gid, (mode_t)cfg->socket_mode) ==
	    -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		saved = errno;
		(void)unlink(cfg->listen);
		errno = saved;
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errsz, "listen %s: %s", cfg->listen, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* Split "host:port" or "[v6]:port". Returns 0 or -1. */
static int
split_hostport(const char *s, char *host, size_t hostsz, const char **port)
{
	const char	*colon, *end;
	size_t		 hlen;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostsz || colon[1] == '\0')
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	*port = colon + 1;
	return 0;
}

static int
listen_tcp(const struct config *cfg, char *err, size_t errsz)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*port;
	int		 fd = -1, one = 1, rc;

	if (split_hostport(cfg->listen, host, sizeof(host), &port) == -1) {
		snprintf(err, errsz, "listen: expected /path, host:port or "
		    "[v6addr]:port, got '%s'", cfg->listen);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errsz, "listen %s: %s", cfg->listen,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		snprintf(err, errsz, "listen %s: %s", cfg->listen,
		    strerror(errno));
	freeaddrinfo(res);
	return fd;
}

int
master_listen(const struct config *cfg, char *err, size_t errsz)
{
	if (cfg->listen[0] == '/')
		return listen_unix(cfg, err, errsz);
	return listen_tcp(cfg, err, errsz);
}

/* Drop root for cfg->user (privdrop.c). Returns 0 or -1. */
static int
drop_privileges(const struct config *cfg)
{
	char	 err[256];

	if (privdrop_user(cfg->user, err, sizeof(err)) != PRIVDROP_OK) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int
worker_start(const struct config *cfg, struct stats *stats, int slot, int fd,
    const sigset_t *oldmask)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_error("fork: %s", strerror(errno));
		slots[slot].respawn_ms = now_ms() + BACKOFF_MAX_MS;
		return -1;
	}
	if (pid == 0)
		worker_main(cfg, stats, slot, fd, oldmask, master_pid);
	slots[slot].pid = pid;
	slots[slot].started_ms = now_ms();
	slots[slot].respawn_ms = 0;
	return 0;
}

static void
draining_add(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < DRAINING_MAX; i++)
		if (draining[i] == 0) {
			draining[i] = pid;
			return;
		}
	(void)kill(pid, SIGKILL);	/* no room to track it: end it */
}

/* Reap children; schedule restarts of current workers that died. */
static void
reap(int stopping, struct stats *stats)
{
	pid_t	 pid;
	int	 status, i;
	int64_t	 lived;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (maint_reaped(pid, status) ||
		    listener_reaped(pid, status, now_ms()))
			continue;
		for (i = 0; i < DRAINING_MAX; i++)
			if (draining[i] == pid)
				draining[i] = 0;
		for (i = 0; i < CONFIG_WORKERS_MAX; i++) {
			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			if (stopping)
				break;
			if (WIFSIGNALED(status))
				log_warn("worker %d (pid %ld) killed by signal "
				    "%d", i, (long)pid, WTERMSIG(status));
			else
				log_warn("worker %d (pid %ld) exited with %d",
				    i, (long)pid, WEXITSTATUS(status));
			lived = now_ms() - slots[i].started_ms;
			if (lived >= STABLE_MS)
				slots[i].backoff_ms = 0;
			else if (slots[i].backoff_ms == 0)
				slots[i].backoff_ms = BACKOFF_MIN_MS;
			else if (slots[i].backoff_ms < BACKOFF_MAX_MS / 2)
				slots[i].backoff_ms *= 2;
			else
				slots[i].backoff_ms = BACKOFF_MAX_MS;
			slots[i].respawn_ms = now_ms() + slots[i].backoff_ms;
			atomic_fetch_add(&stats->w[i].restarts, 1);
			break;
		}
	}
}

static int
draining_any(void)
{
	int	 i;

	for (i = 0; i < DRAINING_MAX; i++)
		if (draining[i] != 0)
			return 1;
	return 0;
}

static int
children_alive(void)
{
	int	 i;

	for (i = 0; i < CONFIG_WORKERS_MAX; i++)
		if (slots[i].pid != 0)
			return 1;
	for (i = 0; i < DRAINING_MAX; i++)
		if (draining[i] != 0)
			return 1;
	return listener_running();
}

static void
signal_children(int sig, int include_slots)
{
	int	 i;

	if (include_slots) {
		for (i = 0; i < CONFIG_WORKERS_MAX; i++)
			if (slots[i].pid != 0)
				(void)kill(slots[i].pid, sig);
		listener_signal(sig);
	}
	for (i = 0; i < DRAINING_MAX; i++)
		if (draining[i] != 0)
			(void)kill(draining[i], sig);
}

/*
 * SIGHUP: a valid new config replaces cfg and a new generation of workers
 * starts before the old one is told to finish. A bad config changes
 * nothing.
 */
static void
reload(struct config *cfg, struct stats *stats, int fd,
    const sigset_t *oldmask)
{
	struct config	 fresh;
	char		 err[1024];
	int		 i;

	if (config_load(cfg->path, &fresh, err, sizeof(err)) == -1) {
		log_error("reload: %s; keeping the old configuration", err);
		return;
	}
	if (strcmp(fresh.listen, cfg->listen) != 0) {
		log_warn("reload: 'listen' changes need a restart; kept %s",
		    cfg->listen[0] ? cfg->listen : "(inherited socket)");
		memcpy(fresh.listen, cfg->listen, sizeof(fresh.listen));
	}
	*cfg = fresh;
	log_init("authgw", (enum log_level)cfg->log_level, cfg->syslog);
	for (i = 0; i < CONFIG_WORKERS_MAX; i++) {
		if (slots[i].pid != 0) {
			draining_add(slots[i].pid);
			slots[i].pid = 0;
		}
		slots[i].respawn_ms = 0;
		slots[i].backoff_ms = 0;
		if (i < cfg->workers)
			(void)worker_start(cfg, stats, i, fd, oldmask);
	}
	signal_children(SIGTERM, 0);
	/* Started again with the new configuration once it is gone. */
	listener_signal(SIGTERM);
	drain_deadline_ms = now_ms() + DRAIN_MAX_MS;
	log_info("reloaded %s: %d workers", cfg->path, cfg->workers);
}

/* Arm SIGALRM for the nearest deadline (ms from now). */
static void
arm_timer(int64_t ms)
{
	struct itimerval	 it;

	if (ms < 1)
		ms = 1;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
install_master_signals(sigset_t *oldmask)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	signals_block();
	signals_saved_mask(oldmask);
}

static int
migrate(const struct config *cfg)
{
	struct store	*st;
	char		 err[1024];

	if ((st = store_open(cfg->database, 1, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	store_close(st);
	return 0;
}

/* When the master must wake next: maintenance, a respawn, a resend. */
static int64_t
next_wake(int64_t now, int64_t next_maint, int stopping)
{
	int64_t	 wake = next_maint;
	int	 i;

	for (i = 0; i < CONFIG_WORKERS_MAX; i++)
		if (slots[i].pid == 0 && slots[i].respawn_ms != 0 &&
		    slots[i].respawn_ms < wake)
			wake = slots[i].respawn_ms;
	if ((stopping || draining_any()) && now + DRAIN_RESEND_MS < wake)
		wake = now + DRAIN_RESEND_MS;
	if (!stopping && listener_next_ms() != 0 && listener_next_ms() < wake)
		wake = listener_next_ms();
	return wake;
}

/* The timed duties of one turn of the loop. */
static void
master_duties(struct config *cfg, struct stats *stats, int fd,
    const sigset_t *oldmask, int stopping, int64_t *next_maint)
{
	int64_t	 now = now_ms();
	int	 i;

	if (stopping || draining_any()) {
		signal_children(SIGTERM, stopping);
		if (now > drain_deadline_ms)
			signal_children(SIGKILL, stopping);
	}
	if (stopping)
		return;
	for (i = 0; i < cfg->workers; i++)
		if (slots[i].pid == 0 && slots[i].respawn_ms != 0 &&
		    slots[i].respawn_ms <= now)
			(void)worker_start(cfg, stats, i, fd, oldmask);
	listener_start(cfg, stats, now);
	if (now >= *next_maint) {
		maint_run(cfg, stats);
		stats_tick(stats, util_now());
		*next_maint = now_ms() + cfg->maintenance_interval * 1000;
	}
}

/* Supervise until SIGTERM/SIGINT and every child is gone. */
static void
master_loop(struct config *cfg, struct stats *stats, int fd,
    const sigset_t *oldmask)
{
	int64_t	 next_maint, now;
	int	 stopping = 0;

	next_maint = now_ms() + cfg->maintenance_interval * 1000;
	for (;;) {
		now = now_ms();
		arm_timer(next_wake(now, next_maint, stopping) - now);
		/* Signals are blocked but here: no check-then-wait race. */
		while (!got_chld && !got_term && !got_hup && !got_alrm)
			sigsuspend(oldmask);
		got_alrm = 0;
		if (got_chld) {
			got_chld = 0;
			reap(stopping, stats);
		}
		if (got_term && !stopping) {
			stopping = 1;
			drain_deadline_ms = now_ms() + DRAIN_MAX_MS;
			log_info("stopping: draining workers");
		}
		got_term = 0;
		if (got_hup && !stopping)
			reload(cfg, stats, fd, oldmask);
		got_hup = 0;
		if (stopping && !children_alive())
			return;
		master_duties(cfg, stats, fd, oldmask, stopping, &next_maint);
	}
}

int
master_run(struct config *cfg, int fd, int inherited)
{
	struct stats	*stats;
	sigset_t	 oldmask;
	int		 i;

	/* Workers inherit it by fork; a mail command must not by exec. */
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Workers wait with ppoll and must not block in accept when another
	 * took the connection (see fcgi.c). */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		log_error("listening socket: %s", strerror(errno));
		return 1;
	}
	if (drop_privileges(cfg) == -1 || migrate(cfg) == -1)
		return 1;
	if ((stats = stats_create(1)) == NULL) {
		log_error("statistics segment: %s", strerror(errno));
		return 1;
	}
	if (inherited && cfg->workers == 1)
		return worker_serve_single(cfg, stats, fd);

	master_pid = getpid();
	install_master_signals(&oldmask);
	for (i = 0; i < cfg->workers; i++)
		(void)worker_start(cfg, stats, i, fd, &oldmask);
	listener_start(cfg, stats, now_ms());
	log_info("serving with %d workers", cfg->workers);
	master_loop(cfg, stats, fd, &oldmask);
	close(fd);
	if (cfg->listen[0] == '/')
		(void)unlink(cfg->listen);
	log_info("stopped");
	return 0;
}
