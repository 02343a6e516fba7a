/* The FastCGI transport. Only this file includes libfcgi, and it uses the
 * reentrant FCGX_* API alone. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <fcgiapp.h>

#include "app.h"
#include "fcgi.h"
#include "http.h"
#include "log.h"

volatile int	fcgi_stop;

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
 * EINTR), and ppoll unblocks them atomically, so none is missed.
 * Returns 1 (try to accept), 0 (signal: check fcgi_stop) or -1.
 */
static int
fcgi_wait(int fd, const sigset_t *waitmask)
{
	struct pollfd	 p = { fd, POLLIN, 0 };

	if (ppoll(&p, 1, NULL, waitmask) >= 0)
		return 1;
	return errno == EINTR ? 0 : -1;
}

int
fcgi_serve(struct app *app, int fd)
{
	FCGX_Request	 req;
	struct http_io	 io;
	sigset_t	 stopsigs, waitmask;
	int		 rc;

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
	while (!fcgi_stop) {
		if ((rc = fcgi_wait(fd, &waitmask)) <= 0) {
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
		(void)http_serve(app, &io);
		FCGX_Finish_r(&req);
		app_tick(app);
	}
	FCGX_Free(&req, 1);
	return fcgi_stop ? 0 : -1;
}
