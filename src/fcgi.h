/* The only module that includes libfcgi (reentrant FCGX_* API only). */
#ifndef AUTHGW_FCGI_H
#define AUTHGW_FCGI_H

struct app;

/* Set by signal handlers: finish the current request and return. */
extern volatile int	fcgi_stop;

/*
 * Serve FastCGI requests on the listening socket fd until fcgi_stop is
 * set. Returns 0 on an orderly stop, -1 if the library failed.
 */
int	fcgi_serve(struct app *, int fd);

#endif
