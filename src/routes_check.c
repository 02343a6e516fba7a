/* The session check: /check (nginx auth_request, any method), the FastCGI
 * authorizer roles, and GET /healthz. */
#include <string.h>

#include "apitoken.h"
#include "app.h"
#include "cache.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "routes.h"
#include "routeutil.h"
#include "seclog.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/*
 * 1 if a session with role have may pass a requirement of role want (NULL:
 * none). Only NULL means none: an empty name requires a role nobody has.
 */
static int
role_allows(const char *have, const char *want)
{
	return want == NULL || strcmp(have, want) == 0 ||
	    strcmp(have, "admin") == 0;
}

/* 1 if (p, len) is exactly a role name a requirement may give. */
static int
role_name_known(const char *p, size_t len)
{
	return (len == 4 && memcmp(p, "user", 4) == 0) ||
	    (len == 5 && memcmp(p, "admin", 5) == 0);
}

/*
 * The role /check's query requires (SPEC 4): *want is NULL when there is
 * no role parameter, else "user" or "admin" (pointing into req->qs).
 * Returns 0, or -1 with *why set when the parameter is there but not
 * exactly one of those names, or is there more than once: a 400, decided
 * before any session is looked at.
 */
static int
check_role_query(const struct request *req, const char **want,
    const char **why)
{
	const char	*v;
	size_t		 vlen;

	*want = NULL;
	if ((v = fields_get(&req->qs, "role", &vlen)) == NULL)
		return 0;
	if (fields_count(&req->qs, "role") != 1) {
		*why = "role given more than once";
		return -1;
	}
	if (!role_name_known(v, vlen)) {
		*why = "unknown role: user or admin";
		return -1;
	}
	*want = v;
	return 0;
}

/*
 * ?mfa=1 (SPEC 9): *want 1 when given; absent 0. Any other value, or the
 * parameter given twice, is -1 with *why (a 400, like a bad role).
 */
static int
check_mfa_query(const struct request *req, int *want, const char **why)
{
	const char	*v;
	size_t		 vlen;

	*want = 0;
	if ((v = fields_get(&req->qs, "mfa", &vlen)) == NULL)
		return 0;
	if (fields_count(&req->qs, "mfa") != 1) {
		*why = "mfa given more than once";
		return -1;
	}
	if (vlen != 1 || v[0] != '1') {
		*why = "mfa: 1 or nothing";
		return -1;
	}
	*want = 1;
	return 0;
}

/*
 * The role an authorizer request requires: AUTHGW_ROLE, set by the web
 * server's configuration. Unset: *want is NULL. "user" or "admin": *want
 * is it. Anything else, "" included, is the operator's mistake: logged,
 * and -1 (a 500, so a typo never opens a protected area).
 */
static int
check_role_env(const struct request *req, const char **want)
{
	const char	*v = http_param(req, "AUTHGW_ROLE");
	char		 esc[64];

	*want = NULL;
	if (v == NULL)
		return 0;
	if (!role_name_known(v, strlen(v))) {
		log_error("AUTHGW_ROLE \"%s\" from the web server is not user "
		    "or admin: request refused (500)",
		    log_escape(v, strlen(v), esc, sizeof(esc)));
		return -1;
	}
	*want = v;
	return 0;
}

/*
 * The second factor an authorizer request requires: AUTHGW_MFA=1 set by
 * the web server's configuration (unset: none). Anything else is the
 * operator's mistake: logged, and -1 (a 500).
 */
