#!/bin/sh
# The store's unit tests against a real PostgreSQL (issue 14): start one
# of our own (tests/pgtest.sh), run test_store and test_store_pg with
# AUTHGW_TEST_PG_URI set, stop it by its pid. Without PostgreSQL: skipped
# (77) on a developer's machine, a failure under CI=true (CI installs it:
# scripts/deps.sh).
set -eu
: "${AUTHGW_BUILDDIR:?}" "${AUTHGW_SRCDIR:?}"
pgtest="$AUTHGW_SRCDIR/tests/pgtest.sh"

if ! sh "$pgtest" bindir >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "store_pg: PostgreSQL is not installed (CI=true: a failure)" >&2
		exit 1
	fi
	echo "store_pg: PostgreSQL is not installed: skipped" >&2
	exit 77
fi
dir=$(mktemp -d /tmp/authgw-pg.XXXXXX)
cleanup() {
	sh "$pgtest" stop "$dir" || :
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
uri=$(sh "$pgtest" start "$dir")
echo "store_pg: $uri"
AUTHGW_TEST_PG_URI=$uri
export AUTHGW_TEST_PG_URI
"$AUTHGW_BUILDDIR/tests/unit/test_store"
"$AUTHGW_BUILDDIR/tests/unit/test_store_pg"
