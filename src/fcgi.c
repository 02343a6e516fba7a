/* The FastCGI transport. Only this file includes libfcgi, and it uses the
 * reentrant FCGX_* API alone. */
#ifdef __linux__
#include <sys/epoll.h>
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "util.h"

#define FCGI_IO_CHUNK		65536	/* bytes per libfcgi call */
#define FCGI_PEER_MAX		64	/* "[v6addr]:port" */
#define FCGI_CLIENT_MAX		128	/* REMOTE_ADDR, escaped */
#define FCGI_WHY_READ		"request not complete"
#define FCGI_WHY_WRITE		"answer not taken"
#define FCGI_COOKIE_NAME	"HTTP_COOKIE"
#define FCGI_COOKIE_MAX		HTTP_PARAM_MAX	/* Cookie lines joined */

volatile sig_atomic_t	fcgi_stop;

/*
 * The connection in hand as the deadline's handler sees it: its fd (-1:
 * none) and whether its deadline has passed.
 */
static volatile sig_atomic_t	conn_fd = -1;
static volatile sig_atomic_t	conn_expired;

/* One connection and its deadlines (monotonic microseconds). */
struct fcgi_conn {
	FCGX_Request	*req;
	int64_t		 io_timeout;	/* microseconds */
	int64_t		 read_by;	/* the whole request read */
	int64_t		 write_by;	/* the answer taken; 0: not begun */
	char		 peer[FCGI_PEER_MAX];
	char		 client[FCGI_CLIENT_MAX];
	const char	*why;		/* what the deadline cut, or NULL */
	int		 cookie_state;	/* cookie[]: 0 not built, 1 built,
					   -1 too long */
	size_t		 cookie_len;	/* bytes of cookie[] to cleanse */
	char		 cookie[FCGI_COOKIE_MAX + 1];	/* fcgi_cookie_join */
};

/*
 * SIGALRM at a connection's deadline. The timer runs only while libfcgi
 * reads or writes that connection, so this lands there and nowhere else:
 * the shutdown makes the read or write in progress, and any after it,
 * fail at once, and libfcgi abandons the request.
 */
static void
on_deadline(int sig)
{
	int	 save = errno;

	(void)sig;
	conn_expired = 1;
	if (conn_fd != -1)
		(void)shutdown(conn_fd, SHUT_RDWR);
	errno = save;
}

/* Let the deadline (mono usec) cut the libfcgi call that follows.
 * Returns 0, or -1 when it has passed already (the connection is shut). */
static int
deadline_arm(int64_t deadline)
{
	struct itimerval	 it;
	int64_t			 left;

	if (conn_expired)
		return -1;
	if ((left = deadline - util_mono_usec()) <= 0) {
		on_deadline(SIGALRM);
		return -1;
	}
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)(left / 1000000);
	it.it_value.tv_usec = (suseconds_t)(left % 1000000);
	return setitimer(ITIMER_REAL, &it, NULL);
}

static void
deadline_disarm(void)
{
	struct itimerval	 it;

	memset(&it, 0, sizeof(it));
	(void)setitimer(ITIMER_REAL, &it, NULL);
}

/* After a libfcgi call in phase why: note it if the deadline cut it. */
static void
deadline_note(struct fcgi_conn *c, const char *why)
{
	if (conn_expired && c->why == NULL)
		c->why = why;
}

/*
 * The value of parameter name among the request's ("NAME=value"), or
 * NULL. A parameter sent more than once counts by its last value, as
 * PHP-FPM counts it (libfcgi's FCGX_GetParam returns the first): so a
 * `fastcgi_param` written after `include fastcgi_params` overrides the
 * include's. *n (may be NULL) gets how many times it was sent.
 */
/* The value of one "NAME=value" entry if it is name's (nlen bytes). */
static const char *
env_value(const char *e, const char *name, size_t nlen)
{
	return strncmp(e, name, nlen) == 0 && e[nlen] == '=' ?
	    e + nlen + 1 : NULL;
}

