/*
 * libFuzzer harness for the header parsers: parse_cookie and
 * parse_cookie_unambiguous on the raw bytes, and parse_accepts, parse_content_type_is, parse_next_is_safe
 * and parse_origin_matches on the same input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define FUZZ_HEADER_MAX	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_cookie(const char *p, size_t len, const char *name)
{
	const char	*v;
	size_t		 vlen;

	int		 found = parse_cookie(p, len, name, &v, &vlen);

	/* Unambiguous means there is one to find. */
	if (parse_cookie_unambiguous(p, len, name) && !found)
		abort();
	if (!found)
		return;
	if (v < p || v > p + len || vlen > len - (size_t)(v - p))
		abort();
	if (memchr(v, ';', vlen) != NULL)
		abort();
}

static void
check_next(const char *p, size_t len)
{
	size_t	 i;

	if (!parse_next_is_safe(p, len))
		return;
	if (len == 0 || p[0] != '/')
		abort();
	if (len > 1 && (p[1] == '/' || p[1] == '\\'))
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 s[FUZZ_HEADER_MAX + 1];
	const char	*p = (const char *)data;
	char		*nl;
	size_t		 len;

	check_cookie(p, size, "authgw_sid");
	check_cookie(p, size, "a");
	check_next(p, size);

	/* The other parsers take a NUL-terminated header value. */
	len = size < FUZZ_HEADER_MAX ? size : FUZZ_HEADER_MAX;
	memcpy(s, data, len);
	s[len] = '\0';
	(void)parse_accepts(s, "text/html");
	(void)parse_accepts(s, "application/json");
	(void)parse_content_type_is(s, "application/json");
	if (parse_origin_matches(s, "http://127.0.0.1:8080") &&
	    !parse_origin_matches(s, "http://127.0.0.1:8080/"))
		abort();
	(void)parse_origin_matches(s, s);
	/* "origin\nurl": two fuzzed values against each other. */
	if ((nl = memchr(s, '\n', len)) != NULL) {
		*nl = '\0';
		if (parse_origin_matches(s, nl + 1) &&
		    strcmp(s, "null") == 0)
			abort();
	}
	return 0;
}
