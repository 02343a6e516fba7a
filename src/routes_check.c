/* The session check: GET /check (nginx auth_request), the FastCGI
 * authorizer roles, and GET /healthz. */
#include <string.h>

#include "app.h"
#include "cache.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "routes.h"
#include "routeutil.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* 1 if a session with role have may pass a requirement of role want. */
static int
role_allows(const char *have, const char *want)
{
	return want == NULL || want[0] == '\0' || strcmp(have, want) == 0 ||
	    strcmp(have, "admin") == 0;
}

static int
role_known(const char *r)
{
	return r == NULL || r[0] == '\0' || strcmp(r, "user") == 0 ||
	    strcmp(r, "admin") == 0;
}

/* Headers naming the user, with prefix "" (/check) or "Variable-". */
static void
user_headers(struct response *resp, const struct session *se,
    enum session_source src, int authorizer)
{
	if (authorizer) {
		http_resp_header(resp, "Variable-REMOTE_USER", "%s", se->user.email);
		http_resp_header(resp, "Variable-AUTH_USER", "%s", se->user.email);
		http_resp_header(resp, "Variable-AUTH_USER_ID", "%lld",
		    (long long)se->user.id);
		http_resp_header(resp, "Variable-AUTH_ROLE", "%s", se->user.role);
		return;
	}
	http_resp_header(resp, "X-Auth-User", "%s", se->user.email);
	http_resp_header(resp, "Remote-User", "%s", se->user.email);
	http_resp_header(resp, "X-Auth-User-Id", "%lld", (long long)se->user.id);
	http_resp_header(resp, "X-Auth-Role", "%s", se->user.role);
	http_resp_header(resp, "X-Auth-Source", "%s",
	    src == SOURCE_CACHE ? "cache" : "db");
}

/* 401 (or 302 for a browser) pointing at the login page with next. */
static void
deny_login(struct app *app, const struct request *req, struct response *resp,
    const char *next, int redirect)
{
	struct buf	 url = { 0 };

	if (routeutil_login_url(app, next, &url) == 0) {
		http_resp_header(resp, "Location", "%s", url.data);
		if (!redirect)
			http_resp_header(resp, "WWW-Authenticate",
			    "Cookie realm=\"authgw\", form=\"%s%s/login\"",
			    app->cfg->base_url, app->cfg->prefix);
	}
	buf_free(&url);
	if (redirect) {
		resp->status = 302;
		resp->content_type = NULL;
	} else
		http_resp_error(req, resp, 401, "no valid session");
}

/*
 * The shared check: load the session, apply the role requirement, and
 * answer. Records the latency of the check.
 */
static void
check_answer(struct app *app, struct request *req, struct response *resp,
    const char *want_role, const char *next, int authorizer)
{
	struct session		 se;
	enum session_source	 src;
	int64_t			 t0 = util_mono_usec();
	int			 browser;

	stats_inc(app->stats, STAT_CHECKS);
	/* parse_accepts takes NULL as "no Accept header". */
	browser = authorizer && parse_accepts(http_param(req, "HTTP_ACCEPT"),
	    "text/html");
	if (!role_known(want_role)) {
		http_resp_error(req, resp, 400, "unknown role");
		return;
	}
	switch (routeutil_session_load(app, req, 0, &se, &src, NULL)) {
	case SESSION_ERROR:
		http_resp_header(resp, "Retry-After", "5");
		http_resp_error(req, resp, 503, "session storage unavailable");
		break;
	case SESSION_NONE:
		deny_login(app, req, resp, next, browser);
		break;
	case SESSION_OK:
		if (!role_allows(se.user.role, want_role)) {
			http_resp_error(req, resp, 403, "role not allowed");
			break;
		}
		user_headers(resp, &se, src, authorizer);
		resp->status = 200;
		resp->content_type = NULL;
		break;
	}
	stats_latency(app->stats, (uint64_t)(util_mono_usec() - t0));
}

void
route_check(struct app *app, struct request *req, struct response *resp)
{
	req->wants_json = 1;	/* small error bodies: nginx drops them */
	check_answer(app, req, resp, fields_get_text(&req->qs, "role"),
	    http_param(req, "HTTP_X_ORIGINAL_URI"), 0);
}

void
route_authorize(struct app *app, struct request *req, struct response *resp)
{
	/* A web server may require a role with AUTHGW_ROLE in the env. */
	check_answer(app, req, resp, http_param(req, "AUTHGW_ROLE"),
	    http_param(req, "REQUEST_URI"), 1);
}

void
route_healthz(struct app *app, struct request *req, struct response *resp)
{
	struct store	*st = app_store(app);
	struct jobj	*j = jobj_new();
	int		 ok = st != NULL && store_ping(st);

	jobj_str(j, "sqlite", ok ? "ok" : "error");
	jobj_str(j, "memcached", cache_memcached_state(app_cache(app), 1));
	resp->status = ok ? 200 : 503;
	resp->content_type = "application/json";
	if (jobj_finish(j, &resp->body) == -1)
		resp->status = 500;
}
