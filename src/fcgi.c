/* The FastCGI transport. Only this file includes libfcgi, and it uses the
 * reentrant FCGX_* API alone. */
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi.h"
#include "http.h"
#include "log.h"
#include "router.h"

volatile sig_atomic_t	fcgi_stop;

static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request	*r = ctx;

	return FCGX_GetParam(name, r->envp);
}

static long
fcgi_read(void *ctx, char *p, size_t len)
{
	FCGX_Request	*r = ctx;
	int		 n;

	if (len > 65536)
		len = 65536;
	n = FCGX_GetStr(p, (int)len, r->in);
	if (n < 0 || FCGX_GetError(r->in) != 0)
		return -1;
	return n;
}

static int
fcgi_write(void *ctx, const char *p, size_t len)
{
	FCGX_Request	*r = ctx;
	int		 n;

	while (len > 0) {
		n = FCGX_PutStr(p, len > 65536 ? 65536 : (int)len, r->out);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Wait until the listening socket has a connection or a stop signal
 * arrives. The stop signals are blocked everywhere else, so none can cut
 * a request short (libfcgi does not retry reads and writes that end in
 * EINTR), and the wait unblocks them atomically, so none is missed. On
 * Linux an epoll set with EPOLLEXCLUSIVE wakes one idle worker per
 * connection, as a blocking accept would, instead of all of them.
 * Returns 1 (try to accept), 0 (signal: check fcgi_stop) or -1.
 */
static int
fcgi_wait(int fd, int epfd, const sigset_t *waitmask)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	int		 n;
#ifdef __linux__
	struct epoll_event ev;

	if (epfd != -1)
		n = epoll_pwait(epfd, &ev, 1, -1, waitmask);
	else
#endif
		n = ppoll(&p, 1, NULL, waitmask);
	(void)epfd;
	if (n >= 0)
		return 1;
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

int
fcgi_serve(struct app *app, int fd, void (*idle)(void *), void *arg)
{
	FCGX_Request	 req;
	struct http_io	 io;
	sigset_t	 stopsigs, waitmask;
	int		 rc, epfd;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0) {
		log_error("FCGX_Init failed");
		return -1;
	}
	io.param = fcgi_param;
	io.read = fcgi_read;
	io.write = fcgi_write;
	io.ctx = &req;
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stopsigs, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	epfd = fcgi_epoll(fd);
	while (!fcgi_stop) {
		if ((rc = fcgi_wait(fd, epfd, &waitmask)) <= 0) {
			if (rc == 0)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		/* The socket is non-blocking: another worker may have won. */
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -ECONNABORTED || rc == -EINTR)
				continue;
			log_error("accept: %s", strerror(-rc));
			break;
		}
		/* One request per connection: a kept one would hold this
		 * worker in a read that no stop signal may interrupt. */
		req.keepConnection = 0;
		(void)router_serve(app, &io);
		FCGX_Finish_r(&req);
		if (idle != NULL)
			idle(arg);
	}
	if (epfd != -1)
		close(epfd);
	FCGX_Free(&req, 1);
	return fcgi_stop ? 0 : -1;
}
