/* Unit tests of src/config.c through config.h: defaults, keys, files. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L		/* mkstemp, fdopen */
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

#include "config.h"
#include "log.h"

static char	 err[512];

static int
set(struct config *c, const char *k, const char *v)
{
	err[0] = '\0';
	return config_set(c, k, v, err, sizeof(err));
}

static void
test_defaults_match_spec(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.listen, "");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.database, "/var/lib/authgw/authgw.db");
	assert_string_equal(c.memcached, "");
	assert_int_equal(c.cache_ttl, 300);
	assert_string_equal(c.prefix, "/auth");
	assert_string_equal(c.base_url, "http://127.0.0.1:8080");
	assert_string_equal(c.cookie_name, "authgw_sid");
	assert_int_equal(c.cookie_secure, 1);
	assert_string_equal(c.cookie_domain, "");
	assert_int_equal(c.session_lifetime, 86400);
	assert_int_equal(c.session_max_lifetime, 2592000);
	assert_int_equal(c.login_window, 900);
	assert_int_equal(c.login_max_per_account, 5);
	assert_int_equal(c.login_max_per_ip, 20);
	assert_int_equal(c.require_verified_email, 1);
	assert_int_equal(c.verify_token_ttl, 86400);
	assert_int_equal(c.registration, 1);
	assert_int_equal(c.reset_token_ttl, 3600);
	assert_int_equal(c.notify_login, 0);
	assert_string_equal(c.mail_command, "/usr/sbin/sendmail -t -i");
	assert_string_equal(c.mail_from, "authgw@localhost");
	assert_non_null(strstr(c.www_dir, "authgw/www"));
	assert_string_equal(c.metrics_allow, "127.0.0.1,::1");
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.syslog, 0);
	assert_int_equal(c.maintenance_interval, 5);
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.scrypt_log2n, 15);
	assert_int_equal(c.scrypt_r, 8);
	assert_int_equal(c.scrypt_p, 3);
	assert_string_equal(c.user, "");
	assert_string_equal(c.socket_group, "");
	assert_int_equal(c.io_timeout, 10);
	assert_int_equal(c.max_sessions_per_user, 100);
	assert_int_equal(c.hash_slots, 0);
	assert_int_equal(c.hash_queue, -1);
}

static void
test_set_unknown_key_named_in_error(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "wokers", "4"), -1);
	assert_non_null(strstr(err, "wokers"));
	assert_int_equal(set(&c, "", "4"), -1);
	assert_int_equal(set(&c, "Workers", "4"), -1);
}

static void
test_set_integers_strict(void **state)
{
	static const char *const bad[] = {
		"", "0", "257", "-1", "abc", "4 ", " 4", "+4", "4x", "0x10",
		"4.0", "99999999999999999999",
	};
	struct config	 c;
	size_t		 i;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "workers", "8"), 0);
	assert_int_equal(c.workers, 8);
	assert_int_equal(set(&c, "workers", "256"), 0);
	assert_int_equal(set(&c, "workers", "1"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set(&c, "workers", bad[i]), -1);
		assert_non_null(strstr(err, "workers"));
		assert_int_equal(c.workers, 1);
	}
	assert_int_equal(set(&c, "login_max_per_ip", "0"), -1);
	assert_int_equal(set(&c, "login_max_per_account", "3"), 0);
	assert_int_equal(c.login_max_per_account, 3);
	assert_int_equal(set(&c, "scrypt_log2n", "25"), -1);
	assert_int_equal(set(&c, "scrypt_log2n", "14"), 0);
	assert_int_equal(c.scrypt_log2n, 14);
}

static void
test_set_durations_int64(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "session_lifetime", "3600"), 0);
	assert_int_equal(c.session_lifetime, 3600);
	assert_int_equal(set(&c, "session_max_lifetime", "7200"), 0);
	assert_int_equal(c.session_max_lifetime, 7200);
	assert_int_equal(set(&c, "cache_ttl", "60"), 0);
	assert_int_equal(c.cache_ttl, 60);
	assert_int_equal(set(&c, "maintenance_interval", "1"), 0);
	assert_int_equal(set(&c, "login_window", "0"), -1);
	assert_int_equal(set(&c, "verify_token_ttl", "-5"), -1);
	assert_int_equal(set(&c, "reset_token_ttl", "0"), -1);
	assert_int_equal(set(&c, "reset_token_ttl", "604801"), -1);
	assert_int_equal(set(&c, "reset_token_ttl", "60"), 0);
	assert_int_equal(c.reset_token_ttl, 60);
	assert_int_equal(set(&c, "cache_ttl", "1h"), -1);
	assert_int_equal(set(&c, "session_lifetime",
	    "9223372036854775808"), -1);
	assert_int_equal(c.cache_ttl, 60);
}

