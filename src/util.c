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

/* Mark the value of every password= parameter of s (len) hidden. */
static void
redact_params(const char *s, size_t len, unsigned char *hide)
{
	size_t	 i, j;

	for (i = 1; i + 9 <= len; i++) {
		if ((s[i - 1] != '?' && s[i - 1] != '&') ||
		    !util_bytes_caseeq(s + i, "password=", 9))
			continue;
		for (j = i + 9; j < len && s[j] != '&'; j++)
			hide[j] = 1;
	}
}

/*
 * Mark the password of the user part hidden: from the first ':' after
 * the scheme to the last '@' before the first '/' (libpq ends the user
 * part at an '@' before any '/'; the last one hides a raw '@' too).
 */
static void
redact_userinfo(const char *s, size_t len, size_t start, unsigned char *hide)
{
	size_t	 i, at = 0, colon = 0;

	for (i = start; i < len && s[i] != '/'; i++) {
		if (s[i] == '@')
			at = i;
		else if (s[i] == ':' && colon == 0)
			colon = i;
	}
	if (at == 0 || colon == 0 || colon > at)
		return;
	for (i = colon + 1; i < at; i++)
		hide[i] = 1;
}

int
util_uri_redact(const char *in, char *out, size_t outsz)
{
	unsigned char	*hide;
	size_t		 len = strlen(in), i, used = 0, start;
	int		 rc = 0;

	if (strncasecmp(in, "postgresql://", 13) == 0)
		start = 13;
	else if (strncasecmp(in, "postgres://", 11) == 0)
		start = 11;
	else
		start = 0;
	hide = xcalloc(len + 1, 1);
	if (start > 0) {
		redact_userinfo(in, len, start, hide);
		redact_params(in, len, hide);
	}
	for (i = 0; i < len && rc == 0; i++) {
		if (hide[i] && i > 0 && hide[i - 1])
			continue;
		if (hide[i])
			rc = outsz - used > 3 ? 0 : -1;
		else
			rc = outsz - used > 1 ? 0 : -1;
		if (rc == -1)
			break;
		if (hide[i]) {
			memcpy(out + used, "***", 3);
			used += 3;
		} else
			out[used++] = in[i];
	}
	free(hide);
	if (outsz == 0)
		return -1;
	if (rc == -1) {
		(void)util_strlcpy(out, "(too long)", outsz);
		return -1;
	}
	out[used] = '\0';
	return 0;
}