static int
check_mfa_env(const struct request *req, int *want)
{
	const char	*v = http_param(req, "AUTHGW_MFA");
	char		 esc[64];

	*want = 0;
	if (v == NULL)
		return 0;
	if (strcmp(v, "1") != 0) {
		log_error("AUTHGW_MFA \"%s\" from the web server is not 1: "
		    "request refused (500)",
		    log_escape(v, strlen(v), esc, sizeof(esc)));
		return -1;
	}
	*want = 1;
	return 0;
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
		http_resp_header(resp, "Variable-AUTH_VERIFIED", "%d",
		    se->user.verified ? 1 : 0);
		http_resp_header(resp, "Variable-AUTH_METHOD", "%s",
		    se->is_token ? "token" : "session");
		http_resp_header(resp, "Variable-AUTH_MFA", "%d",
		    se->mfa ? 1 : 0);
		return;
	}
	http_resp_header(resp, "X-Auth-User", "%s", se->user.email);
	http_resp_header(resp, "Remote-User", "%s", se->user.email);
	http_resp_header(resp, "X-Auth-User-Id", "%lld", (long long)se->user.id);
	http_resp_header(resp, "X-Auth-Role", "%s", se->user.role);
	http_resp_header(resp, "X-Auth-Verified", "%d", se->user.verified ? 1 : 0);
	http_resp_header(resp, "X-Auth-Source", "%s",
	    src == SOURCE_CACHE ? "cache" : "db");
	http_resp_header(resp, "X-Auth-Method", "%s",
	    se->is_token ? "token" : "session");
	http_resp_header(resp, "X-Auth-MFA", "%d", se->mfa ? 1 : 0);
}

/*
 * A refused request that carried credentials for authgw in Authorization
 * (Basic, or Bearer with an "agw_" token): 401 asking for Basic, never a
 * redirect to a login page a script cannot use (SPEC 5).
 */
static void
deny_basic(const struct request *req, struct response *resp)
{
	http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"authgw\"");
	http_resp_error(req, resp, 401, "API token refused");
}

/*
 * 1 if the token se is the Basic user's (arg, a struct parse_authz), as
 * login finds an address: normalised, ASCII case aside.
 */
static int
basic_user_is(const struct session *se, void *arg)
{
	const struct parse_authz	*az = arg;
	char				 in[UTIL_EMAIL_MAX + 1];
	char				 norm[UTIL_EMAIL_MAX + 1];

	if (az->ulen >= sizeof(in))
		return 0;
	memcpy(in, az->user, az->ulen);
	in[az->ulen] = '\0';
	return util_email_normalize(in, norm, sizeof(norm)) == 0 &&
	    util_strcaseeq(norm, strlen(norm), se->user.email);
}

/*
 * Without a live session cookie, an API token in Authorization decides
 * (SPEC 4): *claimed is 1 when Authorization holds credentials meant for
 * authgw (any other is the application's own, and ignored). SESSION_OK
 * with se filled for a live token (of the Basic user, for Basic).
 */
static enum session_rc
check_token(struct app *app, const struct request *req, struct session *se,
    enum session_source *src, int *claimed)
{
	const char		*hdr = http_param(req, "HTTP_AUTHORIZATION");
	struct parse_authz	 az;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	char			 text[APITOKEN_TEXT_LEN];
	enum session_rc		 rc = SESSION_NONE;
	int			 flags = SESSION_CHECK_TOKEN;