static void
test_set_booleans(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	struct config	 c;
	size_t		 i;

	(void)state;
	config_defaults(&c);
	for (i = 0; i < 4; i++) {
		assert_int_equal(set(&c, "cookie_secure", no[i]), 0);
		assert_int_equal(c.cookie_secure, 0);
		assert_int_equal(set(&c, "cookie_secure", yes[i]), 0);
		assert_int_equal(c.cookie_secure, 1);
	}
	assert_int_equal(set(&c, "registration", "maybe"), -1);
	assert_non_null(strstr(err, "registration"));
	assert_int_equal(set(&c, "syslog", ""), -1);
	assert_int_equal(set(&c, "syslog", "2"), -1);
	assert_int_equal(set(&c, "require_verified_email", "false"), 0);
	assert_int_equal(c.require_verified_email, 0);
	assert_int_equal(set(&c, "notify_login", "yes"), 0);
	assert_int_equal(c.notify_login, 1);
	assert_int_equal(set(&c, "notify_login", "sometimes"), -1);
}

static void
test_set_log_level(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "log_level", "debug"), 0);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(set(&c, "log_level", "error"), 0);
	assert_int_equal(c.log_level, LOG_LEVEL_ERROR);
	assert_int_equal(set(&c, "log_level", "verbose"), -1);
	assert_int_equal(set(&c, "log_level", "3"), -1);
	assert_int_equal(c.log_level, LOG_LEVEL_ERROR);
}

static void
test_set_socket_mode_octal(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "socket_mode", "0600"), 0);
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(set(&c, "socket_mode", "666"), 0);
	assert_int_equal(c.socket_mode, 0666);
	assert_int_equal(set(&c, "socket_mode", "0800"), -1);
	assert_int_equal(set(&c, "socket_mode", "01777"), -1);
	assert_int_equal(set(&c, "socket_mode", "-1"), -1);
	assert_int_equal(set(&c, "socket_mode", ""), -1);
	assert_int_equal(set(&c, "socket_mode", "rw"), -1);
	assert_int_equal(c.socket_mode, 0666);
}

static void
test_set_strings(void **state)
{
	char		 longv[CONFIG_PATH_MAX + 8];
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "memcached", "127.0.0.1:11211,[::1]:11211"),
	    0);
	assert_string_equal(c.memcached, "127.0.0.1:11211,[::1]:11211");
	assert_int_equal(set(&c, "listen", "/run/authgw.sock"), 0);
	assert_string_equal(c.listen, "/run/authgw.sock");
	assert_int_equal(set(&c, "cookie_domain", "example.com"), 0);
	assert_int_equal(set(&c, "database", ""), -1);
	assert_int_equal(set(&c, "mail_from", "a\x01b"), -1);
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(set(&c, "database", longv), -1);
	assert_non_null(strstr(err, "database"));
	assert_string_not_equal(c.database, longv);
}

static void
test_set_cookie_name_is_token(void **state)
{
	static const char *const bad[] = {
		"", "a b", "a;b", "a=b", "a,b", "a\"b", "a\tb",
	};
	struct config	 c;
	size_t		 i;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "cookie_name", "sid"), 0);
	assert_string_equal(c.cookie_name, "sid");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(set(&c, "cookie_name", bad[i]), -1);
	assert_string_equal(c.cookie_name, "sid");
}

static void
test_set_prefix_and_base_url_normalised(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "prefix", "/login-gw/"), 0);
	assert_string_equal(c.prefix, "/login-gw");
	assert_int_equal(set(&c, "prefix", "/"), 0);
	assert_string_equal(c.prefix, "");
	assert_int_equal(set(&c, "prefix", "auth"), -1);
	assert_int_equal(set(&c, "prefix", ""), -1);
	assert_int_equal(set(&c, "prefix", "/a?b"), -1);
	assert_int_equal(set(&c, "base_url", "https://auth.example.com/"), 0);
	assert_string_equal(c.base_url, "https://auth.example.com");
	assert_int_equal(set(&c, "base_url", "http://127.0.0.1:8080"), 0);
	assert_string_equal(c.base_url, "http://127.0.0.1:8080");
	assert_int_equal(set(&c, "base_url", "ftp://example.com"), -1);
	assert_int_equal(set(&c, "base_url", "example.com"), -1);
	assert_int_equal(set(&c, "base_url", "http://a b.example"), -1);
	assert_string_equal(c.base_url, "http://127.0.0.1:8080");
}

static char	 cfgpath[64];

