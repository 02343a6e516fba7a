# make bench: benchmarks (not part of make check; timings are never tested).
EXTRA_PROGRAMS = bench/trivial_authz
bench_trivial_authz_SOURCES = bench/trivial_authz.c
bench_trivial_authz_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_trivial_authz_LDADD = $(FCGI_LIBS)
CLEANFILES += bench/trivial_authz

# What the host-wide bound on password hashing costs (src/hashslot.c).
EXTRA_PROGRAMS += bench/hashslot_bench
bench_hashslot_bench_SOURCES = bench/hashslot_bench.c
bench_hashslot_bench_LDADD = src/libauthgw.a
CLEANFILES += bench/hashslot_bench

.PHONY: bench
bench: src/authgw bench/trivial_authz bench/hashslot_bench
	bench/hashslot_bench
	AUTHGW_BUILDDIR=$(abs_top_builddir) AUTHGW_SRCDIR=$(abs_top_srcdir) \
	  $(PYTHON3) $(top_srcdir)/bench/check_bench.py $(BENCH_ARGS)
	$(MAKE) $(AM_MAKEFLAGS) cgibench

# make cgibench: /check as a plain CGI program, spawned as a web server
# does, beside /bin/true spawned the same way (bench/cgi_bench.py, issue 12).
EXTRA_DIST += bench/cgi_bench.py
.PHONY: cgibench
cgibench: src/authgw
	AUTHGW_BUILDDIR=$(abs_top_builddir) AUTHGW_SRCDIR=$(abs_top_srcdir) \
	  $(PYTHON3) $(top_srcdir)/bench/cgi_bench.py $(CGIBENCH_ARGS)

# make faultbench: one fault at a time under wrk load on /check through
# nginx (bench/faultbench.py, issue 11); runs as root (it mounts a tmpfs).
EXTRA_DIST += bench/faultbench.py
.PHONY: faultbench
faultbench: src/authgw
	AUTHGW_BUILDDIR=$(abs_top_builddir) AUTHGW_SRCDIR=$(abs_top_srcdir) \
	  $(PYTHON3) $(top_srcdir)/bench/faultbench.py $(FAULTBENCH_ARGS)
