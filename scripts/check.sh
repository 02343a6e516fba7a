#!/bin/sh
# Run every test: install what is missing (Debian 12, as root), build with
# -Werror and run `make check` (unit, fuzz and integration tests with real
# nginx, lighttpd, Apache and memcached), then the same under ASan/UBSan,
# then `make distcheck`, then the Debian package job (scripts/deb-test.sh:
# build, lintian, install, run the installed files, purge). .ci/run calls
# this.
#   scripts/check.sh [--quick]   --quick: the -Werror build and make check only
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

sh scripts/deps.sh test
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

run_suite() {	# builddir, configure flags...
	dir=$1; shift
	rm -rf "$dir"; mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --enable-werror "$@" >/dev/null &&
	    make -j"$jobs" >/dev/null &&
	    { make -j"$jobs" check || { cat tests/*/test-suite.log test-suite.log 2>/dev/null; exit 1; }; })
}

# Test cases counted over the unit (cmocka) and integration logs of a build.
summary() {
	dir=$1
	cat "$dir"/tests/unit/*.log "$dir"/tests/integration/*.log 2>/dev/null |
	awk '/^\[  PASSED  \] [0-9]+ test/ { p += $4 }
	     /^\[  FAILED  \] [0-9]+ test/ { f += $4 }
	     /^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3 }
	     END { printf "%d %d\n", p, f }'
}

echo "== build with -Werror and run make check"
run_suite "$top/_build/werror"
set -- "${1:-}" $(summary "$top/_build/werror")
if [ "$1" = "--quick" ]; then
	echo "tests: $2 passed, $3 failed"
	exit 0
fi
echo "== ASan + UBSan build and make check"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run_suite "$top/_build/sanitizers" --enable-sanitizers
echo "== make distcheck"
# The tarball builds, installs, uninstalls and passes the unit tests and a
# few integration modules (the whole suite ran twice above on this tree);
# then every tracked file the tests, the program and the package need is
# in it.
(cd "$top/_build/werror" &&
    AUTHGW_INTEGRATION_MODULES="test_modes test_cli test_nginx" \
    make -j"$jobs" distcheck >/dev/null) || {
	echo "make distcheck failed" >&2; exit 1; }
tarball=$(ls "$top"/_build/werror/authgw-*.tar.gz | head -n 1)
listing=$(mktemp)
tar tzf "$tarball" | sed 's|^[^/]*/||' | sort > "$listing"
missing=$(cd "$top" && git ls-files src sql www conf man tests debian \
    bench build-aux | grep -v "/\.gitignore$" | sort | comm -23 - "$listing")
rm -f "$listing"
if [ -n "$missing" ]; then
	echo "not in the tarball:" $missing >&2
	exit 1
fi
echo "distcheck: ok"
echo "== Debian package: build, lintian, install, serve, purge"
sh "$top/scripts/deb-test.sh"
set -- "$1" "$2" "$3" $(summary "$top/_build/sanitizers")
echo "tests: $(($2 + $4)) passed, $(($3 + $5)) failed"