/* Write content to a new temporary file named in cfgpath. */
static void
write_config(const char *content, size_t len)
{
	FILE	*fp;
	int	 fd;

	memcpy(cfgpath, "/tmp/authgw-conf-XXXXXX", 24);
	fd = mkstemp(cfgpath);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Load content; returns config_load's result, cleans up the file. */
static int
load(const char *content, size_t len, struct config *c)
{
	int	 rc;

	write_config(content, len);
	err[0] = '\0';
	rc = config_load(cfgpath, c, err, sizeof(err));
	(void)unlink(cfgpath);
	return rc;
}

#define LOAD(s, c)	load((s), strlen(s), (c))

/* 1 if err starts with "cfgpath:line:". */
static int
err_at_line(unsigned line)
{
	char	 want[128];

	snprintf(want, sizeof(want), "%s:%u:", cfgpath, line);
	return strncmp(err, want, strlen(want)) == 0;
}

static void
test_load_file_with_comments_and_spaces(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(LOAD("# authgw\n"
	    "\n"
	    "   workers=8   # eight\n"
	    "\tprefix =  /gw  \r\n"
	    "session_lifetime\t=\t600\n"
	    "cookie_secure = false\n"
	    "log_level = debug", &c), 0);
	assert_int_equal(c.workers, 8);
	assert_string_equal(c.prefix, "/gw");
	assert_int_equal(c.session_lifetime, 600);
	assert_int_equal(c.cookie_secure, 0);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.cache_ttl, 300);
	assert_string_equal(c.path, cfgpath);
}

static void
test_load_empty_file_gives_defaults(void **state)
{
	struct config	 c, d;

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(load("", 0, &c), 0);
	config_defaults(&d);
	assert_int_equal(c.workers, d.workers);
	assert_string_equal(c.database, d.database);
	assert_int_equal(c.session_max_lifetime, d.session_max_lifetime);
}

static void
test_load_unknown_key_reports_file_line(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	c.workers = 3;
	assert_int_equal(LOAD("workers = 8\n# x\nbogus = 1\n", &c), -1);
	assert_true(err_at_line(3));
	assert_non_null(strstr(err, "bogus"));
	/* cfg is only written on success. */
	assert_int_equal(c.workers, 3);
}

static void
test_load_bad_value_reports_file_line(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(LOAD("\n\nworkers = many\n", &c), -1);
	assert_true(err_at_line(3));
	assert_non_null(strstr(err, "workers"));
}

static void
test_load_line_without_equals_rejected(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(LOAD("workers = 2\nworkers 8\n", &c), -1);
	assert_true(err_at_line(2));
}

static void
test_load_overlong_line_rejected(void **state)
{
	struct config	 c;
	char		*s;
	size_t		 len = CONFIG_LINE_MAX + 100;

	(void)state;
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, "database = /", 12);
	memset(s + 12, 'x', len - 13);
	s[len - 1] = '\n';
	s[len] = '\0';
	config_defaults(&c);
	assert_int_equal(load(s, len, &c), -1);
	assert_true(err_at_line(1));
	free(s);
}

static void
test_load_nul_byte_rejected(void **state)
{
	static const char	 text[] = "workers = 2\0junk\nlog_level = debug\n";
	struct config		 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(load(text, sizeof(text) - 1, &c), -1);
	assert_true(err_at_line(1));
}

static void
test_load_cross_key_check(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(LOAD("session_lifetime = 7200\n"
	    "session_max_lifetime = 3600\n", &c), -1);
	assert_non_null(strstr(err, "session_max_lifetime"));
}

/* This host's files: beside the SQLite file, or named (SPEC 8). */
static void
test_cache_file_names_host_files(void **state)
{
	struct config	 c;
	char		 path[CONFIG_PATH_MAX + 32];

	(void)state;
	config_defaults(&c);
	assert_int_equal(LOAD("database = /srv/a.db\n", &c), 0);
	assert_int_equal(config_cache_path(&c, path, sizeof(path)), 0);
	assert_string_equal(path, "/srv/a.db-sessions.cache");
	assert_string_equal(config_host_base(&c), "/srv/a.db");
	/* PostgreSQL: no file to sit beside, so the key is required. */
	assert_int_equal(LOAD("database = postgresql://h/authgw\n", &c), -1);
	assert_non_null(strstr(err, "cache_file"));
	assert_int_equal(LOAD("database = postgres://h/authgw\n"
	    "cache_entries = 0\n", &c), -1);
	assert_int_equal(LOAD("database = postgresql://h/authgw\n"
	    "cache_file = /var/lib/authgw/sessions.cache\n", &c), 0);
	assert_int_equal(config_cache_path(&c, path, sizeof(path)), 0);
	assert_string_equal(path, "/var/lib/authgw/sessions.cache");
	assert_string_equal(config_host_base(&c),
	    "/var/lib/authgw/sessions.cache");
	assert_int_equal(config_files_owner(&c), -1);
	assert_true(config_database_is_pg("postgres://x"));
	assert_false(config_database_is_pg("postgresql:/x"));
	assert_false(config_database_is_pg("/var/lib/postgresql://x"));
}

