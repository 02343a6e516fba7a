# make bench: benchmarks (not part of make check; timings are never tested).
EXTRA_PROGRAMS = bench/trivial_authz
bench_trivial_authz_SOURCES = bench/trivial_authz.c
bench_trivial_authz_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_trivial_authz_LDADD = $(FCGI_LIBS)
CLEANFILES += bench/trivial_authz

.PHONY: bench
bench: src/authgw bench/trivial_authz
	AUTHGW_BUILDDIR=$(abs_top_builddir) AUTHGW_SRCDIR=$(abs_top_srcdir) \
	  $(PYTHON3) $(top_srcdir)/bench/check_bench.py $(BENCH_ARGS)
