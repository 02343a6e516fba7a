#!/bin/sh
# The architecture's fitness function: no cycle in "uses a symbol defined
# in" between the modules of src/, read from the built objects with nm
# (build-aux/check-layers.py). On a cycle it prints the modules and one
# path round it, with the symbols on each edge, and fails. The objects are
# the library's members and main's, so a stale object of a removed file in
# a build directory is not read.
set -eu
: "${AUTHGW_BUILDDIR:?}" "${AUTHGW_SRCDIR:?}"
check="$AUTHGW_SRCDIR/build-aux/check-layers.py"

# First, that the check can fail: two objects calling each other.
if command -v cc >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf 'void pong(void);\nvoid ping(void) { pong(); }\n' > "$tmp/ping.c"
	printf 'void ping(void);\nvoid pong(void) { ping(); }\n' > "$tmp/pong.c"
	cc -c -o "$tmp/x-ping.o" "$tmp/ping.c"
	cc -c -o "$tmp/x-pong.o" "$tmp/pong.c"
	if "${PYTHON3:-python3}" "$check" "$tmp/x-ping.o" "$tmp/x-pong.o" \
	    > "$tmp/out"; then
		echo "layers: a known cycle was not reported" >&2
		exit 1
	fi
	grep -q "cycle among 2 modules: ping pong" "$tmp/out"
fi

src="$AUTHGW_BUILDDIR/src"
set -- "$src"/authgw-main.o
for m in $(ar t "$src/libauthgw.a"); do
	set -- "$@" "$src/$m"
done
"${PYTHON3:-python3}" "$check" --graph "$@"
