/*
 * Parsers of untrusted request bytes: percent-decoding, query strings and
 * form bodies, the Cookie header, Accept and Content-Type. Pure functions
 * on (pointer, length); each has a libFuzzer harness in tests/fuzz.
 */
#ifndef AUTHGW_PARSE_H
#define AUTHGW_PARSE_H

#include <stddef.h>

#define PARSE_FIELDS_MAX	64	/* fields in one query or body */
#define PARSE_KEY_MAX		64	/* bytes of a decoded field name */
#define PARSE_COOKIES_MAX	64

struct field {
	char	*key;		/* NUL-terminated, decoded */
	char	*val;		/* NUL-terminated, decoded */
	size_t	 vlen;		/* decoded length (val may hold NUL bytes) */
	size_t	 count;		/* times the key was given (val: the first) */
};

struct fields {
	struct field	 f[PARSE_FIELDS_MAX];
	size_t		 n;
};

enum parse_rc {
	PARSE_OK = 0,
	PARSE_NOMEM = -1,
	PARSE_BAD_ESCAPE = -2,	/* '%' not followed by two hex digits */
	PARSE_TOO_MANY = -3,	/* more than PARSE_FIELDS_MAX fields */
	PARSE_BAD_KEY = -4,	/* empty, too long or control bytes in a name */
	PARSE_BAD_JSON = -5	/* used by json.c */
};

/* A reason for a 400 answer. */
const char	*parse_strerror(enum parse_rc);

/*
 * Decode application/x-www-form-urlencoded bytes (also used for query
 * strings) into out, which must be empty. Empty pairs ("a=1&&b=2") are
 * skipped; a repeated key keeps its first value. On error out is freed.
 */
enum parse_rc	 parse_urlencoded(const char *p, size_t len, struct fields *out);

/* Append one field (copies). Returns PARSE_OK, PARSE_TOO_MANY, PARSE_NOMEM. */
enum parse_rc	 fields_add(struct fields *, const char *key, size_t klen,
		    const char *val, size_t vlen);
/* The value of key, or NULL. *vlen (if not NULL) gets its length. */
const char	*fields_get(const struct fields *, const char *key, size_t *vlen);
/* How many times key was given (0: not at all); fields_get has the first. */
size_t		 fields_count(const struct fields *, const char *key);
/* Like fields_get but NULL also when the value holds a NUL or control byte. */
const char	*fields_get_text(const struct fields *, const char *key);
void		 fields_free(struct fields *);

/*
 * Find cookie name in a Cookie header (p, len): its first occurrence, the
 * cookies separated by ';' or ','. Sets *val and *vlen to the raw value
 * (not decoded, quotes removed) and returns 1, or returns 0.
 */
int	parse_cookie(const char *p, size_t len, const char *name,
	    const char **val, size_t *vlen);
/* 1 if nginx's $cookie_NAME is sure to be the cookie parse_cookie takes. */
int	parse_cookie_unambiguous(const char *p, size_t len, const char *name);

/* Percent-encode (p, len) for a query value into out. Returns 0 or -1. */
struct buf;
int	parse_urlencode(const char *p, size_t len, struct buf *out);

/* 1 if a media type list (Accept) names type (e.g. "text/html"). */
int	parse_accepts(const char *accept, const char *type);

/* 1 if a Content-Type header's media type is type (parameters ignored). */
int	parse_content_type_is(const char *ct, const char *type);

/*
 * The same-site path a "next" value may redirect to: it must start with a
 * single '/', not "//" or "/\\", and hold no control bytes or backslash.
 * Returns 1 if safe.
 */
int	parse_next_is_safe(const char *p, size_t len);

/*
 * Compare an Origin header with a URL's scheme, host and port (default
 * ports equal, trailing '/' ignored, case-insensitive host). Returns 1 if
 * they name the same origin. url may be "scheme://host[:port][/...]".
 */
int	parse_origin_matches(const char *origin, const char *url);

/* The prefix of authgw's API tokens (SPEC 5). */
#define PARSE_TOKEN_PREFIX	"agw_"
#define PARSE_TOKEN_PREFIX_LEN	4
/* Decoded HTTP Basic credentials kept at most. */
#define PARSE_AUTHZ_MAX		1024

enum parse_authz_kind {
	PARSE_AUTHZ_NONE = 0,	/* none, or not authgw's: another scheme,
				   a Bearer token without the prefix */
	PARSE_AUTHZ_BEARER,	/* "Bearer agw_...": token */
	PARSE_AUTHZ_BASIC	/* "Basic ...": user and, when the password
				   is an API token, token */
};

/*
 * An Authorization header. token (tlen bytes, after the prefix, not
 * validated further) is set for a Bearer token with the prefix, and for
 * Basic when the password starts with it (tlen 0 otherwise: an account
 * password is never accepted). ok is 0 for Basic credentials that are not
 * base64 of "user:password" within PARSE_AUTHZ_MAX bytes, or that hold a
 * control byte. Basic credentials are decoded into buf: crypto_cleanse
 * the structure after use.
 */
struct parse_authz {
	enum parse_authz_kind	 kind;
	int			 ok;
	const char		*user, *token;
	size_t			 ulen, tlen;
	size_t			 blen;		/* decoded bytes in buf */
	char			 buf[PARSE_AUTHZ_MAX];
};

void	parse_authorization(const char *p, size_t len, struct parse_authz *);

#endif