static const char *
fcgi_env_last(char **envp, const char *name, size_t *n)
{
	const char	*v = NULL, *ev;
	size_t		 nlen = strlen(name), count = 0;

	for (; envp != NULL && *envp != NULL; envp++)
		if ((ev = env_value(*envp, name, nlen)) != NULL) {
			v = ev;
			count++;
		}
	if (n != NULL)
		*n = count;
	return v;
}

/*
 * HTTP_COOKIE sent more than once: nginx before 1.23 sends each Cookie
 * line of the client as a parameter of its own. Together they are one
 * list of cookies in order, which is how nginx's $cookie_NAME, later
 * nginx, lighttpd and Apache read them (the first occurrence of a name
 * counts, SPEC 4), so they are joined with "; " into c->cookie, once per
 * request. NULL when the list would be longer than FCGI_COOKIE_MAX: a
 * header that long counts as none (http_param).
 */
static const char *
fcgi_cookie_join(struct fcgi_conn *c)
{
	char		**e;
	const char	 *v;
	size_t		  nlen = sizeof(FCGI_COOKIE_NAME) - 1, len, sep;
	size_t		  off = 0;

	if (c->cookie_state == 0) {
		c->cookie_state = 1;
		for (e = c->req->envp; *e != NULL; e++) {
			if ((v = env_value(*e, FCGI_COOKIE_NAME, nlen)) == NULL)
				continue;
			len = strlen(v);
			sep = off > 0 ? 2 : 0;
			if (sep > FCGI_COOKIE_MAX - off ||
			    len > FCGI_COOKIE_MAX - off - sep) {
				c->cookie_state = -1;
				break;
			}
			memcpy(c->cookie + off, "; ", sep);
			memcpy(c->cookie + off + sep, v, len);
			off += sep + len;
			c->cookie_len = off;
		}
		c->cookie[off] = '\0';
	}
	return c->cookie_state == 1 ? c->cookie : NULL;
}

static const char *
fcgi_param(void *ctx, const char *name)
{
	struct fcgi_conn	*c = ctx;
	const char		*v;
	size_t			 n;

	v = fcgi_env_last(c->req->envp, name, &n);
	if (n > 1 && strcmp(name, FCGI_COOKIE_NAME) == 0)
		return fcgi_cookie_join(c);
	return v;
}

static size_t
fcgi_count(void *ctx, const char *name)
{
	struct fcgi_conn	*c = ctx;
	size_t			 n;

	(void)fcgi_env_last(c->req->envp, name, &n);
	return n;
}

static long
fcgi_read(void *ctx, char *p, size_t len)
{
	struct fcgi_conn	*c = ctx;
	int			 n;

	if (len > FCGI_IO_CHUNK)
		len = FCGI_IO_CHUNK;
	if (deadline_arm(c->read_by) == -1) {
		deadline_note(c, FCGI_WHY_READ);
		return -1;
	}
	n = FCGX_GetStr(p, (int)len, c->req->in);
	deadline_disarm();
	deadline_note(c, FCGI_WHY_READ);
	if (n < 0 || FCGX_GetError(c->req->in) != 0)
		return -1;
	return n;
}

