/* The only module that includes libfcgi (reentrant FCGX_* API only). */
#ifndef AUTHGW_FCGI_H
#define AUTHGW_FCGI_H

#include <signal.h>

struct app;

/* Set by signal handlers: finish the current request and return. */
extern volatile sig_atomic_t	fcgi_stop;

/*
 * Serve FastCGI requests on the listening socket fd until fcgi_stop is
 * set, each answered by router_serve(). idle (may be NULL) is called with
 * arg after each request, between requests. Returns 0 on an orderly stop,
 * -1 if the library failed.
 */
int	fcgi_serve(struct app *, int fd, void (*idle)(void *), void *arg);

#endif