	*claimed = 0;
	if (hdr == NULL) {
		/* Sent, but over HTTP_PARAM_MAX: no token of ours is that
		 * long, and a client that sent it hears why (Basic). */
		if ((*claimed = http_param_sent(req, "HTTP_AUTHORIZATION")))
			seclog(SECLOG_TOKEN_REFUSED, req->remote_addr, NULL,
			    req->route);
		return SESSION_NONE;
	}
	parse_authorization(hdr, strlen(hdr), &az);
	if (az.kind == PARSE_AUTHZ_NONE)
		return SESSION_NONE;
	*claimed = 1;
	/* An account password in Basic (no prefix) is never checked. */
	if (!az.ok || az.tlen != APITOKEN_TEXT_LEN - PARSE_TOKEN_PREFIX_LEN)
		goto out;
	memcpy(text, PARSE_TOKEN_PREFIX, PARSE_TOKEN_PREFIX_LEN);
	memcpy(text + PARSE_TOKEN_PREFIX_LEN, az.token, az.tlen);
	if (apitoken_hash(text, sizeof(text), hash) == -1)
		goto out;
	if (routeutil_is_passive(req))
		flags |= SESSION_CHECK_PASSIVE;
	/* Basic names the token's user: another user's token is refused,
	 * before its last_used is written or it is cached. */
	rc = session_check_for(app, hash, flags, az.kind == PARSE_AUTHZ_BASIC ?
	    basic_user_is : NULL, &az, se, src);
out:
	if (rc == SESSION_NONE)
		seclog(SECLOG_TOKEN_REFUSED, req->remote_addr, NULL, req->route);
	crypto_cleanse(&az, sizeof(az));
	crypto_cleanse(text, sizeof(text));
	return rc;
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
 * Seconds nginx may keep a success for se, at most n: while the next
 * check that reaches authgw still finds the session alive and, when it is
 * due, extends it (a cached success is never extended, and nginx counts
 * whole seconds: an entry of n lives up to n + 1). An API token: while it
 * has not expired (a cached success writes no last_used, which is only
 * ever a hint).
 */
static int64_t
check_keep(const struct app *app, const struct session *se, int64_t now,
    int64_t n)
{
	int64_t	 end = se->expires, half;

	if (se->is_token) {
		if (end - now - 1 < n)
			n = end - now - 1;
		return n > 0 ? n : 0;
	}
	if (se->created + app->policy.max_lifetime < end)
		end = se->created + app->policy.max_lifetime;
	half = (app->policy.lifetime + 1) / 2;
	if (end - now - half - 1 < n)
		n = end - now - half - 1;
	return n > 0 ? n : 0;
}

/*
 * The micro-cache (SPEC 5): with check_cache = N > 0, every check answer
 * says how long nginx's fastcgi_cache may keep it: 0, except a success,
 * which may be kept check_keep() seconds. nginx keys an entry by server
 * and location, then "$args|$cookie_NAME|$http_authorization" (the
 * shipped recipe), so a success is only kept when that key is sure to hold what authgw judged
 * (doc/design.md, "Micro-cache"): nginx's $cookie_NAME is the very cookie
 * judged (parse_cookie_unambiguous), QUERY_STRING came once (a
 * `fastcgi_param QUERY_STRING` after the include would be judged while
 * nginx keys by $args), nor Authorization (nginx keys by the first, authgw
 * judges the last), and neither it nor Authorization has a '|' to
 * shift the key's parts. A success decided by an API token may have no
 * cookie at all (no cookie keys as an empty one, and finds none again).
 * Never kept either: a passive check (it must not stand for an active
 * one). N = 0: no header at all.
 */
static void
check_cacheable(const struct app *app, const struct request *req,
    struct response *resp, const struct session *se)
{
	const char	*hdr, *az;
	int64_t		 n = app->cfg->check_cache;

