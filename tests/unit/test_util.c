/* Unit tests of src/util.c: the one strict number parser, buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define SENTINEL	INT64_C(-424242)

/* Parse s in [min, max]; returns the result code, value in *out. */
static int
num(const char *s, int64_t min, int64_t max, int64_t *out)
{
	*out = SENTINEL;
	return util_parse_int64(s, strlen(s), min, max, out);
}

static void
test_int64_plain_values(void **state)
{
	int64_t	 v;

	(void)state;
	assert_int_equal(num("0", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(num("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(num("-17", -100, 100, &v), 0);
	assert_int_equal(v, -17);
	assert_int_equal(num("007", 0, 100, &v), 0);
	assert_int_equal(v, 7);
}

static void
test_int64_minus_zero_is_zero(void **state)
{
	int64_t	 v;

	(void)state;
	assert_int_equal(num("-0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
}

static void
test_int64_rejects_empty_and_signs(void **state)
{
	static const char *const bad[] = {
		"", "-", "+", "+1", "--1", "-+1", "+-1", "- 1",
	};
	size_t	 i;
	int64_t	 v;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(num(bad[i], INT64_MIN, INT64_MAX, &v), -1);
		assert_int_equal(v, SENTINEL);
	}
}

static void
test_int64_rejects_spaces_and_trailing_bytes(void **state)
{
	static const char *const bad[] = {
		" 1", "1 ", "\t1", "1\n", "1x", "0x10", "1.0", "1e3", "1,000",
		"\xd9\xa1", "12 34",
	};
	size_t	 i;
	int64_t	 v;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(num(bad[i], INT64_MIN, INT64_MAX, &v), -1);
		assert_int_equal(v, SENTINEL);
	}
}

static void
test_int64_rejects_embedded_nul(void **state)
{
	int64_t	 v = SENTINEL;

	(void)state;
	assert_int_equal(util_parse_int64("1\0002", 3, 0, 1000, &v), -1);
	assert_int_equal(util_parse_int64("1\0", 2, 0, 1000, &v), -1);
	assert_int_equal(v, SENTINEL);
}

static void
test_int64_length_bounds_not_nul(void **state)
{
	int64_t	 v;

	(void)state;
	/* Only len bytes count: "123" cut to "12". */
	assert_int_equal(util_parse_int64("123", 2, 0, 1000, &v), 0);
	assert_int_equal(v, 12);
	v = SENTINEL;
	assert_int_equal(util_parse_int64("123", 0, 0, 1000, &v), -1);
	assert_int_equal(util_parse_int64(NULL, 0, 0, 1000, &v), -1);
	assert_int_equal(v, SENTINEL);
}

static void
test_int64_overflow_rejected(void **state)
{
	int64_t	 v;

	(void)state;
	assert_int_equal(num("9223372036854775807", INT64_MIN, INT64_MAX, &v),
	    0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(num("-9223372036854775808", INT64_MIN, INT64_MAX, &v),
	    0);
	assert_int_equal(v, INT64_MIN);
	assert_int_equal(num("9223372036854775808", INT64_MIN, INT64_MAX, &v),
	    -1);
	assert_int_equal(num("-9223372036854775809", INT64_MIN, INT64_MAX, &v),
	    -1);
	assert_int_equal(num("99999999999999999999999", INT64_MIN, INT64_MAX,
	    &v), -1);
	assert_int_equal(v, SENTINEL);
}

static void
test_int64_range_bounds_inclusive(void **state)
{
	int64_t	 v;

	(void)state;
	assert_int_equal(num("1", 1, 65535, &v), 0);
	assert_int_equal(num("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(num("0", 1, 65535, &v), -1);
	assert_int_equal(num("65536", 1, 65535, &v), -1);
	assert_int_equal(num("-1", 0, 10, &v), -1);
	assert_int_equal(v, SENTINEL);
}

static void
test_buf_append_printf_reset(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i;

	(void)state;
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	assert_int_equal(buf_puts(&b, "cd"), 0);
	assert_int_equal(buf_printf(&b, "%d-%s", 12, "x"), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "abcd12-x");
	assert_int_equal(buf_append(&b, "\0z", 2), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(b.data[10], '\0');
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(b.len, 100010);
	assert_true(b.cap > b.len);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
	assert_null(b.data);
	buf_free(&b);
}

static void
test_strlcpy_truncates_and_reports(void **state)
{
	char	 d[4];

	(void)state;
	assert_int_equal(util_strlcpy(d, "abc", sizeof(d)), 0);
	assert_string_equal(d, "abc");
	assert_int_equal(util_strlcpy(d, "abcd", sizeof(d)), -1);
	assert_string_equal(d, "abc");
	assert_int_equal(util_strlcpy(d, "", sizeof(d)), 0);
	assert_string_equal(d, "");
}

static void
test_strcaseeq_length_and_case(void **state)
{
	(void)state;
	assert_true(util_strcaseeq("Text/HTML", 9, "text/html"));
	assert_true(util_strcaseeq("text/htmlXYZ", 9, "text/html"));
	assert_false(util_strcaseeq("text/htm", 8, "text/html"));
	assert_false(util_strcaseeq("text/html", 9, "text/htm"));
	assert_true(util_strcaseeq("", 0, ""));
	assert_false(util_strcaseeq("a", 1, "b"));
}

static void
expect_email(const char *in, const char *want)
{
	char	 out[UTIL_EMAIL_MAX + 1];

	if (want == NULL) {
		assert_int_equal(util_email_normalize(in, out, sizeof(out)), -1);
		return;
	}
	assert_int_equal(util_email_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_email_domain_lower_cased_local_kept(void **state)
{
	(void)state;
	expect_email("Jo.Smith@Example.COM", "Jo.Smith@example.com");
	expect_email("a+tag@b.example", "a+tag@b.example");
	expect_email("o'neil@x.example", "o'neil@x.example");
	expect_email("a@localhost", "a@localhost");
}

/* Nothing an MTA could read as another recipient or route. */
static void
test_email_refuses_what_mtas_interpret(void **state)
{
	(void)state;
	expect_email("x%evil.org(@corp.com", NULL);
	expect_email("x%evil.org@corp.com", NULL);
	expect_email("\"a b\"@x.example", NULL);
	expect_email("a(comment)@x.example", NULL);
	expect_email("a@[127.0.0.1]", NULL);
	expect_email("a,b@x.example", NULL);
	expect_email("a@b@x.example", NULL);
	expect_email("a@x.example\r\nBcc: c@d", NULL);
	expect_email("a:b@x.example", NULL);
	expect_email("a@x_y.example", NULL);
}

static void
test_email_refuses_empty_parts(void **state)
{
	(void)state;
	expect_email("", NULL);
	expect_email("@x.example", NULL);
	expect_email("a@", NULL);
	expect_email(".a@x.example", NULL);
	expect_email("a.@x.example", NULL);
	expect_email("a..b@x.example", NULL);
	expect_email("a@.x.example", NULL);
	expect_email("a@x..example", NULL);
	expect_email("a@x.example.", NULL);
}

static void
test_email_length_limit(void **state)
{
	char	 in[300];

	(void)state;
	memset(in, 'a', sizeof(in));
	memcpy(in + 242, "@x.example", 11);	/* 252 bytes */
	expect_email(in, in);
	memset(in, 'a', sizeof(in));
	memcpy(in + 250, "@x.example", 11);	/* 260 bytes */
	expect_email(in, NULL);
}

/* util_time_utc: the text, or "?" and -1 when it cannot be shown. */
static void
test_time_utc(void **state)
{
	char	 out[32], tiny[4];

	(void)state;
	assert_int_equal(util_time_utc(0, "%Y-%m-%d %H:%M:%S", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "1970-01-01 00:00:00");
	assert_int_equal(util_time_utc(1795861563, "%Y-%m-%dT%H:%M:%SZ", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "2026-11-28T10:26:03Z");
	/* Past what gmtime_r expresses, or too long for the buffer. */
	assert_int_equal(util_time_utc(INT64_MAX / 2, "%Y", out, sizeof(out)),
	    -1);
	assert_string_equal(out, "?");
	assert_int_equal(util_time_utc(0, "%Y-%m-%d", tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "?");
}

/* A password in a PostgreSQL URI is never shown (issue 14). */
static void
test_uri_redact(void **state)
{
	static const char *const cases[][2] = {
		{ "/var/lib/authgw/authgw.db", "/var/lib/authgw/authgw.db" },
		{ "postgresql://u:secret@db.example/authgw",
		  "postgresql://u:***@db.example/authgw" },
		{ "postgres://u@db/authgw", "postgres://u@db/authgw" },
		{ "postgresql://db/authgw", "postgresql://db/authgw" },
		/* Encoded and raw ? and : in the password. */
		{ "postgresql://u:p%40ss%3Aw@h:5432/d",
		  "postgresql://u:***@h:5432/d" },
		{ "postgresql://u:p?x=1@h/d", "postgresql://u:***@h/d" },
		{ "POSTGRESQL://u:s@h/d", "POSTGRESQL://u:***@h/d" },
		/* In the query, alone or with others, any case. */
		{ "postgresql://h/d?password=s3cret",
		  "postgresql://h/d?password=***" },
		{ "postgresql://u@h/d?sslmode=require&Password=a@b&x=1",
		  "postgresql://u@h/d?sslmode=require&Password=***&x=1" },
		{ "postgresql://u:one@h/d?password=two",
		  "postgresql://u:***@h/d?password=***" },
		{ "postgresql://u@h?password=a@b", "postgresql://u@h?password=***" },
		/* libpq decodes parameter names; sslpassword too. */
		{ "postgresql://h/d?pass%77ord=topsecret",
		  "postgresql://h/d?pass%77ord=***" },
		{ "postgresql://h/d?sslpassword=keypw&sslmode=require",
		  "postgresql://h/d?sslpassword=***&sslmode=require" },
		{ "postgresql://h/d?%73slpassword=keypw",
		  "postgresql://h/d?%73slpassword=***" },
		/* A name that does not decode: its value hidden too. */
		{ "postgresql://h/d?pass%zzword=x1", "postgresql://h/d?pass%zzword=***" },
		/* Not a parameter name: kept. */
		{ "postgresql://h/d?application_name=mypassword=x",
		  "postgresql://h/d?application_name=mypassword=x" },
		/* Malformed (an '@' beyond the user part as libpq reads it):
		 * everything from // to the last '@'. */
		{ "postgresql://u:p@s:s@h/d", "postgresql://***@h/d" },
		{ "postgresql://u:pa/ss@h/d", "postgresql://***@h/d" },
		{ "postgresql://u:se%zzcret@h/d", "postgresql://u:***@h/d" },
		{ "postgresql://u:pw@[::1/db", "postgresql://u:***@[::1/db" },
	};
	char	 out[128], small[20];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(util_uri_hide(cases[i][0], NULL, out,
		    sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	/* Too long: no truncated text (it could hold part of a password). */
	assert_int_equal(util_uri_hide("postgresql://u:secret@host/db", NULL,
	    small, sizeof(small)), -1);
	assert_string_equal(small, "(too long)");
	assert_null(strstr(small, "sec"));
}

/*
 * libpq's messages for URIs it cannot read quote parts of them (review
 * of issue 14, finding 6): each message as libpq 15 words it.
 */
static void
test_uri_hide_libpq_messages(void **state)
{
	static const char *const cases[][4] = {
		/* uri, libpq's message, the secret, what is shown */
		{ "postgresql://u:se%zzcret@h/d",
		  "invalid percent-encoded token: \"se%zzcret\"", "zzcret",
		  "invalid percent-encoded token: \"***\"" },
		{ "postgresql://h/d?password=pw%zz",
		  "invalid percent-encoded token: \"pw%zz\"", "pw%zz",
		  "invalid percent-encoded token: \"***\"" },
		{ "postgresql://u:pw@[::1/db",
		  "end of string reached when looking for matching \"]\" in "
		  "IPv6 host address in URI: \"postgresql://u:pw@[::1/db\"",
		  ":pw@", NULL },
		{ "postgresql://u:pa/ss@h/d",
		  "invalid integer value \"pa\" for connection option \"port\"",
		  "\"pa\"", UTIL_URI_HIDDEN },
		{ "postgresql://u:p@s:s@h/d",
		  "invalid integer value \"s@h\" for connection option "
		  "\"port\"", "s@h", UTIL_URI_HIDDEN },
		/* A decoded password, as libpq could echo it. */
		{ "postgresql://u:top%73ecret@h/d",
		  "password authentication failed (topsecret)", "topsecret",
		  "password authentication failed (***)" },
		{ "postgresql://h/d?pass%77ord=topsecret",
		  "connection to server failed: topsecret", "topsecret",
		  "connection to server failed: ***" },
		{ "postgresql://h/d?sslpassword=keypw",
		  "could not decrypt key with keypw", "keypw",
		  "could not decrypt key with ***" },
		/* Nothing secret in it: unchanged. */
		{ "postgresql://u:secret@h/d",
		  "connection to server at \"h\" failed: Connection refused",
		  "secret",
		  "connection to server at \"h\" failed: Connection refused" },
		{ "/var/lib/authgw/authgw.db", "disk I/O error", "none",
		  "disk I/O error" },
	};
	char	 out[256];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(util_uri_hide(cases[i][0], cases[i][1], out,
		    sizeof(out)), 0);
		assert_null(strstr(out, cases[i][2]));
		if (cases[i][3] != NULL)
			assert_string_equal(out, cases[i][3]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int64_plain_values),
		cmocka_unit_test(test_int64_minus_zero_is_zero),
		cmocka_unit_test(test_int64_rejects_empty_and_signs),
		cmocka_unit_test(test_int64_rejects_spaces_and_trailing_bytes),
		cmocka_unit_test(test_int64_rejects_embedded_nul),
		cmocka_unit_test(test_int64_length_bounds_not_nul),
		cmocka_unit_test(test_int64_overflow_rejected),
		cmocka_unit_test(test_int64_range_bounds_inclusive),
		cmocka_unit_test(test_buf_append_printf_reset),
		cmocka_unit_test(test_strlcpy_truncates_and_reports),
		cmocka_unit_test(test_strcaseeq_length_and_case),
		cmocka_unit_test(test_email_domain_lower_cased_local_kept),
		cmocka_unit_test(test_email_refuses_what_mtas_interpret),
		cmocka_unit_test(test_email_refuses_empty_parts),
		cmocka_unit_test(test_email_length_limit),
		cmocka_unit_test(test_time_utc),
		cmocka_unit_test(test_uri_redact),
		cmocka_unit_test(test_uri_hide_libpq_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
