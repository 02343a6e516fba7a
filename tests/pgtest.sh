#!/bin/sh
# A throw-away PostgreSQL server for the tests (issue 14), run as the
# postgres user (we may be root): initdb into DIR, fsync off, no TCP, its
# unix socket in DIR; a database "authgw".
#   tests/pgtest.sh start DIR   prints the connection URI on stdout
#   tests/pgtest.sh stop DIR    stops it by the pid in DIR/postmaster.pid
#   tests/pgtest.sh bindir      prints where the server binaries are, or fails
# Exit status 77 (the Automake skip) when PostgreSQL is not installed.
set -eu

bindir() {
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/postgres" ] && last=$d
	done
	[ -n "${last:-}" ] || return 1
	echo "$last"
}

as_pg() {	# run a command as the postgres user when we are root
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
case "$cmd" in
bindir)
	bindir
	exit
	;;
start|stop) [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 64; } ;;
*) echo "usage: $0 start|stop DIR | bindir" >&2; exit 64 ;;
esac

if [ "$cmd" = stop ]; then
	pidfile="$dir/data/postmaster.pid"
	[ -f "$pidfile" ] || exit 0
	pid=$(head -n 1 "$pidfile")
	# Fast shutdown of this server only (SIGINT), by its pid.
	kill -INT "$pid" 2>/dev/null || exit 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	exit 0
fi

bin=$(bindir) || { echo "pgtest: PostgreSQL is not installed" >&2; exit 77; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
	cat "$dir/initdb.log" >&2; exit 1; }
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=50" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
as_pg "$bin/createdb" -h "$dir" -U postgres authgw
# The URI: the socket directory as host, percent-encoded.
host=$(printf '%s' "$dir" | sed 's,/,%2F,g')
echo "postgresql://postgres@$host/authgw"
