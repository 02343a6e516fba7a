/*
 * libFuzzer harness for the request path: the parameters a FastCGI or CGI
 * transport hands over and the body, through http_request_init,
 * http_request_route and http_request_parse (http_request_parse_query for
 * /check) as router_serve() runs them; then what the routes do first with
 * the same parameters (the session cookie to a token hash, the client
 * address to a rate-limit key, the CSRF check) and a response sent back
 * through the transport.
 *
 * Input: one flags byte, then parameters "NAME=VALUE" each ended by a NUL
 * byte, then an empty record (a second NUL) and the body:
 *
 *   F REQUEST_METHOD=POST \0 REQUEST_URI=/auth/login \0 ... \0 \0 BODY
 *
 * A parameter given twice counts by its last value (SPEC 4); a record
 * without '=' is ignored. Flags: bits 0-1 the prefix, bits 2-4 the most
 * the transport hands over per read, bit 5 a read error after the body.
 *
 * Invariants: the route is the one SPEC 4 picks ("" or starting with '/',
 * always terminated); the body is read only for a POST that reads one,
 * never past CONTENT_LENGTH nor after the end; answers are 0, 400, 413,
 * 415 or 500 with a reason; fields are within their limits; csrf_check
 * passes only an allowed Origin or the right token; a response keeps its
 * shape whatever the request put in it; nothing leaks (LeakSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "crypto.h"
#include "csrf.h"
#include "http.h"
#include "parse.h"
#include "ratelimit.h"
#include "session.h"
#include "token.h"
#include "util.h"

#define FUZZ_PARAMS_MAX	64
#define FUZZ_COOKIE	"authgw_sid"
#define FUZZ_BASE_URL	"https://auth.example"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_io {
	const char	*name[FUZZ_PARAMS_MAX];
	size_t		 nlen[FUZZ_PARAMS_MAX];
	const char	*value[FUZZ_PARAMS_MAX];
	size_t		 n;
	const char	*body;
	size_t		 blen, off;
	size_t		 chunk;		/* most bytes per read */
	int		 fail_at_end;	/* -1 instead of 0 after the body */
	int		 at_end;	/* a read has said so */
	size_t		 reads, read_bytes;
	struct buf	 out;
};

static const char *const prefixes[] = { "/auth", "", "/a/b", "/auth" };
static const size_t chunks[] = { 1, 2, 3, 7, 100, 4096, 8192, 65536 };

/* The seam csrf.c needs from app.c: a fixed key, no store. */
const unsigned char *
app_secret(struct app *app)
{
	return app->secret;
}

static const char *
fuzz_param(void *ctx, const char *name)
{
	struct fuzz_io	*io = ctx;
	size_t		 i, len = strlen(name);

	for (i = io->n; i-- > 0; )	/* the last value wins */
		if (io->nlen[i] == len && memcmp(io->name[i], name, len) == 0)
			return io->value[i];
	return NULL;
}

static long
fuzz_read(void *ctx, char *p, size_t len)
{
	struct fuzz_io	*io = ctx;
	size_t		 n;

	/* Never asked for nothing, nor again after the end. */
	if (len == 0 || io->at_end)
		abort();
	io->reads++;
	if (io->off == io->blen) {
		io->at_end = 1;
		return io->fail_at_end ? -1 : 0;
	}
	n = io->blen - io->off;
	if (n > len)
		n = len;
	if (n > io->chunk)
		n = io->chunk;
	memcpy(p, io->body + io->off, n);
	io->off += n;
	io->read_bytes += n;
	return (long)n;
}

static int
fuzz_write(void *ctx, const char *p, size_t len)
{
	struct fuzz_io	*io = ctx;

	return buf_append(&io->out, p, len);
}

/* Split the input (copied to s, NUL-terminated) into io. */
static void
fuzz_split(struct fuzz_io *io, char *s, size_t len)
{
	char	*p = s, *end = s + len, *nul, *eq;

	while (p < end && *p != '\0') {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			nul = end;	/* s[len] is the terminator */
		if ((eq = memchr(p, '=', (size_t)(nul - p))) != NULL &&
		    io->n < FUZZ_PARAMS_MAX) {
			io->name[io->n] = p;
			io->nlen[io->n] = (size_t)(eq - p);
			io->value[io->n] = eq + 1;
			io->n++;
		}
		p = nul + 1;
	}
	if (p < end) {
		io->body = p + 1;
		io->blen = (size_t)(end - p - 1);
	} else {
		io->body = end;
		io->blen = 0;
	}
}

