#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
util_parse_int64(const char *p, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
	char		 tmp[32];
	char		*end;
	long long	 v;

	if (p == NULL || len == 0 || len >= sizeof(tmp))
		return -1;
	if (!(p[0] == '-' || (p[0] >= '0' && p[0] <= '9')))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (memchr(tmp, '\0', len) != NULL)
		return -1;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || end != tmp + len || end == tmp)
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t	 cap;
	char	*p;

	if (need > SIZE_MAX - b->len - 1)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	if (buf_grow(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	b->len += (size_t)n;
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
util_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t	 n;

	if (dstsz == 0)
		return -1;
	n = strlen(src);
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static void
oom(void)
{
	fputs("authgw: out of memory\n", stderr);
	abort();
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n ? n : 1, sz ? sz : 1)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom();
	return p;
}

int64_t
util_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
util_mono_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
util_bytes_caseeq(const char *a, const char *b, size_t len)
{
	size_t	 i;
	char	 x, y;

	for (i = 0; i < len; i++) {
		x = a[i];
		y = b[i];
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

int
util_strcaseeq(const char *a, size_t alen, const char *b)
{
	/* b is NUL-terminated: it must be exactly alen bytes long. */
	return strnlen(b, alen + 1) == alen && util_bytes_caseeq(a, b, alen);
}

/*
 * RFC 5322 dot-atom text less '%' (old source routing), and UTF-8 bytes
 * (RFC 6531). No quoted local parts, comments or routes: nothing an MTA
 * could read as another recipient.
 */
static int
email_local_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != '\0' && strchr("!#$&'*+/=?^_`{|}~.-", c) != NULL);
}

/* A host name: letters, digits, '-', '.', and UTF-8 bytes. */
static int
email_domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 || c == '-' || c == '.';
}

