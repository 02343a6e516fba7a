/* The only module that includes libfcgi (reentrant FCGX_* API only). */
#ifndef AUTHGW_FCGI_H
#define AUTHGW_FCGI_H

#include <signal.h>
#include <stdint.h>

struct app;

/* Set by signal handlers: finish the current request and return. */
extern volatile sig_atomic_t	fcgi_stop;

/*
 * Serve FastCGI requests on the listening socket fd (non-blocking) until
 * fcgi_stop is set, each answered by router_serve(). A client gets
 * io_timeout seconds from its connection to send the whole request and
 * as long again to take the answer; then the connection is closed (one
 * warn line) and the process goes on. idle (may be NULL) is called with
 * arg before the first wait and after each request or wake-up; it
 * returns the milliseconds after which it wants to be called again, -1
 * for none. Returns 0 on an orderly stop, -1 if the library failed.
 */
int	fcgi_serve(struct app *, int fd, int64_t io_timeout,
	    int (*idle)(void *), void *arg);

#endif