/* The parameter as http_param sees it: absent when over HTTP_PARAM_MAX. */
static const char *
param_seen(struct fuzz_io *io, const char *name)
{
	const char	*v = fuzz_param(io, name);

	return v != NULL && strlen(v) <= HTTP_PARAM_MAX ? v : NULL;
}

/* 1 if (path, len) is the prefix or lies under it (SPEC 4). */
static int
path_under(const char *path, size_t len, const char *prefix)
{
	size_t	 plen = strlen(prefix);

	return len >= plen && memcmp(path, prefix, plen) == 0 &&
	    (len == plen || path[plen] == '/');
}

/*
 * SPEC 4: the route is the path the web server routed, less the prefix
 * (the prefix itself is "/"; "" outside it): SCRIPT_NAME + PATH_INFO when
 * that lies under the prefix, else DOCUMENT_URI, else the path of
 * REQUEST_URI. The server's own path always wins over the client's raw
 * REQUEST_URI (so /auth/../private/x cannot be routed as something nginx
 * did not route). -1 only when the path taken, or SCRIPT_NAME + PATH_INFO
 * looked at first, does not fit HTTP_PATH_MAX.
 */
static void
check_route(struct fuzz_io *io, const struct request *req, int rc,
    const char *prefix)
{
	const char	*uri = param_seen(io, "REQUEST_URI");
	const char	*sn = param_seen(io, "SCRIPT_NAME");
	const char	*pi = param_seen(io, "PATH_INFO");
	const char	*du = param_seen(io, "DOCUMENT_URI");
	const char	*path;
	char		 both[2 * HTTP_PARAM_MAX + 1];
	size_t		 len, snlen, pilen, plen = strlen(prefix);

	/* router_serve logs the route whatever rc is. */
	if (strnlen(req->route, HTTP_PATH_MAX) == HTTP_PATH_MAX)
		abort();
	snlen = sn ? strlen(sn) : 0;
	pilen = pi ? strlen(pi) : 0;
	memcpy(both, sn ? sn : "", snlen);
	memcpy(both + snlen, pi ? pi : "", pilen);
	both[snlen + pilen] = '\0';
	if (snlen + pilen > 0 && path_under(both, snlen + pilen, prefix)) {
		path = both;
		len = snlen + pilen;
	} else if (du != NULL && du[0] != '\0') {
		path = du;
		len = strlen(du);
	} else {
		path = uri ? uri : "";
		len = strcspn(path, "?");
	}
	if (snlen + pilen >= HTTP_PATH_MAX || len >= HTTP_PATH_MAX) {
		if (rc != -1)
			abort();
		return;
	}
	if (rc != 0)
		abort();
	if (!path_under(path, len, prefix)) {
		if (req->route[0] != '\0')
			abort();
	} else if (len == plen) {
		if (strcmp(req->route, "/") != 0)
			abort();
	} else if (strlen(req->route) != len - plen ||
	    memcmp(req->route, path + plen, len - plen) != 0)
		abort();
}

static void
check_fields(const struct fields *fs)
{
	size_t	 i, klen;

	if (fs->n > PARSE_FIELDS_MAX)
		abort();
	for (i = 0; i < fs->n; i++) {
		klen = strlen(fs->f[i].key);
		if (klen == 0 || klen > PARSE_KEY_MAX ||
		    fs->f[i].val[fs->f[i].vlen] != '\0')
			abort();
	}
}

/*
 * What http_request_parse may answer, and what it may have read: a body
 * only for a POST to a route that reads one (/check never does: nginx's
 * auth_request announces the original body and sends none).
 */