int
util_email_normalize(const char *in, char *out, size_t outsz)
{
	size_t		 len = strlen(in), i;
	const char	*at;
	unsigned char	 c;

	if (len == 0 || len > UTIL_EMAIL_MAX || len >= outsz)
		return -1;
	if ((at = memchr(in, '@', len)) == NULL || at == in ||
	    at == in + len - 1 || memchr(at + 1, '@', len -
	    (size_t)(at + 1 - in)) != NULL)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (in + i < at ? !email_local_char(c) :
		    in + i > at && !email_domain_char(c))
			return -1;
		/* No empty dot-separated part on either side. */
		if (c == '.' && (i == 0 || in[i - 1] == '.' || in[i - 1] == '@' ||
		    i + 1 == len || in[i + 1] == '.' || in[i + 1] == '@'))
			return -1;
		if (in + i > at && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		out[i] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

void
util_cleanse(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

long
util_file_owner(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ?
	    (long)sb.st_uid : -1;
}

int
util_open_private(const char *path, int flags, long also_uid)
{
	int	 fd, saved;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if ((fd = open(path, flags | O_CREAT | O_EXCL, 0600)) == -1) {
		if (errno != EEXIST)
			return -1;
		return open(path, flags);
	}
	/* Ours alone: a file root creates for the service goes to the
	 * database's owner (never one found there: it could be a link). */
	if (geteuid() == 0 && also_uid > 0 &&
	    fchown(fd, (uid_t)also_uid, (gid_t)-1) == -1) {
		saved = errno;
		(void)unlink(path);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
util_time_utc(int64_t t, const char *fmt, char *out, size_t outsz)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	size_t		 n = 0;

	/* fmt is a caller's constant (util.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (gmtime_r(&tt, &tm) != NULL)
		n = strftime(out, outsz, fmt, &tm);
#pragma GCC diagnostic pop
	if (n == 0) {
		(void)util_strlcpy(out, "?", outsz);
		return -1;
	}
	return 0;
}

#define URI_SECRETS_MAX	64

/* Clear a copy of a secret (util sits below crypto). */
static void
wipe(char *p, size_t len)
{
	volatile char	*v = p;

	while (len-- > 0)
		*v++ = 0;
}

/* The secrets found in a URI, and what of it to hide when shown. */
struct uri_secrets {
	char		*s[URI_SECRETS_MAX];	/* each allocated */
	size_t		 n;
	int		 overflow;
	int		 unreliable;	/* s holds fragments: any one hides all */
	unsigned char	*hide;		/* per byte of the URI */
};

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s (len) percent-decoded, allocated; NULL when it is not valid. */
static char *
pct_decode(const char *s, size_t len)
{
	char	*d = xcalloc(len + 1, 1);
	size_t	 i, n = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			d[n++] = s[i];
			continue;
		}
		if (len - i < 3 || (hi = hexdigit(s[i + 1])) < 0 ||
		    (lo = hexdigit(s[i + 2])) < 0) {
			wipe(d, n);
			free(d);
			return NULL;
		}
		d[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[n] = '\0';
	return d;
}

static void
secret_add(struct uri_secrets *u, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (u->n == URI_SECRETS_MAX) {
		u->overflow = 1;
		return;
	}
	u->s[u->n] = xcalloc(len + 1, 1);
	memcpy(u->s[u->n], s, len);
	u->s[u->n++][len] = '\0';
}

/* A secret (from, to) of the URI: hidden when shown, raw and decoded in
 * a text. */
static void
secret_span(struct uri_secrets *u, const char *s, size_t from, size_t to)
{
	char	*d;
	size_t	 i;

	for (i = from; i < to; i++)
		u->hide[i] = 1;
	secret_add(u, s + from, to - from);
	if ((d = pct_decode(s + from, to - from)) != NULL) {
		secret_add(u, d, strlen(d));
		wipe(d, strlen(d));
		free(d);
	}
}

/* The query's password= and sslpassword= values (names decoded). */
static void
secret_params(struct uri_secrets *u, const char *s, size_t len, size_t q)
{
	size_t	 i, end, eq;
	char	*name;
	int	 secret;

	for (i = q + 1; i < len; i = end + 1) {
		for (end = i; end < len && s[end] != '&'; end++)
			;
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (eq == end)
			continue;
		/* A name that does not decode: its value hidden too. */
		name = pct_decode(s + i, eq - i);
		secret = name == NULL || strcasecmp(name, "password") == 0 ||
		    strcasecmp(name, "sslpassword") == 0;
		free(name);
		if (secret)
			secret_span(u, s, eq + 1, end);
	}
}

/* Fragments of s (from, to) between delimiters, each a secret. */
static void
secret_fragments(struct uri_secrets *u, const char *s, size_t from,
    size_t to)
{
	size_t	 i, j;

	for (i = from; i < to; i = j + 1) {
		for (j = i; j < to && strchr(":/@?&=[]", s[j]) == NULL; j++)
			;
		secret_add(u, s + i, j - i);
	}
}

static void
uri_secrets_find(const char *s, size_t len, struct uri_secrets *u)
{
	size_t	 start, i, at = 0, colon = 0, rest, q, last = 0;

	if (strncasecmp(s, "postgresql://", 13) == 0)
		start = 13;
	else if (strncasecmp(s, "postgres://", 11) == 0)
		start = 11;
	else
		return;
	/* libpq: a user part ends at the first '@' before any '/'. */
	for (i = start; i < len && s[i] != '@' && s[i] != '/'; i++)
		;
	if (i < len && s[i] == '@') {
		at = i;
		for (i = start; i < at && s[i] != ':'; i++)
			;
		if (i < at) {
			colon = i;
			secret_span(u, s, colon + 1, at);
		}
	}
	rest = at != 0 ? at + 1 : start;
	for (q = rest; q < len && s[q] != '?'; q++)
		;
	for (i = rest; i < q; i++)
		if (s[i] == '@')
			u->unreliable = 1;
	if (u->unreliable) {
		for (i = start; i < len; i++)
			if (s[i] == '@')
				last = i;
		for (i = start; i < last; i++)
			u->hide[i] = 1;
		secret_fragments(u, s, start, last);
		secret_add(u, s + start, last - start);
	}
	if (q < len)
		secret_params(u, s, len, q);
}

/* Append len bytes of p to out (used): 0, or -1 when it does not fit. */
static int
out_add(char *out, size_t outsz, size_t *used, const char *p, size_t len)
{
	if (outsz - *used <= len)
		return -1;
	memcpy(out + *used, p, len);
	*used += len;
	return 0;
}

/* The URI, its hidden bytes as one "***" per run. */
static int
hide_uri(const char *s, size_t len, const struct uri_secrets *u, char *out,
    size_t outsz, size_t *used)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (u->hide[i] && i > 0 && u->hide[i - 1])
			continue;
		if (out_add(out, outsz, used, u->hide[i] ? "***" : s + i,
		    u->hide[i] ? 3 : 1) == -1)
			return -1;
	}
	return 0;
}

/* text with every secret's occurrence as "***", the longest first. */
static int
hide_text(const char *t, const struct uri_secrets *u, char *out,
    size_t outsz, size_t *used)
{
	size_t	 i, k, blen, len;

	for (i = 0; t[i] != '\0'; ) {
		blen = 0;
		for (k = 0; k < u->n; k++) {
			len = strlen(u->s[k]);
			if (len > blen && strncmp(t + i, u->s[k], len) == 0)
				blen = len;
		}
		if (blen > 0) {
			if (out_add(out, outsz, used, "***", 3) == -1)
				return -1;
			i += blen;
		} else if (out_add(out, outsz, used, t + i++, 1) == -1)
			return -1;
	}
	return 0;
}

int
util_uri_hide(const char *uri, const char *text, char *out, size_t outsz)
{
	struct uri_secrets	 u;
	size_t			 len = strlen(uri), used = 0, k;
	int			 rc = 0;

	if (outsz == 0)
		return -1;
	memset(&u, 0, sizeof(u));
	u.hide = xcalloc(len + 1, 1);
	uri_secrets_find(uri, len, &u);
	if (text == NULL)
		rc = hide_uri(uri, len, &u, out, outsz, &used);
	else {
		for (k = 0; k < u.n && u.unreliable; k++)
			if (strstr(text, u.s[k]) != NULL)
				break;
		if (u.overflow || (u.unreliable && k < u.n))
			rc = out_add(out, outsz, &used, UTIL_URI_HIDDEN,
			    strlen(UTIL_URI_HIDDEN));
		else
			rc = hide_text(text, &u, out, outsz, &used);
	}
	for (k = 0; k < u.n; k++) {
		wipe(u.s[k], strlen(u.s[k]));
		free(u.s[k]);
	}
	free(u.hide);
	if (rc == -1) {
		(void)util_strlcpy(out, "(too long)", outsz);
		return -1;
	}
	out[used] = '\0';
	return 0;
}
