#!/bin/sh
# Turn the numbered migrations (sql/NNN_*.sql, in order) into a C array of
# { version, text }. The version is the file's number, so a number may be
# missing (a migration reserved for a branch that has not landed yet):
# the store applies every migration it has not recorded, in order.
#   sql2c.sh [-n NAME] FILE...   NAME: the array's (default migrations)
set -eu
name=migrations
if [ "${1:-}" = "-n" ]; then
	name=$2
	shift 2
fi
echo "/* Generated from the sql/ migrations by build-aux/sql2c.sh: do not edit. */"
echo "static const struct migration {"
echo "	int		 version;"
echo "	const char	*sql;"
echo "} $name[] = {"
last=0
for f in "$@"; do
	b=$(basename "$f")
	n=$(printf '%s\n' "$b" | sed -n 's/^0*\([1-9][0-9]*\)_.*\.sql$/\1/p')
	if [ -z "$n" ] || [ "$n" -le "$last" ]; then
		echo "sql2c.sh: $b: not NNN_name.sql numbered above $last" >&2
		exit 1
	fi
	last=$n
	printf '\t/* %s */\n\t{ %d, ""\n' "$b" "$n"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo "};"
