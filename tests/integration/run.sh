#!/bin/sh
# Run the integration tests: each test_*.py module in its own python3
# process. The last line is "N passed, N failed[, N skipped]"; the exit
# status is non-zero if any test failed.
#   tests/integration/run.sh                    all modules
#   tests/integration/run.sh test_cli           one module
#   tests/integration/run.sh test_nginx.NginxLoginTest.test_json_login
#   AUTHGW_INTEGRATION_MODULES="test_cli test_modes" tests/integration/run.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${AUTHGW_SRCDIR:=$top}"
: "${AUTHGW_BUILDDIR:=$top}"
export AUTHGW_SRCDIR AUTHGW_BUILDDIR
PYTHON3=${PYTHON3:-python3}
export PYTHONDONTWRITEBYTECODE=1

counts=$(mktemp "${TMPDIR:-/tmp}/authgw-counts.XXXXXX") || exit 99
trap 'rm -f "$counts"' EXIT INT TERM

# AUTHGW_INTEGRATION_MODULES (a list of modules) runs only those when no
# module is named: scripts/check.sh's make distcheck runs a few (the whole
# suite ran twice on the same tree before it; distcheck is about the
# tarball, whose file list check.sh compares with git's).
if [ $# -eq 0 ] && [ -n "${AUTHGW_INTEGRATION_MODULES:-}" ]; then
	# shellcheck disable=SC2086
	set -- $AUTHGW_INTEGRATION_MODULES
fi
if [ $# -eq 0 ]; then
	set -- $(cd "$here" && ls test_*.py 2>/dev/null | sed 's/\.py$//')
fi
if [ $# -eq 0 ]; then
	echo "no test modules in $here"
	echo "0 passed, 1 failed"
	exit 1
fi

for m in "$@"; do
	echo "== $m"
	before=$(wc -l < "$counts")
	"$PYTHON3" "$here/harness.py" --run --counts "$counts" "$m"
	rc=$?
	# A module that died without reporting counts as one failure.
	if [ $rc -ne 0 ] && [ "$(wc -l < "$counts")" -eq "$before" ]; then
		echo "0 1 0" >> "$counts"
	fi
done

awk '{ p += $1; f += $2; s += $3 }
END {
	line = p " passed, " f " failed"
	if (s > 0) line = line ", " s " skipped"
	print line
	exit (f > 0 || p + f == 0) ? 1 : 0
}' "$counts"