	if (n <= 0)
		return;
	if (se == NULL || routeutil_is_passive(req) || req->query_too_long ||
	    strchr(req->query, '|') != NULL) {
		http_resp_accel_expires(resp, 0);
		return;
	}
	hdr = http_param(req, "HTTP_COOKIE");
	az = http_param(req, "HTTP_AUTHORIZATION");
	if ((hdr == NULL && !se->is_token) || (hdr != NULL &&
	    !parse_cookie_unambiguous(hdr, strlen(hdr), app->cfg->cookie_name)) ||
	    http_param_count(req, "QUERY_STRING") > 1 ||
	    http_param_count(req, "HTTP_AUTHORIZATION") > 1 ||
	    (az == NULL && http_param_sent(req, "HTTP_AUTHORIZATION")) ||
	    (az != NULL && strchr(az, '|') != NULL))
		n = 0;
	else
		n = check_keep(app, se, req->now, n);
	http_resp_accel_expires(resp, n);
}

/*
 * The shared check: load the session, apply the role requirement (NULL,
 * "user" or "admin", already validated), and answer. Records the latency
 * of the check.
 */
static void
check_answer(struct app *app, struct request *req, struct response *resp,
    const char *want_role, int want_mfa, const char *next, int authorizer)
{
	struct session		 se;
	const struct session	*passed = NULL;
	enum session_source	 src;
	enum session_rc		 rc;
	int64_t			 t0 = util_mono_usec();
	int			 browser, claimed = 0;

	stats_inc(app->stats, STAT_CHECKS);
	/* parse_accepts takes NULL as "no Accept header". */
	browser = authorizer && parse_accepts(http_param(req, "HTTP_ACCEPT"),
	    "text/html");
	/* A live session cookie decides; without one, an API token. */
	if ((rc = routeutil_session_load(app, req, 0, &se, &src, NULL)) ==
	    SESSION_NONE)
		rc = check_token(app, req, &se, &src, &claimed);
	switch (rc) {
	case SESSION_ERROR:
		http_resp_header(resp, "Retry-After", "5");
		http_resp_error(req, resp, 503, "session storage unavailable");
		break;
	case SESSION_NONE:
		if (claimed)
			deny_basic(req, resp);
		else
			deny_login(app, req, resp, next, browser);
		break;
	case SESSION_OK:
		if (!role_allows(se.user.role, want_role)) {
			http_resp_error(req, resp, 403, "role not allowed");
			break;
		}
		/* SPEC 9: only a session made with the second factor; an
		 * API token never (its mfa is 0 on every tier). */
		if (want_mfa && (!se.mfa || se.is_token)) {
			http_resp_error(req, resp, 403, "second factor required");
			break;
		}
		user_headers(resp, &se, src, authorizer);
		resp->status = 200;
		resp->content_type = NULL;
		passed = &se;
		break;
	}
	check_cacheable(app, req, resp, passed);
	stats_latency(app->stats, (uint64_t)(util_mono_usec() - t0));
}

/*
 * The URI to come back to after the login (next=): X-Original-URI when the
 * web server sends one, else REQUEST_URI, which in an nginx auth_request
 * subrequest is the original request's; NULL when REQUEST_URI is this
 * request's own (a direct request of /check: nothing to come back to).
 */
static const char *
check_next(const struct app *app, const struct request *req)
{
	const char	*v = http_param(req, "HTTP_X_ORIGINAL_URI");
	const char	*prefix = app->cfg->prefix;
	size_t		 plen = strlen(prefix), rlen = strlen(req->route);

	if (v != NULL && v[0] != '\0')
		return v;
	if (strcspn(req->uri, "?") == plen + rlen &&
	    memcmp(req->uri, prefix, plen) == 0 &&
	    memcmp(req->uri + plen, req->route, rlen) == 0)
		return NULL;
	return req->uri;
}

void
route_check(struct app *app, struct request *req, struct response *resp)
{
	const char	*want, *why;
	int		 mfa;

	req->wants_json = 1;	/* small error bodies: nginx drops them */
	if (check_role_query(req, &want, &why) == -1 ||
	    check_mfa_query(req, &mfa, &why) == -1) {
		check_cacheable(app, req, resp, NULL);
		http_resp_error(req, resp, 400, why);
		return;
	}
	check_answer(app, req, resp, want, mfa, check_next(app, req), 0);
}

void
route_authorize(struct app *app, struct request *req, struct response *resp)
{
	const char	*want;
	int		 mfa;

	/* A web server may require a role with AUTHGW_ROLE in the env, and
	 * the second factor with AUTHGW_MFA=1. */
	if (check_role_env(req, &want) == -1 ||
	    check_mfa_env(req, &mfa) == -1) {
		check_cacheable(app, req, resp, NULL);
		http_resp_error(req, resp, 500, "server misconfigured");
		return;
	}
	check_answer(app, req, resp, want, mfa, http_param(req, "REQUEST_URI"),
	    1);
}

void
route_healthz(struct app *app, struct request *req, struct response *resp)
{
	struct store	*st = app_store(app);
	struct jobj	*j = jobj_new();
	int		 ok = st != NULL && store_ping(st);

	if (config_database_is_pg(app->cfg->database)) {
		/* SPEC 8: with PostgreSQL, the authority and this host's
		 * listener. */
		jobj_str(j, "postgresql", ok ? "ok" : "error");
		jobj_str(j, "listener", cache_listener_alive(app_cache(app)) ?
		    "ok" : "down");
	} else
		jobj_str(j, "sqlite", ok ? "ok" : "error");
	jobj_str(j, "memcached", cache_memcached_state(app_cache(app), 1));
	resp->status = ok ? 200 : 503;
	resp->content_type = "application/json";
	if (jobj_finish(j, &resp->body) == -1)
		resp->status = 500;
}
