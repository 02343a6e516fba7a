/* Route handlers, one file per group: routes_auth.c (login, logout,
 * refresh, session), routes_check.c (check, authorizer, healthz). */
#ifndef AUTHGW_ROUTES_H
#define AUTHGW_ROUTES_H

#include "ratelimit.h"
#include "session.h"
#include "store.h"
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
/* routes_register.c: registration and email verification */
route_fn	route_register;
route_fn	route_register_get;
route_fn	route_verify;
route_fn	route_verify_resend;
/* routes_sessions.c: the user's own sessions */
route_fn	route_sessions_get;
route_fn	route_sessions_revoke;
/* routes_admin.c: admin role only (metrics: metrics_allow or admin) */
route_fn	route_admin_page;
route_fn	route_admin_stats_json;
route_fn	route_admin_cache_clear;
route_fn	route_admin_stats_reset;
route_fn	route_admin_sessions_revoke;
route_fn	route_metrics;
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

/* The two counters of a rate-limited request and their keys. */
struct route_limit {
	struct store_attempt	 a[2];	/* [0] account, [1] client address */
	char			 acct[UTIL_EMAIL_MAX + 1];
	char			 addr[RATELIMIT_KEY_MAX];
};

/*
 * Take one attempt on the account and client-address counters of kinds
 * acct_kind/addr_kind with the login limits and window. Returns 0 (ids in
 * rl->a); or -1 after answering 429 with Retry-After, or 503.
 */
int	route_ratelimit(struct app *, struct request *, struct response *,
	    struct store *, int acct_kind, int addr_kind, const char *email,
	    struct route_limit *rl);

/*
 * A page from message.html with a sign-in link; offer_resend adds the form
 * asking for a new verification link (email prefilled, may be NULL).
 */
void	route_message_page(struct app *, struct request *, struct response *,
	    int status, const char *title, const char *message,
	    int offer_resend, const char *email);

/* The login page URL with next= (absolute, from base_url) into out. */
int	route_login_url(struct app *, const char *next, struct buf *out);
