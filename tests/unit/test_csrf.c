/*
 * Unit tests of src/csrf.c: the signed double-submit token and the Origin
 * rule of SPEC section 4, on a real store (for the key) through the fake
 * transport of unitfix.
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
#include "crypto.h"
#include "csrf.h"
#include "http.h"
#include "unitfix.h"
#include "util.h"

#define NONCE_B64	22	/* base64url of CSRF_NONCE_LEN bytes */

/* Request parameters built up by a test: "NAME", "value", ..., NULL. */
/* A minted nonce cookie and the token that goes with it. */
struct minted {
	char	 nonce[NONCE_B64 + 1];
	char	 cookie[128];		/* "authgw_sid_csrf=<nonce>" */
	char	 token[CSRF_TOKEN_MAX];
};

static int
setup_kv(void **state, const char *const *kv)
{
	return unitfix_new(state, kv);
}

static int
setup(void **state)
{
	return setup_kv(state, NULL);
}

static int
setup_base(void **state)
{
	static const char *const kv[] = {
		"base_url", "https://auth.example.com", NULL
	};

	return setup_kv(state, kv);
}

static int
teardown(void **state)
{
	return unitfix_free(state);
}

/* A form POST with cookie (or NULL) and body; other params added after. */
static void
pl_post(struct unitfix_params *pl, const char *cookie)
{
	memset(pl, 0, sizeof(*pl));
	unitfix_param(pl, "REQUEST_METHOD", "POST");
	unitfix_param(pl, "REQUEST_URI", "/auth/logout");
	unitfix_param(pl, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	unitfix_param(pl, "HTTP_COOKIE", cookie);
}

/* csrf_check on a request made of params and body (parsed first). */
static int
check(struct unitfix *u, const struct unitfix_params *pl, const char *body)
{
	struct fake_io	 f;
	struct request	 req;
	const char	*why = NULL;
	int		 ok;

	fakeio_init(&f, pl->v, body);
	http_request_init(&req, &f.io, util_now());
	assert_int_equal(http_request_parse(&req, &why), 0);
	ok = csrf_check(&u->app, &req);
	http_request_free(&req);
	fakeio_free(&f);
	return ok;
}

/* check() of a form POST carrying cookie and "csrf=token". */
static int
check_token(struct unitfix *u, const char *cookie, const char *token)
{
	struct unitfix_params	 pl;
	char		 body[256];
	int		 n;

	pl_post(&pl, cookie);
	n = snprintf(body, sizeof(body), "csrf=%s", token);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	return check(u, &pl, body);
}

/* check() of a form POST without a token, with Origin and more params. */
static int
check_origin(struct unitfix *u, const char *origin, const char *host,
    const char *https)
{
	struct unitfix_params	 pl;

	pl_post(&pl, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", origin);
	unitfix_param(&pl, "HTTP_HOST", host);
	unitfix_param(&pl, "HTTPS", https);
	return check(u, &pl, "");
}

/*
 * csrf_token on a GET with cookie (or NULL). Returns its result; the
 * response's headers are left in resp for the caller to read and free.
 */
static int
token_for(struct unitfix *u, const char *cookie, struct response *resp,
    char *token, size_t tokensz)
{
	struct unitfix_params	 pl;
	struct fake_io	 f;
	struct request	 req;
	int		 rc;

	memset(&pl, 0, sizeof(pl));
	unitfix_param(&pl, "REQUEST_METHOD", "GET");
	unitfix_param(&pl, "REQUEST_URI", "/auth/login");
	unitfix_param(&pl, "HTTP_COOKIE", cookie);
	fakeio_init(&f, pl.v, NULL);
	http_request_init(&req, &f.io, util_now());
	memset(resp, 0, sizeof(*resp));
	rc = csrf_token(&u->app, &req, resp, token, tokensz);
	http_request_free(&req);
	fakeio_free(&f);
	return rc;
}

/* The nonce of the Set-Cookie line in headers into nonce; 1 or 0. */
static int
set_cookie_nonce(struct unitfix *u, const struct buf *headers,
    char nonce[NONCE_B64 + 1])
{
	char		 want[128];
	const char	*p, *end;
	size_t		 wlen;
	int		 n;

	n = snprintf(want, sizeof(want), "Set-Cookie: %s_csrf=",
	    u->cfg.cookie_name);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	wlen = (size_t)n;
	if (headers->data == NULL || headers->len < wlen + NONCE_B64 ||
	    memcmp(headers->data, want, wlen) != 0)
		return 0;
	p = headers->data + wlen;
	end = memchr(p, ';', headers->len - wlen);
	if (end == NULL || end - p != NONCE_B64)
		return 0;
	memcpy(nonce, p, NONCE_B64);
	nonce[NONCE_B64] = '\0';
	return 1;
}

static void
cookie_of(struct unitfix *u, const char *nonce, char *out, size_t outsz)
{
	int	 n;

	n = snprintf(out, outsz, "%s_csrf=%s", u->cfg.cookie_name, nonce);
	assert_true(n > 0 && (size_t)n < outsz);
}

/* A fresh nonce (from the Set-Cookie of csrf_token) and its token. */
static void
mint(struct unitfix *u, struct minted *m)
{
	struct response	 resp;

	assert_int_equal(token_for(u, NULL, &resp, m->token,
	    sizeof(m->token)), 0);
	assert_true(set_cookie_nonce(u, &resp.headers, m->nonce));
	http_response_free(&resp);
	cookie_of(u, m->nonce, m->cookie, sizeof(m->cookie));
}

/*
 * The token of any nonce string under key (32 bytes):
 * base64url(HMAC-SHA256(key, nonce)).
 */
static void
sign_with(const unsigned char *key, const char *nonce, char *out,
    size_t outsz)
{
	unsigned char	 mac[CRYPTO_SHA256_LEN];

	assert_non_null(key);
	assert_int_equal(crypto_hmac_sha256(key, 32, nonce, strlen(nonce),
	    mac), 0);
	assert_true(crypto_b64url_encode(mac, sizeof(mac), out, outsz) > 0);
}

/*
 * What the token of any nonce string would be, under the CSRF key: its
 * own, HMAC-SHA256(server secret, "authgw csrf v1") (review 16, finding
 * 4), computed here so that a malformed cookie is refused for its form,
 * not because its token is wrong.
 */
static void
sign(struct unitfix *u, const char *nonce, char *out, size_t outsz)
{
	const unsigned char	*secret = app_secret(&u->app);
	unsigned char		 key[CRYPTO_SHA256_LEN];

	assert_non_null(secret);
	assert_int_equal(crypto_hmac_sha256(secret, 32, "authgw csrf v1",
	    strlen("authgw csrf v1"), key), 0);
	sign_with(key, nonce, out, outsz);
}

static void
test_token_with_its_cookie_passes(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 cookies[256];
	int		 n;

	mint(u, &m);
	assert_int_equal(check_token(u, m.cookie, m.token), 1);
	/* Among other cookies, too. */
	n = snprintf(cookies, sizeof(cookies), "a=1; %s; b=2", m.cookie);
	assert_true(n > 0 && (size_t)n < sizeof(cookies));
	assert_int_equal(check_token(u, cookies, m.token), 1);
}

/* The helper sign() is what csrf_token computes. */
static void
test_token_is_hmac_of_nonce(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 want[CSRF_TOKEN_MAX];

	mint(u, &m);
	sign(u, m.nonce, want, sizeof(want));
	assert_string_equal(m.token, want);
}

/* Review 16, finding 4: the key is derived with its own label, never the
 * raw server secret (which other keys are derived from): a token made
 * with the raw secret is refused, the one made with the CSRF key passes. */
static void
test_raw_secret_is_not_the_key(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 raw[CSRF_TOKEN_MAX], good[CSRF_TOKEN_MAX];

	mint(u, &m);
	sign_with(app_secret(&u->app), m.nonce, raw, sizeof(raw));
	sign(u, m.nonce, good, sizeof(good));
	assert_string_not_equal(raw, good);
	assert_string_not_equal(m.token, raw);
	assert_int_equal(check_token(u, m.cookie, raw), 0);
	assert_int_equal(check_token(u, m.cookie, good), 1);
}

static void
test_missing_token_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	struct unitfix_params	 pl;

	mint(u, &m);
	pl_post(&pl, m.cookie);
	assert_int_equal(check(u, &pl, ""), 0);
	assert_int_equal(check(u, &pl, "email=a%40example.com"), 0);
	assert_int_equal(check_token(u, m.cookie, ""), 0);
}

/* The token counts only in the body, not in the query string. */
static void
test_token_in_query_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	struct unitfix_params	 pl;
	char		 qs[128];
	int		 n;

	mint(u, &m);
	n = snprintf(qs, sizeof(qs), "csrf=%s", m.token);
	assert_true(n > 0 && (size_t)n < sizeof(qs));
	pl_post(&pl, m.cookie);
	unitfix_param(&pl, "QUERY_STRING", qs);
	assert_int_equal(check(u, &pl, ""), 0);
}

