#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "template.h"
#include "util.h"

/* HTML answers carry no script and are never framed. */
#define HTML_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
			"img-src 'self' data:; form-action 'self'; " \
			"frame-ancestors 'none'; base-uri 'none'"

const char *
http_param(const struct request *req, const char *name)
{
	const char	*v = req->io->param(req->io->ctx, name);

	if (v != NULL && strlen(v) > HTTP_PARAM_MAX)
		return NULL;
	return v;
}

size_t
http_param_count(const struct request *req, const char *name)
{
	if (req->io->count != NULL)
		return req->io->count(req->io->ctx, name);
	return req->io->param(req->io->ctx, name) != NULL;
}

int
http_param_sent(const struct request *req, const char *name)
{
	return req->io->param(req->io->ctx, name) != NULL;
}

static const char *
param_or_empty(const struct request *req, const char *name)
{
	const char	*v = http_param(req, name);

	return v ? v : "";
}

/* Reason phrase of a status code. */
static const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
http_resp_header(struct response *resp, const char *name, const char *fmt, ...)
{
	char	 value[HTTP_PARAM_MAX];
	va_list	 ap;
	int	 n;
	size_t	 i;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value)) {
		log_error("header %s too long: dropped", name);
		return;
	}
	/* A header value never carries a line break into the response. */
	for (i = 0; i < (size_t)n; i++)
		if (value[i] == '\r' || value[i] == '\n')
			value[i] = ' ';
	if (buf_printf(&resp->headers, "%s: %s\r\n", name, value) == -1)
		log_error("out of memory for header %s", name);
}

void
http_resp_accel_expires(struct response *resp, int64_t secs)
{
	resp->accel_set = 1;
	resp->accel_expires = secs > 0 ? secs : 0;
}

void
http_resp_text(struct response *resp, int status, const char *ctype,
    const char *body)
{
	resp->status = status;
	resp->content_type = ctype;
	buf_reset(&resp->body);
	if (buf_puts(&resp->body, body) == -1)
		log_error("out of memory for a response body");
}

void
http_resp_error(const struct request *req, struct response *resp, int status,
    const char *reason)
{
	struct jobj	*j;

	resp->status = status;
	buf_reset(&resp->body);
	if (req->wants_json || req->role == ROLE_AUTHORIZER) {
		resp->content_type = "application/json";
		j = jobj_new();
		jobj_str(j, "error", reason);
		if (jobj_finish(j, &resp->body) == -1)
			log_error("out of memory for an error body");
		return;
	}
	http_resp_page(req, resp, status, &(struct http_page){
	    .title = http_status_text(status), .message = reason });
}

void
http_resp_page(const struct request *req, struct response *resp, int status,
    const struct http_page *pg)
{
	struct tvar	 vars[7];

	vars[0] = (struct tvar){ .name = "title", .value = pg->title };
	vars[1] = (struct tvar){ .name = "message", .value = pg->message };
	vars[2] = (struct tvar){ .name = "link", .value = pg->link };
	vars[3] = (struct tvar){ .name = "link_text", .value = pg->link_text };
	vars[4] = (struct tvar){ .name = "prefix", .value = req->app_prefix };
	vars[5] = (struct tvar){ .name = "csrf", .value = pg->csrf };
	vars[6] = (struct tvar){ .name = "email", .value = pg->email };
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	if (template_render(req->app_www, "message.html", vars, 7,
	    &resp->body) == -1) {
		resp->content_type = "text/plain; charset=utf-8";
		buf_reset(&resp->body);
		(void)buf_printf(&resp->body, "%d %s: %s\n", status,
		    http_status_text(status), pg->message);
	}
}

/* 1 if path (len bytes) is prefix itself or lies under it. */
static int
path_under(const char *path, size_t len, const char *prefix)
{
	size_t	 plen = strlen(prefix);

	return len >= plen && memcmp(path, prefix, plen) == 0 &&
	    (len == plen || path[plen] == '/');
}

