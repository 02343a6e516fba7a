/* Unit tests of src/template.c: escaping, expansion, loading from disk. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L		/* mkdtemp */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

#define TEMPLATE_FILE_MAX	(256 * 1024)	/* as in template.c */

static const struct tvar vars[] = {
	{ .name = "name", .value = "<b>Bob & \"Al\" 'x'</b>" },
	{ .name = "csrf", .value = "abc-_123" },
	{ .name = "empty", .value = NULL },
	{ .name = "loop", .value = "{{csrf}}" },
};
#define NVARS	(sizeof(vars) / sizeof(vars[0]))

/* Expand s and compare with want. */
static void
check_expand(const char *s, size_t len, const char *want)
{
	struct buf	 b = { NULL, 0, 0 };

	assert_int_equal(template_expand(s, len, vars, NVARS, &b), 0);
	assert_int_equal(b.len, strlen(want));
	if (b.len > 0)
		assert_string_equal(b.data, want);
	buf_free(&b);
}

#define EXPAND(s, want)	check_expand((s), strlen(s), (want))

static void
test_escape_html_specials(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(template_escape(&b, "a&b<c>d\"e'f", 11), 0);
	assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	buf_reset(&b);
	assert_int_equal(template_escape(&b, "<<>>", 4), 0);
	assert_string_equal(b.data, "&lt;&lt;&gt;&gt;");
	buf_reset(&b);
	assert_int_equal(template_escape(&b, "plain text \xc3\xa9", 13), 0);
	assert_string_equal(b.data, "plain text \xc3\xa9");
	buf_reset(&b);
	assert_int_equal(template_escape(&b, "&x", 1), 0);
	assert_string_equal(b.data, "&amp;");
	buf_free(&b);
}

static void
test_expand_escapes_values(void **state)
{
	(void)state;
	EXPAND("Hello {{name}}!",
	    "Hello &lt;b&gt;Bob &amp; &quot;Al&quot; &#39;x&#39;&lt;/b&gt;!");
	EXPAND("<input value=\"{{csrf}}\">", "<input value=\"abc-_123\">");
	EXPAND("{{csrf}}{{csrf}}", "abc-_123abc-_123");
}

static void
test_expand_unknown_and_null_are_empty(void **state)
{
	(void)state;
	EXPAND("[{{nope}}]", "[]");
	EXPAND("[{{empty}}]", "[]");
	EXPAND("", "");
}

static void
test_expand_not_a_placeholder_copied_verbatim(void **state)
{
	(void)state;
	EXPAND("{{Name}}", "{{Name}}");
	EXPAND("{{ name }}", "{{ name }}");
	EXPAND("{{name}", "{{name}");
	EXPAND("{{name", "{{name");
	EXPAND("{{}}", "{{}}");
	EXPAND("{name}", "{name}");
	EXPAND("{{na-me}}", "{{na-me}}");
	EXPAND("a { b } c {{", "a { b } c {{");
	EXPAND("{", "{");
	EXPAND("}}", "}}");
	EXPAND("{{{csrf}}}", "{abc-_123}");
	EXPAND("{{{{csrf}}", "{{abc-_123");
}

static void
test_expand_value_not_expanded_again(void **state)
{
	(void)state;
	EXPAND("{{loop}}", "{{csrf}}");
}

/* A raw variable (HTML the program built) goes in as is; the others,
 * and a raw one left NULL, as before. */
static void
test_expand_raw_inserted_as_is(void **state)
{
	static const struct tvar rv[] = {
		{ .name = "rows", .value = "<tr><td>a &amp; b</td></tr>",
		    .raw = 1 },
		{ .name = "name", .value = "<b>", .raw = 0 },
		{ .name = "none", .value = NULL, .raw = 1 },
		{ .name = "loop", .value = "{{name}}", .raw = 1 },
	};
	struct buf	 b = { NULL, 0, 0 };
	static const char t[] = "<table>{{rows}}</table>{{name}}[{{none}}]"
	    "{{loop}}";

	(void)state;
	assert_int_equal(template_expand(t, strlen(t), rv, 4, &b), 0);
	assert_string_equal(b.data, "<table><tr><td>a &amp; b</td></tr>"
	    "</table>&lt;b&gt;[]{{name}}");
	buf_free(&b);
}

static void
test_expand_name_length_limit(void **state)
{
	char		 t[128];
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	memcpy(t, "{{", 2);
	memset(t + 2, 'a', 64);
	memcpy(t + 66, "}}", 3);
	EXPAND(t, "");
	memcpy(t, "{{", 2);
	memset(t + 2, 'a', 65);
	memcpy(t + 67, "}}", 3);
	assert_int_equal(template_expand(t, strlen(t), vars, NVARS, &b), 0);
	assert_string_equal(b.data, t);
	buf_free(&b);
}