static void
test_token_of_other_nonce_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 a, b;

	mint(u, &a);
	mint(u, &b);
	assert_string_not_equal(a.nonce, b.nonce);
	assert_string_not_equal(a.token, b.token);
	assert_int_equal(check_token(u, a.cookie, b.token), 0);
	assert_int_equal(check_token(u, b.cookie, a.token), 0);
	assert_int_equal(check_token(u, a.cookie, a.token), 1);
}

static void
test_truncated_or_extended_token_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 t[CSRF_TOKEN_MAX + 2];
	size_t		 len;

	mint(u, &m);
	len = strlen(m.token);
	assert_true(len > 1);
	memcpy(t, m.token, len - 1);
	t[len - 1] = '\0';
	assert_int_equal(check_token(u, m.cookie, t), 0);
	memcpy(t, m.token, len);
	t[len] = 'A';
	t[len + 1] = '\0';
	assert_int_equal(check_token(u, m.cookie, t), 0);
	/* One character changed. */
	memcpy(t, m.token, len + 1);
	t[0] = t[0] == 'A' ? 'B' : 'A';
	assert_int_equal(check_token(u, m.cookie, t), 0);
}

static void
test_missing_nonce_cookie_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 other[128];

	mint(u, &m);
	assert_int_equal(check_token(u, NULL, m.token), 0);
	assert_int_equal(check_token(u, "a=1; b=2", m.token), 0);
	/* The nonce under another cookie's name. */
	cookie_of(u, m.nonce, other, sizeof(other));
	other[0] = 'x';
	assert_int_equal(check_token(u, other, m.token), 0);
}