/*
 * The path the web server routed (SPEC 4) into path: SCRIPT_NAME +
 * PATH_INFO when that lies under prefix, else DOCUMENT_URI, else the path
 * of REQUEST_URI. The first two are the server's own, decoded and
 * normalised; REQUEST_URI is the client's raw text (in an nginx
 * auth_request subrequest, the original request's), used only when the
 * server sends no DOCUMENT_URI and no SCRIPT_NAME under the prefix (a CGI
 * program reached through a rewrite). Returns the length, or -1 when the
 * path does not fit.
 */
static int
request_path(const struct request *req, const char *prefix, char *path,
    size_t pathsz)
{
	const char	*du = param_or_empty(req, "DOCUMENT_URI");
	const char	*src;
	size_t		 len;
	int		 n;

	n = snprintf(path, pathsz, "%s%s", param_or_empty(req, "SCRIPT_NAME"),
	    param_or_empty(req, "PATH_INFO"));
	if (n < 0 || (size_t)n >= pathsz)
		return -1;
	if (n > 0 && path_under(path, (size_t)n, prefix))
		return n;
	if (du[0] != '\0') {
		src = du;
		len = strlen(du);
	} else {
		src = param_or_empty(req, "REQUEST_URI");
		len = strcspn(src, "?");
	}
	if (len >= pathsz)
		return -1;
	memcpy(path, src, len);
	path[len] = '\0';
	return (int)len;
}

int
http_request_route(struct request *req, const char *prefix)
{
	char		 path[HTTP_PATH_MAX];
	size_t		 plen = strlen(prefix);
	int		 len;

	if ((len = request_path(req, prefix, path, sizeof(path))) == -1)
		return -1;
	if (!path_under(path, (size_t)len, prefix)) {
		req->route[0] = '\0';	/* outside the prefix: 404 */
		return 0;
	}
	if (path[plen] == '\0')
		return util_strlcpy(req->route, "/", sizeof(req->route));
	return util_strlcpy(req->route, path + plen, sizeof(req->route));
}

/* Read the body into out. Returns 0 or an HTTP status to answer with. */
static int
request_body(struct request *req, struct buf *out)
{
	const char	*cl = http_param(req, "CONTENT_LENGTH");
	char		 chunk[8192];
	int64_t		 want = -1;
	size_t		 ask;
	long		 n;

	if (cl != NULL && cl[0] != '\0') {
		if (util_parse_int64(cl, strlen(cl), 0, INT64_MAX, &want) == -1)
			return 400;
		if (want > HTTP_BODY_MAX)
			return 413;
	}
	for (;;) {
		if (want >= 0 && (int64_t)out->len >= want)
			break;
		ask = sizeof(chunk);
		if (want >= 0 && (uint64_t)(want - (int64_t)out->len) < ask)
			ask = (size_t)(want - (int64_t)out->len);
		n = req->io->read(req->io->ctx, chunk, ask);
		if (n < 0)
			return 400;
		if (n == 0)
			break;
		if ((size_t)n > HTTP_BODY_MAX - out->len)
			return 413;
		if (buf_append(out, chunk, (size_t)n) == -1)
			return 500;
	}
	if (want >= 0 && (int64_t)out->len != want)
		return 400;	/* shorter than announced */
	return 0;
}

int
http_request_parse_query(struct request *req, const char **why)
{
	enum parse_rc	 rc;

	/* Longer than we read: never taken for no query (a role dropped). */
	if (req->query_too_long) {
		*why = "query string too long";
		return 414;
	}
	*why = "bad query string";
	if ((rc = parse_urlencoded(req->query, strlen(req->query),
	    &req->qs)) != PARSE_OK) {
		*why = parse_strerror(rc);
		return rc == PARSE_NOMEM ? 500 : 400;
	}
	return 0;
}

