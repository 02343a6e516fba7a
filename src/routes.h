/* Route handlers, one file per group: routes_auth.c (login, logout,
 * refresh, session), routes_check.c (check, authorizer, healthz). */
#ifndef AUTHGW_ROUTES_H
#define AUTHGW_ROUTES_H

#include "session.h"
#include "util.h"

struct app;
struct request;
struct response;

typedef void	route_fn(struct app *, struct request *, struct response *);

route_fn	route_login_get;
route_fn	route_login_post;
route_fn	route_logout;
route_fn	route_refresh;
route_fn	route_session;
route_fn	route_check;
route_fn	route_healthz;
/* The FastCGI AUTHORIZER / AUTHENTICATOR / ACCESS_CHECKER roles. */
route_fn	route_authorize;

/* Dispatch a responder request by route and method (router.c). */
void	router_dispatch(struct app *, struct request *, struct response *);

#endif



/*
 * The request's session from its cookie (for every route that needs one).
 * fresh bypasses any cache. Returns SESSION_OK, SESSION_NONE (no, bad or
 * dead cookie) or SESSION_ERROR (storage unusable). hash may be NULL.
 */
enum session_rc	 route_session_load(struct app *, const struct request *,
		    int fresh, struct session *, enum session_source *,
		    unsigned char *hash);

/* The login page URL with next= (absolute, from base_url) into out. */
int	route_login_url(struct app *, const char *next, struct buf *out);
