/* Unit tests of src/json.c: flat object parsing and the answer builder. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "parse.h"
#include "util.h"

static enum parse_rc
jparse(const char *s, struct fields *fs)
{
	memset(fs, 0, sizeof(*fs));
	return json_parse_fields(s, strlen(s), fs);
}

static void
test_json_strings(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(jparse("{\"email\":\"a@b.example\",\"password\":"
	    "\"p\\u00e9 \\\"q\\\"\"}", &fs), PARSE_OK);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fields_get_text(&fs, "email"), "a@b.example");
	assert_string_equal(fields_get_text(&fs, "password"),
	    "p\xc3\xa9 \"q\"");
	fields_free(&fs);
}

static void
test_json_scalars_as_text(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(jparse("{\"t\":true,\"f\":false,\"n\":null,"
	    "\"i\":42,\"neg\":-7,\"big\":9007199254740993,\"r\":1.5,"
	    "\"tenth\":0.1,\"e\":1e3}", &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "t", NULL), "1");
	assert_string_equal(fields_get(&fs, "f", NULL), "0");
	assert_null(fields_get(&fs, "n", NULL));
	assert_string_equal(fields_get(&fs, "i", NULL), "42");
	assert_string_equal(fields_get(&fs, "neg", NULL), "-7");
	assert_string_equal(fields_get(&fs, "big", NULL), "9007199254740993");
	assert_string_equal(fields_get(&fs, "r", NULL), "1.5");
	assert_string_equal(fields_get(&fs, "tenth", NULL),
	    "0.10000000000000001");
	assert_string_equal(fields_get(&fs, "e", NULL), "1000");
	assert_int_equal(fs.n, 8);
	fields_free(&fs);
}

static void
test_json_nested_values_rejected(void **state)
{
	static const char *const bad[] = {
		"{\"a\":{}}", "{\"a\":[]}", "{\"a\":[1]}", "{\"a\":1,\"b\":{\"c\":1}}",
	};
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jparse(bad[i], &fs), PARSE_BAD_JSON);
		assert_int_equal(fs.n, 0);
	}
}

static void
test_json_top_level_must_be_object(void **state)
{
	static const char *const bad[] = {
		"[]", "[{\"a\":1}]", "\"a\"", "1", "true", "null", "",
		" ", "{", "{\"a\"}", "{\"a\":}", "{'a':1}", "{\"a\":1,}",
		"{\"a\":1} x", "{\"a\":1}{}", "{\"a\":\"\xff\"}",
		"{\"a\":01}", "{\"a\":NaN}",
	};
	struct fields	 fs;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jparse(bad[i], &fs), PARSE_BAD_JSON);
		assert_int_equal(fs.n, 0);
	}
}

static void
test_json_duplicate_keys_rejected(void **state)
{
	struct fields	 fs;

	(void)state;
	assert_int_equal(jparse("{\"next\":\"/a\",\"next\":\"//evil\"}", &fs),
	    PARSE_BAD_JSON);
	assert_int_equal(fs.n, 0);
}

static void
test_json_bad_keys_rejected(void **state)
{
	char		 in[PARSE_KEY_MAX + 16];
	struct fields	 fs;

	(void)state;
	assert_int_equal(jparse("{\"\":\"x\"}", &fs), PARSE_BAD_KEY);
	assert_int_equal(jparse("{\"a\\nb\":\"x\"}", &fs), PARSE_BAD_KEY);
	assert_int_equal(jparse("{\"a\\u007f\":\"x\"}", &fs), PARSE_BAD_KEY);
	assert_int_not_equal(jparse("{\"a\\u0000\":\"x\"}", &fs), PARSE_OK);
	assert_int_equal(fs.n, 0);

	in[0] = '{';
	in[1] = '"';
	memset(in + 2, 'k', PARSE_KEY_MAX);
	memcpy(in + 2 + PARSE_KEY_MAX, "\":1}", 5);
	assert_int_equal(jparse(in, &fs), PARSE_OK);
	fields_free(&fs);
	memset(in + 2, 'k', PARSE_KEY_MAX + 1);
	memcpy(in + 3 + PARSE_KEY_MAX, "\":1}", 5);
	assert_int_equal(jparse(in, &fs), PARSE_BAD_KEY);
}

static void
test_json_string_with_nul_kept_with_length(void **state)
{
	struct fields	 fs;
	const char	*v;
	size_t		 vlen;

	(void)state;
	assert_int_equal(jparse("{\"p\":\"x\\u0000y\"}", &fs), PARSE_OK);
	v = fields_get(&fs, "p", &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, 3);
	assert_memory_equal(v, "x\0y", 3);
	assert_null(fields_get_text(&fs, "p"));
	fields_free(&fs);
}

static void
test_json_input_not_nul_terminated(void **state)
{
	static const char	 in[] = "{\"a\":\"1\"}garbage";
	struct fields		 fs;

	(void)state;
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(json_parse_fields(in, 9, &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "a", NULL), "1");
	fields_free(&fs);
	assert_int_equal(json_parse_fields(in, 8, &fs), PARSE_BAD_JSON);
	assert_int_equal(json_parse_fields(in, sizeof(in) - 1, &fs),
	    PARSE_BAD_JSON);
}

static void
test_json_too_many_fields(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 fs;
	size_t		 i;

	(void)state;
	assert_int_equal(buf_puts(&b, "{"), 0);
	for (i = 0; i < PARSE_FIELDS_MAX; i++)
		assert_int_equal(buf_printf(&b, "\"k%zu\":%zu,", i, i), 0);
	assert_int_equal(buf_puts(&b, "\"nul\":null}"), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(json_parse_fields(b.data, b.len, &fs), PARSE_OK);
	assert_int_equal(fs.n, PARSE_FIELDS_MAX);
	fields_free(&fs);

	b.len -= strlen("\"nul\":null}");
	assert_int_equal(buf_puts(&b, "\"more\":1}"), 0);
	assert_int_equal(json_parse_fields(b.data, b.len, &fs), PARSE_TOO_MANY);
	assert_int_equal(fs.n, 0);
	buf_free(&b);
}

/* Finish j into a string and compare with want. */
static void
check_finish(struct jobj *j, const char *want)
{
	struct buf	 b = { NULL, 0, 0 };

	assert_int_equal(jobj_finish(j, &b), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_jobj_builds_compact_object(void **state)
{
	struct jobj	*j, *u, *s;

	(void)state;
	j = jobj_new();
	assert_non_null(j);
	u = jobj_obj(j, "user");
	assert_non_null(u);
	jobj_int(u, "id", 7);
	jobj_str(u, "email", "a@b.example");
	jobj_str(u, "role", "admin");
	jobj_bool(u, "verified", 1);
	s = jobj_obj(j, "session");
	jobj_int(s, "created", INT64_C(1700000000));
	jobj_int(s, "big", INT64_MIN);
	jobj_bool(s, "x", 0);
	jobj_real(j, "rate", 0.5);
	check_finish(j, "{\"user\":{\"id\":7,\"email\":\"a@b.example\","
	    "\"role\":\"admin\",\"verified\":true},\"session\":{\"created\":"
	    "1700000000,\"big\":-9223372036854775808,\"x\":false},"
	    "\"rate\":0.5}");
}

static void
test_jobj_arrays_of_objects(void **state)
{
	struct jobj	*j, *e;

	(void)state;
	j = jobj_new();
	e = jobj_arr_obj(j, "sessions");
	jobj_str(e, "id", "a");
	e = jobj_arr_obj(j, "sessions");
	jobj_str(e, "id", "b");
	jobj_bool(e, "current", 1);
	check_finish(j, "{\"sessions\":[{\"id\":\"a\"},{\"id\":\"b\","
	    "\"current\":true}]}");
}

static void
test_jobj_strings_escaped(void **state)
{
	struct jobj	*j;

	(void)state;
	j = jobj_new();
	jobj_str(j, "s", "q\"b\\n\n\x01</script>\xc3\xa9");
	jobj_str(j, "null", NULL);
	check_finish(j, "{\"s\":\"q\\\"b\\\\n\\n\\u0001</script>\xc3\xa9\","
	    "\"null\":null}");
}

static void
test_jobj_invalid_utf8_still_valid_json(void **state)
{
	struct jobj	*j;

	(void)state;
	j = jobj_new();
	jobj_str(j, "ua", "Mozilla \xff\xfe \xc3\xa9");
	check_finish(j, "{\"ua\":\"Mozilla ?? ??\"}");
}

static void
test_jobj_non_finite_real_is_null(void **state)
{
	struct jobj	*j;

	(void)state;
	j = jobj_new();
	jobj_real(j, "nan", NAN);
	jobj_real(j, "inf", INFINITY);
	check_finish(j, "{\"nan\":null,\"inf\":null}");
}

static void
test_jobj_key_replaced_child_still_usable(void **state)
{
	struct jobj	*j, *a, *b;

	(void)state;
	j = jobj_new();
	a = jobj_obj(j, "k");
	b = jobj_obj(j, "k");
	jobj_int(a, "orphan", 1);	/* must not touch freed memory */
	jobj_int(b, "v", 2);
	jobj_str(j, "s", "1");
	jobj_str(j, "s", "2");
	check_finish(j, "{\"k\":{\"v\":2},\"s\":\"2\"}");
}

static void
test_jobj_null_tolerated(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct jobj	*j;

	(void)state;
	assert_null(jobj_obj(NULL, "x"));
	assert_null(jobj_arr_obj(NULL, "x"));
	jobj_str(NULL, "k", "v");
	jobj_int(NULL, "k", 1);
	jobj_real(NULL, "k", 1.0);
	jobj_bool(NULL, "k", 1);
	jobj_free(NULL);
	assert_int_equal(jobj_finish(NULL, &b), -1);
	assert_int_equal(b.len, 0);

	j = jobj_new();
	jobj_str(j, "a", "b");
	jobj_free(j);
}

static void
test_jobj_finish_on_child_refused(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct jobj	*j, *c;

	(void)state;
	j = jobj_new();
	c = jobj_obj(j, "c");
	assert_int_equal(jobj_finish(c, &b), -1);
	/* The root remembers the misuse and refuses to produce output. */
	assert_int_equal(jobj_finish(j, &b), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_jobj_output_parses_back(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 fs;
	struct jobj	*j;

	(void)state;
	j = jobj_new();
	jobj_str(j, "email", "x@y");
	jobj_int(j, "n", -3);
	jobj_bool(j, "all", 1);
	assert_int_equal(jobj_finish(j, &b), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(json_parse_fields(b.data, b.len, &fs), PARSE_OK);
	assert_string_equal(fields_get(&fs, "email", NULL), "x@y");
	assert_string_equal(fields_get(&fs, "n", NULL), "-3");
	assert_string_equal(fields_get(&fs, "all", NULL), "1");
	fields_free(&fs);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_scalars_as_text),
		cmocka_unit_test(test_json_nested_values_rejected),
		cmocka_unit_test(test_json_top_level_must_be_object),
		cmocka_unit_test(test_json_duplicate_keys_rejected),
		cmocka_unit_test(test_json_bad_keys_rejected),
		cmocka_unit_test(test_json_string_with_nul_kept_with_length),
		cmocka_unit_test(test_json_input_not_nul_terminated),
		cmocka_unit_test(test_json_too_many_fields),
		cmocka_unit_test(test_jobj_builds_compact_object),
		cmocka_unit_test(test_jobj_arrays_of_objects),
		cmocka_unit_test(test_jobj_strings_escaped),
		cmocka_unit_test(test_jobj_invalid_utf8_still_valid_json),
		cmocka_unit_test(test_jobj_non_finite_real_is_null),
		cmocka_unit_test(test_jobj_key_replaced_child_still_usable),
		cmocka_unit_test(test_jobj_null_tolerated),
		cmocka_unit_test(test_jobj_finish_on_child_refused),
		cmocka_unit_test(test_jobj_output_parses_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