static int
fcgi_write(void *ctx, const char *p, size_t len)
{
	struct fcgi_conn	*c = ctx;
	int			 n = 0;

	if (c->write_by == 0)
		c->write_by = util_mono_usec() + c->io_timeout;
	if (deadline_arm(c->write_by) == -1) {
		deadline_note(c, FCGI_WHY_WRITE);
		return -1;
	}
	while (len > 0) {
		n = FCGX_PutStr(p, len > FCGI_IO_CHUNK ? FCGI_IO_CHUNK :
		    (int)len, c->req->out);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	deadline_disarm();
	deadline_note(c, FCGI_WHY_WRITE);
	return len == 0 ? 0 : -1;
}

/*
 * A stop signal that came during a request is still pending here, and
 * epoll_pwait and ppoll return a ready connection before they deliver a
 * pending signal: under a load that always has one ready, the worker
 * would go on accepting after SIGTERM (or a reload's drain) until the
 * master's SIGKILL cut a request. Returns 1, with fcgi_stop set, if
 * one is pending.
 */
static int
fcgi_stop_pending(void)
{
	sigset_t	 pend;

	if (sigpending(&pend) == -1 || (sigismember(&pend, SIGTERM) != 1 &&
	    sigismember(&pend, SIGINT) != 1))
		return 0;
	fcgi_stop = 1;
	return 1;
}

/*
 * Wait until the listening socket has a connection, a stop signal
 * arrives or timeout_ms (-1: none) pass. The stop signals are blocked
 * everywhere else, so none can cut a request short (libfcgi does not
 * retry reads and writes that end in EINTR), and the wait unblocks them
 * atomically, so none is missed. On Linux an epoll set with
 * EPOLLEXCLUSIVE wakes one idle worker per connection, as a blocking
 * accept would, instead of all of them.
 * Returns 1 (try to accept), 0 (signal or time-out) or -1.
 */
static int
fcgi_wait(int fd, int epfd, const sigset_t *waitmask, int timeout_ms)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	struct timespec	 ts, *tsp = NULL;
	int		 n;
#ifdef __linux__
	struct epoll_event ev;

	if (epfd != -1)
		n = epoll_pwait(epfd, &ev, 1, timeout_ms, waitmask);
	else
#endif
	{
		if (timeout_ms >= 0) {
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
			tsp = &ts;
		}
		n = ppoll(&p, 1, tsp, waitmask);
	}
	(void)epfd;
	if (n > 0)
		return fcgi_stop_pending() ? 0 : 1;
	if (n == 0)
		return 0;
	return errno == EINTR ? 0 : -1;
}

/* An epoll set waking one waiter per connection, or -1 (use ppoll). */
static int
fcgi_epoll(int fd)
{
#ifdef __linux__
	struct epoll_event	 ev;
	int			 epfd;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(epfd);
		return -1;
	}
	return epfd;
#else
	(void)fd;
	return -1;
#endif
}

/* The connection's peer, for the log: "addr:port", "[v6]:port", "unix". */
static void
fcgi_peer(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	char				 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) != NULL)
		(void)snprintf(out, outsz, "%s:%u", a, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) != NULL)
		(void)snprintf(out, outsz, "[%s]:%u", a,
		    ntohs(sin6->sin6_port));
	else
		(void)snprintf(out, outsz, "unix");
}

/*
 * Take a connection from the non-blocking listening socket fd. Returns
 * its fd (blocking, close-on-exec), or -1: none to take (another worker
 * won it, or it went away), and with *fatal set when this process
 * cannot go on (logged).
 */
static int
fcgi_accept(int fd, struct fcgi_conn *c, int *fatal)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 cfd, one = 1;

	memset(&ss, 0, sizeof(ss));
#ifdef __linux__
	cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
#else
	/* Elsewhere an accepted socket inherits the listener's O_NONBLOCK. */
	if ((cfd = accept(fd, (struct sockaddr *)&ss, &len)) != -1 &&
	    (fcntl(cfd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) & ~O_NONBLOCK) == -1)) {
		close(cfd);
		cfd = -1;
	}
#endif
	if (cfd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED &&
		    errno != EPROTO && errno != ECONNRESET) {
			log_error("accept: %s", strerror(errno));
			*fatal = 1;
		}
		return -1;
	}
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	fcgi_peer(&ss, c->peer, sizeof(c->peer));
	return cfd;
}

/* The client's REMOTE_ADDR, escaped, for the time-out line. */
static void
fcgi_note_client(struct fcgi_conn *c)
{
	const char	*ra = fcgi_env_last(c->req->envp, "REMOTE_ADDR", NULL);

	if (ra == NULL)
		ra = "-";
	(void)log_escape(ra, strlen(ra), c->client, sizeof(c->client));
}