static void
test_expand_not_read_past_length(void **state)
{
	(void)state;
	check_expand("{{csrf}}", 7, "{{csrf}");
	check_expand("{{csrf}}", 6, "{{csrf");
	check_expand("x{{csrf}}", 1, "x");
	check_expand("{{csrf}}", 0, "");
}

static void
test_expand_embedded_nul_kept(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(template_expand("a\0{{csrf}}", 10, vars, NVARS, &b),
	    0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "a\0abc-_123", 10);
	buf_free(&b);
}

static char	 tdir[64];

static void
write_file(const char *name, const char *content, size_t len)
{
	char	 path[256];
	FILE	*fp;

	assert_true(snprintf(path, sizeof(path), "%s/%s", tdir, name) <
	    (int)sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
remove_file(const char *name)
{
	char	 path[256];

	assert_true(snprintf(path, sizeof(path), "%s/%s", tdir, name) <
	    (int)sizeof(path));
	(void)unlink(path);
}

static int
setup_dir(void **state)
{
	(void)state;
	memcpy(tdir, "/tmp/authgw-tmpl-XXXXXX", 24);
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	static const char *const names[] = {
		"page.html", "cached.html", "big.html", "max.html",
		"empty.html",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		remove_file(names[i]);
	return rmdir(tdir);
}

static void
test_render_expands_file(void **state)
{
	static const char	 text[] = "<p>{{csrf}}</p>\n";
	struct buf		 b = { NULL, 0, 0 };

	(void)state;
	write_file("page.html", text, strlen(text));
	assert_int_equal(template_render(tdir, "page.html", vars, NVARS, &b),
	    0);
	assert_string_equal(b.data, "<p>abc-_123</p>\n");
	buf_free(&b);
}

static void
test_render_caches_per_process(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	write_file("cached.html", "first", 5);
	assert_int_equal(template_render(tdir, "cached.html", NULL, 0, &b), 0);
	assert_string_equal(b.data, "first");
	buf_reset(&b);
	write_file("cached.html", "second", 6);
	assert_int_equal(template_render(tdir, "cached.html", NULL, 0, &b), 0);
	assert_string_equal(b.data, "first");
	buf_reset(&b);
	remove_file("cached.html");
	assert_int_equal(template_render(tdir, "cached.html", NULL, 0, &b), 0);
	assert_string_equal(b.data, "first");
	buf_free(&b);
}

static void
test_render_empty_file(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	write_file("empty.html", "", 0);
	assert_int_equal(template_render(tdir, "empty.html", NULL, 0, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_render_refuses_path_names(void **state)
{
	static const char *const bad[] = {
		"../page.html", "..", "a/b", "/etc/passwd", "", "x/../page.html",
		"page.html/", "..page.html",
	};
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i;

	(void)state;
	write_file("page.html", "x", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(template_render(tdir, bad[i], NULL, 0, &b), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_render_missing_file_fails(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(template_render(tdir, "missing.html", NULL, 0, &b),
	    -1);
	assert_int_equal(template_render("/nonexistent-authgw-dir",
	    "login.html", NULL, 0, &b), -1);
	/* A directory is not a template. */
	assert_int_equal(template_render("/", "tmp", NULL, 0, &b), -1);
	buf_free(&b);
}

static void
test_render_size_limit(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	char		*big;

	(void)state;
	big = malloc(TEMPLATE_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', TEMPLATE_FILE_MAX + 1);
	write_file("max.html", big, TEMPLATE_FILE_MAX);
	write_file("big.html", big, TEMPLATE_FILE_MAX + 1);
	free(big);
	assert_int_equal(template_render(tdir, "big.html", NULL, 0, &b), -1);
	assert_int_equal(template_render(tdir, "max.html", NULL, 0, &b), 0);
	assert_int_equal(b.len, TEMPLATE_FILE_MAX);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_html_specials),
		cmocka_unit_test(test_expand_escapes_values),
		cmocka_unit_test(test_expand_unknown_and_null_are_empty),
		cmocka_unit_test(test_expand_not_a_placeholder_copied_verbatim),
		cmocka_unit_test(test_expand_value_not_expanded_again),
		cmocka_unit_test(test_expand_raw_inserted_as_is),
		cmocka_unit_test(test_expand_name_length_limit),
		cmocka_unit_test(test_expand_not_read_past_length),
		cmocka_unit_test(test_expand_embedded_nul_kept),
		cmocka_unit_test(test_render_expands_file),
		cmocka_unit_test(test_render_caches_per_process),
		cmocka_unit_test(test_render_empty_file),
		cmocka_unit_test(test_render_refuses_path_names),
		cmocka_unit_test(test_render_missing_file_fails),
		cmocka_unit_test(test_render_size_limit),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
