/* Unit tests of src/seclog.c: the security log's stable, escaped lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "seclog.h"

/* What seclog wrote to stderr while fn ran, into out. */
static void
capture(void (*fn)(void), char *out, size_t outsz)
{
	char	 path[] = "/tmp/authgw-seclog-XXXXXX";
	FILE	*fp;
	size_t	 n;
	int	 fd, saved;

	fflush(stderr);
	assert_true((fd = mkstemp(path)) != -1);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(out, 1, outsz - 1, fp);
	out[n] = '\0';
	fclose(fp);
	unlink(path);
}

static void
log_plain(void)
{
	seclog(SECLOG_LOGIN_FAILED, "192.0.2.7", "a@example.com", "/login");
}

static void
log_hostile(void)
{
	seclog(SECLOG_RATE_LIMITED,
	    "1.2.3.4\" user=\"x\nauthgw[1]: warn: security: event=forged",
	    "a\"b\\c", "/login\r\n");
}

static void
log_unknowns(void)
{
	seclog(SECLOG_CSRF, NULL, NULL, "");
}

static void
test_line_format(void **state)
{
	char	 out[1024], want[256];

	(void)state;
	log_init("authgw", LOG_LEVEL_INFO, 0);
	capture(log_plain, out, sizeof(out));
	snprintf(want, sizeof(want), "authgw[%ld]: warn: security: "
	    "event=login_failed client=\"192.0.2.7\" user=\"a@example.com\" "
	    "route=\"/login\"\n", (long)getpid());
	assert_string_equal(out, want);
}

/* A client cannot add a line or a field: one line, every byte escaped. */
static void
test_values_escaped(void **state)
{
	char	 out[2048];

	(void)state;
	log_init("authgw", LOG_LEVEL_INFO, 0);
	capture(log_hostile, out, sizeof(out));
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_non_null(strstr(out, "event=rate_limited client=\"1.2.3.4\\x22 "
	    "user=\\x22x\\x0aauthgw[1]"));
	assert_non_null(strstr(out, "user=\"a\\x22b\\x5cc\""));
	assert_non_null(strstr(out, "route=\"/login\\x0d\\x0a\""));
	assert_null(strstr(out, "\nauthgw[1]"));
}

static void
test_unknown_fields_are_dashes(void **state)
{
	char	 out[1024];

	(void)state;
	log_init("authgw", LOG_LEVEL_INFO, 0);
	capture(log_unknowns, out, sizeof(out));
	assert_non_null(strstr(out, "event=csrf_refused client=\"-\" "
	    "user=\"-\" route=\"-\""));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(seclog_name(SECLOG_LOGIN_FAILED), "login_failed");
	assert_string_equal(seclog_name(SECLOG_RATE_LIMITED), "rate_limited");
	assert_string_equal(seclog_name(SECLOG_HASH_BUSY), "hash_busy");
	assert_string_equal(seclog_name(SECLOG_CSRF), "csrf_refused");
	assert_string_equal(seclog_name(SECLOG_SESSION_UNKNOWN),
	    "session_unknown");
	assert_string_equal(seclog_name(SECLOG__COUNT), "unknown");
}

/* Below warn, nothing is written. */
static void
test_quiet_below_warn(void **state)
{
	char	 out[256];

	(void)state;
	log_init("authgw", LOG_LEVEL_ERROR, 0);
	capture(log_plain, out, sizeof(out));
	assert_string_equal(out, "");
	log_init("authgw", LOG_LEVEL_INFO, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_values_escaped),
		cmocka_unit_test(test_unknown_fields_are_dashes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_quiet_below_warn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
