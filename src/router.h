/*
 * The request driver: reads one request through a transport, chooses the
 * FastCGI role, routes it to its handler (routes.h) and sends the answer.
 */
#ifndef AUTHGW_ROUTER_H
#define AUTHGW_ROUTER_H

struct app;
struct http_io;
struct request;
struct response;

/*
 * Read, route and answer one request through io. Never fails the process:
 * malformed input is answered 4xx. Returns the status sent.
 */
int	router_serve(struct app *, const struct http_io *io);

/* Dispatch a responder request by route and method: the handler, 404 or
 * 405 with Allow, or 403 for a form POST that fails the CSRF check. */
void	router_dispatch(struct app *, struct request *, struct response *);

#endif
