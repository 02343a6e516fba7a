/*
 * Parsers of untrusted request bytes. Every function takes (pointer,
 * length) or a NUL-terminated header value, checks each length against
 * what remains, and never writes outside its own allocations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "util.h"

#define PARSE_NEXT_MAX		8192	/* bytes of a "next" redirect path */
#define PARSE_SCHEME_MAX	16	/* bytes of a URL scheme */
#define PARSE_ENCODE_CHUNK	256	/* bytes staged before a buf_append */

const char *
parse_strerror(enum parse_rc rc)
{
	switch (rc) {
	case PARSE_OK:
		return "ok";
	case PARSE_NOMEM:
		return "out of memory";
	case PARSE_BAD_ESCAPE:
		return "bad percent escape";
	case PARSE_TOO_MANY:
		return "too many fields";
	case PARSE_BAD_KEY:
		return "bad field name";
	case PARSE_BAD_JSON:
		return "bad JSON object";
	}
	return "malformed input";
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Decode the form-encoded (p, len) into out, which has room for len + 1
 * bytes (decoding never grows). Sets *outlen; out is NUL-terminated.
 */
static enum parse_rc
form_decode(const char *p, size_t len, char *out, size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (p[i] == '+') {
			out[o++] = ' ';
		} else if (p[i] == '%') {
			if (len - i < 3)
				return PARSE_BAD_ESCAPE;
			hi = hexval((unsigned char)p[i + 1]);
			lo = hexval((unsigned char)p[i + 2]);
			if (hi < 0 || lo < 0)
				return PARSE_BAD_ESCAPE;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = p[i];
	}
	out[o] = '\0';
	*outlen = o;
	return PARSE_OK;
}

/* Check a decoded field name: 1..PARSE_KEY_MAX bytes, no control bytes. */
static enum parse_rc
key_check(const char *k, size_t klen)
{
	size_t	 i;

	if (klen == 0 || klen > PARSE_KEY_MAX)
		return PARSE_BAD_KEY;
	for (i = 0; i < klen; i++)
		if (is_ctl((unsigned char)k[i]))
			return PARSE_BAD_KEY;
	return PARSE_OK;
}

/* The index of key's field, or fs->n when there is none. */
static size_t
fields_index(const struct fields *fs, const char *key)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].key, key) == 0)
			break;
	return i;
}

/*
 * Decode one "key=value" pair (no '&' inside) and add it to out; a key
 * already there keeps its first value and counts one more time.
 */
static enum parse_rc
parse_pair(const char *p, size_t len, struct fields *out)
{
	char		 key[PARSE_KEY_MAX * 3 + 1];
	const char	*eq;
	char		*val = NULL;
	size_t		 rawklen, klen, rawvlen, vlen, i;
	enum parse_rc	 rc;

	eq = memchr(p, '=', len);
	rawklen = eq != NULL ? (size_t)(eq - p) : len;
	rawvlen = eq != NULL ? len - rawklen - 1 : 0;

	/* A decoded name is at most as long as its raw form, at least a third. */
	if (rawklen == 0 || rawklen > sizeof(key) - 1)
		return PARSE_BAD_KEY;
	if ((rc = form_decode(p, rawklen, key, &klen)) != PARSE_OK)
		return rc;
	if ((rc = key_check(key, klen)) != PARSE_OK)
		return rc;

	if ((val = malloc(rawvlen + 1)) == NULL)
		return PARSE_NOMEM;
	if ((rc = form_decode(eq != NULL ? eq + 1 : p + len, rawvlen, val,
	    &vlen)) != PARSE_OK)
		goto out;
	if ((i = fields_index(out, key)) < out->n) {
		out->f[i].count++;
		goto out;
	}
	rc = fields_add(out, key, klen, val, vlen);
out:
	free(val);
	return rc;
}

enum parse_rc
parse_urlencoded(const char *p, size_t len, struct fields *out)
{
	const char	*amp;
	size_t		 plen;
	enum parse_rc	 rc;

	out->n = 0;
	while (len > 0) {
		amp = memchr(p, '&', len);
		plen = amp != NULL ? (size_t)(amp - p) : len;
		if (plen > 0 && (rc = parse_pair(p, plen, out)) != PARSE_OK) {
			fields_free(out);
			return rc;
		}
		if (amp == NULL)
			break;
		len -= plen + 1;
		p = amp + 1;
	}
	return PARSE_OK;
}

