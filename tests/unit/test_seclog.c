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
log_limits(void)
{
	seclog_limited("192.0.2.7", "a@example.com", "/login", 1);
	seclog_limited("192.0.2.8", "a@example.com", "/login", 0);
}

static void
log_flood(void)
{
	int	 i;

	for (i = 0; i < 3 * SECLOG_BURST; i++)
		seclog(SECLOG_SESSION_UNKNOWN, "198.51.100.9", NULL, "/check");
	/* Never bounded: a failed login costs the client a hash. */
	for (i = 0; i < 3 * SECLOG_BURST; i++)
		seclog(SECLOG_LOGIN_FAILED, "198.51.100.9", "x@y", "/login");
}

/* Which counter refused is said, so fail2ban can count the address's. */
static void
test_limit_field(void **state)
{
	char	 out[1024];

	(void)state;
	log_init("authgw", LOG_LEVEL_INFO, 0);
	capture(log_limits, out, sizeof(out));
	assert_non_null(strstr(out, "event=rate_limited client=\"192.0.2.7\" "
	    "user=\"a@example.com\" route=\"/login\" limit=\"addr\"\n"));
	assert_non_null(strstr(out, "client=\"192.0.2.8\" "
	    "user=\"a@example.com\" route=\"/login\" limit=\"account\"\n"));
}

/* Lines a client causes at no cost are bounded per second. */
static void
test_cheap_events_bounded(void **state)
{
	static char	 out[65536];
	const char	*p;
	int		 unknown = 0, failed = 0;

	(void)state;
	log_init("authgw", LOG_LEVEL_INFO, 0);
	capture(log_flood, out, sizeof(out));
	for (p = out; (p = strstr(p, "event=session_unknown")) != NULL; p++)
		unknown++;
	for (p = out; (p = strstr(p, "event=login_failed")) != NULL; p++)
		failed++;
	/* The flood may straddle a second: at most two bursts. */
	assert_in_range(unknown, 1, 2 * SECLOG_BURST);
	assert_int_equal(failed, 3 * SECLOG_BURST);
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
	assert_string_equal(seclog_name(SECLOG_RESET_REQUESTED),
	    "reset_requested");
	assert_string_equal(seclog_name(SECLOG_RESET_DONE), "reset_done");
	assert_string_equal(seclog_name(SECLOG_PASSWORD_CHANGED),
	    "password_changed");
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
		cmocka_unit_test(test_limit_field),
		cmocka_unit_test(test_cheap_events_bounded),
		cmocka_unit_test(test_quiet_below_warn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