int
http_request_parse(struct request *req, const char **why)
{
	struct buf	 body = { 0 };
	const char	*ct = param_or_empty(req, "CONTENT_TYPE");
	enum parse_rc	 rc;
	int		 status;

	if ((status = http_request_parse_query(req, why)) != 0)
		return status;
	if (strcmp(req->method, "POST") != 0)
		return 0;
	req->is_json_body = parse_content_type_is(ct, "application/json");
	if (req->is_json_body)
		req->wants_json = 1;
	if ((status = request_body(req, &body)) != 0) {
		*why = status == 413 ? "request body larger than 64 KiB" :
		    "could not read the request body";
		goto out;
	}
	if (req->is_json_body)
		rc = json_parse_fields(body.data ? body.data : "", body.len,
		    &req->form);
	else if (ct[0] == '\0' || parse_content_type_is(ct,
	    "application/x-www-form-urlencoded"))
		rc = parse_urlencoded(body.data ? body.data : "", body.len,
		    &req->form);
	else {
		*why = "unsupported content type";
		status = 415;
		goto out;
	}
	if (rc != PARSE_OK) {
		*why = parse_strerror(rc);
		status = rc == PARSE_NOMEM ? 500 : 400;
	}
out:
	util_cleanse(body.data, body.len);	/* may hold a password */
	buf_free(&body);
	return status;
}

int
http_response_send(const struct http_io *io, struct response *resp)
{
	struct buf	 head = { 0 };
	int		 rc = -1;

	if (buf_printf(&head, "Status: %d %s\r\n", resp->status,
	    http_status_text(resp->status)) == -1)
		goto out;
	/* Before Cache-Control: nginx < 1.23 lets a no-store seen first
	 * switch its cache off whatever X-Accel-Expires says after it. */
	if (resp->accel_set && buf_printf(&head, "X-Accel-Expires: %lld\r\n",
	    (long long)resp->accel_expires) == -1)
		goto out;
	if (buf_puts(&head, "Cache-Control: no-store\r\n") == -1)
		goto out;
	if (resp->content_type != NULL) {
		if (buf_printf(&head, "Content-Type: %s\r\n"
		    "X-Content-Type-Options: nosniff\r\n",
		    resp->content_type) == -1)
			goto out;
		if (strncmp(resp->content_type, "text/html", 9) == 0 &&
		    buf_puts(&head, "Content-Security-Policy: " HTML_CSP "\r\n"
		    "X-Frame-Options: DENY\r\n"
		    "Referrer-Policy: same-origin\r\n") == -1)
			goto out;
	}
	if (buf_append(&head, resp->headers.data, resp->headers.len) == -1 ||
	    buf_printf(&head, "Content-Length: %zu\r\n\r\n",
	    resp->body.len) == -1)
		goto out;
	if (io->write(io->ctx, head.data, head.len) == -1 ||
	    (resp->body.len > 0 &&
	    io->write(io->ctx, resp->body.data, resp->body.len) == -1))
		goto out;
	rc = 0;
out:
	buf_free(&head);
	return rc;
}

void
http_request_init(struct request *req, const struct http_io *io, int64_t now)
{
	const char	*m, *q;

	memset(req, 0, sizeof(*req));
	req->io = io;
	req->now = now;
	m = http_param(req, "REQUEST_METHOD");
	req->method = m && m[0] ? m : "GET";
	req->uri = param_or_empty(req, "REQUEST_URI");
	q = io->param(io->ctx, "QUERY_STRING");	/* one look-up */
	req->query_too_long = q != NULL && strlen(q) > HTTP_PARAM_MAX;
	req->query = q != NULL && !req->query_too_long ? q : "";
	req->remote_addr = param_or_empty(req, "REMOTE_ADDR");
	req->user_agent = param_or_empty(req, "HTTP_USER_AGENT");
	req->wants_json = parse_accepts(param_or_empty(req, "HTTP_ACCEPT"),
	    "application/json");
}

void
http_request_free(struct request *req)
{
	fields_free(&req->qs);
	fields_free(&req->form);
}

void
http_response_free(struct response *resp)
{
	util_cleanse(resp->headers.data, resp->headers.len);  /* Set-Cookie */
	buf_free(&resp->headers);
	buf_free(&resp->body);
}