/* A cookie value of the wrong form fails even with its own HMAC. */
static void
malformed_nonce_fails(struct unitfix *u, const char *nonce)
{
	char	 cookie[128], token[CSRF_TOKEN_MAX];

	cookie_of(u, nonce, cookie, sizeof(cookie));
	sign(u, nonce, token, sizeof(token));
	assert_int_equal(check_token(u, cookie, token), 0);
}

static void
test_malformed_nonce_cookie_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	char		 bad[NONCE_B64 + 2];

	mint(u, &m);
	/* One character short, one too many. */
	memcpy(bad, m.nonce, NONCE_B64 - 1);
	bad[NONCE_B64 - 1] = '\0';
	malformed_nonce_fails(u, bad);
	memcpy(bad, m.nonce, NONCE_B64);
	bad[NONCE_B64] = 'A';
	bad[NONCE_B64 + 1] = '\0';
	malformed_nonce_fails(u, bad);
	/* The right length, not base64url. */
	malformed_nonce_fails(u, "AAAAAAAAAAAAAAAAAAAA+A");
	malformed_nonce_fails(u, "AAAAAAAAAAAAAAAAAAAA/A");
	malformed_nonce_fails(u, "AAAAAAAAAAAAAAAAAAAA.A");
	malformed_nonce_fails(u, "AAAAAAAAAAAAAAAAAAAA==");
	/* Stray bits in the last character: not the canonical encoding. */
	malformed_nonce_fails(u, "AAAAAAAAAAAAAAAAAAAAAB");
	malformed_nonce_fails(u, "");
}