enum parse_rc
fields_add(struct fields *fs, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	struct field	*f;

	if (fs->n >= PARSE_FIELDS_MAX)
		return PARSE_TOO_MANY;
	if (klen == SIZE_MAX || vlen == SIZE_MAX)
		return PARSE_NOMEM;
	f = &fs->f[fs->n];
	if ((f->key = malloc(klen + 1)) == NULL)
		return PARSE_NOMEM;
	if ((f->val = malloc(vlen + 1)) == NULL) {
		free(f->key);
		f->key = NULL;
		return PARSE_NOMEM;
	}
	if (klen > 0)
		memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	if (vlen > 0)
		memcpy(f->val, val, vlen);
	f->val[vlen] = '\0';
	f->vlen = vlen;
	f->count = 1;
	fs->n++;
	return PARSE_OK;
}

const char *
fields_get(const struct fields *fs, const char *key, size_t *vlen)
{
	size_t	 i = fields_index(fs, key);

	if (i == fs->n)
		return NULL;
	if (vlen != NULL)
		*vlen = fs->f[i].vlen;
	return fs->f[i].val;
}

size_t
fields_count(const struct fields *fs, const char *key)
{
	size_t	 i = fields_index(fs, key);

	return i < fs->n ? fs->f[i].count : 0;
}

const char *
fields_get_text(const struct fields *fs, const char *key)
{
	const char	*v;
	size_t		 i, vlen;

	if ((v = fields_get(fs, key, &vlen)) == NULL)
		return NULL;
	for (i = 0; i < vlen; i++)
		if (is_ctl((unsigned char)v[i]))
			return NULL;
	return v;
}

void
fields_free(struct fields *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n && i < PARSE_FIELDS_MAX; i++) {
		free(fs->f[i].key);
		/* Values may be passwords or tokens: no copy outlives them. */
		if (fs->f[i].val != NULL)
			util_cleanse(fs->f[i].val, fs->f[i].vlen);
		free(fs->f[i].val);
		fs->f[i].key = fs->f[i].val = NULL;
		fs->f[i].vlen = 0;
	}
	fs->n = 0;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim spaces and tabs from both ends of (*p, *len). */