static void
check_parse(struct fuzz_io *io, const struct request *req, int status,
    const char *why, int no_body)
{
	const char	*cl = param_seen(io, "CONTENT_LENGTH");
	int64_t		 want = -1;
	int		 post = strcmp(req->method, "POST") == 0 && !no_body;

	if (cl != NULL && cl[0] != '\0' &&
	    util_parse_int64(cl, strlen(cl), 0, INT64_MAX, &want) == -1)
		want = -2;	/* malformed: 400 before any read */
	if (status != 0 && status != 400 && status != 413 && status != 415 &&
	    status != 500)
		abort();
	if (status != 0 && (why == NULL || why[0] == '\0'))
		abort();
	/* Never past its announced length. */
	if (!post && (io->reads != 0 || req->form.n != 0))
		abort();
	if (want == -2 && io->reads != 0)
		abort();
	if (want >= 0 && io->read_bytes > (uint64_t)want)
		abort();
	if (io->read_bytes > HTTP_BODY_MAX + chunks[7])
		abort();
	if (status == 413 && want <= HTTP_BODY_MAX &&
	    io->read_bytes <= HTTP_BODY_MAX)
		abort();
	if (req->wants_json != 0 && req->wants_json != 1)
		abort();
	if (req->is_json_body && !req->wants_json)
		abort();
	check_fields(&req->qs);
	if (status != 0)
		return;
	if (post && want >= 0 && io->read_bytes != (uint64_t)want)
		abort();
	check_fields(&req->form);
}

/*
 * The session cookie as routeutil_session_load decodes it, and the client
 * address as routeutil_ratelimit keys it (a -1 there would put every such
 * client under one key "").
 */
static void
check_client(const struct request *req)
{
	const char	*hdr = http_param(req, "HTTP_COOKIE");
	const char	*v;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 key[RATELIMIT_KEY_MAX];
	size_t		 vlen;

	if (hdr != NULL && parse_cookie(hdr, strlen(hdr), FUZZ_COOKIE, &v,
	    &vlen) && token_hash(v, vlen, SESSION_TOKEN_LEN, h) == 0 &&
	    vlen != SESSION_COOKIE_LEN)
		abort();
	if (ratelimit_addr_key(req->remote_addr, 64, key, sizeof(key)) != 0 ||
	    memchr(key, '\0', sizeof(key)) == NULL)
		abort();
}

/*
 * What went out: a head of "Name: value\r\n" lines (no other CR or LF: a
 * request-derived value cannot add a header or end the head early), an
 * empty line, then exactly the body it announced.
 */
static void
check_sent(const struct buf *out, const char *body)
{
	const char	*end;
	size_t		 i, hlen, blen = strlen(body);

	if (out->len < 8 || memcmp(out->data, "Status: ", 8) != 0 ||
	    (end = memmem(out->data, out->len, "\r\n\r\n", 4)) == NULL)
		abort();
	hlen = (size_t)(end - out->data) + 2;
	for (i = 0; i < hlen; i++)
		if ((out->data[i] == '\r') != (i + 1 < hlen &&
		    out->data[i + 1] == '\n') ||
		    (out->data[i] == '\n' && out->data[i - 1] != '\r'))
			abort();
	if (out->len - hlen - 2 != blen ||
	    memcmp(end + 4, body, blen) != 0)
		abort();
}

/* 1 if host names a port (host:port, [v6]:port). */
static int
host_has_port(const char *host)
{
	const char	*colon = strrchr(host, ':'), *bracket = strrchr(host, ']');

	return colon != NULL && (bracket == NULL || colon > bracket);
}

/* 1 if origin matches scheme://host, with ":port" when port is set. */
static int
origin_is(const char *origin, const char *scheme, const char *host,
    const char *port)
{
	struct buf	 own = { NULL, 0, 0 };
	int		 ok;

	if ((port ? buf_printf(&own, "%s://%s:%s", scheme, host, port) :
	    buf_printf(&own, "%s://%s", scheme, host)) == -1)
		abort();
	ok = own.len < 512 && parse_origin_matches(origin, own.data);
	buf_free(&own);
	return ok;
}

/*
 * 1 if origin is one SPEC 4 lets through: base_url's, or the request's own
 * (the scheme from HTTPS or REQUEST_SCHEME, the Host; a Host without a
 * port also with SERVER_PORT's, as Debian's fastcgi_params send nginx's
 * $host: doc/design.md).
 */
