# libFuzzer harnesses, one per parser of untrusted bytes, included from
# Makefile.am. `make check` runs tests/fuzz/run.sh, which builds them with
# clang (skipped when clang cannot) and runs each for FUZZ_SECONDS (10).
# `make fuzz` only builds them into tests/fuzz/, for longer runs by hand:
#   make fuzz && tests/fuzz/fuzz_json -dict=$srcdir/tests/fuzz/json.dict CORPUS_DIR
# They compile the sources they need directly with clang and the
# sanitizers, never src/libauthgw.a (built by the configured compiler).

FUZZ_FILES = \
	tests/fuzz/fuzz_urlencoded.c tests/fuzz/urlencoded.dict \
	tests/fuzz/fuzz_headers.c tests/fuzz/headers.dict \
	tests/fuzz/fuzz_json.c tests/fuzz/json.dict \
	tests/fuzz/fuzz_template.c tests/fuzz/template.dict \
	tests/fuzz/fuzz_config.c tests/fuzz/config.dict \
	tests/fuzz/fuzz_cacheentry.c tests/fuzz/cacheentry.dict

EXTRA_DIST += tests/fuzz/run.sh $(FUZZ_FILES)
TESTS += tests/fuzz/run.sh

FUZZ_ENV = JANSSON_CFLAGS='$(JANSSON_CFLAGS)' JANSSON_LIBS='$(JANSSON_LIBS)' \
	OPENSSL_LIBS='$(OPENSSL_LIBS)'
CLEANFILES += tests/fuzz/fuzz_urlencoded tests/fuzz/fuzz_headers \
	tests/fuzz/fuzz_json tests/fuzz/fuzz_template tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_cacheentry

.PHONY: fuzz
fuzz:
	$(AM_V_GEN)$(FUZZ_ENV) $(SHELL) $(srcdir)/tests/fuzz/run.sh \
	    --build '$(abs_top_builddir)/tests/fuzz'
