/* The FastCGI transport. Only this file includes libfcgi, and it uses the
 * reentrant FCGX_* API alone. */
#include <errno.h>
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

int
fcgi_serve(struct app *app, int fd)
{
	FCGX_Request	 req;
	struct http_io	 io;
	sigset_t	 stopsigs;

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return -1;
	}
	/* Fail on EINTR so a signal ends the wait for a connection. */
	if (FCGX_InitRequest(&req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FCGX_InitRequest failed");
		return -1;
	}
	io.param = fcgi_param;
	io.read = fcgi_read;
	io.write = fcgi_write;
	io.ctx = &req;
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	while (!fcgi_stop) {
		if (FCGX_Accept_r(&req) < 0) {
			if (fcgi_stop || errno == EINTR)
				continue;
			log_error("accept: %s", strerror(errno));
			FCGX_Free(&req, 1);
			return -1;
		}
		/*
		 * A stop signal waits until the request is answered: libfcgi
		 * does not retry reads and writes cut short by EINTR.
		 */
		sigprocmask(SIG_BLOCK, &stopsigs, NULL);
		(void)http_serve(app, &io);
		FCGX_Finish_r(&req);
		app_tick(app);
		sigprocmask(SIG_UNBLOCK, &stopsigs, NULL);
	}
	FCGX_Free(&req, 1);
	return 0;
}
