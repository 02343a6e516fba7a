/*
 * A request and its response in the project's own terms, independent of
 * how they arrive (FastCGI or CGI): reading the parameters and the body,
 * building and sending the answer. The transport (fcgi.c, cgi.c) fills a
 * struct http_io; router_serve() drives one request through these.
 */
#ifndef AUTHGW_HTTP_H
#define AUTHGW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "util.h"

#define HTTP_BODY_MAX		(64 * 1024)	/* larger bodies get 413 */
#define HTTP_PATH_MAX		2048
#define HTTP_PARAM_MAX		8192		/* longest header we read */

enum http_role {
	ROLE_RESPONDER = 0,
	ROLE_AUTHORIZER		/* also AUTHENTICATOR and ACCESS_CHECKER */
};

struct http_io {
	/* A CGI/FastCGI parameter ("HTTP_COOKIE") or NULL. */
	const char	*(*param)(void *ctx, const char *name);
	/* Read up to len body bytes; 0 at the end, -1 on error. */
	long		 (*read)(void *ctx, char *p, size_t len);
	/* Write all of (p, len); 0 or -1. */
	int		 (*write)(void *ctx, const char *p, size_t len);
	void		*ctx;
	/* How many times a parameter came (FastCGI may send one twice);
	 * NULL: once at most, as in CGI. */
	size_t		 (*count)(void *ctx, const char *name);
};

struct request {
	const struct http_io	*io;
	enum http_role		 role;
	const char		*method;	/* "GET", never NULL */
	char			 route[HTTP_PATH_MAX];	/* path less prefix */
	const char		*uri;		/* REQUEST_URI (raw), or "" */
	const char		*query;		/* QUERY_STRING, or "" */
	int			 query_too_long; /* sent, longer than we read */
	const char		*remote_addr;	/* or "" */
	const char		*user_agent;	/* or "" */
	int			 wants_json;	/* answer in JSON */
	int			 is_json_body;	/* body came as JSON */
	struct fields		 qs;		/* query string fields */
	struct fields		 form;		/* body fields (form or JSON) */
	int64_t			 now;
	const char		*app_prefix;	/* cfg->prefix, for pages */
	const char		*app_www;	/* cfg->www_dir */
};

struct response {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	const char	*content_type;
	int		 accel_set;	/* send X-Accel-Expires: accel_expires */
	int64_t		 accel_expires;
};

/* A parameter of the request, or NULL. */
const char	*http_param(const struct request *, const char *name);
/* How many times the web server sent the parameter (0, 1, more). */
size_t		 http_param_count(const struct request *, const char *name);
/* 1 if the web server sent the parameter, whatever its length (a value
 * longer than HTTP_PARAM_MAX is sent, and http_param says NULL). */
int		 http_param_sent(const struct request *, const char *name);

void	 http_resp_header(struct response *, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * X-Accel-Expires: secs (nginx's fastcgi_cache lifetime), written before
 * Cache-Control (SPEC 5, "Micro-cache").
 */
void	 http_resp_accel_expires(struct response *, int64_t secs);
/* A body with its content type. */
void	 http_resp_text(struct response *, int status, const char *ctype,
	    const char *body);
/* The fields of www/message.html; NULL ones expand to "". */
struct http_page {
	const char	*title;
	const char	*message;
	const char	*link;		/* href of the button, or NULL */
	const char	*link_text;
	const char	*csrf;		/* set: the form asking for a new link */
	const char	*email;		/* prefills that form */
};

/* An HTML page from message.html (plain text if it cannot render). */
void	 http_resp_page(const struct request *, struct response *, int status,
	    const struct http_page *);
/* An error answer, JSON or HTML by what the client wants. */
void	 http_resp_error(const struct request *, struct response *, int status,
	    const char *reason);

/* Fill req from io's parameters (method, URI, query, client, Accept). */
void	 http_request_init(struct request *, const struct http_io *,
	    int64_t now);
/*
 * req->route: the path the web server routed, without the prefix ("" outside
 * the prefix): SCRIPT_NAME + PATH_INFO when that lies under the prefix, else
 * DOCUMENT_URI, else the path of REQUEST_URI (SPEC 4; the server's own
 * normalised path wins over the client's raw one). Returns 0, or -1 when
 * the path is too long (414).
 */
int	 http_request_route(struct request *, const char *prefix);
/*
 * Parse the query and, for POST, the body (form or JSON). Returns 0, or
 * the HTTP status to answer with and a short reason in *why.
 */
int	 http_request_parse(struct request *, const char **why);
/* The same for a route that never reads a body: the query alone. */
int	 http_request_parse_query(struct request *, const char **why);
void	 http_request_free(struct request *);

/* Write the response (status line, headers, body) through io. 0 or -1. */
int	 http_response_send(const struct http_io *, struct response *);
/* Free the response, cleansing its headers (they may hold a cookie). */
void	 http_response_free(struct response *);

#endif
