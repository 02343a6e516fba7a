#!/bin/sh
# Build the libFuzzer harnesses with clang and run each one briefly.
#
#   run.sh              build into a temporary directory, run every harness
#                       for FUZZ_SECONDS (default 10), fail on any crash
#   run.sh --build DIR  only build the harnesses into DIR (make fuzz)
#
# Exits 77 (automake's SKIP) when clang cannot build a fuzzer. Environment:
# CLANG (default clang), FUZZ_SECONDS, FUZZ_JOBS (harnesses run at once,
# default 2), JANSSON_CFLAGS and JANSSON_LIBS (default from pkg-config).
set -u

fuzzdir=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$fuzzdir/../.." && pwd)
src="$top/src"
CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_JOBS=${FUZZ_JOBS:-2}
HARNESSES="urlencoded headers json template config cacheentry"

case $FUZZ_SECONDS in
''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;;
esac
case $FUZZ_JOBS in
''|*[!0-9]*|0) echo "run.sh: FUZZ_JOBS must be a positive number" >&2; exit 2 ;;
esac

if [ -z "${JANSSON_CFLAGS+x}" ]; then
	JANSSON_CFLAGS=$(pkg-config --cflags jansson 2>/dev/null || true)
fi
if [ -z "${JANSSON_LIBS+x}" ]; then
	JANSSON_LIBS=$(pkg-config --libs jansson 2>/dev/null || echo -ljansson)
fi
if [ -z "${OPENSSL_LIBS+x}" ]; then
	OPENSSL_LIBS=$(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
fi

FUZZ_CFLAGS="-std=c11 -g -O1 -D_GNU_SOURCE -fno-omit-frame-pointer \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 -Wall -Wextra -Wno-unused-parameter -I$src"

# The library sources each harness needs (never libauthgw.a: gcc-built).
sources() {
	case $1 in
	urlencoded|headers) echo "$src/parse.c $src/util.c" ;;
	json)		echo "$src/json.c $src/parse.c $src/util.c" ;;
	template)	echo "$src/template.c $src/util.c $src/log.c" ;;
	config)		echo "$src/config.c $src/metrics.c $src/stats.c $src/util.c $src/log.c" ;;
	cacheentry)	echo "$src/cacheentry.c $src/crypto.c $src/util.c" ;;
	esac
}

# A few seed inputs; the dictionaries do the rest.
seed() {
	dir=$1
	mkdir -p "$dir"
	case $2 in
	urlencoded)
		printf 'email=a%%40b.example&password=p+w&next=%%2F' > "$dir/s1"
		printf 'a=1&&b&a=2&c=%%00' > "$dir/s2" ;;
	headers)
		printf 'authgw_sid=abc; a="q"' > "$dir/s1"
		printf 'text/html,application/xml;q=0.9,*/*;q=0.8' > "$dir/s2"
		printf 'http://127.0.0.1:8080\nhttp://127.0.0.1:8080/auth' \
		    > "$dir/s3" ;;
	json)
		printf '{"email":"a@b","password":"x\\u0000","all":true,"n":1.5}' \
		    > "$dir/s1" ;;
	template)
		printf '<p>{{name}} {{csrf}}</p>{{{loop}}}' > "$dir/s1" ;;
	config)
		printf 'workers = 2\n# c\nprefix=/a/\nlog_level = debug\n' \
		    > "$dir/s1"
		printf 'base_url=https://x.example/' > "$dir/s2" ;;
	cacheentry)
		printf '1%031ds2\t%064d\t1\tAAAAAAAAAAAAAAAAAAAAAA\t1\t2\t1\t1\tuser\t1\t0\ta@b.example' 0 0 > "$dir/s1" ;;
	esac
}

build() {
	out=$1
	mkdir -p "$out" || return 1
	for h in $HARNESSES; do
		# shellcheck disable=SC2046,SC2086
		if ! $CLANG $FUZZ_CFLAGS $JANSSON_CFLAGS -o "$out/fuzz_$h" \
		    "$fuzzdir/fuzz_$h.c" $(sources "$h") $JANSSON_LIBS \
		    $OPENSSL_LIBS; then
			echo "run.sh: building fuzz_$h failed" >&2
			return 1
		fi
	done
}

run_one() {
	h=$1
	seed "$tmp/corpus-$h" "$h"
	"$tmp/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=8192 -error_exitcode=1 \
	    -timeout_exitcode=1 -dict="$fuzzdir/$h.dict" \
	    -artifact_prefix="$tmp/crash-$h-" -print_final_stats=1 \
	    "$tmp/corpus-$h" > "$tmp/fuzz_$h.log" 2>&1
	echo $? > "$tmp/fuzz_$h.rc"
}

probe() {
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	    '{ (void)d; (void)n; return 0; }' > "$tmp/probe.c"
	$CLANG -fsanitize=fuzzer,address,undefined -o "$tmp/probe" \
	    "$tmp/probe.c" > "$tmp/probe.log" 2>&1
}

if [ "${1:-}" = --build ]; then
	[ $# -eq 2 ] || { echo "usage: run.sh [--build DIR]" >&2; exit 2; }
	if ! command -v "$CLANG" > /dev/null 2>&1; then
		echo "run.sh: $CLANG not found" >&2
		exit 1
	fi
	build "$2" || exit 1
	for h in $HARNESSES; do
		echo "$2/fuzz_$h -dict=$fuzzdir/$h.dict"
	done
	exit 0
fi

if ! command -v "$CLANG" > /dev/null 2>&1; then
	echo "SKIP: fuzz: $CLANG not found"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/authgw-fuzz.XXXXXX") || exit 1
if ! probe; then
	echo "SKIP: fuzz: $CLANG cannot build with -fsanitize=fuzzer"
	sed 's/^/  /' "$tmp/probe.log"
	rm -rf "$tmp"
	exit 77
fi
build "$tmp" || { rm -rf "$tmp"; exit 1; }

running=0
for h in $HARNESSES; do
	run_one "$h" &
	running=$((running + 1))
	if [ "$running" -ge "$FUZZ_JOBS" ]; then
		wait
		running=0
	fi
done
wait

status=0
for h in $HARNESSES; do
	rc=$(cat "$tmp/fuzz_$h.rc" 2>/dev/null || echo 1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS: fuzz_$h ($FUZZ_SECONDS s," \
		    "$(ls "$tmp/corpus-$h" | wc -l) corpus inputs)"
	else
		echo "FAIL: fuzz_$h (exit $rc)"
		tail -n 60 "$tmp/fuzz_$h.log"
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	echo "run.sh: crash inputs and logs kept in $tmp"
	exit 1
fi
rm -rf "$tmp"
exit 0
