/*
 * Unit tests of the request driver (src/router.c over src/http.c): route
 * and method, the CSRF gate, body limits and parsing, the FastCGI
 * authorizer roles and the headers every answer carries, through the fake
 * transport of unitfix on a real store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "router.h"
#include "crypto.h"
#include "session.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

#define BASE_URL	"https://auth.example.com"
#define LOGIN_URL	BASE_URL "/auth/login"
#define BIG_BODY	70000

/* Request parameters built up by a test: "NAME", "value", ..., NULL. */
/* A browser's CSRF state from GET /login: its cookie and form token. */
struct form_csrf {
	char	 cookie[128];		/* "authgw_sid_csrf=<nonce>" */
	char	 token[128];
};

static int
setup(void **state)
{
	static const char *const kv[] = { "base_url", BASE_URL, NULL };

	return unitfix_new(state, kv);
}

static int
teardown(void **state)
{
	return unitfix_free(state);
}

static void
pl_req(struct unitfix_params *pl, const char *method, const char *uri)
{
	memset(pl, 0, sizeof(*pl));
	unitfix_param(pl, "REQUEST_METHOD", method);
	unitfix_param(pl, "REQUEST_URI", uri);
}

/* A POST of content type ct (NULL: none) with cookie (NULL: none). */
static void
pl_post(struct unitfix_params *pl, const char *uri, const char *ct, const char *cookie)
{
	pl_req(pl, "POST", uri);
	unitfix_param(pl, "CONTENT_TYPE", ct);
	unitfix_param(pl, "HTTP_COOKIE", cookie);
}

/*
 * router_serve on params and body; f keeps the output (fakeio_free it).
 * Every answer has the status it returns and Cache-Control: no-store.
 */
static int
serve(struct unitfix *u, const struct unitfix_params *pl, const char *body,
    struct fake_io *f)
{
	char	 v[64];
	int	 status;

	fakeio_init(f, pl->v, body);
	status = router_serve(&u->app, &f->io);
	assert_int_equal(fakeio_status(f), status);
	assert_true(fakeio_header(f, "Cache-Control", v, sizeof(v)));
	assert_string_equal(v, "no-store");
	return status;
}

/* serve() that keeps only the status. */
static int
serve_status(struct unitfix *u, const struct unitfix_params *pl, const char *body)
{
	struct fake_io	 f;
	int		 status;

	status = serve(u, pl, body, &f);
	fakeio_free(&f);
	return status;
}

static int
get_status(struct unitfix *u, const char *uri)
{
	struct unitfix_params	 pl;

	pl_req(&pl, "GET", uri);
	return serve_status(u, &pl, NULL);
}

/* The body written after the head, NUL-terminated (f->out is a buf). */
static const char *
resp_body(const struct fake_io *f)
{
	const char	*p;

	assert_non_null(f->out.data);
	p = strstr(f->out.data, "\r\n\r\n");
	assert_non_null(p);
	return p + 4;
}

/* A new live session of a verified user; its cookie header into out. */
static void
session_cookie(struct unitfix *u, char *out, size_t outsz)
{
	struct user	 usr;
	struct session	 se;
	char		 tok[SESSION_COOKIE_LEN + 1];
	int		 n;

	if (store_user_get_email(app_store(&u->app), "alice@example.com",
	    &usr) != STORE_OK) {
		(void)unitfix_user(u, "alice@example.com", "user", 1);
		assert_int_equal(store_user_get_email(app_store(&u->app),
		    "alice@example.com", &usr), STORE_OK);
	}
	assert_int_equal(session_create(&u->app, &usr, "192.0.2.1", "unit",
	    tok, sizeof(tok), &se), SESSION_OK);
	n = snprintf(out, outsz, "%s=%s", u->cfg.cookie_name, tok);
	assert_true(n > 0 && (size_t)n < outsz);
}

/* 1 if GET /session with cookie finds the session alive. */
static int
session_alive(struct unitfix *u, const char *cookie)
{
	struct unitfix_params	 pl;
	int		 status;

	pl_req(&pl, "GET", "/auth/session");
	unitfix_param(&pl, "HTTP_COOKIE", cookie);
	status = serve_status(u, &pl, NULL);
	assert_true(status == 200 || status == 401);
	return status == 200;
}

/* The CSRF cookie and token a browser gets from GET /login. */
static void
login_form(struct unitfix *u, struct form_csrf *fc)
{
	static const char	 mark[] = "name=\"csrf\" value=\"";
	struct unitfix_params		 pl;
	struct fake_io		 f;
	const char		*p, *q;
	char			*semi;

	pl_req(&pl, "GET", "/auth/login");
	assert_int_equal(serve(u, &pl, NULL, &f), 200);
	assert_true(fakeio_header(&f, "Set-Cookie", fc->cookie,
	    sizeof(fc->cookie)));
	assert_non_null(semi = strchr(fc->cookie, ';'));
	*semi = '\0';
	assert_non_null(p = strstr(resp_body(&f), mark));
	p += sizeof(mark) - 1;
	assert_non_null(q = strchr(p, '"'));
	assert_true(q > p && (size_t)(q - p) < sizeof(fc->token));
	memcpy(fc->token, p, (size_t)(q - p));
	fc->token[q - p] = '\0';
	fakeio_free(&f);
}

/* A body of len bytes: "a=" then 'x's (len >= 2; free it). */
static char *
big_form(size_t len)
{
	char	*b;

	assert_true(len >= 2);
	b = malloc(len + 1);
	assert_non_null(b);
	memset(b, 'x', len);
	memcpy(b, "a=", 2);
	b[len] = '\0';
	return b;
}

