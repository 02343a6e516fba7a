#include <stdio.h>
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "csrf.h"
#include "http.h"
#include "parse.h"
#include "util.h"

#define CSRF_NONCE_B64	22	/* base64url of CSRF_NONCE_LEN bytes */
/* The CSRF key's own label: never the raw server secret, from which the
 * other keys (TOTP, cache entries) are derived with labels of their own. */
#define CSRF_LABEL	"authgw csrf v1"

/* The nonce cookie's value if well-formed: 0 and nonce set, or -1. */
static int
csrf_cookie(struct app *app, const struct request *req,
    char nonce[CSRF_NONCE_B64 + 1])
{
	const char	*hdr = http_param(req, "HTTP_COOKIE");
	const char	*v;
	char		 name[96];
	unsigned char	 raw[CSRF_NONCE_LEN];
	size_t		 vlen;
	int		 n;

	n = snprintf(name, sizeof(name), "%s_csrf", app->cfg->cookie_name);
	if (hdr == NULL || n < 0 || (size_t)n >= sizeof(name))
		return -1;
	if (!parse_cookie(hdr, strlen(hdr), name, &v, &vlen) ||
	    vlen != CSRF_NONCE_B64 ||
	    crypto_b64url_decode(v, vlen, raw, sizeof(raw)) != CSRF_NONCE_LEN)
		return -1;
	memcpy(nonce, v, vlen);
	nonce[vlen] = '\0';
	return 0;
}

/* token = base64url(HMAC-SHA256(key, nonce)), key =
 * HMAC-SHA256(server secret, CSRF_LABEL). */
static int
csrf_sign(struct app *app, const char *nonce, char *token, size_t tokensz)
{
	const unsigned char	*secret;
	unsigned char		 key[CRYPTO_SHA256_LEN], mac[CRYPTO_SHA256_LEN];
	int			 rc = -1;

	if ((secret = app_secret(app)) != NULL &&
	    crypto_hmac_sha256(secret, 32, CSRF_LABEL, strlen(CSRF_LABEL),
	    key) == 0 &&
	    crypto_hmac_sha256(key, sizeof(key), nonce, strlen(nonce),
	    mac) == 0 &&
	    crypto_b64url_encode(mac, sizeof(mac), token, tokensz) >= 0)
		rc = 0;
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(mac, sizeof(mac));
	return rc;
}

int
csrf_token(struct app *app, const struct request *req, struct response *resp,
    char *token, size_t tokensz)
{
	char		 nonce[CSRF_NONCE_B64 + 1];
	unsigned char	 raw[CSRF_NONCE_LEN];

	if (csrf_cookie(app, req, nonce) == -1) {
		if (crypto_random(raw, sizeof(raw)) == -1 ||
		    crypto_b64url_encode(raw, sizeof(raw), nonce,
		    sizeof(nonce)) != CSRF_NONCE_B64)
			return -1;
		http_resp_header(resp, "Set-Cookie",
		    "%s_csrf=%s; Path=/; HttpOnly; SameSite=Strict%s",
		    app->cfg->cookie_name, nonce,
		    app->cfg->cookie_secure ? "; Secure" : "");
	}
	return csrf_sign(app, nonce, token, tokensz);
}

/*
 * The request's own origin, from HTTPS/REQUEST_SCHEME and Host. With
 * with_port, a Host that names no port gets SERVER_PORT's (nginx's stock
 * fastcgi_params on Debian send $host, which drops the port). Returns 0,
 * or -1 when there is none (no Host, or with_port and nothing to add).
 */
static int
request_origin(const struct request *req, int with_port, char *out,
    size_t outsz)
{
	const char	*host = http_param(req, "HTTP_HOST");
	const char	*https = http_param(req, "HTTPS");
	const char	*scheme = http_param(req, "REQUEST_SCHEME");
	const char	*port = http_param(req, "SERVER_PORT");
	const char	*colon, *bracket;
	int		 n;

	if (host == NULL || host[0] == '\0')
		return -1;
	if (https != NULL && (strcmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0))
		scheme = "https";
	else if (scheme == NULL || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0))
		scheme = "http";
	if (!with_port)
		n = snprintf(out, outsz, "%s://%s", scheme, host);
	else {
		colon = strrchr(host, ':');
		bracket = strrchr(host, ']');
		if ((colon != NULL && (bracket == NULL || colon > bracket)) ||
		    port == NULL || port[0] == '\0' || strlen(port) > 5 ||
		    strspn(port, "0123456789") != strlen(port))
			return -1;
		n = snprintf(out, outsz, "%s://%s:%s", scheme, host, port);
	}
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
csrf_check(struct app *app, const struct request *req)
{
	const char	*origin = http_param(req, "HTTP_ORIGIN");
	const char	*given;
	char		 own[512], nonce[CSRF_NONCE_B64 + 1];
	char		 want[CRYPTO_B64_LEN(CRYPTO_SHA256_LEN)];
	size_t		 glen;
	int		 ok;

	if (origin != NULL && origin[0] != '\0') {
		if (parse_origin_matches(origin, app->cfg->base_url))
			return 1;
		if (request_origin(req, 0, own, sizeof(own)) == 0 &&
		    parse_origin_matches(origin, own))
			return 1;
		if (request_origin(req, 1, own, sizeof(own)) == 0 &&
		    parse_origin_matches(origin, own))
			return 1;
	}
	given = fields_get(&req->form, "csrf", &glen);
	if (given == NULL || csrf_cookie(app, req, nonce) == -1 ||
	    csrf_sign(app, nonce, want, sizeof(want)) == -1)
		return 0;
	ok = glen == strlen(want) && crypto_memeq(given, want, glen);
	crypto_cleanse(want, sizeof(want));
	return ok;
}