/*
 * Serve the one request of connection cfd under io_timeout: the request
 * must be read within it of the connection, the answer taken within it
 * of its first byte. libfcgi gets the connection as if it had accepted
 * it; keepConnection set, the FCGX_Finish_r that FCGX_Accept_r begins
 * with leaves it open. When a read fails, libfcgi closes the connection
 * and turns to the request's listening socket, -1 here, so it returns
 * instead of accepting one nobody guards.
 */
static void
fcgi_conn_serve(struct app *app, struct fcgi_conn *c, int cfd,
    const struct http_io *io)
{
	FCGX_Request	*req = c->req;
	int		 rc;

	c->read_by = util_mono_usec() + c->io_timeout;
	c->write_by = 0;
	(void)util_strlcpy(c->client, "-", sizeof(c->client));
	c->why = NULL;
	c->cookie_state = 0;
	c->cookie_len = 0;
	conn_expired = 0;
	conn_fd = cfd;
	req->ipcFd = cfd;
	req->keepConnection = 1;
	(void)deadline_arm(c->read_by);
	rc = FCGX_Accept_r(req);
	deadline_disarm();
	deadline_note(c, FCGI_WHY_READ);
	if (rc == 0) {
		/* One request per connection: a kept one would hold this
		 * worker in a read that no stop signal may interrupt. */
		req->keepConnection = 0;
		fcgi_note_client(c);
		(void)router_serve(app, io);
		util_cleanse(c->cookie, c->cookie_len);	/* a session token */
		c->cookie_len = 0;
		if (c->write_by == 0)
			c->write_by = util_mono_usec() + c->io_timeout;
		(void)deadline_arm(c->write_by);
		FCGX_Finish_r(req);	/* closes cfd */
		deadline_disarm();
		deadline_note(c, FCGI_WHY_WRITE);
	} else if (req->ipcFd != -1) {
		close(req->ipcFd);
		req->ipcFd = -1;
	}
	conn_fd = -1;
	if (c->why != NULL)
		log_warn("fastcgi: client %s (peer %s): %s within io_timeout "
		    "(%llds); connection closed", c->client, c->peer, c->why,
		    (long long)(c->io_timeout / 1000000));
}

/* Block the stop signals (the mask to wait with in *waitmask) and take
 * SIGALRM for the connections' deadlines. */
static void
fcgi_signals(sigset_t *waitmask)
{
	struct sigaction	 sa;
	sigset_t		 stopsigs, alrm;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_deadline;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stopsigs, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

int
fcgi_serve(struct app *app, int fd, int64_t io_timeout, int (*idle)(void *),
    void *arg)
{
	FCGX_Request		 req;
	struct fcgi_conn	 c;
	struct http_io		 io;
	sigset_t		 waitmask;
	int			 rc, epfd, cfd, fatal = 0, wait_ms;

	/* Connections are accepted here, not by libfcgi: see above. */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, -1, 0) != 0) {
		log_error("FCGX_Init failed");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.req = &req;
	c.io_timeout = io_timeout * 1000000;
	io.param = fcgi_param;
	io.read = fcgi_read;
	io.write = fcgi_write;
	io.ctx = &c;
	io.count = fcgi_count;
	fcgi_signals(&waitmask);
	epfd = fcgi_epoll(fd);
	wait_ms = idle != NULL ? idle(arg) : -1;
	while (!fcgi_stop) {
		if ((rc = fcgi_wait(fd, epfd, &waitmask, wait_ms)) == -1) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (rc == 1 && (cfd = fcgi_accept(fd, &c, &fatal)) != -1)
			fcgi_conn_serve(app, &c, cfd, &io);
		if (fatal)
			break;
		if (idle != NULL && !fcgi_stop)
			wait_ms = idle(arg);
	}
	if (epfd != -1)
		close(epfd);
	FCGX_Free(&req, 1);
	return fcgi_stop ? 0 : -1;
}