static void
test_well_formed_foreign_nonce_passes(void **state)
{
	struct unitfix	*u = *state;
	char		 cookie[128], token[CSRF_TOKEN_MAX];

	/* Any well-formed nonce with its HMAC passes: the key is the secret. */
	cookie_of(u, "AAAAAAAAAAAAAAAAAAAAAA", cookie, sizeof(cookie));
	sign(u, "AAAAAAAAAAAAAAAAAAAAAA", token, sizeof(token));
	assert_int_equal(check_token(u, cookie, token), 1);
}

static void
test_origin_of_base_url_passes(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 1);
	assert_int_equal(check_origin(u, "https://AUTH.Example.COM", NULL,
	    NULL), 1);
	assert_int_equal(check_origin(u, "https://auth.example.com/", NULL,
	    NULL), 1);
	/* Another scheme, host or port is another origin. */
	assert_int_equal(check_origin(u, "http://auth.example.com", NULL,
	    NULL), 0);
	assert_int_equal(check_origin(u, "https://auth.example.com:8443",
	    NULL, NULL), 0);
	assert_int_equal(check_origin(u, "https://auth.example.com.evil.test",
	    NULL, NULL), 0);
	assert_int_equal(check_origin(u, "https://evil.test/auth.example.com",
	    NULL, NULL), 0);
}

/* base_url set behind the config's back (no normalisation). */
static void
set_base_raw(struct unitfix *u, const char *url)
{
	assert_int_equal(util_strlcpy(u->cfg.base_url, url,
	    sizeof(u->cfg.base_url)), 0);
}

/* A trailing '/' on base_url: stripped by the config, and ignored if not. */
static void
test_origin_base_url_trailing_slash(void **state)
{
	struct unitfix	*u = *state;
	char		 err[256];

	assert_int_equal(config_set(&u->cfg, "base_url",
	    "https://auth.example.com/", err, sizeof(err)), 0);
	assert_string_equal(u->cfg.base_url, "https://auth.example.com");
	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 1);
	/* Set behind the config's back, with a slash and with a path. */
	set_base_raw(u, "https://auth.example.com/");
	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 1);
	set_base_raw(u, "https://auth.example.com/sso/");
	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 1);
	assert_int_equal(check_origin(u, "https://other.example.com", NULL,
	    NULL), 0);
}

static void
test_origin_default_ports_equal(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(check_origin(u, "https://auth.example.com:443", NULL,
	    NULL), 1);
	set_base_raw(u, "https://auth.example.com:443");
	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 1);
	set_base_raw(u, "http://auth.example.com:80");
	assert_int_equal(check_origin(u, "http://auth.example.com", NULL,
	    NULL), 1);
	assert_int_equal(check_origin(u, "https://auth.example.com", NULL,
	    NULL), 0);
	set_base_raw(u, "http://auth.example.com:8080");
	assert_int_equal(check_origin(u, "http://auth.example.com", NULL,
	    NULL), 0);
	assert_int_equal(check_origin(u, "http://auth.example.com:8080",
	    NULL, NULL), 1);
}