static void
test_load_missing_file_names_path(void **state)
{
	struct config	 c;

	(void)state;
	config_defaults(&c);
	err[0] = '\0';
	assert_int_equal(config_load("/nonexistent/authgw.conf", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/authgw.conf"));
}

static void
test_print_round_trips_through_load(void **state)
{
	struct config	 c, d;
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*fp;

	(void)state;
	config_defaults(&c);
	assert_int_equal(set(&c, "workers", "7"), 0);
	assert_int_equal(set(&c, "prefix", "/"), 0);
	assert_int_equal(set(&c, "socket_mode", "0600"), 0);
	assert_int_equal(set(&c, "listen", "127.0.0.1:9000"), 0);
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	config_print(&c, fp);
	assert_int_equal(fclose(fp), 0);
	config_defaults(&d);
	assert_int_equal(load(text, len, &d), 0);
	free(text);
	assert_int_equal(d.workers, 7);
	assert_string_equal(d.prefix, "");
	assert_int_equal(d.socket_mode, 0600);
	assert_string_equal(d.listen, "127.0.0.1:9000");
	assert_string_equal(d.base_url, c.base_url);
	assert_int_equal(d.session_lifetime, c.session_lifetime);
}

/* Checked at load, so a bad list is exit 78, not a 403 per request. */
static void
test_load_metrics_allow_checked(void **state)
{
	struct config	 c;

	(void)state;
	assert_int_equal(LOAD("metrics_allow = 127.0.0.1, ::1\n", &c), 0);
	assert_int_equal(LOAD("metrics_allow =\n", &c), 0);
	assert_int_equal(LOAD("metrics_allow = 127.0.0.1,,::1\n", &c), -1);
	assert_non_null(strstr(err, "metrics_allow"));
	assert_int_equal(LOAD("metrics_allow = localhost\n", &c), -1);
	assert_int_equal(LOAD("metrics_allow = 10.0.0.0/8\n", &c), -1);
}

/* memcached keeps its key namespace in the host table. */
static void
test_load_memcached_needs_host_table(void **state)
{
	struct config	 c;

	(void)state;
	assert_int_equal(LOAD("memcached = 127.0.0.1:11211\n"
	    "cache_entries = 0\n", &c), -1);
	assert_non_null(strstr(err, "cache_entries"));
	assert_int_equal(LOAD("memcached = 127.0.0.1:11211\n", &c), 0);
}

/* check-config never shows the password of a database URI (issue 14). */
static void
test_print_hides_database_password(void **state)
{
	struct config	 cfg;
	char		 why[256], text[8192];
	FILE		*fp;
	size_t		 n;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "database",
	    "postgresql://authgw:hunter2@db.example/authgw?password=hunter3",
	    why, sizeof(why)), 0);
	assert_non_null(fp = tmpfile());
	config_print(&cfg, fp);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(text, "database = postgresql://authgw:***@"
	    "db.example/authgw?password=***\n"));
	assert_null(strstr(text, "hunter"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_spec),
		cmocka_unit_test(test_set_unknown_key_named_in_error),
		cmocka_unit_test(test_set_integers_strict),
		cmocka_unit_test(test_set_durations_int64),
		cmocka_unit_test(test_set_booleans),
		cmocka_unit_test(test_set_log_level),
		cmocka_unit_test(test_set_socket_mode_octal),
		cmocka_unit_test(test_set_strings),
		cmocka_unit_test(test_set_cookie_name_is_token),
		cmocka_unit_test(test_set_prefix_and_base_url_normalised),
		cmocka_unit_test(test_load_file_with_comments_and_spaces),
		cmocka_unit_test(test_load_empty_file_gives_defaults),
		cmocka_unit_test(test_load_unknown_key_reports_file_line),
		cmocka_unit_test(test_load_bad_value_reports_file_line),
		cmocka_unit_test(test_load_line_without_equals_rejected),
		cmocka_unit_test(test_load_overlong_line_rejected),
		cmocka_unit_test(test_load_nul_byte_rejected),
		cmocka_unit_test(test_load_cross_key_check),
		cmocka_unit_test(test_cache_file_names_host_files),
		cmocka_unit_test(test_load_missing_file_names_path),
		cmocka_unit_test(test_load_metrics_allow_checked),
		cmocka_unit_test(test_load_memcached_needs_host_table),
		cmocka_unit_test(test_print_round_trips_through_load),
		cmocka_unit_test(test_print_hides_database_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
