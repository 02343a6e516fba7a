/* The request driver: role, route, dispatch, answer. */
#include <string.h>

#include "app.h"
#include "config.h"
#include "csrf.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "seclog.h"
#include "router.h"
#include "stats.h"
#include "util.h"

#define R_CSRF		0x01	/* a form body needs the CSRF token or Origin */
#define R_NO_BODY	0x02	/* never reads a request body */

struct route {
	const char	*path;
	const char	*method;	/* NULL: every method alike */
	route_fn	*fn;
	int		 flags;
};

static const struct route routes[] = {
	{ "/login",	"GET",	route_login_get,	0 },
	{ "/login",	"POST",	route_login_post,	R_CSRF },
	/* nginx's auth_request sends the original method, and announces the
	 * original body it does not send. */
	{ "/check",	NULL,	route_check,		R_NO_BODY },
	{ "/session",	"GET",	route_session,		0 },
	{ "/refresh",	"POST",	route_refresh,		R_CSRF },
	{ "/logout",	"POST",	route_logout,		R_CSRF },
	{ "/healthz",	"GET",	route_healthz,		0 },
	{ "/register",	"GET",	route_register_get,	0 },
	{ "/register",	"POST",	route_register,		R_CSRF },
	{ "/verify",	"GET",	route_verify,		0 },
	{ "/verify",	"POST",	route_verify,		R_CSRF },
	{ "/verify/resend", "POST", route_verify_resend,	R_CSRF },
	{ "/password/forgot", "GET", route_password_forgot_get, 0 },
	{ "/password/forgot", "POST", route_password_forgot, R_CSRF },
	{ "/password/reset", "GET", route_password_reset, 0 },
	{ "/password/reset", "POST", route_password_reset, R_CSRF },
	{ "/password/change", "GET", route_password_change_get, 0 },
	{ "/password/change", "POST", route_password_change, R_CSRF },
	{ "/sessions",	"GET",	route_sessions_get,	0 },
	{ "/sessions/revoke", "POST", route_sessions_revoke, R_CSRF },
	{ "/tokens",	"GET",	route_tokens_get,	0 },
	{ "/tokens",	"POST",	route_tokens_post,	R_CSRF },
	{ "/tokens/revoke", "POST", route_tokens_revoke, R_CSRF },
	{ "/totp",	"GET",	route_totp_get,		0 },
	{ "/totp/enable", "POST", route_totp_enable,	R_CSRF },
	{ "/totp/disable", "POST", route_totp_disable,	R_CSRF },
	{ "/admin",	"GET",	route_admin_page,	0 },
	{ "/admin/stats.json", "GET", route_admin_stats_json, 0 },
	{ "/admin/cache/clear", "POST", route_admin_cache_clear, R_CSRF },
	{ "/admin/stats/reset", "POST", route_admin_stats_reset, R_CSRF },
	{ "/admin/sessions/revoke", "POST", route_admin_sessions_revoke, R_CSRF },
	{ "/metrics",	"GET",	route_metrics,		0 },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static int
method_is(const char *have, const char *want)
{
	/* HEAD is answered as GET; the web server drops the body. */
	return want == NULL || strcmp(have, want) == 0 ||
	    (strcmp(want, "GET") == 0 && strcmp(have, "HEAD") == 0);
}

/* 1 if the request's route never reads a body (whatever its method). */
static int
route_reads_no_body(const struct request *req)
{
	size_t	 i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(routes[i].path, req->route) == 0 &&
		    (routes[i].flags & R_NO_BODY))
			return 1;
	return 0;
}

void
router_dispatch(struct app *app, struct request *req, struct response *resp)
{
	struct buf	 allow = { 0 };
	size_t		 i;

	for (i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].path, req->route) != 0)
			continue;
		if (!method_is(req->method, routes[i].method)) {
			(void)buf_printf(&allow, "%s%s", allow.len ? ", " : "",
			    routes[i].method);
			continue;
		}
		if ((routes[i].flags & R_CSRF) && !req->is_json_body &&
		    !csrf_check(app, req)) {
			seclog(SECLOG_CSRF, req->remote_addr, NULL, req->route);
			http_resp_error(req, resp, 403, "missing or invalid CSRF "
			    "token (reload the form and try again)");
			buf_free(&allow);
			return;
		}
		routes[i].fn(app, req, resp);
		buf_free(&allow);
		return;
	}
	if (allow.len > 0) {
		http_resp_header(resp, "Allow", "%s", allow.data);
		http_resp_error(req, resp, 405, "method not allowed");
	} else
		http_resp_error(req, resp, 404, "not found");
	buf_free(&allow);
}

static enum http_role
request_role(const struct request *req)
{
	const char	*r = http_param(req, "FCGI_APACHE_ROLE");

	if (r != NULL && (strcmp(r, "AUTHORIZER") == 0 ||
	    strcmp(r, "AUTHENTICATOR") == 0 ||
	    strcmp(r, "ACCESS_CHECKER") == 0))
		return ROLE_AUTHORIZER;
	r = http_param(req, "FCGI_ROLE");
	if (r != NULL && strcmp(r, "AUTHORIZER") == 0)
		return ROLE_AUTHORIZER;
	return ROLE_RESPONDER;
}

int
router_serve(struct app *app, const struct http_io *io)
{
	struct request	 req;
	struct response	 resp;
	const char	*why = NULL, *m;
	char		 esc[256], mesc[64];
	int		 status;

	http_request_init(&req, io, util_now());
	memset(&resp, 0, sizeof(resp));
	req.app_prefix = app->cfg->prefix;
	req.app_www = app->cfg->www_dir;
	req.role = request_role(&req);
	if (app->stats != NULL && app->worker >= 0)
		atomic_fetch_add_explicit(&app->stats->w[app->worker].requests,
		    1, memory_order_relaxed);

	if (req.role == ROLE_AUTHORIZER)
		route_authorize(app, &req, &resp);
	else if (http_request_route(&req, app->cfg->prefix) == -1)
		http_resp_error(&req, &resp, 414, "request path too long");
	else if ((status = route_reads_no_body(&req) ?
	    http_request_parse_query(&req, &why) :
	    http_request_parse(&req, &why)) != 0)
		http_resp_error(&req, &resp, status, why);
	else
		router_dispatch(app, &req, &resp);

	if (resp.status == 0)
		http_resp_error(&req, &resp, 500, "internal error");
	/* The path only: a query may hold a token. The method and the path
	 * are the client's: escaped, only when the line is written (this runs
	 * for every request). */
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		m = req.role == ROLE_AUTHORIZER ? req.uri : req.route;
		log_debug("%s %s -> %d", req.role == ROLE_AUTHORIZER ?
		    "AUTHORIZE" : log_escape(req.method, strlen(req.method),
		    mesc, sizeof(mesc)), log_escape(m, strcspn(m, "?"),
		    esc, sizeof(esc)), resp.status);
	}
	status = resp.status;
	if (http_response_send(io, &resp) == -1)
		log_warn("could not send the response");
	http_response_free(&resp);
	http_request_free(&req);
	return status;
}
