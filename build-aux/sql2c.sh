#!/bin/sh
# Turn the numbered migrations (sql/NNN_*.sql, in order) into a C array.
set -eu
echo "/* Generated from the sql/ migrations by build-aux/sql2c.sh: do not edit. */"
echo "static const char *const migrations[] = {"
for f in "$@"; do
	printf '\t/* %s */\n\t""\n' "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$f"
	printf '\t,\n'
done
echo "};"
