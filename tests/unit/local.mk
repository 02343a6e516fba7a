# Unit tests (cmocka), one program per module, included from Makefile.am.
# Each links the library; the linker takes only the objects a test uses.

UNIT_TESTS = \
	tests/unit/test_parse \
	tests/unit/test_template \
	tests/unit/test_json \
	tests/unit/test_policy \
	tests/unit/test_util \
	tests/unit/test_crypto \
	tests/unit/test_password \
	tests/unit/test_config \
	tests/unit/test_cacheentry \
	tests/unit/test_ratelimit \
	tests/unit/test_shmcache \
	tests/unit/test_metrics \
	tests/unit/test_token \
	tests/unit/test_session \
	tests/unit/test_cache \
	tests/unit/test_csrf \
	tests/unit/test_router \
	tests/unit/test_coherence \
	tests/unit/test_hashslot \
	tests/unit/test_seclog \
	tests/unit/test_store \
	tests/unit/test_apitoken \
	tests/unit/test_totp

if HAVE_CMOCKA
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif

UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIB_CFLAGS)
UNIT_LDADD = src/libauthgw.a $(LIB_LIBS) $(CMOCKA_LIBS)

tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_parse_LDADD = $(UNIT_LDADD)

tests_unit_test_template_SOURCES = tests/unit/test_template.c
tests_unit_test_template_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_template_LDADD = $(UNIT_LDADD)

tests_unit_test_json_SOURCES = tests/unit/test_json.c
tests_unit_test_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_json_LDADD = $(UNIT_LDADD)

tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_LDADD = $(UNIT_LDADD)

tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LDADD)

tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c
tests_unit_test_crypto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_crypto_LDADD = $(UNIT_LDADD)

tests_unit_test_password_SOURCES = tests/unit/test_password.c
tests_unit_test_password_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_password_LDADD = $(UNIT_LDADD)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)

tests_unit_test_cacheentry_SOURCES = tests/unit/test_cacheentry.c
tests_unit_test_cacheentry_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cacheentry_LDADD = $(UNIT_LDADD)

tests_unit_test_ratelimit_SOURCES = tests/unit/test_ratelimit.c
tests_unit_test_ratelimit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ratelimit_LDADD = $(UNIT_LDADD)

tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_LDADD)

tests_unit_test_shmcache_SOURCES = tests/unit/test_shmcache.c
tests_unit_test_shmcache_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_shmcache_LDADD = $(UNIT_LDADD)

tests_unit_test_session_SOURCES = tests/unit/test_session.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)

tests_unit_test_cache_SOURCES = tests/unit/test_cache.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_cache_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cache_LDADD = $(UNIT_LDADD)

tests_unit_test_csrf_SOURCES = tests/unit/test_csrf.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_csrf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_csrf_LDADD = $(UNIT_LDADD)

tests_unit_test_router_SOURCES = tests/unit/test_router.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_router_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_router_LDADD = $(UNIT_LDADD)

tests_unit_test_token_SOURCES = tests/unit/test_token.c
tests_unit_test_token_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_token_LDADD = $(UNIT_LDADD)

tests_unit_test_coherence_SOURCES = tests/unit/test_coherence.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_coherence_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_coherence_LDADD = $(UNIT_LDADD)

tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
# It reads the database itself, as an outside observer: linked to SQLite
# and libpq. tests/unit/store_pg.sh runs it again against a PostgreSQL it
# starts (tests/pgtest.sh).
tests_unit_test_store_LDADD = $(UNIT_LDADD) $(SQLITE_LIBS) $(PQ_LIBS)

tests_unit_test_hashslot_SOURCES = tests/unit/test_hashslot.c
tests_unit_test_hashslot_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hashslot_LDADD = $(UNIT_LDADD)

tests_unit_test_seclog_SOURCES = tests/unit/test_seclog.c
tests_unit_test_seclog_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_seclog_LDADD = $(UNIT_LDADD)

tests_unit_test_apitoken_SOURCES = tests/unit/test_apitoken.c tests/unit/unitfix.c tests/unit/unitfix.h
tests_unit_test_apitoken_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_apitoken_LDADD = $(UNIT_LDADD)

tests_unit_test_totp_SOURCES = tests/unit/test_totp.c
tests_unit_test_totp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_totp_LDADD = $(UNIT_LDADD)

# PostgreSQL (issue 14): test_store and test_store_pg against a server
# store_pg.sh starts (tests/pgtest.sh); test_store_pg alone skips.
tests_unit_test_store_pg_SOURCES = tests/unit/test_store_pg.c
tests_unit_test_store_pg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_pg_LDADD = $(UNIT_LDADD) $(PQ_LIBS) -lpthread

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_store_pg
TESTS += tests/unit/store_pg.sh
endif
EXTRA_DIST += tests/unit/store_pg.sh tests/pgtest.sh