static int
origin_allowed(const struct request *req, const char *origin)
{
	const char	*host = http_param(req, "HTTP_HOST");
	const char	*https = http_param(req, "HTTPS");
	const char	*scheme = http_param(req, "REQUEST_SCHEME");
	const char	*port = http_param(req, "SERVER_PORT");

	if (origin == NULL || origin[0] == '\0')
		return 0;
	if (parse_origin_matches(origin, FUZZ_BASE_URL))
		return 1;
	if (host == NULL || host[0] == '\0')
		return 0;
	if (https != NULL && (strcmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0))
		scheme = "https";
	else if (scheme == NULL || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0))
		scheme = "http";
	if (origin_is(origin, scheme, host, NULL))
		return 1;
	return !host_has_port(host) && port != NULL && port[0] != '\0' &&
	    strlen(port) <= 5 && strspn(port, "0123456789") == strlen(port) &&
	    origin_is(origin, scheme, host, port);
}

/* 1 if the form's "csrf" is the HMAC of the request's nonce cookie. */
static int
token_allowed(const struct request *req, const struct app *app)
{
	const char	*hdr = http_param(req, "HTTP_COOKIE");
	const char	*given, *v;
	unsigned char	 mac[CRYPTO_SHA256_LEN];
	char		 want[CRYPTO_B64_LEN(CRYPTO_SHA256_LEN)];
	size_t		 glen, vlen;

	given = fields_get(&req->form, "csrf", &glen);
	if (given == NULL || hdr == NULL || !parse_cookie(hdr, strlen(hdr),
	    FUZZ_COOKIE "_csrf", &v, &vlen))
		return 0;
	if (crypto_hmac_sha256(app->secret, sizeof(app->secret), v, vlen,
	    mac) == -1 || crypto_b64url_encode(mac, sizeof(mac), want,
	    sizeof(want)) < 0)
		abort();
	return glen == strlen(want) && memcmp(given, want, glen) == 0;
}

/*
 * csrf_check passes a request only for an allowed Origin or a right
 * token. Then csrf_token's cookie and request-derived values (route,
 * method) go out in a response that must keep its shape.
 */
static void
check_csrf(struct fuzz_io *io, struct request *req, struct app *app)
{
	struct response	 resp;
	char		 token[64];

	if (csrf_check(app, req) && !origin_allowed(req,
	    http_param(req, "HTTP_ORIGIN")) && !token_allowed(req, app))
		abort();
	memset(&resp, 0, sizeof(resp));
	if (csrf_token(app, req, &resp, token, sizeof(token)) == -1)
		abort();
	http_resp_header(&resp, "X-Route", "%s", req->route);
	http_resp_header(&resp, "X-Method", "%s", req->method);
	http_resp_text(&resp, 200, "text/plain", token);
	if (http_response_send(req->io, &resp) == -1)
		abort();
	check_sent(&io->out, token);
	http_response_free(&resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	 cfg;
	static struct app	 app;
	struct fuzz_io		 fio;
	struct http_io		 io;
	struct request		 req;
	const char		*prefix, *why = NULL;
	char			*s;
	int			 rc, status, no_body;

	if (size < 1)
		return 0;
	if (app.cfg == NULL) {
		(void)util_strlcpy(cfg.cookie_name, FUZZ_COOKIE,
		    sizeof(cfg.cookie_name));
		(void)util_strlcpy(cfg.base_url, FUZZ_BASE_URL,
		    sizeof(cfg.base_url));
		memset(app.secret, 's', sizeof(app.secret));
		app.have_secret = 1;
		app.cfg = &cfg;
	}
	memset(&fio, 0, sizeof(fio));
	prefix = prefixes[data[0] & 3];
	fio.chunk = chunks[(data[0] >> 2) & 7];
	fio.fail_at_end = (data[0] >> 5) & 1;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	fuzz_split(&fio, s, size - 1);
	io = (struct http_io){ fuzz_param, fuzz_read, fuzz_write, &fio, NULL };

	http_request_init(&req, &io, 1700000000);
	if (req.method == NULL || req.method[0] == '\0' || req.uri == NULL ||
	    req.query == NULL || req.remote_addr == NULL ||
	    req.user_agent == NULL)
		abort();
	rc = http_request_route(&req, prefix);
	check_route(&fio, &req, rc, prefix);
	if (rc == 0) {
		/* As router_serve: a route that never reads a body. */
		no_body = strcmp(req.route, "/check") == 0;
		status = no_body ? http_request_parse_query(&req, &why) :
		    http_request_parse(&req, &why);
		check_parse(&fio, &req, status, why, no_body);
		check_client(&req);
		if (status == 0)
			check_csrf(&fio, &req, &app);
	}
	http_request_free(&req);
	buf_free(&fio.out);
	free(s);
	return 0;
}
