/*
 * libFuzzer harness for what a client may put in a log line: log_escape
 * on arbitrary bytes into a buffer of every size, and a whole security
 * log line (seclog, seclog_limited) with fuzzed fields.
 *
 * Input: one byte choosing the buffer size and the event, then the bytes
 * to escape; for seclog the same bytes split at NUL into client, user and
 * route (C strings, as seclog takes them).
 *
 * Invariants: the output always ends within the buffer, holds only
 * printable ASCII, never a raw '"', and decodes (\xNN) back to the input
 * or, cut with "...", to a prefix of it; a seclog line is exactly the
 * documented format with one newline, so no field can forge another.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seclog.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode escaped text (e, elen) into out (room for elen bytes); returns
 * the decoded length. Aborts on a byte log_escape may not write: outside
 * printable ASCII, a raw '"', a '\\' not starting \xNN (lowercase hex).
 */
static size_t
unescape(const char *e, size_t elen, char *out)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < elen; i++) {
		if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] >= 0x7f ||
		    e[i] == '"')
			abort();
		if (e[i] != '\\') {
			out[o++] = e[i];
			continue;
		}
		if (elen - i < 4 || e[i + 1] != 'x' ||
		    (hi = hexval(e[i + 2])) < 0 || (lo = hexval(e[i + 3])) < 0)
			abort();
		out[o++] = (char)(hi << 4 | lo);
		i += 3;
	}
	return o;
}

/* The escaped value of (p, len) checked; returns its length. */
static size_t
check_escaped(const char *p, size_t len, const char *e, size_t elen,
    size_t outsz)
{
	char	*d;
	size_t	 dlen;

	if ((d = malloc(elen + 1)) == NULL)
		abort();
	dlen = unescape(e, elen, d);
	if (dlen == len && memcmp(d, p, len) == 0)
		goto out;
	/* Room for every byte as \xNN, "..." and the NUL: never cut. */
	if (outsz >= 4 * len + 5)
		abort();
	/* Cut: a prefix, marked when the buffer holds the mark. */
	if (elen >= 3 && memcmp(e + elen - 3, "...", 3) == 0)
		dlen -= 3;
	else if (outsz >= 4)
		abort();
	if (dlen >= len || memcmp(d, p, dlen) != 0)
		abort();
out:
	free(d);
	return elen;
}

static void
check_log_escape(const char *p, size_t len, size_t outsz)
{
	char	*out, *r;
	char	*nul;

	/* Exactly outsz bytes on the heap: ASan sees one byte too many. */
	if ((out = malloc(outsz ? outsz : 1)) == NULL)
		abort();
	memset(out, 'Z', outsz ? outsz : 1);
	r = log_escape(p, len, out, outsz);
	if (r != out)
		abort();
	if (outsz == 0) {
		if (out[0] != 'Z')
			abort();
		free(out);
		return;
	}
	if ((nul = memchr(out, '\0', outsz)) == NULL)
		abort();
	(void)check_escaped(p, len, out, (size_t)(nul - out), outsz);
	free(out);
}

/* Expect the literal s at *pp and step over it. */
static void
expect(const char **pp, const char *s)
{
	size_t	 n = strlen(s);

	if (strncmp(*pp, s, n) != 0)
		abort();
	*pp += n;
}

/* A quoted field: "-" when none was given, else the escaped value. */
static void
expect_field(const char **pp, const char *name, const char *v)
{
	const char	*q;

	expect(pp, name);
	expect(pp, "=\"");
	if ((q = strchr(*pp, '"')) == NULL)
		abort();
	if (v == NULL || v[0] == '\0') {
		if (q - *pp != 1 || **pp != '-')
			abort();
	} else
		(void)check_escaped(v, strlen(v), *pp, (size_t)(q - *pp), 256);
	*pp = q + 1;
}

/*
 * The line of one event, through seclog (ev < SECLOG__COUNT + 1, the
 * last one out of range) or seclog_limited (ev above that): exactly the
 * documented format, one newline. An event a client causes at no cost may
 * be dropped past SECLOG_BURST a second, and the next second may begin
 * with the line that counts those dropped.
 */
static void
check_seclog(unsigned int ev, const char *client, const char *user,
    const char *route)
{
	FILE		*saved = stderr, *mem;
	char		*line = NULL;
	const char	*p, *nl;
	size_t		 len = 0;
	int		 limited = ev > SECLOG__COUNT, by_addr = ev & 1;
	int		 cheap = ev == SECLOG_SESSION_UNKNOWN ||
	    ev == SECLOG_CSRF || ev == SECLOG_HASH_BUSY ||
	    ev == SECLOG_TOKEN_REFUSED;

	if ((mem = open_memstream(&line, &len)) == NULL)
		abort();
	stderr = mem;
	if (limited)
		seclog_limited(client, user, route, by_addr);
	else
		seclog((enum seclog_event)ev, client, user, route);
	stderr = saved;
	if (fclose(mem) != 0)
		abort();
	p = line;
	if ((nl = strstr(p, ": warn: security: ")) != NULL &&
	    nl[18] >= '0' && nl[18] <= '9') {
		/* The count of the last second's dropped lines. */
		expect(&p, "authgw[");
		p += strspn(p, "0123456789");
		expect(&p, "]: warn: security: ");
		p += strspn(p, "0123456789");
		expect(&p, " lines of session_unknown, csrf_refused and "
		    "hash_busy not written in one second (more than ");
		p += strspn(p, "0123456789");
		expect(&p, ")\n");
	}
	if (cheap && *p == '\0')
		goto out;
	/* authgw[PID]: warn: security: event=NAME client=".." user=".." ... */
	expect(&p, "authgw[");
	p += strspn(p, "0123456789");
	expect(&p, "]: warn: security: event=");
	expect(&p, seclog_name(limited ? SECLOG_RATE_LIMITED :
	    (enum seclog_event)ev));
	expect(&p, " ");
	expect_field(&p, "client", client);
	expect(&p, " ");
	expect_field(&p, "user", user);
	expect(&p, " ");
	expect_field(&p, "route", route);
	if (limited)
		expect(&p, by_addr ? " limit=\"addr\"" : " limit=\"account\"");
	expect(&p, "\n");
	if ((size_t)(p - line) != len)
		abort();
out:
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 inited;
	const char	*p = (const char *)data + 1, *f[3] = { NULL };
	char		*s;
	size_t		 len, i, off;

	if (size < 1)
		return 0;
	if (!inited) {
		log_init("authgw", LOG_LEVEL_WARN, 0);
		inited = 1;
	}
	len = size - 1;
	check_log_escape(p, len, data[0]);
	check_log_escape(p, len, 4 * len + 5);

	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	for (i = 0, off = 0; i < 3 && off <= len; i++) {
		f[i] = s + off;
		off += strlen(s + off) + 1;
	}
	check_seclog(data[0] % (SECLOG__COUNT + 3), f[0], f[1], f[2]);
	free(s);
	return 0;
}
