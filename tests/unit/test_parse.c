/* Unit tests of src/parse.c: every bad-input case has a named test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"
#include "util.h"

/* Parse a NUL-terminated literal; the fields are left in *fs. */
static enum parse_rc
form(const char *s, struct fields *fs)
{
	memset(fs, 0, sizeof(*fs));
	return parse_urlencoded(s, strlen(s), fs);
}

static void
test_form_basic_pairs(void **state)
{
	struct fields	 fs;
	size_t		 vlen;

	(void)state;
	assert_int_equal(form("a=1&bb=two", &fs), PARSE_OK);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fields_get(&fs, "a", &vlen), "1");
	assert_int_equal(vlen, 1);
	assert_string_equal(fields_get(&fs, "bb", NULL), "two");
	assert_null(fields_get(&fs, "c", NULL));
	assert_null(fields_get(&fs, "A", NULL));
	fields_free(&fs);
	assert_int_equal(fs.n, 0);
}

static void
test_form_plus_and_percent_decoding(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(form("q=a+b%20c%2B%2b%41%c3%a9&k%65y=v", &fs),
	    PARSE_OK);
	assert_string_equal(fields_get(&fs, "q", NULL), "a b c++A\xc3\xa9");
	assert_string_equal(fields_get(&fs, "key", NULL), "v");
	fields_free(&fs);
}

static void
test_form_bad_escapes_rejected(void **state)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=1&b=%%41",
		"%x=1", "a%=1", "a=%-1", "a=% 1",
	};
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(form(bad[i], &fs), PARSE_BAD_ESCAPE);
		assert_int_equal(fs.n, 0);
	}
}

static void
test_form_escape_cut_by_length_not_read_past(void **state)
{
	static const char	 buf[] = "a=%41b=%4142";
	struct fields		 fs;

	(void)state;
	memset(&fs, 0, sizeof(fs));
	/* "a=%4" then bytes the parser must not look at. */
	assert_int_equal(parse_urlencoded(buf, 4, &fs), PARSE_BAD_ESCAPE);
	assert_int_equal(parse_urlencoded(buf, 5, &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "a", NULL), "A");
	fields_free(&fs);
	assert_int_equal(parse_urlencoded(buf, 3, &fs), PARSE_BAD_ESCAPE);
	assert_int_equal(parse_urlencoded(buf, 0, &fs), PARSE_OK);
	assert_int_equal(fs.n, 0);
}

static void
test_form_empty_pairs_skipped(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(form("&&a=1&&&b=2&", &fs), PARSE_OK);
	assert_int_equal(fs.n, 2);
	fields_free(&fs);
	assert_int_equal(form("", &fs), PARSE_OK);
	assert_int_equal(fs.n, 0);
	assert_int_equal(form("&", &fs), PARSE_OK);
	assert_int_equal(fs.n, 0);
}

static void
test_form_key_without_value_is_empty(void **state)
{
	struct fields	 fs;
	size_t		 vlen = 99;

	(void)state;
	assert_int_equal(form("flag&x=", &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "flag", &vlen), "");
	assert_int_equal(vlen, 0);
	assert_string_equal(fields_get(&fs, "x", NULL), "");
	fields_free(&fs);
}

static void
test_form_value_keeps_equals_signs(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(form("t=a=b==", &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "t", NULL), "a=b==");
	fields_free(&fs);
}

static void
test_form_bad_keys_rejected(void **state)
{
	static const char *const bad[] = {
		"=1", "a=1&=2", "%0a=1", "%00=1", "%7f=1", "a%0d%0ab=1",
		"%1f=1",
	};
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(form(bad[i], &fs), PARSE_BAD_KEY);
		assert_int_equal(fs.n, 0);
	}
}

