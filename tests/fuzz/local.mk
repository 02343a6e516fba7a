# libFuzzer harnesses, one per parser of untrusted bytes, included from
# Makefile.am. They compile the sources they need directly with clang and
# the sanitizers (ASan, UBSan), never src/libauthgw.a (built by the
# configured compiler). Each harness NAME has fuzz_NAME.c, a dictionary
# NAME.dict and a minimized seed corpus corpus/NAME/ (listed file by file
# in corpus.mk, which run.sh --corpus-mk writes and make check verifies).
#
#   make check      runs tests/fuzz/run.sh: each harness FUZZ_SECONDS (10)
#                   from a copy of its corpus (skipped without clang)
#   make fuzz-long  each harness FUZZ_RUNS (10000000) executions; a table
#                   of executions, cov, ft, seconds and crashes
#   make fuzz       only builds them into tests/fuzz/, for runs by hand:
#     tests/fuzz/fuzz_json -dict=$srcdir/tests/fuzz/json.dict NEWDIR \
#         $srcdir/tests/fuzz/corpus/json
#
# A new harness (an Authorization or pending-login decoder, say): follow
# fuzz_token.c (a reference decides what is accepted, what is accepted
# round-trips), add it to FUZZ_FILES and CLEANFILES here and to run.sh
# (ALL_HARNESSES, sources), write a few seeds into corpus/NAME/, then
# `tests/fuzz/run.sh --merge` (README, "Fuzzing").

include tests/fuzz/corpus.mk

FUZZ_FILES = \
	tests/fuzz/fuzz_urlencoded.c tests/fuzz/urlencoded.dict \
	tests/fuzz/fuzz_headers.c tests/fuzz/headers.dict \
	tests/fuzz/fuzz_json.c tests/fuzz/json.dict \
	tests/fuzz/fuzz_template.c tests/fuzz/template.dict \
	tests/fuzz/fuzz_config.c tests/fuzz/config.dict \
	tests/fuzz/fuzz_cacheentry.c tests/fuzz/cacheentry.dict \
	tests/fuzz/fuzz_request.c tests/fuzz/request.dict \
	tests/fuzz/fuzz_seclog.c tests/fuzz/seclog.dict \
	tests/fuzz/fuzz_addrkey.c tests/fuzz/addrkey.dict \
	tests/fuzz/fuzz_token.c tests/fuzz/token.dict \
	tests/fuzz/fuzz_authz.c tests/fuzz/authz.dict \
	tests/fuzz/fuzz_pending.c tests/fuzz/pending.dict

EXTRA_DIST += tests/fuzz/run.sh $(FUZZ_FILES) $(FUZZ_CORPUS)
TESTS += tests/fuzz/run.sh

FUZZ_ENV = JANSSON_CFLAGS='$(JANSSON_CFLAGS)' JANSSON_LIBS='$(JANSSON_LIBS)' \
	OPENSSL_LIBS='$(OPENSSL_LIBS)'
CLEANFILES += tests/fuzz/fuzz_urlencoded tests/fuzz/fuzz_headers \
	tests/fuzz/fuzz_json tests/fuzz/fuzz_template tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_cacheentry tests/fuzz/fuzz_request \
	tests/fuzz/fuzz_seclog tests/fuzz/fuzz_addrkey tests/fuzz/fuzz_token \
	tests/fuzz/fuzz_authz tests/fuzz/fuzz_pending

.PHONY: fuzz fuzz-long
fuzz:
	$(AM_V_GEN)$(FUZZ_ENV) $(SHELL) $(srcdir)/tests/fuzz/run.sh \
	    --build '$(abs_top_builddir)/tests/fuzz'

fuzz-long:
	$(FUZZ_ENV) $(SHELL) $(srcdir)/tests/fuzz/run.sh --long