static void
trim_ows(const char **p, size_t *len)
{
	while (*len > 0 && is_ows(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_ows((*p)[*len - 1]))
		(*len)--;
}

/* One item of a ';'-separated list: "name=value", blanks trimmed. */
struct pair {
	const char	*name;		/* NULL: the item holds no '=' */
	size_t		 nlen;
	const char	*val;
	size_t		 vlen;
};

/*
 * Take the next ';'-separated item of (*p, *len) into pr and advance past
 * it. Returns 1 while there was an item, 0 at the end. Shared by the
 * Cookie header and media-type parameters.
 */
static int
pair_next(const char **p, size_t *len, struct pair *pr)
{
	const char	*semi, *item = *p, *eq;
	size_t		 ilen;

	if (*len == 0)
		return 0;
	semi = memchr(*p, ';', *len);
	ilen = semi != NULL ? (size_t)(semi - *p) : *len;
	*p += semi != NULL ? ilen + 1 : ilen;
	*len -= semi != NULL ? ilen + 1 : ilen;
	trim_ows(&item, &ilen);
	pr->name = NULL;
	if ((eq = memchr(item, '=', ilen)) == NULL)
		return 1;
	pr->name = item;
	pr->nlen = (size_t)(eq - item);
	while (pr->nlen > 0 && is_ows(item[pr->nlen - 1]))
		pr->nlen--;
	pr->val = eq + 1;
	pr->vlen = ilen - (size_t)(pr->val - item);
	trim_ows(&pr->val, &pr->vlen);
	return 1;
}

/*
 * Cookies end at ';' and at ',' too: Apache joins a client's Cookie lines
 * with ", ", and nginx's $cookie_NAME ends a name's search at either (a
 * cookie value has neither, RFC 6265). The first of a name counts.
 */
int
parse_cookie(const char *p, size_t len, const char *name, const char **val,
    size_t *vlen)
{
	struct pair	 pr;
	const char	*item;
	size_t		 namelen = strlen(name), ilen;

	while (len > 0) {
		for (ilen = 0; ilen < len && p[ilen] != ';' && p[ilen] != ',';
		    ilen++)
			;
		item = p;
		p += ilen < len ? ilen + 1 : ilen;
		len -= ilen < len ? ilen + 1 : ilen;
		if (!pair_next(&item, &ilen, &pr) || pr.name == NULL ||
		    pr.nlen != namelen || memcmp(pr.name, name, namelen) != 0)
			continue;
		if (pr.vlen >= 2 && pr.val[0] == '"' &&
		    pr.val[pr.vlen - 1] == '"') {
			pr.val++;
			pr.vlen -= 2;
		}
		*val = pr.val;
		*vlen = pr.vlen;
		return 1;
	}
	return 0;
}

/*
 * nginx 1.22's $cookie_NAME (ngx_http_parse_multi_header_lines) on one
 * header: from each item's start (spaces skipped), a name that matches
 * without regard to case as a prefix, spaces, '=', spaces, then the value
 * up to ';'. A prefix not followed by '=' costs the character after it,
 * so "NAME;NAME=v" skips the second item. *val points into p; 0 if none.
 */
static int
nginx_cookie(const char *p, size_t len, const char *name, const char **val,
    size_t *vlen)
{
	const char	*s = p, *end = p + len;
	size_t		 namelen = strlen(name);
	char		 ch;

	while (s < end) {
		if ((size_t)(end - s) < namelen ||
		    strncasecmp(s, name, namelen) != 0)
			goto skip;
		for (s += namelen; s < end && *s == ' '; s++)
			;
		if (s == end || *s++ != '=')
			goto skip;
		while (s < end && *s == ' ')
			s++;
		*val = s;
		while (s < end && *s != ';')
			s++;
		*vlen = (size_t)(s - *val);
		return 1;
skip:
		while (s < end) {
			ch = *s++;
			if (ch == ';' || ch == ',')
				break;
		}
		while (s < end && *s == ' ')
			s++;
	}
	return 0;
}

/*
 * 1 if nginx's $cookie_NAME is sure to be the very cookie parse_cookie
 * takes, so that a cache key made of it holds the credential authgw
 * judged (SPEC 5, "Micro-cache"). Fail-closed, on three counts:
 * - nginx's own algorithm (above) finds the same bytes at the same place
 *   in the header, not empty;
 * - exactly one item names the cookie in any case and with any blanks
 *   around the name (nginx sees each Cookie line apart, authgw them
 *   joined with "; ": with one candidate, the join cannot change which);
 * - no item is the name alone (blanks at most), whose quirk above could
 *   hide the next item from nginx on the real lines but not on the joined
 *   header, or the other way round.
 */
int
parse_cookie_unambiguous(const char *p, size_t len, const char *name)
{
	struct pair	 pr;
	const char	*item, *av, *nv;
	size_t		 namelen = strlen(name), ilen, alen, nlen, k;
	const char	*q = p;
	size_t		 qlen = len;
	int		 n = 0;

	if (!parse_cookie(p, len, name, &av, &alen) ||
	    !nginx_cookie(p, len, name, &nv, &nlen) ||
	    nv != av || nlen != alen || nlen == 0)
		return 0;
	while (qlen > 0) {
		for (ilen = 0; ilen < qlen && q[ilen] != ';' && q[ilen] != ',';
		    ilen++)
			;
		item = q;
		q += ilen < qlen ? ilen + 1 : ilen;
		qlen -= ilen < qlen ? ilen + 1 : ilen;
		/* The name alone? */
		k = ilen;
		while (k > 0 && is_ows(item[k - 1]))
			k--;
		while (k > 0 && is_ows(*item))
			item++, k--, ilen--;
		if (k == namelen && strncasecmp(item, name, namelen) == 0)
			return 0;
		if (pair_next(&item, &ilen, &pr) && pr.name != NULL &&
		    pr.nlen == namelen &&
		    strncasecmp(pr.name, name, namelen) == 0)
			n++;
	}
	return n == 1;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
parse_urlencode(const char *p, size_t len, struct buf *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 chunk[PARSE_ENCODE_CHUNK];
	size_t			 i, n = 0;
	unsigned char		 c;

	for (i = 0; i < len; i++) {
		if (sizeof(chunk) - n < 3) {
			if (buf_append(out, chunk, n) == -1)
				return -1;
			n = 0;
		}
		c = (unsigned char)p[i];
		if (is_unreserved(c)) {
			chunk[n++] = (char)c;
		} else {
			chunk[n++] = '%';
			chunk[n++] = hex[c >> 4];
			chunk[n++] = hex[c & 0xf];
		}
	}
	return buf_append(out, chunk, n);
}

/*
 * 1 if the parameters (p, len) of one media range (";a=b;q=0.5") carry a
 * quality of zero.
 */
static int
params_q_is_zero(const char *p, size_t len)
{
	struct pair	 pr;
	size_t		 i;

	while (pair_next(&p, &len, &pr)) {
		if (pr.name == NULL || pr.nlen != 1 ||
		    (pr.name[0] != 'q' && pr.name[0] != 'Q'))
			continue;
		/* qvalue = "0" [ "." 0*3DIGIT ] / "1" ... */
		if (pr.vlen == 0 || pr.val[0] != '0')
			return 0;
		if (pr.vlen == 1)
			return 1;
		if (pr.val[1] != '.' || pr.vlen > 5)
			return 0;
		for (i = 2; i < pr.vlen; i++)
			if (pr.val[i] != '0')
				return 0;
		return 1;
	}
	return 0;
}

int
parse_accepts(const char *accept, const char *type)
{
	const char	*comma, *range, *semi;
	size_t		 len, rlen, tlen;

	if (accept == NULL)
		return 0;
	len = strlen(accept);
	while (len > 0) {
		comma = memchr(accept, ',', len);
		range = accept;
		rlen = comma != NULL ? (size_t)(comma - accept) : len;
		semi = memchr(range, ';', rlen);
		tlen = semi != NULL ? (size_t)(semi - range) : rlen;
		trim_ows(&range, &tlen);
		if (tlen > 0 && util_strcaseeq(range, tlen, type) &&
		    (semi == NULL ||
		    !params_q_is_zero(semi + 1, rlen - (size_t)(semi - accept) - 1)))
			return 1;
		if (comma == NULL)
			break;
		len -= rlen + 1;
		accept = comma + 1;
	}
	return 0;
}

int
parse_content_type_is(const char *ct, const char *type)
{
	const char	*semi;
	size_t		 len;

	if (ct == NULL)
		return 0;
	len = strlen(ct);
	if ((semi = memchr(ct, ';', len)) != NULL)
		len = (size_t)(semi - ct);
	trim_ows(&ct, &len);
	return len > 0 && util_strcaseeq(ct, len, type);
}

int
parse_next_is_safe(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len > PARSE_NEXT_MAX || p[0] != '/')
		return 0;
	if (len > 1 && (p[1] == '/' || p[1] == '\\'))
		return 0;
	for (i = 0; i < len; i++)
		if (is_ctl((unsigned char)p[i]) || p[i] == '\\')
			return 0;
	return 1;
}

struct origin {
	const char	*scheme;
	size_t		 schemelen;
	const char	*host;
	size_t		 hostlen;
	int64_t		 port;
};

/*
 * Split "scheme://host[:port]" followed by the rest of a URL. Returns
 * (a pointer to) what follows the authority, or NULL if malformed.
 */
static const char *
origin_parse(const char *p, size_t len, struct origin *o)
{
	const char	*sep, *end, *hend, *colon;
	size_t		 i, alen;

	if ((sep = memchr(p, ':', len)) == NULL)
		return NULL;
	o->scheme = p;
	o->schemelen = (size_t)(sep - p);
	if (o->schemelen == 0 || o->schemelen > PARSE_SCHEME_MAX)
		return NULL;
	for (i = 0; i < o->schemelen; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z') || (i > 0 && ((p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '+' || p[i] == '-' || p[i] == '.'))))
			return NULL;
	len -= o->schemelen + 1;
	p = sep + 1;
	if (len < 2 || p[0] != '/' || p[1] != '/')
		return NULL;
	p += 2;
	len -= 2;

	end = p;
	while ((size_t)(end - p) < len && *end != '/' && *end != '?' &&
	    *end != '#')
		end++;
	alen = (size_t)(end - p);
	if (alen == 0 || memchr(p, '@', alen) != NULL)
		return NULL;
	for (i = 0; i < alen; i++)
		if (is_ctl((unsigned char)p[i]) || p[i] == ' ' || p[i] == '\\')
			return NULL;

	if (p[0] == '[') {
		if ((hend = memchr(p, ']', alen)) == NULL)
			return NULL;
		hend++;
	} else
		hend = (colon = memchr(p, ':', alen)) != NULL ? colon : end;
	o->host = p;
	o->hostlen = (size_t)(hend - p);
	if (o->hostlen == 0)
		return NULL;

	o->port = -1;
	if (hend < end) {
		if (*hend != ':' || util_parse_int64(hend + 1,
		    (size_t)(end - hend - 1), 1, 65535, &o->port) == -1)
			return NULL;
	} else if (util_strcaseeq(o->scheme, o->schemelen, "http"))
		o->port = 80;
	else if (util_strcaseeq(o->scheme, o->schemelen, "https"))
		o->port = 443;
	return end;
}

int
parse_origin_matches(const char *origin, const char *url)
{
	struct origin	 a, b;
	const char	*rest;
	size_t		 olen, restlen;

	if (origin == NULL || url == NULL)
		return 0;
	olen = strlen(origin);
	if ((rest = origin_parse(origin, olen, &a)) == NULL)
		return 0;
	/* An Origin has no path; tolerate a single trailing '/'. */
	restlen = olen - (size_t)(rest - origin);
	if (restlen > 1 || (restlen == 1 && rest[0] != '/'))
		return 0;
	if (origin_parse(url, strlen(url), &b) == NULL)
		return 0;
	if (a.port == -1 || a.port != b.port)
		return 0;
	return a.schemelen == b.schemelen &&
	    util_bytes_caseeq(a.scheme, b.scheme, a.schemelen) &&
	    a.hostlen == b.hostlen && util_bytes_caseeq(a.host, b.host, a.hostlen);
}

/* Value of a standard base64 character (RFC 4648 section 4), or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Strict base64 with padding (RFC 7617 uses it): a length that is a
 * multiple of 4, '=' only as the last one or two characters. Returns the
 * bytes written to out, or -1 (malformed, or more than outsz bytes).
 */
static long
b64_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0, pad = 0;
	uint32_t	 v = 0;
	int		 d;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > outsz)
		return -1;
	for (i = 0; i < len - pad; i++) {
		if ((d = b64_value((unsigned char)in[i])) < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[o++] = (char)(v >> 16);
			out[o++] = (char)(v >> 8 & 0xff);
			out[o++] = (char)(v & 0xff);
			v = 0;
		}
	}
	/* The tail: 2 characters give 1 byte, 3 give 2; unused bits 0. */
	if (pad == 2) {
		if (v & 0xf)
			return -1;
		out[o++] = (char)(v >> 4);
	} else if (pad == 1) {
		if (v & 0x3)
			return -1;
		out[o++] = (char)(v >> 10);
		out[o++] = (char)(v >> 2 & 0xff);
	}
	return (long)o;
}

