/* Plain CGI: one request from the environment and stdin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgi.h"
#include "http.h"
#include "router.h"

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static long
cgi_read(void *ctx, char *p, size_t len)
{
	ssize_t	 n;

	(void)ctx;
	do
		n = read(STDIN_FILENO, p, len);
	while (n < 0 && errno == EINTR);
	return (long)n;
}

static int
cgi_write(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	return fwrite(p, 1, len, stdout) == len ? 0 : -1;
}

int
cgi_serve(struct app *app)
{
	struct http_io	 io = { cgi_param, cgi_read, cgi_write, NULL, NULL };

	(void)router_serve(app, &io);
	return fflush(stdout) == 0 ? 0 : 1;
}
