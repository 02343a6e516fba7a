/* Small helpers shared by every module: strict number parsing, a growable
 * byte buffer, bounded string copies. No outside library here. */
#ifndef AUTHGW_UTIL_H
#define AUTHGW_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse the whole of (p, len) as a decimal integer in [min, max].
 * No sign other than a leading '-', no spaces, no trailing bytes, no empty
 * string. Returns 0 and sets *out, or -1 (out untouched).
 */
int	util_parse_int64(const char *p, size_t len, int64_t min, int64_t max,
	    int64_t *out);

/* A growable buffer; data is always NUL-terminated for convenience. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* Every buf_* returns 0 or -1 on allocation failure (buffer unchanged). */
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_reset(struct buf *);
void	buf_free(struct buf *);

/*
 * Copy src (NUL-terminated) into dst of size dstsz, always terminating.
 * Returns 0, or -1 if src did not fit (dst holds a truncated copy).
 */
int	util_strlcpy(char *dst, const char *src, size_t dstsz);

/* Allocation that aborts on failure (for sizes that cannot be hostile). */
void	*xcalloc(size_t, size_t);

/* The uid owning the regular file at path, or -1. */
long	 util_file_owner(const char *path);

/*
 * Open path (never through a symbolic link, close-on-exec) with flags,
 * creating it 0600 if it does not exist; a file this call creates as root
 * is given to also_uid (> 0; the database's owner), so the command line
 * run as root never leaves a file the service cannot use. The caller still
 * checks what it opened. Returns the fd, or -1 with errno.
 */
int	 util_open_private(const char *path, int flags, long also_uid);
char	*xstrdup(const char *);

/* Current time in seconds (wall clock) and a monotonic time in microseconds. */
int64_t	util_now(void);
int64_t	util_mono_usec(void);

/*
 * Zero memory that held a secret, in a way the compiler keeps (for the
 * modules that do not link OpenSSL; crypto_cleanse is the same for those
 * that do).
 */
void	util_cleanse(void *p, size_t len);

/* ASCII case-insensitive equality of len bytes of a and b: 1 or 0. */
int	util_bytes_caseeq(const char *a, const char *b, size_t len);
/* ASCII case-insensitive comparison of (a, alen) with NUL-terminated b. */
int	util_strcaseeq(const char *a, size_t alen, const char *b);



/*
 * t (unix time) as UTC text in the strftime format fmt (a constant of the
 * caller's, never request data) into out. Returns
 * 0, or -1 with out "?" when it cannot be shown (a time gmtime_r cannot
 * express, or out too small).
 */
int	util_time_utc(int64_t t, const char *fmt, char *out, size_t outsz);

/*
 * Hide the secrets of the database value uri in text (a message of
 * libpq's), or in uri itself when text is NULL (check-config). The
 * secrets of a postgresql:// or postgres:// URI: the password of the user
 * part (user:PASSWORD@host, as libpq reads it: up to the first '@' before
 * any '/'), and the value of every password= or sslpassword= parameter
 * (names percent-decoded, any case), each raw and percent-decoded. When
 * the URI cannot be read reliably (an '@' beyond the user part, before
 * the query: libpq would read something else than it seems), everything
 * from "//" to the last '@' is secret, and a text holding any fragment of
 * it is replaced by UTIL_URI_HIDDEN. Secrets become "***"; anything else
 * is copied (any other database value, and its messages, unchanged).
 * Returns 0, or -1 with out "(too long)" (truncated text could show part
 * of a secret).
 */
#define UTIL_URI_HIDDEN \
	"cannot connect (details hidden: the URI may be malformed)"
int	util_uri_hide(const char *uri, const char *text, char *out,
	    size_t outsz);

#define UTIL_EMAIL_MAX	254

/*
 * Validate an email address (1..254 bytes, exactly one '@' with text on
 * both sides; a dot-atom local part without '%', a host-name domain; no
 * empty dot-separated parts; UTF-8 allowed) and copy it to out with the
 * domain lower-cased. Returns 0 or -1.
 */
int	util_email_normalize(const char *in, char *out, size_t outsz);
#endif