static void
test_unknown_route_404(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[64];

	assert_int_equal(get_status(u, "/auth/nope"), 404);
	assert_int_equal(get_status(u, "/auth/login/x"), 404);
	assert_int_equal(get_status(u, "/auth/LOGIN"), 404);
	pl_req(&pl, "GET", "/auth/nope");
	unitfix_param(&pl, "HTTP_ACCEPT", "application/json");
	assert_int_equal(serve(u, &pl, NULL, &f), 404);
	assert_true(fakeio_header(&f, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/json");
	assert_string_equal(resp_body(&f), "{\"error\":\"not found\"}");
	fakeio_free(&f);
}

static void
test_outside_prefix_404(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(get_status(u, "/healthz"), 404);
	assert_int_equal(get_status(u, "/other/healthz"), 404);
	assert_int_equal(get_status(u, "/authx/healthz"), 404);
	assert_int_equal(get_status(u, "/auth"), 404);
	assert_int_equal(get_status(u, "/auth/"), 404);
	assert_int_equal(get_status(u, "/auth/healthz"), 200);
}

/* status and Allow of method on uri. */
static void
expect_405(struct unitfix *u, const char *method, const char *uri,
    const char *allow)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[64];

	pl_req(&pl, method, uri);
	assert_int_equal(serve(u, &pl, NULL, &f), 405);
	assert_true(fakeio_header(&f, "Allow", v, sizeof(v)));
	assert_string_equal(v, allow);
	fakeio_free(&f);
}

static void
test_wrong_method_405_allow(void **state)
{
	struct unitfix	*u = *state;

	expect_405(u, "DELETE", "/auth/login", "GET, POST");
	expect_405(u, "PUT", "/auth/register", "GET, POST");
	expect_405(u, "POST", "/auth/healthz", "GET");
	expect_405(u, "GET", "/auth/logout", "POST");
	expect_405(u, "HEAD", "/auth/refresh", "POST");
	expect_405(u, "get", "/auth/session", "GET");
}

/* 404 and 405 carry no Allow. */
static void
test_404_has_no_allow(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[64];

	pl_req(&pl, "DELETE", "/auth/nope");
	assert_int_equal(serve(u, &pl, NULL, &f), 404);
	assert_false(fakeio_header(&f, "Allow", v, sizeof(v)));
	fakeio_free(&f);
	pl_req(&pl, "GET", "/auth/healthz");
	assert_int_equal(serve(u, &pl, NULL, &f), 200);
	assert_false(fakeio_header(&f, "Allow", v, sizeof(v)));
	fakeio_free(&f);
}

static void
test_head_answered_as_get(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 g, h;
	char		 v[256];

	pl_req(&pl, "GET", "/auth/healthz");
	assert_int_equal(serve(u, &pl, NULL, &g), 200);
	pl_req(&pl, "HEAD", "/auth/healthz");
	assert_int_equal(serve(u, &pl, NULL, &h), 200);
	assert_string_equal(resp_body(&h), resp_body(&g));
	fakeio_free(&g);
	fakeio_free(&h);

	pl_req(&pl, "HEAD", "/auth/login");
	assert_int_equal(serve(u, &pl, NULL, &h), 200);
	assert_true(fakeio_header(&h, "Set-Cookie", v, sizeof(v)));
	assert_int_equal(strncmp(v, "authgw_sid_csrf=", 16), 0);
	fakeio_free(&h);
}

/* A form POST to route with cookie and body: 403, nothing done. */
static void
expect_csrf_403(struct unitfix *u, const char *uri, const char *cookie,
    const char *body)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[256];

	pl_post(&pl, uri, "application/x-www-form-urlencoded", cookie);
	assert_int_equal(serve(u, &pl, body, &f), 403);
	assert_false(fakeio_header(&f, "Set-Cookie", v, sizeof(v)));
	assert_false(fakeio_header(&f, "Location", v, sizeof(v)));
	fakeio_free(&f);
}

static void
test_form_post_without_csrf_403(void **state)
{
	struct unitfix	*u = *state;
	char		 sid[128];

	session_cookie(u, sid, sizeof(sid));
	assert_true(session_alive(u, sid));
	expect_csrf_403(u, "/auth/logout", sid, "");
	expect_csrf_403(u, "/auth/logout", sid, "all=1");
	/* A form POST that runs would answer 401 here, not 403. */
	expect_csrf_403(u, "/auth/refresh", NULL, "");
	expect_csrf_403(u, "/auth/sessions/revoke", sid, "id=x");
	/* No content type is a form too. */
	expect_csrf_403(u, "/auth/logout", sid, NULL);
	/* The logout handler did not run. */
	assert_true(session_alive(u, sid));
}

static void
test_form_post_bad_csrf_403(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct form_csrf fc;
	char		 sid[128], cookies[256];
	int		 n;

	session_cookie(u, sid, sizeof(sid));
	login_form(u, &fc);
	n = snprintf(cookies, sizeof(cookies), "%s; %s", sid, fc.cookie);
	assert_true(n > 0 && (size_t)n < sizeof(cookies));
	expect_csrf_403(u, "/auth/logout", cookies, "csrf=AAAA");
	/* A foreign or "null" Origin does not stand in for the token. */
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded", sid);
	unitfix_param(&pl, "HTTP_ORIGIN", "https://evil.example");
	assert_int_equal(serve_status(u, &pl, ""), 403);
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded", sid);
	unitfix_param(&pl, "HTTP_ORIGIN", "null");
	assert_int_equal(serve_status(u, &pl, ""), 403);
	assert_true(session_alive(u, sid));
}

/* A form logout that passes the gate: 303, cookie expired. */
static void
expect_logout_303(struct unitfix *u, const struct unitfix_params *pl,
    const char *body)
{
	struct fake_io	 f;
	char		 v[256];

	assert_int_equal(serve(u, pl, body, &f), 303);
	assert_true(fakeio_header(&f, "Set-Cookie", v, sizeof(v)));
	assert_int_equal(strncmp(v, "authgw_sid=; Path=/; Max-Age=0;", 31), 0);
	assert_true(fakeio_header(&f, "Location", v, sizeof(v)));
	assert_string_equal(v, "/auth/login");
	fakeio_free(&f);
}