static void
test_origin_of_own_host_passes(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(check_origin(u, "http://app.example.org",
	    "app.example.org", NULL), 1);
	assert_int_equal(check_origin(u, "https://app.example.org",
	    "app.example.org", "on"), 1);
	assert_int_equal(check_origin(u, "https://app.example.org:8443",
	    "app.example.org:8443", "on"), 1);
	/* Default ports compared as equal. */
	assert_int_equal(check_origin(u, "https://app.example.org",
	    "app.example.org:443", "on"), 1);
	assert_int_equal(check_origin(u, "http://app.example.org:80",
	    "app.example.org", NULL), 1);
	/* The scheme follows HTTPS. */
	assert_int_equal(check_origin(u, "https://app.example.org",
	    "app.example.org", NULL), 0);
	assert_int_equal(check_origin(u, "http://app.example.org",
	    "app.example.org", "on"), 0);
	assert_int_equal(check_origin(u, "https://app.example.org",
	    "app.example.org", "off"), 0);
	/* Another host or port; no Host at all. */
	assert_int_equal(check_origin(u, "http://evil.example.org",
	    "app.example.org", NULL), 0);
	assert_int_equal(check_origin(u, "http://app.example.org:8080",
	    "app.example.org", NULL), 0);
	assert_int_equal(check_origin(u, "http://app.example.org", NULL,
	    NULL), 0);
	assert_int_equal(check_origin(u, "http://app.example.org", "", NULL),
	    0);
}

