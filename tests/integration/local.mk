# Integration tests: the real program behind real web servers (nginx,
# lighttpd, Apache), memcached, spawn-fcgi, CGI. Python 3 standard library
# only; tests needing a program that is not installed are skipped.
# Included from the top Makefile.am.

AM_TESTS_ENVIRONMENT = \
	AUTHGW_BUILDDIR='$(abs_top_builddir)' AUTHGW_SRCDIR='$(abs_top_srcdir)' \
	PYTHON3='$(PYTHON3)'; \
	export AUTHGW_BUILDDIR AUTHGW_SRCDIR PYTHON3;

if HAVE_PYTHON3
TESTS += tests/integration/run.sh
endif

# Every file by name: a directory here would also pick up the logs a
# build directory holds.
EXTRA_DIST += \
	tests/integration/run.sh \
	tests/integration/harness.py \
	tests/integration/fcgi_echo.py \
	tests/integration/test_admin.py \
	tests/integration/test_apache.py \
	tests/integration/test_cache.py \
	tests/integration/test_hosts.py \
	tests/integration/test_cgi_apache.py \
	tests/integration/test_cli.py \
	tests/integration/test_lighttpd.py \
	tests/integration/test_mail.py \
	tests/integration/test_microcache.py \
	tests/integration/test_modes.py \
	tests/integration/test_nginx.py \
	tests/integration/test_password.py \
	tests/integration/test_ratelimit.py \
	tests/integration/test_security_check.py \
	tests/integration/test_security_log.py \
	tests/integration/test_security_login.py \
	tests/integration/test_security_process.py \
	tests/integration/test_verify.py \
	tests/integration/test_faults.py \
	tests/integration/test_stock_configs.py \
	tests/integration/test_storage.py \
	tests/integration/test_tokens.py \
	tests/integration/test_totp.py \
	tests/integration/test_token_security.py