static void
test_form_key_length_limit(void **state)
{
	char		 in[PARSE_KEY_MAX * 3 + 16];
	struct fields	 fs;
	size_t		 i;

	(void)state;
	memset(in, 'k', PARSE_KEY_MAX);
	memcpy(in + PARSE_KEY_MAX, "=1", 3);
	assert_int_equal(form(in, &fs), PARSE_OK);
	assert_int_equal(fs.n, 1);
	fields_free(&fs);

	memset(in, 'k', PARSE_KEY_MAX + 1);
	memcpy(in + PARSE_KEY_MAX + 1, "=1", 3);
	assert_int_equal(form(in, &fs), PARSE_BAD_KEY);

	/* The limit is on the decoded name: 64 escapes are 64 bytes. */
	for (i = 0; i < PARSE_KEY_MAX; i++)
		memcpy(in + 3 * i, "%6b", 3);
	memcpy(in + 3 * PARSE_KEY_MAX, "=1", 3);
	assert_int_equal(form(in, &fs), PARSE_OK);
	assert_int_equal(strlen(fs.f[0].key), PARSE_KEY_MAX);
	fields_free(&fs);
}

static void
test_form_repeated_key_keeps_first(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(form("next=%2Fa&next=%2F%2Fevil&b=1&next=3", &fs),
	    PARSE_OK);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fields_get(&fs, "next", NULL), "/a");
	fields_free(&fs);
}

static void
test_form_repeated_key_not_counted_toward_limit(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < 4 * PARSE_FIELDS_MAX; i++)
		assert_int_equal(buf_puts(&b, "a=1&"), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(parse_urlencoded(b.data, b.len, &fs), PARSE_OK);
	assert_int_equal(fs.n, 1);
	assert_int_equal(fields_count(&fs, "a"), 4 * PARSE_FIELDS_MAX);
	fields_free(&fs);
	buf_free(&b);
}

/* A repeated name keeps its first value and says how often it came,
 * encoded or not (the 400 of /check's role=&role=admin rests on it). */
static void
test_form_repeated_key_counted(void **state)
{
	static const char	 q[] = "role=&x=1&rol%65=admin&role=user";
	struct fields		 fs;

	(void)state;
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(parse_urlencoded(q, sizeof(q) - 1, &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "role", NULL), "");
	assert_int_equal(fields_count(&fs, "role"), 3);
	assert_int_equal(fields_count(&fs, "x"), 1);
	assert_int_equal(fields_count(&fs, "y"), 0);
	fields_free(&fs);
}

static void
test_form_too_many_fields(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < PARSE_FIELDS_MAX; i++)
		assert_int_equal(buf_printf(&b, "k%zu=v&", i), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(parse_urlencoded(b.data, b.len, &fs), PARSE_OK);
	assert_int_equal(fs.n, PARSE_FIELDS_MAX);
	fields_free(&fs);
	assert_int_equal(buf_puts(&b, "one=more"), 0);
	assert_int_equal(parse_urlencoded(b.data, b.len, &fs), PARSE_TOO_MANY);
	assert_int_equal(fs.n, 0);
	buf_free(&b);
}

static void
test_form_value_with_nul_has_length(void **state)
{
	struct fields	 fs;
	const char	*v;
	size_t		 vlen;

	(void)state;
	assert_int_equal(form("p=x%00y", &fs), PARSE_OK);
	v = fields_get(&fs, "p", &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, 3);
	assert_memory_equal(v, "x\0y", 4);
	assert_null(fields_get_text(&fs, "p"));
	fields_free(&fs);
}

static void
test_fields_get_text_rejects_control_bytes(void **state)
{
	static const char *const bad[] = {
		"v=a%0Ab", "v=a%0db", "v=%09", "v=%7f", "v=%1F", "v=%00",
	};
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(form(bad[i], &fs), PARSE_OK);
		assert_non_null(fields_get(&fs, "v", NULL));
		assert_null(fields_get_text(&fs, "v"));
		fields_free(&fs);
	}
	assert_int_equal(form("v=caf%C3%A9+%21%7e&w=", &fs), PARSE_OK);
	assert_string_equal(fields_get_text(&fs, "v"), "caf\xc3\xa9 !~");
	assert_string_equal(fields_get_text(&fs, "w"), "");
	assert_null(fields_get_text(&fs, "missing"));
	fields_free(&fs);
}

