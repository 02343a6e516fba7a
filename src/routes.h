/* Route handlers, one file per group: routes_auth.c (login, logout,
 * refresh, session), routes_check.c (check, authorizer, healthz),
 * routes_register.c, routes_password.c, routes_sessions.c, routes_tokens.c,
 * routes_admin.c. What they share
 * is in routeutil.h. */
#ifndef AUTHGW_ROUTES_H
#define AUTHGW_ROUTES_H

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
/* routes_password.c: account recovery and password change */
route_fn	route_password_forgot_get;
route_fn	route_password_forgot;
route_fn	route_password_reset;
route_fn	route_password_change_get;
route_fn	route_password_change;
/* routes_sessions.c: the user's own sessions */
route_fn	route_sessions_get;
route_fn	route_sessions_revoke;
/* routes_tokens.c: the user's API tokens */
route_fn	route_tokens_get;
route_fn	route_tokens_post;
route_fn	route_tokens_revoke;
route_fn	route_totp_get;
route_fn	route_totp_enable;
route_fn	route_totp_disable;
/* routes_admin.c: admin role only (metrics: metrics_allow or admin) */
route_fn	route_admin_page;
route_fn	route_admin_stats_json;
route_fn	route_admin_cache_clear;
route_fn	route_admin_stats_reset;
route_fn	route_admin_sessions_revoke;
route_fn	route_metrics;
/* The FastCGI AUTHORIZER / AUTHENTICATOR / ACCESS_CHECKER roles. */
route_fn	route_authorize;

#endif