/* 1 if (p, len) starts with the API token prefix. */
static int
has_token_prefix(const char *p, size_t len)
{
	return len >= PARSE_TOKEN_PREFIX_LEN &&
	    memcmp(p, PARSE_TOKEN_PREFIX, PARSE_TOKEN_PREFIX_LEN) == 0;
}

void
parse_authorization(const char *p, size_t len, struct parse_authz *az)
{
	const char	*cred, *colon;
	size_t		 slen, clen, i;
	long		 n;

	memset(az, 0, sizeof(*az));
	trim_ows(&p, &len);
	for (slen = 0; slen < len && p[slen] != ' '; slen++)
		;
	for (cred = p + slen, clen = len - slen; clen > 0 && *cred == ' ';
	    cred++, clen--)
		;
	if (slen == 6 && strncasecmp(p, "Bearer", 6) == 0) {
		if (clen == 0 || !has_token_prefix(cred, clen))
			return;		/* the application's own */
		az->kind = PARSE_AUTHZ_BEARER;
		az->token = cred + PARSE_TOKEN_PREFIX_LEN;
		az->tlen = clen - PARSE_TOKEN_PREFIX_LEN;
		az->ok = 1;
		return;
	}
	if (slen != 5 || strncasecmp(p, "Basic", 5) != 0)
		return;
	az->kind = PARSE_AUTHZ_BASIC;
	if ((n = b64_decode(cred, clen, az->buf, sizeof(az->buf))) < 0 ||
	    (colon = memchr(az->buf, ':', (size_t)n)) == NULL)
		return;
	for (i = 0; i < (size_t)n; i++)
		if ((unsigned char)az->buf[i] < 0x20 || az->buf[i] == 0x7f)
			return;
	az->user = az->buf;
	az->blen = (size_t)n;
	az->ulen = (size_t)(colon - az->buf);
	if (has_token_prefix(colon + 1, (size_t)n - az->ulen - 1)) {
		az->token = colon + 1 + PARSE_TOKEN_PREFIX_LEN;
		az->tlen = (size_t)n - az->ulen - 1 - PARSE_TOKEN_PREFIX_LEN;
	}
	az->ok = 1;
}