/* A check of Origin against Host (no port) and SERVER_PORT. */
static int
check_server_port(struct unitfix *u, const char *origin, const char *port)
{
	struct unitfix_params	 pl;

	pl_post(&pl, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", origin);
	unitfix_param(&pl, "HTTP_HOST", "app.example.org");
	unitfix_param(&pl, "SERVER_PORT", port);
	return check(u, &pl, "");
}

/*
 * nginx's stock fastcgi_params on Debian send Host without its port
 * ($host): the request's own origin then takes SERVER_PORT's.
 */
static void
test_origin_of_own_host_with_server_port(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(check_server_port(u, "http://app.example.org:8080",
	    "8080"), 1);
	assert_int_equal(check_server_port(u, "http://app.example.org:8081",
	    "8080"), 0);
	assert_int_equal(check_server_port(u, "http://evil.example.org:8080",
	    "8080"), 0);
	assert_int_equal(check_server_port(u, "http://app.example.org:8080",
	    "80x"), 0);
	assert_int_equal(check_server_port(u, "http://app.example.org:8080",
	    NULL), 0);
}

static void
test_origin_scheme_from_request_scheme(void **state)
{
	struct unitfix	*u = *state;
	struct unitfix_params	 pl;

	pl_post(&pl, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", "https://app.example.org");
	unitfix_param(&pl, "HTTP_HOST", "app.example.org");
	unitfix_param(&pl, "REQUEST_SCHEME", "https");
	assert_int_equal(check(u, &pl, ""), 1);
	pl_post(&pl, NULL);
	unitfix_param(&pl, "HTTP_ORIGIN", "https://app.example.org");
	unitfix_param(&pl, "HTTP_HOST", "app.example.org");
	unitfix_param(&pl, "REQUEST_SCHEME", "http");
	assert_int_equal(check(u, &pl, ""), 0);
}

static void
test_foreign_origin_without_token_fails(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	struct unitfix_params	 pl;
	char		 body[128];
	int		 n;

	assert_int_equal(check_origin(u, "https://evil.example", NULL, NULL),
	    0);
	assert_int_equal(check_origin(u, "https://evil.example",
	    "app.example.org", "on"), 0);
	assert_int_equal(check_origin(u, "", NULL, NULL), 0);
	/* A foreign Origin with a good token: the token decides (SPEC 4). */
	mint(u, &m);
	pl_post(&pl, m.cookie);
	unitfix_param(&pl, "HTTP_ORIGIN", "https://evil.example");
	n = snprintf(body, sizeof(body), "csrf=%s", m.token);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	assert_int_equal(check(u, &pl, body), 1);
	assert_int_equal(check(u, &pl, "csrf=AAAA"), 0);
}

static void
test_null_origin_fails(void **state)
{
	struct unitfix	*u = *state;

	assert_int_equal(check_origin(u, "null", NULL, NULL), 0);
	assert_int_equal(check_origin(u, "null", "null", NULL), 0);
	assert_int_equal(check_origin(u, "null", "app.example.org", "on"), 0);
}

/* No Set-Cookie when a valid nonce cookie came: the token reuses it. */
static void
test_token_sets_cookie_only_when_needed(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	struct response	 resp;
	char		 token[CSRF_TOKEN_MAX], nonce[NONCE_B64 + 1];
	char		 bad[128];

	mint(u, &m);
	assert_int_equal(token_for(u, m.cookie, &resp, token, sizeof(token)),
	    0);
	assert_int_equal(resp.headers.len, 0);
	assert_string_equal(token, m.token);
	http_response_free(&resp);

	/* A malformed one is replaced by a new nonce. */
	cookie_of(u, "AAAAAAAAAAAAAAAAAAAA+A", bad, sizeof(bad));
	assert_int_equal(token_for(u, bad, &resp, token, sizeof(token)), 0);
	assert_true(set_cookie_nonce(u, &resp.headers, nonce));
	assert_string_not_equal(nonce, "AAAAAAAAAAAAAAAAAAAA+A");
	assert_non_null(strstr(resp.headers.data, "; Path=/; HttpOnly; "
	    "SameSite=Strict"));
	http_response_free(&resp);
	cookie_of(u, nonce, bad, sizeof(bad));
	assert_int_equal(check_token(u, bad, token), 1);
}

static void
test_token_cookie_secure(void **state)
{
	struct unitfix	*u = *state;
	struct response	 resp;
	char		 token[CSRF_TOKEN_MAX];

	u->cfg.cookie_secure = 1;
	assert_int_equal(token_for(u, NULL, &resp, token, sizeof(token)), 0);
	assert_non_null(resp.headers.data);
	assert_non_null(strstr(resp.headers.data,
	    "; SameSite=Strict; Secure\r\n"));
	http_response_free(&resp);
	u->cfg.cookie_secure = 0;
	assert_int_equal(token_for(u, NULL, &resp, token, sizeof(token)), 0);
	assert_null(strstr(resp.headers.data, "Secure"));
	http_response_free(&resp);
}

/* A token buffer too small for the token is an error, not a cut token. */
static void
test_token_buffer_too_small(void **state)
{
	struct unitfix	*u = *state;
	struct response	 resp;
	char		 token[16];

	assert_int_equal(token_for(u, NULL, &resp, token, sizeof(token)), -1);
	http_response_free(&resp);
}

/* Reopen the app on a database path that cannot be opened. */
static void
break_store(struct unitfix *u)
{
	int	 n;

	app_free(&u->app);
	n = snprintf(u->cfg.database, sizeof(u->cfg.database),
	    "%s/missing/authgw.db", u->dir);
	assert_true(n > 0 && (size_t)n < sizeof(u->cfg.database));
	app_init(&u->app, &u->cfg, u->stats, 0);
}

static void
test_store_unusable_fails_closed(void **state)
{
	struct unitfix	*u = *state;
	struct minted	 m;
	struct response	 resp;
	char		 token[CSRF_TOKEN_MAX];

	mint(u, &m);
	assert_int_equal(check_token(u, m.cookie, m.token), 1);
	break_store(u);
	assert_null(app_secret(&u->app));
	/* The very token that passed a moment ago. */
	assert_int_equal(check_token(u, m.cookie, m.token), 0);
	assert_int_equal(token_for(u, m.cookie, &resp, token, sizeof(token)),
	    -1);
	http_response_free(&resp);
	assert_int_equal(token_for(u, NULL, &resp, token, sizeof(token)), -1);
	http_response_free(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_token_with_its_cookie_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_is_hmac_of_nonce,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_secret_is_not_the_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_token_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_in_query_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_of_other_nonce_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_truncated_or_extended_token_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_nonce_cookie_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_nonce_cookie_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_well_formed_foreign_nonce_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_of_base_url_passes, setup_base, teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_base_url_trailing_slash, setup_base, teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_default_ports_equal, setup_base, teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_of_own_host_passes, setup_base, teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_of_own_host_with_server_port, setup_base,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_scheme_from_request_scheme, setup_base,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreign_origin_without_token_fails, setup_base,
		    teardown),
		cmocka_unit_test_setup_teardown(test_null_origin_fails,
		    setup_base, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_sets_cookie_only_when_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_cookie_secure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_buffer_too_small,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_unusable_fails_closed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