static void
test_form_post_with_token_passes(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct form_csrf fc;
	char		 sid[128], cookies[256], body[160];
	int		 n;

	session_cookie(u, sid, sizeof(sid));
	login_form(u, &fc);
	n = snprintf(cookies, sizeof(cookies), "%s; %s", sid, fc.cookie);
	assert_true(n > 0 && (size_t)n < sizeof(cookies));
	n = snprintf(body, sizeof(body), "csrf=%s", fc.token);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded",
	    cookies);
	expect_logout_303(u, &pl, body);
	assert_false(session_alive(u, sid));
}

static void
test_form_post_with_origin_passes(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	char		 sid[128];

	session_cookie(u, sid, sizeof(sid));
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded", sid);
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	expect_logout_303(u, &pl, "");
	assert_false(session_alive(u, sid));

	session_cookie(u, sid, sizeof(sid));
	pl_post(&pl, "/auth/logout", NULL, sid);
	unitfix_param(&pl, "HTTP_ORIGIN", "https://app.example.org");
	unitfix_param(&pl, "HTTP_HOST", "app.example.org");
	unitfix_param(&pl, "HTTPS", "on");
	expect_logout_303(u, &pl, "");
	assert_false(session_alive(u, sid));
}

static void
test_json_post_passes_csrf_gate(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 sid[128], v[256];

	session_cookie(u, sid, sizeof(sid));
	pl_post(&pl, "/auth/logout", "application/json", sid);
	assert_int_equal(serve(u, &pl, "{}", &f), 200);
	assert_string_equal(resp_body(&f), "{\"logged_out\":true}");
	assert_true(fakeio_header(&f, "Set-Cookie", v, sizeof(v)));
	assert_int_equal(strncmp(v, "authgw_sid=;", 12), 0);
	fakeio_free(&f);
	assert_false(session_alive(u, sid));

	/* The handler runs: no session is 401, not the gate's 403. */
	pl_post(&pl, "/auth/refresh", "application/json; charset=utf-8",
	    NULL);
	assert_int_equal(serve_status(u, &pl, "{}"), 401);
	/* Accept: application/json alone does not make a form JSON. */
	pl_post(&pl, "/auth/refresh", "application/x-www-form-urlencoded",
	    NULL);
	unitfix_param(&pl, "HTTP_ACCEPT", "application/json");
	assert_int_equal(serve_status(u, &pl, ""), 403);
}

static void
test_body_over_64k_413(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 sid[128], v[256], *big = big_form(BIG_BODY);

	session_cookie(u, sid, sizeof(sid));
	/* Announced: refused before reading, even with a valid Origin. */
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded", sid);
	unitfix_param(&pl, "CONTENT_LENGTH", "70000");
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	assert_int_equal(serve(u, &pl, big, &f), 413);
	assert_int_equal(f.body_off, 0);
	assert_false(fakeio_header(&f, "Set-Cookie", v, sizeof(v)));
	fakeio_free(&f);
	assert_int_equal(serve_status(u, &pl, NULL), 413);
	/* Not announced (a chunked body): refused while reading. */
	pl_post(&pl, "/auth/logout", "application/json", sid);
	assert_int_equal(serve(u, &pl, big, &f), 413);
	assert_false(fakeio_header(&f, "Set-Cookie", v, sizeof(v)));
	fakeio_free(&f);
	free(big);
	assert_true(session_alive(u, sid));
}

