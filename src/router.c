#include <string.h>

#include "app.h"
#include "csrf.h"
#include "http.h"
#include "parse.h"
#include "routes.h"

#define R_CSRF	0x01	/* a form body needs the CSRF token or Origin */

struct route {
	const char	*path;
	const char	*method;
	route_fn	*fn;
	int		 flags;
};

static const struct route routes[] = {
	{ "/login",	"GET",	route_login_get,	0 },
	{ "/login",	"POST",	route_login_post,	R_CSRF },
	{ "/check",	"GET",	route_check,		0 },
	{ "/session",	"GET",	route_session,		0 },
	{ "/refresh",	"POST",	route_refresh,		R_CSRF },
	{ "/logout",	"POST",	route_logout,		R_CSRF },
	{ "/healthz",	"GET",	route_healthz,		0 },
	{ "/register",	"GET",	route_register_get,	0 },
	{ "/register",	"POST",	route_register,		R_CSRF },
	{ "/verify",	"GET",	route_verify,		0 },
	{ "/verify/resend", "POST", route_verify_resend,	R_CSRF },
	{ "/sessions",	"GET",	route_sessions_get,	0 },
	{ "/sessions/revoke", "POST", route_sessions_revoke, R_CSRF },
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
	return strcmp(have, want) == 0 ||
	    (strcmp(want, "GET") == 0 && strcmp(have, "HEAD") == 0);
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
			resp_error(req, resp, 403, "missing or invalid CSRF "
			    "token (reload the form and try again)");
			buf_free(&allow);
			return;
		}
		routes[i].fn(app, req, resp);
		buf_free(&allow);
		return;
	}
	if (allow.len > 0) {
		resp_header(resp, "Allow", "%s", allow.data);
		resp_error(req, resp, 405, "method not allowed");
	} else
		resp_error(req, resp, 404, "not found");
	buf_free(&allow);
}

enum session_rc
route_session_load(struct app *app, const struct request *req, int fresh,
    struct session *se, enum session_source *src, unsigned char *hash)
{
	const char	*hdr = http_param(req, "HTTP_COOKIE");
	const char	*v;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	size_t		 vlen;

	if (hdr == NULL || !parse_cookie(hdr, strlen(hdr),
	    app->cfg->cookie_name, &v, &vlen) ||
	    session_cookie_hash(v, vlen, h) == -1)
		return SESSION_NONE;
	if (hash != NULL)
		memcpy(hash, h, sizeof(h));
	return session_check(app, h, fresh, se, src);
}

int
route_login_url(struct app *app, const char *next, struct buf *out)
{
	if (buf_printf(out, "%s%s/login", app->cfg->base_url,
	    app->cfg->prefix) == -1)
		return -1;
	if (next == NULL || next[0] == '\0' ||
	    !parse_next_is_safe(next, strlen(next)))
		return 0;
	if (buf_puts(out, "?next=") == -1 ||
	    parse_urlencode(next, strlen(next), out) == -1)
		return -1;
	return 0;
}