static void
test_fields_add_and_free_twice(void **state)
{
	struct fields	 fs;
	size_t		 i;

	(void)state;
	memset(&fs, 0, sizeof(fs));
	for (i = 0; i < PARSE_FIELDS_MAX; i++)
		assert_int_equal(fields_add(&fs, "k", 1, "v\0w", 3), PARSE_OK);
	assert_int_equal(fields_add(&fs, "k", 1, "v", 1), PARSE_TOO_MANY);
	assert_int_equal(fs.f[0].vlen, 3);
	fields_free(&fs);
	fields_free(&fs);
	assert_int_equal(fs.n, 0);
}

static void
test_parse_strerror_distinct(void **state)
{
	static const enum parse_rc rcs[] = {
		PARSE_OK, PARSE_NOMEM, PARSE_BAD_ESCAPE, PARSE_TOO_MANY,
		PARSE_BAD_KEY, PARSE_BAD_JSON,
	};
	size_t	 i, j;

	(void)state;
	for (i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
		assert_non_null(parse_strerror(rcs[i]));
		assert_true(strlen(parse_strerror(rcs[i])) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(parse_strerror(rcs[i]),
			    parse_strerror(rcs[j]));
	}
}

/* The value of cookie name in header h, as a new string, or NULL. */
static char *
cookie(const char *h, const char *name)
{
	const char	*v;
	size_t		 vlen;
	char		*s;

	if (!parse_cookie(h, strlen(h), name, &v, &vlen))
		return NULL;
	s = malloc(vlen + 1);
	assert_non_null(s);
	memcpy(s, v, vlen);
	s[vlen] = '\0';
	return s;
}

static void
check_cookie(const char *h, const char *name, const char *want)
{
	char	*got;

	got = cookie(h, name);
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_cookie_basic(void **state)
{
	(void)state;
	check_cookie("a=b; c=d", "a", "b");
	check_cookie("a=b; c=d", "c", "d");
	check_cookie("a=b;c=d", "c", "d");
	check_cookie("a=b; c=d", "e", NULL);
	check_cookie("", "a", NULL);
	check_cookie("a=", "a", "");
}

static void
test_cookie_name_compared_exactly(void **state)
{
	(void)state;
	check_cookie("xauthgw_sid=1; authgw_sid=2", "authgw_sid", "2");
	check_cookie("authgw_sid_csrf=1; authgw_sid=2", "authgw_sid", "2");
	check_cookie("authgw_sid_csrf=1", "authgw_sid", NULL);
	check_cookie("AUTHGW_SID=1", "authgw_sid", NULL);
	check_cookie("authgw=1", "authgw_sid", NULL);
}

static void
test_cookie_quotes_removed(void **state)
{
	(void)state;
	check_cookie("a=\"xyz\"", "a", "xyz");
	check_cookie("a=\"\"", "a", "");
	check_cookie("a=\"", "a", "\"");
	check_cookie("a=\"x", "a", "\"x");
}

static void
test_cookie_whitespace_and_junk(void **state)
{
	(void)state;
	check_cookie("  a=1 ;\tb=2\t", "b", "2");
	check_cookie("junk; a=1", "a", "1");
	check_cookie(";;; a=1;;", "a", "1");
	check_cookie("a=1; a=2", "a", "1");
	check_cookie("b=x=y", "b", "x=y");
}

static void
test_cookie_not_read_past_length(void **state)
{
	static const char	 h[] = "a=bc; d=e";
	const char		*v;
	size_t			 vlen;

	(void)state;
	assert_int_equal(parse_cookie(h, 3, "a", &v, &vlen), 1);
	assert_int_equal(vlen, 1);
	assert_int_equal(v[0], 'b');
	assert_int_equal(parse_cookie(h, 5, "d", &v, &vlen), 0);
	assert_int_equal(parse_cookie(h, 1, "a", &v, &vlen), 0);
}

/*
 * parse_cookie_unambiguous: only a header in which nginx's $cookie_NAME
 * (case-insensitive name, blanks before '=', a bare name swallowing the
 * next item, values to ';') must be the cookie that parse_cookie takes.
 */
static void
test_cookie_unambiguous(void **state)
{
	static const struct {
		const char	*h;
		int		 want;
	} cases[] = {
		{ "sid=abc", 1 },
		{ "  sid=abc", 0 },			/* nginx trims; so fail */
		{ "a=1; sid=abc; b=2", 1 },
		{ "sid_csrf=x; sid=abc", 1 },
		{ "sidx=1, sid=abc", 1 },
		{ "sid=abc; other", 1 },
		{ "sid=abc,def", 0 },			/* nginx: "abc,def" */
		{ "sid=\"abc\"", 0 },			/* nginx keeps quotes */
		{ "sid=", 0 },				/* empty */
		{ "sid;sid=abc", 0 },			/* nginx skips it */
		{ "sid ,sid=abc", 0 },
		{ "a=1; sid", 0 },
		{ "sid=abc; SID", 0 },
		{ "", 0 },
		{ "a=1", 0 },
		{ "sid=abc; sid=def", 0 },		/* two of them */
		{ "SID=abc; sid=def", 0 },		/* nginx takes SID */
		{ "sid=def, Sid=abc", 0 },
		{ "sid =abc", 1 },			/* both read abc */
		{ "sid\t=abc; sid=def", 0 },
		{ "\tsid=abc", 0 },			/* nginx: no */
		{ "Sid=abc", 0 },			/* nginx yes, authgw no */
		{ "sid", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (parse_cookie_unambiguous(cases[i].h, strlen(cases[i].h),
		    "sid") != cases[i].want)
			fail_msg("case %zu: \"%s\"", i, cases[i].h);
	/* Never past the length. */
	assert_int_equal(parse_cookie_unambiguous("sid=a; sid=b", 5, "sid"),
	    1);
}

/* parse_authorization on a NUL-terminated header. */
static void
authz(const char *h, struct parse_authz *az)
{
	parse_authorization(h, strlen(h), az);
}

static void
test_authorization_schemes(void **state)
{
	struct parse_authz	 az;

	(void)state;
	authz("Bearer agw_abc", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_BEARER);
	assert_int_equal(az.ok, 1);
	assert_int_equal(az.tlen, 3);
	assert_memory_equal(az.token, "abc", 3);
	authz("  bEARER   agw_x  ", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_BEARER);
	assert_int_equal(az.tlen, 1);
	/* Not authgw's: ignored. */
	authz("Bearer eyJhbGciOi.xyz", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
	authz("Bearer", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
	authz("Bearer agw", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
	authz("Digest username=\"a\"", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
	authz("Bearerx agw_abc", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
	authz("", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_NONE);
}

static void
test_authorization_basic(void **state)
{
	struct parse_authz	 az;

	(void)state;
	/* a@example.com:agw_tok */
	authz("Basic YUBleGFtcGxlLmNvbTphZ3dfdG9r", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_BASIC);
	assert_int_equal(az.ok, 1);
	assert_int_equal(az.ulen, 13);
	assert_memory_equal(az.user, "a@example.com", 13);
	assert_int_equal(az.tlen, 3);
	assert_memory_equal(az.token, "tok", 3);
	/* a@example.com:secret: an account password, never a token. */
	authz("basic YUBleGFtcGxlLmNvbTpzZWNyZXQ=", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_BASIC);
	assert_int_equal(az.ok, 1);
	assert_null(az.token);
	/* u:agw_ (empty token), and ":" (empty user and password). */
	authz("Basic dTphZ3df", &az);
	assert_int_equal(az.ok, 1);
	assert_non_null(az.token);
	assert_int_equal(az.tlen, 0);
	authz("Basic Og==", &az);
	assert_int_equal(az.ok, 1);
	assert_int_equal(az.ulen, 0);
	/* Malformed: Basic, but not ok. */
	authz("Basic", &az);
	assert_int_equal(az.kind, PARSE_AUTHZ_BASIC);
	assert_int_equal(az.ok, 0);
	authz("Basic !!!!", &az);
	assert_int_equal(az.ok, 0);
	authz("Basic dTp", &az);			/* length */
	assert_int_equal(az.ok, 0);
	authz("Basic dTphZ3dfeA=", &az);		/* padding */
	assert_int_equal(az.ok, 0);
	authz("Basic dTpb", &az);			/* no: "u:[" is fine */
	assert_int_equal(az.ok, 1);
	authz("Basic dTpbZ===", &az);
	assert_int_equal(az.ok, 0);
	authz("Basic dTphZ3dfeB==", &az);		/* non-zero tail bits */
	assert_int_equal(az.ok, 0);
	authz("Basic dXNlcg==", &az);			/* "user": no colon */
	assert_int_equal(az.ok, 0);
	authz("Basic dQo6YWd3X3g=", &az);		/* "u\n:agw_x" */
	assert_int_equal(az.ok, 0);
	assert_null(az.user);
	authz("Basic dTph d3g=", &az);			/* a space inside */
	assert_int_equal(az.ok, 0);
}

static void
test_urlencode_escapes_reserved(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(parse_urlencode("a b&c/\xc3\xa9?=#+%", 13, &b), 0);
	assert_string_equal(b.data, "a%20b%26c%2F%C3%A9%3F%3D%23%2B%25");
	buf_reset(&b);
	assert_int_equal(parse_urlencode("AZaz09-._~", 10, &b), 0);
	assert_string_equal(b.data, "AZaz09-._~");
	buf_reset(&b);
	assert_int_equal(parse_urlencode("x\0y", 3, &b), 0);
	assert_string_equal(b.data, "x%00y");
	buf_free(&b);
}

static void
test_urlencode_long_input_round_trip(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 fs;
	char		 raw[1000];
	const char	*v;
	size_t		 i, vlen;

	(void)state;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (char)(i * 7);
	assert_int_equal(buf_puts(&b, "k="), 0);
	assert_int_equal(parse_urlencode(raw, sizeof(raw), &b), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(parse_urlencoded(b.data, b.len, &fs), PARSE_OK);
	v = fields_get(&fs, "k", &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, sizeof(raw));
	assert_memory_equal(v, raw, sizeof(raw));
	fields_free(&fs);
	buf_free(&b);
}

static void
test_accepts_exact_type(void **state)
{
	(void)state;
	assert_true(parse_accepts("text/html", "text/html"));
	assert_true(parse_accepts("TEXT/HTML", "text/html"));
	assert_true(parse_accepts(" text/html ; charset=utf-8", "text/html"));
	assert_true(parse_accepts("application/json, text/html;level=1",
	    "text/html"));
	assert_true(parse_accepts("text/html,application/xhtml+xml,"
	    "application/xml;q=0.9,*/*;q=0.8", "text/html"));
	assert_true(parse_accepts("application/json", "application/json"));
	assert_false(parse_accepts("text/htmlx", "text/html"));
	assert_false(parse_accepts("text/htm", "text/html"));
	assert_false(parse_accepts("xtext/html", "text/html"));
	assert_false(parse_accepts("", "text/html"));
	assert_false(parse_accepts(",,;", "text/html"));
	assert_false(parse_accepts(NULL, "text/html"));
}

static void
test_accepts_wildcard_is_not_html(void **state)
{
	(void)state;
	/* curl's default: an API client, answered 401 not a redirect. */
	assert_false(parse_accepts("*/*", "text/html"));
	assert_false(parse_accepts("text/*", "text/html"));
	assert_false(parse_accepts("*/*;q=0.8, application/json",
	    "text/html"));
}

static void
test_accepts_q_zero_ignored(void **state)
{
	(void)state;
	assert_false(parse_accepts("text/html;q=0", "text/html"));
	assert_false(parse_accepts("text/html; q=0.0", "text/html"));
	assert_false(parse_accepts("text/html;level=1;Q=0.000",
	    "text/html"));
	assert_false(parse_accepts("text/html ; q = 0", "text/html"));
	assert_true(parse_accepts("text/html;q=0.001", "text/html"));
	assert_true(parse_accepts("text/html;q=1", "text/html"));
	assert_true(parse_accepts("text/html;q=0, text/html", "text/html"));
	assert_true(parse_accepts("text/html;q=", "text/html"));
}

static void
test_content_type_is(void **state)
{
	(void)state;
	assert_true(parse_content_type_is("application/json",
	    "application/json"));
	assert_true(parse_content_type_is("Application/JSON; charset=utf-8",
	    "application/json"));
	assert_true(parse_content_type_is(" application/json ;",
	    "application/json"));
	assert_false(parse_content_type_is("application/jsonx",
	    "application/json"));
	assert_false(parse_content_type_is("application/x-www-form-urlencoded",
	    "application/json"));
	assert_false(parse_content_type_is("", "application/json"));
	assert_false(parse_content_type_is(NULL, "application/json"));
}

static int
next_safe(const char *s)
{
	return parse_next_is_safe(s, strlen(s));
}

static void
test_next_same_site_paths_allowed(void **state)
{
	(void)state;
	assert_true(next_safe("/"));
	assert_true(next_safe("/a/b?c=d&e=%2F%2F#frag"));
	assert_true(next_safe("/a//b"));
	assert_true(next_safe("/%2F%2Fevil.example"));
}

static void
test_next_open_redirects_refused(void **state)
{
	static const char *const bad[] = {
		"", "//evil.example", "/\\evil.example", "\\\\evil.example",
		"http://evil.example/", "https:evil.example", "evil.example",
		"a/b", " /a", "/a\\b", "/a\r\nSet-Cookie: x=1", "/\t/evil",
		"/a\x7f", "/a\x01", "javascript:alert(1)",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(next_safe(bad[i]));
	assert_false(parse_next_is_safe("/a\0b", 4));
}

static void
test_next_length_limit_and_bounds(void **state)
{
	char	*p;
	size_t	 len = 8192 + 1;

	(void)state;
	assert_true(parse_next_is_safe("//evil", 1));
	p = malloc(len);
	assert_non_null(p);
	memset(p, 'a', len);
	p[0] = '/';
	assert_true(parse_next_is_safe(p, 8192));
	assert_false(parse_next_is_safe(p, len));
	free(p);
}

static void
test_origin_same_origin_matches(void **state)
{
	(void)state;
	assert_true(parse_origin_matches("http://127.0.0.1:8080",
	    "http://127.0.0.1:8080"));
	assert_true(parse_origin_matches("http://127.0.0.1:8080",
	    "http://127.0.0.1:8080/"));
	assert_true(parse_origin_matches("http://127.0.0.1:8080",
	    "http://127.0.0.1:8080/auth/login?x=1"));
	assert_true(parse_origin_matches("https://Example.COM",
	    "https://example.com"));
	assert_true(parse_origin_matches("HTTPS://example.com",
	    "https://example.com/"));
	assert_true(parse_origin_matches("http://[::1]:8080",
	    "http://[::1]:8080/"));
}

static void
test_origin_default_ports_equal(void **state)
{
	(void)state;
	assert_true(parse_origin_matches("https://example.com",
	    "https://example.com:443"));
	assert_true(parse_origin_matches("https://example.com:443",
	    "https://example.com/"));
	assert_true(parse_origin_matches("http://example.com:80",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://example.com:443",
	    "https://example.com"));
	assert_false(parse_origin_matches("http://example.com:8080",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://example.com",
	    "http://example.com:8080/"));
}

static void
test_origin_cross_site_refused(void **state)
{
	(void)state;
	assert_false(parse_origin_matches("https://example.com",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://example.com.evil.net",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://evil.net",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://example.co",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://example.com@evil.net",
	    "http://example.com"));
	assert_false(parse_origin_matches("http://[::1]:8080",
	    "http://[::2]:8080"));
	/* Userinfo is never part of an origin, not even on both sides. */
	assert_false(parse_origin_matches("http://u@example.com",
	    "http://u@example.com"));
}

static void
test_origin_null_and_malformed_never_match(void **state)
{
	static const char *const bad[] = {
		"null", "", "http://", "http:/example.com", "example.com",
		"http://example.com/path", "http://example.com:",
		"http://example.com:0", "http://example.com:65536",
		"http://example.com:+80", "http://example.com:-80",
		"http://example.com:80x", "http://exa mple.com",
		"http://[::1", "http://[::1]x", "://example.com",
		"ht tp://example.com", "http://example.com\r\n",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(parse_origin_matches(bad[i],
		    "http://example.com"));
	assert_false(parse_origin_matches("null", "null"));
	assert_false(parse_origin_matches(NULL, "http://example.com"));
	assert_false(parse_origin_matches("http://example.com", NULL));
	assert_false(parse_origin_matches("http://example.com", "garbage"));
	/* An unknown scheme has no default port to compare. */
	assert_false(parse_origin_matches("foo://example.com",
	    "foo://example.com"));
	assert_true(parse_origin_matches("foo://example.com:1",
	    "foo://example.com:1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_basic_pairs),
		cmocka_unit_test(test_form_plus_and_percent_decoding),
		cmocka_unit_test(test_form_bad_escapes_rejected),
		cmocka_unit_test(test_form_escape_cut_by_length_not_read_past),
		cmocka_unit_test(test_form_empty_pairs_skipped),
		cmocka_unit_test(test_form_key_without_value_is_empty),
		cmocka_unit_test(test_form_value_keeps_equals_signs),
		cmocka_unit_test(test_form_bad_keys_rejected),
		cmocka_unit_test(test_form_key_length_limit),
		cmocka_unit_test(test_form_repeated_key_keeps_first),
		cmocka_unit_test(test_form_repeated_key_not_counted_toward_limit),
		cmocka_unit_test(test_form_repeated_key_counted),
		cmocka_unit_test(test_form_too_many_fields),
		cmocka_unit_test(test_form_value_with_nul_has_length),
		cmocka_unit_test(test_fields_get_text_rejects_control_bytes),
		cmocka_unit_test(test_fields_add_and_free_twice),
		cmocka_unit_test(test_parse_strerror_distinct),
		cmocka_unit_test(test_cookie_basic),
		cmocka_unit_test(test_cookie_name_compared_exactly),
		cmocka_unit_test(test_cookie_quotes_removed),
		cmocka_unit_test(test_cookie_whitespace_and_junk),
		cmocka_unit_test(test_cookie_not_read_past_length),
		cmocka_unit_test(test_cookie_unambiguous),
		cmocka_unit_test(test_authorization_schemes),
		cmocka_unit_test(test_authorization_basic),
		cmocka_unit_test(test_urlencode_escapes_reserved),
		cmocka_unit_test(test_urlencode_long_input_round_trip),
		cmocka_unit_test(test_accepts_exact_type),
		cmocka_unit_test(test_accepts_wildcard_is_not_html),
		cmocka_unit_test(test_accepts_q_zero_ignored),
		cmocka_unit_test(test_content_type_is),
		cmocka_unit_test(test_next_same_site_paths_allowed),
		cmocka_unit_test(test_next_open_redirects_refused),
		cmocka_unit_test(test_next_length_limit_and_bounds),
		cmocka_unit_test(test_origin_same_origin_matches),
		cmocka_unit_test(test_origin_default_ports_equal),
		cmocka_unit_test(test_origin_cross_site_refused),
		cmocka_unit_test(test_origin_null_and_malformed_never_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