/* 64 KiB is allowed, one byte more is not. */
static void
test_body_limit_boundary(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		*b = big_form(HTTP_BODY_MAX), *c = big_form(
			    HTTP_BODY_MAX + 1);

	pl_post(&pl, "/auth/logout", NULL, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	assert_int_equal(serve_status(u, &pl, b), 303);
	assert_int_equal(serve_status(u, &pl, c), 413);
	unitfix_param(&pl, "CONTENT_LENGTH", "65536");
	assert_int_equal(serve_status(u, &pl, b), 303);
	/* Announced one byte over: refused before reading. */
	pl_post(&pl, "/auth/logout", NULL, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	unitfix_param(&pl, "CONTENT_LENGTH", "65537");
	assert_int_equal(serve(u, &pl, c, &f), 413);
	assert_int_equal(f.body_off, 0);
	fakeio_free(&f);
	free(b);
	free(c);
}

static int
post_with_length(struct unitfix *u, const char *cl, const char *body)
{
	struct unitfix_params	 pl;

	pl_post(&pl, "/auth/logout", "application/json", NULL);
	unitfix_param(&pl, "CONTENT_LENGTH", cl);
	return serve_status(u, &pl, body);
}

static void
test_bad_content_length_400(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(post_with_length(u, "abc", "{}"), 400);
	assert_int_equal(post_with_length(u, "-1", "{}"), 400);
	assert_int_equal(post_with_length(u, "2x", "{}"), 400);
	assert_int_equal(post_with_length(u, " 2", "{}"), 400);
	assert_int_equal(post_with_length(u, "0x2", "{}"), 400);
	assert_int_equal(post_with_length(u, "99999999999999999999", "{}"),
	    400);
	/* Shorter than announced. */
	assert_int_equal(post_with_length(u, "10", "{}"), 400);
	/* The control: right, empty (= absent), or reading only as told. */
	assert_int_equal(post_with_length(u, "2", "{}"), 200);
	assert_int_equal(post_with_length(u, "", "{}"), 200);
	assert_int_equal(post_with_length(u, "2", "{}garbage"), 200);
}

static int
post_typed(struct unitfix *u, const char *ct, const char *body)
{
	struct unitfix_params	 pl;

	pl_post(&pl, "/auth/logout", ct, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	return serve_status(u, &pl, body);
}

static void
test_unsupported_content_type_415(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(post_typed(u, "text/plain", "a=1"), 415);
	assert_int_equal(post_typed(u, "multipart/form-data; boundary=x",
	    "--x--"), 415);
	assert_int_equal(post_typed(u, "application/jsonx", "{}"), 415);
	assert_int_equal(post_typed(u, "application/x-www-form-urlencoded; "
	    "charset=utf-8", "a=1"), 303);
}

static void
test_malformed_body_400(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	char		 sid[128];

	session_cookie(u, sid, sizeof(sid));
	pl_post(&pl, "/auth/logout", "application/json", sid);
	assert_int_equal(serve_status(u, &pl, "{"), 400);
	assert_int_equal(serve_status(u, &pl, "[1]"), 400);
	assert_int_equal(serve_status(u, &pl, "{\"all\":{}}"), 400);
	assert_int_equal(serve_status(u, &pl, "{\"all\":1}x"), 400);
	assert_int_equal(serve_status(u, &pl, ""), 400);
	pl_post(&pl, "/auth/logout", "application/x-www-form-urlencoded", sid);
	unitfix_param(&pl, "HTTP_ORIGIN", BASE_URL);
	assert_int_equal(serve_status(u, &pl, "all=%zz"), 400);
	pl_req(&pl, "GET", "/auth/healthz?a=%G0");
	unitfix_param(&pl, "QUERY_STRING", "a=%G0");
	assert_int_equal(serve_status(u, &pl, NULL), 400);
	assert_true(session_alive(u, sid));
}

/* "/auth/" and n more bytes of path (then query, if not NULL). */
static int
get_long(struct unitfix *u, size_t n, const char *query)
{
	struct buf	 uri = { 0 };
	size_t		 i;
	int		 status;

	assert_int_equal(buf_puts(&uri, "/auth/"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_puts(&uri, "a"), 0);
	if (query != NULL)
		assert_int_equal(buf_puts(&uri, query), 0);
	status = get_status(u, uri.data);
	buf_free(&uri);
	return status;
}

static void
test_path_too_long_414(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(get_long(u, 3000, NULL), 414);
	assert_int_equal(get_long(u, HTTP_PATH_MAX - 6, NULL), 414);
	assert_int_equal(get_long(u, HTTP_PATH_MAX - 7, NULL), 404);
	/* The query does not count. */
	assert_int_equal(get_long(u, 10, "?x=1"), 404);
	assert_int_equal(get_status(u, "/auth/healthz?x=aaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    200);
}

/* An authorizer request: its status and Location (into loc). */
static int
authorize(struct unitfix *u, const char *role_param, const char *role,
    const char *uri, const char *accept, char *loc, size_t locsz)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	int		 status;

	pl_req(&pl, "GET", uri);
	unitfix_param(&pl, role_param, role);
	unitfix_param(&pl, "HTTP_ACCEPT", accept);
	status = serve(u, &pl, NULL, &f);
	if (!fakeio_header(&f, "Location", loc, locsz))
		loc[0] = '\0';
	fakeio_free(&f);
	return status;
}

static void
test_authorizer_roles_any_path(void **state)
{
	struct unitfix	*u = *state;
	char		 loc[256];

	assert_int_equal(authorize(u, "FCGI_ROLE", "AUTHORIZER",
	    "/private/x", NULL, loc, sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL "?next=%2Fprivate%2Fx");
	/* Whatever the path, even a route of the responder. */
	assert_int_equal(authorize(u, "FCGI_ROLE", "AUTHORIZER",
	    "/auth/healthz", NULL, loc, sizeof(loc)), 401);
	assert_int_equal(authorize(u, "FCGI_APACHE_ROLE", "AUTHENTICATOR",
	    "/auth/login", NULL, loc, sizeof(loc)), 401);
	assert_int_equal(authorize(u, "FCGI_APACHE_ROLE", "ACCESS_CHECKER",
	    "/", NULL, loc, sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL "?next=%2F");
	/* A browser is sent to the login page. */
	assert_int_equal(authorize(u, "FCGI_ROLE", "AUTHORIZER",
	    "/private/x", "text/html,*/*;q=0.8", loc, sizeof(loc)), 302);
	assert_string_equal(loc, LOGIN_URL "?next=%2Fprivate%2Fx");
	/* The controls: a responder routes by path. */
	assert_int_equal(authorize(u, "FCGI_ROLE", "RESPONDER",
	    "/auth/healthz", NULL, loc, sizeof(loc)), 200);
	assert_int_equal(authorize(u, "FCGI_APACHE_ROLE", "RESPONDER",
	    "/auth/healthz", NULL, loc, sizeof(loc)), 200);
	assert_int_equal(authorize(u, "FCGI_ROLE", "authorizer",
	    "/auth/healthz", NULL, loc, sizeof(loc)), 200);
}

/* The authorizer reads no body and lets a session through. */
static void
test_authorizer_session_no_body(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 sid[128], v[128], *big = big_form(BIG_BODY);

	session_cookie(u, sid, sizeof(sid));
	pl_req(&pl, "POST", "/upload");
	unitfix_param(&pl, "FCGI_ROLE", "AUTHORIZER");
	unitfix_param(&pl, "CONTENT_LENGTH", "70000");
	unitfix_param(&pl, "CONTENT_TYPE", "text/plain");
	unitfix_param(&pl, "HTTP_COOKIE", sid);
	assert_int_equal(serve(u, &pl, big, &f), 200);
	assert_int_equal(f.body_off, 0);
	assert_true(fakeio_header(&f, "Variable-REMOTE_USER", v, sizeof(v)));
	assert_string_equal(v, "alice@example.com");
	fakeio_free(&f);
	free(big);
}

/* How many lines of the head are exactly line. */
static int
head_count(const struct fake_io *f, const char *line)
{
	const char	*p = f->out.data, *end = strstr(p, "\r\n\r\n");
	size_t		 len = strlen(line);
	int		 n = 0;

	while (p < end) {
		if (strncmp(p, line, len) == 0 && p[len] == '\r')
			n++;
		p = strstr(p, "\r\n") + 2;
	}
	return n;
}

static void
test_every_answer_no_store(void **state)
{
	struct unitfix	*u = *state;
	static const char *const reqs[][3] = {
		{ "GET", "/auth/healthz", NULL },
		{ "GET", "/auth/login", NULL },
		{ "GET", "/auth/check", NULL },
		{ "GET", "/auth/nope", NULL },
		{ "DELETE", "/auth/login", NULL },
		{ "POST", "/auth/logout", "" },
		{ "POST", "/auth/logout", "%" },
		{ "GET", "/elsewhere", NULL },
	};
	struct unitfix_params	 pl;
	struct fake_io	 f;
	size_t		 i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		pl_req(&pl, reqs[i][0], reqs[i][1]);
		(void)serve(u, &pl, reqs[i][2], &f);
		assert_int_equal(head_count(&f, "Cache-Control: no-store"), 1);
		fakeio_free(&f);
	}
	pl_req(&pl, "GET", "/x");
	unitfix_param(&pl, "FCGI_ROLE", "AUTHORIZER");
	unitfix_param(&pl, "HTTP_ACCEPT", "text/html");
	assert_int_equal(serve(u, &pl, NULL, &f), 302);
	assert_int_equal(head_count(&f, "Cache-Control: no-store"), 1);
	fakeio_free(&f);
}

/*
 * The X-Accel-Expires of a check answer (into v, "" when there is none);
 * when there is one it comes before Cache-Control (nginx < 1.23).
 */
static int
check_accel(struct unitfix *u, const struct unitfix_params *pl, char *v,
    size_t vsz)
{
	struct fake_io	 f;
	const char	*x, *cc;
	int		 status;

	status = serve(u, pl, NULL, &f);
	v[0] = '\0';
	if (fakeio_header(&f, "X-Accel-Expires", v, vsz)) {
		assert_non_null(x = strstr(f.out.data, "\r\nX-Accel-Expires: "));
		assert_non_null(cc = strstr(f.out.data, "\r\nCache-Control: "));
		assert_true(x < cc);
		assert_non_null(strstr(x + 2, "\r\n"));
		assert_null(strstr(strstr(x + 2, "\r\n"), "X-Accel-Expires"));
	}
	fakeio_free(&f);
	return status;
}

/* A check request with cookie (NULL: none) and one more header. */
static void
pl_check(struct unitfix_params *pl, const char *uri, const char *cookie,
    const char *name, const char *value)
{
	const char	*q = strchr(uri, '?');

	pl_req(pl, "GET", uri);
	unitfix_param(pl, "QUERY_STRING", q != NULL ? q + 1 : NULL);
	unitfix_param(pl, "HTTP_COOKIE", cookie);
	if (name != NULL)
		unitfix_param(pl, name, value);
}

/*
 * The micro-cache (SPEC 5): check_cache = 0 sends no X-Accel-Expires;
 * N > 0 lets a success be kept min(N, the session's time left) and every
 * other check answer 0: no session, a role refused, a bad query, a passive
 * check, an authorizer's refusal. Other routes never carry it.
 */
static void
test_check_cache_headers(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	char		 sid[128], two[160], v[32];
	int		 n;

	session_cookie(u, sid, sizeof(sid));
	pl_check(&pl, "/auth/check", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "");

	u->cfg.check_cache = 30;
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "30");
	pl_check(&pl, "/auth/check?role=user", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "30");
	pl_check(&pl, "/auth/check?role=admin", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 403);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check?role=root", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 400);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check", NULL, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 401);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check", "authgw_sid=garbage", NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 401);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check", sid, "HTTP_X_AUTH_PASSIVE", "1");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	/* A success nginx's $cookie_NAME might key by another cookie. */
	n = snprintf(two, sizeof(two), "AUTHGW_SID=x; %s", sid);
	assert_true(n > 0 && (size_t)n < sizeof(two));
	pl_check(&pl, "/auth/check", two, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	/* The authorizer roles alike. */
	pl_check(&pl, "/private/x", sid, "FCGI_ROLE", "AUTHORIZER");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "30");
	pl_check(&pl, "/private/x", NULL, "FCGI_ROLE", "AUTHORIZER");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 401);
	assert_string_equal(v, "0");
	pl_check(&pl, "/private/x", sid, "FCGI_ROLE", "AUTHORIZER");
	unitfix_param(&pl, "AUTHGW_ROLE", "boss");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 500);
	assert_string_equal(v, "0");
	/* Parts of nginx's key authgw cannot vouch for: a QUERY_STRING
	 * sent twice (judged by the last, keyed by $args), a '|' in the
	 * query or in Authorization (the key's parts would shift). */
	pl_check(&pl, "/auth/check?", sid, "QUERY_STRING", "role=user");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check?a=|", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check", sid, "HTTP_AUTHORIZATION", "x|y");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	pl_check(&pl, "/auth/check", sid, "HTTP_AUTHORIZATION", "Bearer xy");
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "30");
	/* Kept only while the next check that reaches authgw still finds
	 * the session alive and extends it when due: a session of 20 s
	 * (extended below 10 s left) 20 - 10 - 1 = 9 s at most, one with
	 * its extension due (9 s left) not at all. */
	u->app.policy.lifetime = 20;
	session_cookie(u, sid, sizeof(sid));
	pl_check(&pl, "/auth/check", sid, NULL, NULL);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_true(strcmp(v, "9") == 0 || strcmp(v, "8") == 0);
	u->app.policy.max_lifetime = 9;		/* an absolute cap, lowered */
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "0");
	/* Other routes: never. */
	pl_req(&pl, "GET", "/auth/session");
	unitfix_param(&pl, "HTTP_COOKIE", sid);
	assert_int_equal(check_accel(u, &pl, v, sizeof(v)), 200);
	assert_string_equal(v, "");
}

/* A query longer than authgw reads is 414, never taken for none (a
 * role requirement dropped). */
static void
test_check_query_too_long_414(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	char		 sid[128], *q = malloc(HTTP_PARAM_MAX + 20);

	assert_non_null(q);
	memcpy(q, "role=admin&x=", 13);
	memset(q + 13, 'a', HTTP_PARAM_MAX);
	q[13 + HTTP_PARAM_MAX] = '\0';
	session_cookie(u, sid, sizeof(sid));
	pl_req(&pl, "GET", "/auth/check");
	unitfix_param(&pl, "QUERY_STRING", q);
	unitfix_param(&pl, "HTTP_COOKIE", sid);
	assert_int_equal(serve_status(u, &pl, NULL), 414);
	free(q);
}

static void
test_healthz_ok(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[64];

	pl_req(&pl, "GET", "/auth/healthz");
	assert_int_equal(serve(u, &pl, NULL, &f), 200);
	assert_true(fakeio_header(&f, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/json");
	assert_string_equal(resp_body(&f),
	    "{\"sqlite\":\"ok\",\"memcached\":\"off\"}");
	fakeio_free(&f);
}

static void
test_healthz_store_unusable_503(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	int		 n;

	app_free(&u->app);
	n = snprintf(u->cfg.database, sizeof(u->cfg.database),
	    "%s/missing/authgw.db", u->dir);
	assert_true(n > 0 && (size_t)n < sizeof(u->cfg.database));
	app_init(&u->app, &u->cfg, u->stats, 0);
	pl_req(&pl, "GET", "/auth/healthz");
	assert_int_equal(serve(u, &pl, NULL, &f), 503);
	assert_non_null(strstr(resp_body(&f), "\"sqlite\":\"error\""));
	fakeio_free(&f);
}

/* The status of a GET with these path parameters (NULL: not sent). */
static int
get_by(struct unitfix *u, const char *sn, const char *pi, const char *du,
    const char *uri)
{
	struct unitfix_params	 pl;

	memset(&pl, 0, sizeof(pl));
	unitfix_param(&pl, "REQUEST_METHOD", "GET");
	unitfix_param(&pl, "SCRIPT_NAME", sn);
	unitfix_param(&pl, "PATH_INFO", pi);
	unitfix_param(&pl, "DOCUMENT_URI", du);
	unitfix_param(&pl, "REQUEST_URI", uri);
	return serve_status(u, &pl, NULL);
}

/*
 * The route is the path the web server routed (SPEC 4): SCRIPT_NAME +
 * PATH_INFO under the prefix, else DOCUMENT_URI, else REQUEST_URI's path.
 */
static void
test_route_from_server_path(void **state)
{
	struct unitfix	*u = *state;
	char		 lng[HTTP_PATH_MAX + 10];

	/* REQUEST_URI alone (a server that sends nothing else). */
	assert_int_equal(get_status(u, "/auth/healthz?x=1"), 200);
	assert_int_equal(get_by(u, "/auth/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(get_by(u, "/auth", "/healthz", NULL, ""), 200);
	/* lighttpd splits a prefix's path at its second slash. */
	assert_int_equal(get_by(u, "/auth/admin", "/stats.json", NULL,
	    "/auth/admin/stats.json"), 401);
	assert_int_equal(get_by(u, NULL, NULL, NULL, NULL), 404);
	/* SCRIPT_NAME outside the prefix (index.php-style): DOCUMENT_URI,
	 * else REQUEST_URI (ScriptAlias /cgi-bin/ and a rewrite). */
	assert_int_equal(get_by(u, "/index.php", NULL, "/auth/healthz",
	    "/x"), 200);
	assert_int_equal(get_by(u, "/cgi-bin/authgw", "/healthz", NULL,
	    "/auth/healthz"), 200);
	/* The prefix alone is no route. */
	assert_int_equal(get_by(u, "/auth/", NULL, NULL, NULL), 404);
	/* Too long a path of the server's: 414, not the URI's route. */
	memset(lng, 'a', sizeof(lng) - 1);
	memcpy(lng, "/auth/", 6);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(get_by(u, lng, NULL, NULL, "/auth/healthz"), 414);
	assert_int_equal(get_by(u, "/index.php", NULL, lng,
	    "/auth/healthz"), 414);
}

/*
 * The server's own path wins over the client's raw REQUEST_URI, so a
 * request nginx protects as /private/x is still the check: in an
 * auth_request subrequest SCRIPT_NAME and DOCUMENT_URI are /auth/check
 * and REQUEST_URI is the original request's raw text.
 */
static void
test_route_server_path_wins(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(get_by(u, "/auth/check", NULL, "/auth/check",
	    "/auth/../private/x"), 401);
	assert_int_equal(get_by(u, "/auth/check", NULL, "/auth/check",
	    "/auth/%2e%2e/private/x"), 401);
	assert_int_equal(get_by(u, "/auth/check", NULL, "/auth/check",
	    "/auth/healthz"), 401);
	assert_int_equal(get_by(u, "/auth/check", NULL, NULL,
	    "/auth/healthz"), 401);
	/* Routed elsewhere by the server: not ours, whatever the URI says. */
	assert_int_equal(get_by(u, "/private/x", NULL, "/private/x",
	    "/auth/healthz"), 404);
	assert_int_equal(get_by(u, NULL, NULL, "/private/x",
	    "/auth/healthz"), 404);
}

static void
test_check_without_cookie_401(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 v[256];

	pl_req(&pl, "GET", "/auth/check");
	assert_int_equal(serve(u, &pl, NULL, &f), 401);
	assert_true(fakeio_header(&f, "Location", v, sizeof(v)));
	assert_string_equal(v, LOGIN_URL);
	assert_true(fakeio_header(&f, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/json");
	fakeio_free(&f);

	unitfix_param(&pl, "HTTP_X_ORIGINAL_URI", "/app/page?a=1");
	unitfix_param(&pl, "HTTP_COOKIE", "authgw_sid=garbage; other=1");
	assert_int_equal(serve(u, &pl, NULL, &f), 401);
	assert_true(fakeio_header(&f, "Location", v, sizeof(v)));
	assert_string_equal(v, LOGIN_URL "?next=%2Fapp%2Fpage%3Fa%3D1");
	fakeio_free(&f);

	/* HEAD, as nginx may send for a HEAD request. */
	pl_req(&pl, "HEAD", "/auth/check");
	assert_int_equal(serve_status(u, &pl, NULL), 401);
}

static void
test_check_with_session_200(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 sid[128], v[128];

	session_cookie(u, sid, sizeof(sid));
	pl_req(&pl, "GET", "/auth/check");
	unitfix_param(&pl, "HTTP_COOKIE", sid);
	assert_int_equal(serve(u, &pl, NULL, &f), 200);
	assert_true(fakeio_header(&f, "X-Auth-User", v, sizeof(v)));
	assert_string_equal(v, "alice@example.com");
	fakeio_free(&f);
}

/*
 * /check answers every method alike (nginx's auth_request sends the
 * original one) and never reads a body, whatever the request announces.
 */
static void
test_check_any_method_no_body(void **state)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;
	struct fake_io	 f;
	char		 sid[128], v[128], *big = big_form(BIG_BODY);
	size_t		 i;

	session_cookie(u, sid, sizeof(sid));
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		pl_req(&pl, methods[i], "/auth/check");
		unitfix_param(&pl, "HTTP_COOKIE", sid);
		assert_int_equal(serve(u, &pl, NULL, &f), 200);
		assert_true(fakeio_header(&f, "X-Auth-User", v, sizeof(v)));
		assert_string_equal(v, "alice@example.com");
		fakeio_free(&f);
		/* A body announced and not sent (auth_request), too long,
		 * of any type, or a malformed length: never read. */
		unitfix_param(&pl, "CONTENT_TYPE", "text/plain");
		unitfix_param(&pl, "CONTENT_LENGTH", "7");
		assert_int_equal(serve_status(u, &pl, ""), 200);
		pl_req(&pl, methods[i], "/auth/check");
		unitfix_param(&pl, "HTTP_COOKIE", sid);
		unitfix_param(&pl, "CONTENT_LENGTH", "70000");
		assert_int_equal(serve(u, &pl, big, &f), 200);
		assert_int_equal(f.body_off, 0);
		fakeio_free(&f);
		pl_req(&pl, methods[i], "/auth/check");
		unitfix_param(&pl, "CONTENT_LENGTH", "abc");
		unitfix_param(&pl, "CONTENT_TYPE", "application/json");
		assert_int_equal(serve(u, &pl, "{", &f), 401);
		assert_int_equal(f.body_off, 0);
		fakeio_free(&f);
	}
	free(big);
	/* The other routes keep their methods. */
	expect_405(u, "POST", "/auth/session", "GET");
	expect_405(u, "OPTIONS", "/auth/healthz", "GET");
}

/* The status and Location of a check without a session. */
static int
check_location(struct unitfix *u, const char *uri, const char *orig,
    char *loc, size_t locsz)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	int		 status;

	pl_req(&pl, "GET", uri);
	unitfix_param(&pl, "SCRIPT_NAME", "/auth/check");
	unitfix_param(&pl, "DOCUMENT_URI", "/auth/check");
	unitfix_param(&pl, "HTTP_X_ORIGINAL_URI", orig);
	status = serve(u, &pl, NULL, &f);
	if (!fakeio_header(&f, "Location", loc, locsz))
		loc[0] = '\0';
	fakeio_free(&f);
	return status;
}

/*
 * next= is X-Original-URI, else REQUEST_URI (the original request's in an
 * auth_request subrequest), but not REQUEST_URI when it is /check's own.
 */
static void
test_check_next_from_request_uri(void **state)
{
	struct unitfix	*u = *state;
	char		 loc[256];

	assert_int_equal(check_location(u, "/private/x?a=1", NULL, loc,
	    sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL "?next=%2Fprivate%2Fx%3Fa%3D1");
	assert_int_equal(check_location(u, "/private/x", "/from/header",
	    loc, sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL "?next=%2Ffrom%2Fheader");
	assert_int_equal(check_location(u, "/auth/check?role=user", NULL,
	    loc, sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL);
	assert_int_equal(check_location(u, "/auth/check", NULL, loc,
	    sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL);
	/* An unsafe one is dropped, as ever. */
	assert_int_equal(check_location(u, "//evil.example/x", NULL, loc,
	    sizeof(loc)), 401);
	assert_string_equal(loc, LOGIN_URL);
}

/* The status of GET /check with this Cookie header (and Authorization). */
static int
check_with(struct unitfix *u, const char *cookie, const char *authz)
{
	struct unitfix_params	 pl;

	pl_req(&pl, "GET", "/auth/check");
	unitfix_param(&pl, "HTTP_COOKIE", cookie);
	unitfix_param(&pl, "HTTP_AUTHORIZATION", authz);
	return serve_status(u, &pl, NULL);
}

/*
 * Several cookies of the name: the first counts, as nginx's $cookie_NAME,
 * with ';' or ',' between them (Apache joins a client's Cookie lines with
 * ", ").
 */
static void
test_check_first_cookie(void **state)
{
	struct unitfix	*u = *state;
	char		 sid[128], hdr[512];

	session_cookie(u, sid, sizeof(sid));
	(void)snprintf(hdr, sizeof(hdr), "%s; authgw_sid=garbage", sid);
	assert_int_equal(check_with(u, hdr, NULL), 200);
	(void)snprintf(hdr, sizeof(hdr), "authgw_sid=garbage; %s", sid);
	assert_int_equal(check_with(u, hdr, NULL), 401);
	(void)snprintf(hdr, sizeof(hdr), "a=1, %s", sid);
	assert_int_equal(check_with(u, hdr, NULL), 200);
	(void)snprintf(hdr, sizeof(hdr), "%s, authgw_sid=garbage", sid);
	assert_int_equal(check_with(u, hdr, NULL), 200);
	(void)snprintf(hdr, sizeof(hdr), "authgw_sid=garbage, %s", sid);
	assert_int_equal(check_with(u, hdr, NULL), 401);
	(void)snprintf(hdr, sizeof(hdr), "authgw_sid_csrf=x; %s", sid);
	assert_int_equal(check_with(u, hdr, NULL), 200);
}

/*
 * An Authorization authgw does not know is the application's own: a live
 * cookie still decides, and without one it is 401 to the login page.
 */
static void
test_check_ignores_authorization(void **state)
{
	struct unitfix	*u = *state;
	char		 sid[128], loc[256];
	struct unitfix_params	 pl;
	struct fake_io	 f;

	session_cookie(u, sid, sizeof(sid));
	assert_int_equal(check_with(u, sid, "Bearer xyz"), 200);
	assert_int_equal(check_with(u, sid, "Negotiate abc"), 200);
	pl_req(&pl, "GET", "/auth/check");
	unitfix_param(&pl, "HTTP_AUTHORIZATION", "Bearer xyz");
	assert_int_equal(serve(u, &pl, NULL, &f), 401);
	assert_true(fakeio_header(&f, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, LOGIN_URL);
	fakeio_free(&f);
}

/* A session of alice due for renewal: its cookie header and row. */
static void
session_due(struct unitfix *u, char *cookie, size_t cookiesz,
    struct session *row)
{
	struct store	*st = app_store(&u->app);
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	const char	*eq;
	int64_t		 now = util_now();

	session_cookie(u, cookie, cookiesz);
	assert_non_null(eq = strchr(cookie, '='));
	assert_int_equal(session_cookie_hash(eq + 1, strlen(eq + 1), hash), 0);
	assert_int_equal(store_session_get(st, hash, row), STORE_OK);
	/* Ten seconds left of a day's lifetime. */
	assert_int_equal(store_session_extend(st, row->id, row->expires,
	    now + 10, now), STORE_OK);
	assert_int_equal(store_session_get(st, hash, row), STORE_OK);
}

/* The expiry of row's session now. */
static int64_t
expires_of(struct unitfix *u, const struct session *row)
{
	struct session	 se;

	assert_int_equal(store_session_get(app_store(&u->app), row->token_hash,
	    &se), STORE_OK);
	return se.expires;
}

/* The status of a check (role: FCGI_ROLE, or NULL) with X-Auth-Passive. */
static int
check_passive(struct unitfix *u, const char *cookie, const char *role,
    const char *passive)
{
	struct unitfix_params	 pl;

	pl_req(&pl, "GET", role != NULL ? "/private/x" : "/auth/check");
	unitfix_param(&pl, "FCGI_ROLE", role);
	unitfix_param(&pl, "HTTP_COOKIE", cookie);
	unitfix_param(&pl, "HTTP_X_AUTH_PASSIVE", passive);
	return serve_status(u, &pl, NULL);
}

/* "X-Auth-Passive: 1" validates without extending, on /check and in the
 * authorizer role; any other value is an ordinary check. */
static void
test_check_passive_header(void **state)
{
	static const char *const roles[] = { NULL, "AUTHORIZER" };
	struct unitfix	*u = *state;
	struct session	 row;
	char		 sid[128];
	size_t		 i;

	for (i = 0; i < 2; i++) {
		session_due(u, sid, sizeof(sid), &row);
		assert_int_equal(check_passive(u, sid, roles[i], "1"), 200);
		assert_int_equal(check_passive(u, sid, roles[i], "1"), 200);
		assert_int_equal(expires_of(u, &row), row.expires);
		assert_int_equal(check_passive(u, sid, roles[i], "0"), 200);
		assert_true(expires_of(u, &row) > row.expires);
		session_due(u, sid, sizeof(sid), &row);
		assert_int_equal(check_passive(u, sid, roles[i], NULL), 200);
		assert_true(expires_of(u, &row) > row.expires);
	}
}

/* router_dispatch on a request whose route is set by hand. */
static int
dispatch(struct unitfix *u, const char *method, const char *route,
    struct response *resp)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	struct request	 req;
	const char	*why = NULL;

	pl_req(&pl, method, "/ignored");
	unitfix_param(&pl, "HTTP_ACCEPT", "application/json");
	fakeio_init(&f, pl.v, NULL);
	http_request_init(&req, &f.io, util_now());
	req.app_prefix = u->cfg.prefix;
	req.app_www = u->cfg.www_dir;
	assert_int_equal(util_strlcpy(req.route, route, sizeof(req.route)),
	    0);
	assert_int_equal(http_request_parse(&req, &why), 0);
	memset(resp, 0, sizeof(*resp));
	router_dispatch(&u->app, &req, resp);
	http_request_free(&req);
	fakeio_free(&f);
	return resp->status;
}

static void
test_dispatch_direct(void **state)
{
	struct unitfix	*u = *state;
	struct response	 resp;

	assert_int_equal(dispatch(u, "GET", "/healthz", &resp), 200);
	assert_int_equal(resp.headers.len, 0);
	http_response_free(&resp);
	assert_int_equal(dispatch(u, "GET", "/nope", &resp), 404);
	http_response_free(&resp);
	assert_int_equal(dispatch(u, "GET", "", &resp), 404);
	http_response_free(&resp);
	assert_int_equal(dispatch(u, "PATCH", "/login", &resp), 405);
	assert_string_equal(resp.headers.data, "Allow: GET, POST\r\n");
	http_response_free(&resp);
	/* A form POST to a protected route without token: 403. */
	assert_int_equal(dispatch(u, "POST", "/admin/stats/reset", &resp),
	    403);
	assert_non_null(strstr(resp.body.data, "CSRF"));
	http_response_free(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_route_404, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outside_prefix_404, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_method_405_allow,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_404_has_no_allow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_answered_as_get,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_form_post_without_csrf_403, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_post_bad_csrf_403,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_form_post_with_token_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_form_post_with_origin_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_json_post_passes_csrf_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_over_64k_413, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_limit_boundary,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_content_length_400,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unsupported_content_type_415, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_body_400, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_path_too_long_414, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_authorizer_roles_any_path, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_authorizer_session_no_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_cache_headers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_query_too_long_414,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_answer_no_store,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_healthz_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_healthz_store_unusable_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_from_server_path,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_server_path_wins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_any_method_no_body,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_next_from_request_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_first_cookie,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_ignores_authorization, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_passive_header,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_without_cookie_401, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_with_session_200,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_direct, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
