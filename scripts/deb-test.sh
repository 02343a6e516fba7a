#!/bin/sh
# The Debian package job (issue 15; scripts/check.sh runs it after make
# distcheck). As root on Debian 12; it installs, runs and purges the
# package on this machine:
#  1. builds it (make deb in _build/deb) and runs lintian: no error, no
#     warning;
#  2. installs it with apt and checks what it installed (program, user,
#     directories, conffiles, units; systemd-analyze verify on the units);
#  3. in a network namespace of its own (a loopback of its own: nothing
#     else can be reached or disturbed), starts authgw from the installed
#     files as authgw.service would: its ExecStart, as its User=, without
#     new privileges or capabilities, on a real LISTEN_FDS socket
#     /run/authgw/authgw.sock (systemd-socket-activate; group www-data,
#     0660 as authgw.socket makes it); an nginx with the installed snippet
#     and the protected location its comment shows; an SMTP sink on
#     127.0.0.1:25. Then: the first admin with the installed command line
#     (as root, no -c), a login and a check through nginx, a registration
#     mail sent by msmtp under no-new-privileges, plain CGI finding the
#     compiled-in /etc/authgw/authgw.conf;
#  4. removes the package (database and configuration stay), purges it
#     (nothing left but the system user, which Debian keeps).
# Every process it starts is stopped by its PID. It refuses to start when
# authgw is installed (or its directories exist) without the marker
# /var/lib/authgw/.deb-test it writes at installation: that is a real
# installation, whose database a purge would destroy.
#   scripts/deb-test.sh            the whole job
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/scripts/$(basename "$0")"
marker=/var/lib/authgw/.deb-test

say() { printf 'deb: %s\n' "$*"; }
fail() { printf 'deb: FAILED: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ 3: inside
# Runs in the network namespace (unshare --net), from phase 2.
inside() {
	tmp=$(mktemp -d /tmp/authgw-deb.XXXXXX)
	chmod 0755 "$tmp"
	pids=""
	trap 'stop_all' EXIT
	trap 'exit 1' INT TERM
	ip link set lo up

	unit=/lib/systemd/system/authgw.service
	execstart=$(sed -n 's/^ExecStart=//p' "$unit")
	svc_user=$(sed -n 's/^User=//p' "$unit")
	svc_group=$(sed -n 's/^Group=//p' "$unit")
	[ -n "$execstart" ] && [ -n "$svc_user" ] || fail "no ExecStart or User in $unit"
	sock=$(sed -n 's/^ListenStream=//p' /lib/systemd/system/authgw.socket)
	sock_group=$(sed -n 's/^SocketGroup=//p' /lib/systemd/system/authgw.socket)
	sock_mode=$(sed -n 's/^SocketMode=//p' /lib/systemd/system/authgw.socket)
	[ "$sock" = /run/authgw/authgw.sock ] || fail "authgw.socket listens on $sock"

	# The SMTP sink on the port the packaged mail_command uses.
	write_sink "$tmp/sink.py"
	python3 "$tmp/sink.py" 127.0.0.1 25 "$tmp/mail.out" >"$tmp/sink.log" 2>&1 &
	pids="$pids $!"

	# authgw as the unit runs it. systemd-socket-activate binds the socket,
	# waits for the first connection (as the socket unit does) and execs
	# the rest with LISTEN_FDS=1 and LISTEN_PID its own pid, which stays
	# authgw's master: setpriv only changes the user, drops every
	# capability and sets no_new_privs (the unit's NoNewPrivileges=,
	# CapabilityBoundingSet=) before it execs ExecStart.
	install -d -m 0755 /run/authgw
	# shellcheck disable=SC2086
	(umask 0027; exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    systemd-socket-activate -l "$sock" -- \
	    setpriv --reuid="$svc_user" --regid="${svc_group:-$svc_user}" \
	    --init-groups --no-new-privs --bounding-set=-all -- $execstart) \
	    >"$tmp/authgw.log" 2>&1 &
	authgw_pid=$!
	pids="$pids $authgw_pid"
	wait_for "the socket $sock" test -S "$sock"
	chgrp "$sock_group" "$sock"
	chmod "$sock_mode" "$sock"

	# PHP-FPM's stand-in for PHP under /private/ (the snippet's comment
	# and the site's own regex locations): echoes REMOTE_USER.
	python3 "$top/tests/integration/fcgi_echo.py" "$tmp/php-fpm.sock" \
	    >"$tmp/php.log" 2>&1 &
	pids="$pids $!"
	wait_for "the PHP stand-in" test -S "$tmp/php-fpm.sock"

	start_nginx
	say "$sock (pid $authgw_pid: authgw from the first connection) and nginx (pid $nginx_pid) are up"

	# The first admin: the README's command, as root, without -c.
	printf '%s\n' 'correct horse battery staple' |
	    authgw user add admin@example.org --admin --verified \
	    >"$tmp/cli.log" 2>&1 || fail "authgw user add: $(cat "$tmp/cli.log")"
	authgw user list | grep -q 'admin@example.org' || fail "user list"
	# Root ran the command line: every file beside the database is still
	# the service's (the command dropped to 'user'); the marker aside.
	bad=$(find /var/lib/authgw ! -user "$svc_user" ! -path "$marker" -print)
	[ -z "$bad" ] || fail "not $svc_user's: $bad"

	# The first request through nginx starts authgw (socket activation).
	http_flow
	check_pid_running "$authgw_pid"
	[ "$(readlink "/proc/$authgw_pid/exe")" = /usr/sbin/authgw ] ||
	    fail "pid $authgw_pid is not /usr/sbin/authgw"
	grep -q 'NoNewPrivs:.1' "/proc/$authgw_pid/status" ||
	    fail "authgw runs without no_new_privs"
	[ "$(stat -c %U "/proc/$authgw_pid")" = "$svc_user" ] ||
	    fail "authgw does not run as $svc_user"
	mail_flow
	cgi_flow
	say "installed authgw: login, check, mail and CGI ok"
}

write_sink() {
	cat >"$1" <<'EOF'
import socket, sys
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    f = conn.makefile('rwb')
    def say(line):
        f.write(line.encode() + b'\r\n')
        f.flush()
    say('220 sink ESMTP')
    env, data = [], None
    while True:
        line = f.readline()
        if not line:
            break
        if data is not None:
            if line.rstrip(b'\r\n') == b'.':
                with open(out, 'ab') as o:
                    o.write(b''.join(env) + b''.join(data) + b'\n')
                data = None
                say('250 queued')
            else:
                data.append(line[1:] if line.startswith(b'..') else line)
            continue
        verb = line.split(b' ', 1)[0].split(b':', 1)[0].strip().upper()
        if verb in (b'EHLO', b'HELO'):
            env = []
            say('250 sink')
        elif verb in (b'MAIL', b'RCPT'):
            env.append(b'X-Envelope: ' + line.strip() + b'\n')
            say('250 ok')
        elif verb == b'DATA':
            data = []
            say('354 go on')
        elif verb == b'QUIT':
            say('221 bye')
            break
        else:
            say('250 ok')
    conn.close()
EOF
}

start_nginx() {
	n="$tmp/nginx"
	mkdir -p "$n/root/private" "$n/snippets"
	echo 'public page' >"$n/root/index.html"
	echo 'private page for signed-in users' >"$n/root/private/index.html"
	for f in x.php private/x.php; do echo '<?php' >"$n/root/$f"; done
	echo 'private image' >"$n/root/private/x.png"
	chmod -R a+rX "$n"
	# The snippet includes nginx's fastcgi_params from the configuration's
	# directory, as in /etc/nginx; PHP, Debian's snippet and fastcgi.conf.
	cp /etc/nginx/fastcgi_params /etc/nginx/fastcgi.conf "$n/"
	cp /etc/nginx/snippets/fastcgi-php.conf "$n/snippets/"
	# The protected location exactly as the installed snippet's comment
	# shows it, PHP-FPM's socket aside.
	sed -n '/^#\tlocation ^~ \/private\/ {/,/^#\t}/s/^#//p' \
	    /etc/nginx/snippets/authgw.conf |
	    sed "s|unix:/run/php/php-fpm.sock|unix:$tmp/php-fpm.sock|" \
	    >"$n/private.conf"
	grep -q 'auth_request /auth/check;' "$n/private.conf" ||
	    fail "no protected location in the snippet's comment"
	grep -q "unix:$tmp/php-fpm.sock" "$n/private.conf" ||
	    fail "no PHP location in the snippet's comment"
	cat >"$n/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log notice;
events { worker_connections 64; }
http {
	access_log $n/access.log;
	client_body_temp_path $n/client_body;
	fastcgi_temp_path $n/fastcgi;
	proxy_temp_path $n/proxy;
	scgi_temp_path $n/scgi;
	uwsgi_temp_path $n/uwsgi;
	server {
		listen 127.0.0.1:8080;
		root $n/root;
		index index.html;
		include /etc/nginx/snippets/authgw.conf;
$(cat "$n/private.conf")
		# What a Debian site has besides: the default site's PHP
		# location and a rule for static files. Regex locations, which
		# nginx prefers to a prefix location without ^~.
		location ~ \.php\$ {
			include snippets/fastcgi-php.conf;
			fastcgi_pass unix:$tmp/php-fpm.sock;
		}
		location ~* \.(png|jpg|css|js)\$ {
			expires 7d;
		}
	}
}
EOF
	nginx -t -q -p "$n/" -c "$n/nginx.conf" -e "$n/error.log" ||
	    fail "nginx -t with the installed snippet"
	nginx -p "$n/" -c "$n/nginx.conf" -e "$n/error.log" -g 'daemon off;' \
	    >"$n/stderr.log" 2>&1 &
	nginx_pid=$!
	pids="$pids $nginx_pid"
	wait_for "nginx on 127.0.0.1:8080" \
	    curl -s -o /dev/null http://127.0.0.1:8080/
}

# status URL [curl options...]: the HTTP status; headers in $tmp/h, body
# in $tmp/b.
http() {
	url=$1; shift
	curl -s -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' "$@" \
	    "http://127.0.0.1:8080$url"
}

header() {
	tr -d '\r' <"$tmp/h" | sed -n "s/^$1: //Ip" | head -n 1
}

http_flow() {
	st=$(http /private/ -H 'Accept: text/html')
	[ "$st" = 302 ] || fail "GET /private/ without a session: $st"
	case $(header location) in
	http://127.0.0.1:8080/auth/login\?next=*) ;;
	*) fail "GET /private/: Location $(header location)" ;;
	esac
	st=$(http /auth/login -H 'Content-Type: application/json' \
	    -H 'Accept: application/json' --data-binary \
	    '{"email":"admin@example.org","password":"correct horse battery staple"}')
	[ "$st" = 200 ] || fail "POST /auth/login: $st $(cat "$tmp/b")"
	sid=$(tr -d '\r' <"$tmp/h" | sed -n 's/^[Ss]et-[Cc]ookie: authgw_sid=\([^;]*\);.*/\1/p')
	[ -n "$sid" ] || fail "no authgw_sid cookie: $(cat "$tmp/h")"
	st=$(http /private/ -H "Cookie: authgw_sid=$sid")
	[ "$st" = 200 ] && grep -q 'private page' "$tmp/b" ||
	    fail "GET /private/ signed in: $st"
	st=$(http /auth/check -H "Cookie: authgw_sid=$sid")
	[ "$st" = 200 ] && [ "$(header x-auth-user)" = admin@example.org ] ||
	    fail "GET /auth/check: $st $(header x-auth-user)"
	st=$(http /auth/check -H 'Cookie: authgw_sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
	[ "$st" = 401 ] || fail "GET /auth/check with a forged cookie: $st"
	# An API token made with the installed command line (as root).
	tok=$(authgw token add admin@example.org deb-test 2>"$tmp/cli.log") ||
	    fail "authgw token add: $(cat "$tmp/cli.log")"
	st=$(http /private/ -H "Authorization: Bearer $tok")
	[ "$st" = 200 ] || fail "GET /private/ with the token: $st"
	st=$(http /private/ -H 'Accept: text/html' \
	    -H 'Authorization: Bearer agw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
	[ "$st" = 401 ] && [ -n "$(header www-authenticate)" ] ||
	    fail "GET /private/ with an unknown token: $st (want 401 + WWW-Authenticate)"
	# Under the site's regex locations (.php, .png) too: the snippet's
	# ^~ keeps them out of /private/, and the nested PHP location hands
	# the checked user on, not the client's own Basic name.
	st=$(http /x.php)
	[ "$st" = 200 ] && grep -q '^SCRIPT_NAME=/x.php$' "$tmp/b" ||
	    fail "GET /x.php (the site's PHP location): $st"
	for p in /private/x.php /private/x.png; do
		st=$(http "$p" -H 'Accept: text/html')
		[ "$st" = 302 ] || [ "$st" = 401 ] ||
		    fail "GET $p without a session: $st"
	done
	st=$(http /private/x.png -H "Cookie: authgw_sid=$sid")
	[ "$st" = 200 ] && grep -q 'private image' "$tmp/b" ||
	    fail "GET /private/x.png signed in: $st"
	st=$(http /private/x.php -H "Cookie: authgw_sid=$sid" -u 'mallory@example.org:x')
	[ "$st" = 200 ] && grep -q '^REMOTE_USER=admin@example.org$' "$tmp/b" ||
	    fail "GET /private/x.php signed in with Basic mallory: $st $(cat "$tmp/b")"
	say "nginx with /etc/nginx/snippets/authgw.conf: 302 to the login page, login, 200 signed in, API token; .php and .png under /private/ checked, PHP sees the checked user"
}

mail_flow() {
	st=$(http /auth/register -H 'Content-Type: application/json' \
	    -H 'Accept: application/json' --data-binary \
	    '{"email":"new@example.org","password":"another long passphrase"}')
	[ "$st" = 202 ] || fail "POST /auth/register: $st $(cat "$tmp/b")"
	# The master's maintenance (every 5 s by default) runs msmtp.
	wait_for "the verification mail at the SMTP sink" \
	    grep -q '^To: new@example.org' "$tmp/mail.out"
	grep -q '^http://127.0.0.1:8080/auth/verify?token=' "$tmp/mail.out" ||
	    fail "no verification link in the mail"
	grep -q '^X-Envelope: MAIL FROM:<authgw@localhost>' "$tmp/mail.out" ||
	    fail "envelope sender is not mail_from: $(grep X-Envelope "$tmp/mail.out")"
	say "mail: msmtp (no new privileges, as $svc_user) delivered the verification mail over SMTP"
}

cgi_flow() {
	out=$(env -i PATH=/usr/bin:/bin GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SCRIPT_NAME=/auth/healthz REQUEST_URI=/auth/healthz \
	    SERVER_NAME=127.0.0.1 SERVER_PORT=8080 REMOTE_ADDR=127.0.0.1 \
	    setpriv --reuid="$svc_user" --regid="${svc_group:-$svc_user}" \
	    --init-groups /usr/sbin/authgw 2>"$tmp/cgi.err") ||
	    fail "CGI run: $(cat "$tmp/cgi.err")"
	case $out in
	*'"sqlite":"ok"'*) ;;
	*) fail "CGI /auth/healthz: $out $(cat "$tmp/cgi.err")" ;;
	esac
	say "plain CGI read /etc/authgw/authgw.conf (compiled in) and the database"
}

check_pid_running() {
	kill -0 "$1" 2>/dev/null || fail "process $1 is gone"
}

wait_for() {	# what, command...
	what=$1; shift
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 200 ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}

# Stop what this script started, by PID: SIGTERM, then SIGKILL after 15 s.
stop_all() {
	rc=$?
	trap - EXIT
	if [ "$rc" != 0 ] && [ -n "${tmp:-}" ]; then
		for f in authgw.log sink.log nginx/error.log nginx/stderr.log \
		    mail.out; do
			[ -s "$tmp/$f" ] && { echo "--- $f"; tail -n 40 "$tmp/$f"; }
		done >&2
	fi
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf /run/authgw
	[ -n "${tmp:-}" ] && rm -rf "$tmp"
	exit "$rc"
}

# ------------------------------------------------------- 1, 2, 4: outside

# apt-get quietly; its output only when it fails.
apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" \
	    >"$top/_build/deb/apt.log" 2>&1 ||
	    { cat "$top/_build/deb/apt.log" >&2; fail "apt-get $*"; }
}

build_and_lint() {
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1)
	rm -rf "$top/_build/deb"
	mkdir -p "$top/_build/deb"
	cd "$top/_build/deb"
	"$top/configure" >/dev/null
	make deb >build.log 2>&1 || { tail -n 40 build.log >&2; fail "make deb"; }
	deb=$(ls "$top"/_build/deb/authgw_*.deb)
	say "built $(basename "$deb") (make deb; log in _build/deb/build.log)"
	echo "== lintian -I --pedantic $(basename "$deb" .deb | sed 's/_[^_]*$//')_*.changes"
	lintian -I --pedantic --fail-on error,warning authgw_*.changes ||
	    fail "lintian reports an error or a warning"
	say "lintian: no error, no warning"
}

# A real installation (the package in any state dpkg knows, or authgw's
# directories) without this job's marker: refuse, before anything is
# built, installed or purged. With the marker, an earlier run of this job
# was interrupted: install_and_check purges what it left.
guard_real_install() {
	[ -e "$marker" ] && return 0
	known=$(dpkg-query -W -f='${db:Status-Status}' authgw 2>/dev/null || true)
	if [ -n "$known" ] && [ "$known" != not-installed ]; then
		fail "authgw is on this machine ($known) and this job did not install it (no $marker): it would purge it, database included. Run the job elsewhere, or purge authgw yourself first"
	fi
	for d in /var/lib/authgw /etc/authgw /run/authgw; do
		[ ! -e "$d" ] ||
		    fail "$d exists and this job did not make it (no $marker): it would remove it. Run the job elsewhere, or remove it yourself first"
	done
}

# dpkg -i again (a reinstall runs postinst configure), quietly.
dpkg_reinstall() {
	dpkg -i "$deb" >"$top/_build/deb/dpkg.log" 2>&1 ||
	    { cat "$top/_build/deb/dpkg.log" >&2; fail "dpkg -i $deb"; }
}

install_and_check() {
	# What an earlier, interrupted run left (guard_real_install saw the
	# marker).
	if dpkg-query -W authgw >/dev/null 2>&1; then
		apt_get purge authgw
	fi
	rm -rf /var/lib/authgw /etc/authgw /run/authgw
	for f in /var/lib/authgw /etc/authgw/authgw.conf; do
		dpkg-statoverride --quiet --remove "$f" 2>/dev/null || true
	done
	apt_get install "$deb"
	touch "$marker"
	chown authgw:authgw "$marker"
	# Where systemd runs, the package started its units: this job runs
	# authgw itself.
	if [ -d /run/systemd/system ]; then
		systemctl stop authgw.service authgw.socket
	fi
	for f in /usr/sbin/authgw /lib/systemd/system/authgw.socket \
	    /lib/systemd/system/authgw.service \
	    /usr/share/man/man8/authgw.8.gz /usr/share/man/man5/authgw.conf.5.gz \
	    /usr/share/authgw/www/login.html /usr/share/authgw/conf/nginx.conf; do
		[ -e "$f" ] || fail "not installed: $f"
	done
	for f in /etc/authgw/authgw.conf /etc/nginx/snippets/authgw.conf \
	    /etc/lighttpd/conf-available/20-authgw.conf \
	    /etc/apache2/conf-available/authgw.conf; do
		dpkg-query -W -f='${Conffiles}\n' authgw | grep -q " $f " ||
		    fail "not a conffile: $f"
	done
	getent passwd authgw | grep -q ':/var/lib/authgw:/usr/sbin/nologin$' ||
	    fail "no system user authgw"
	[ "$(stat -c '%a %U %G' /var/lib/authgw)" = "750 authgw authgw" ] ||
	    fail "/var/lib/authgw: $(stat -c '%a %U %G' /var/lib/authgw)"
	# The configuration may hold a database password: root and the
	# service's group (the service reads it as authgw, the command line
	# as root).
	[ "$(stat -c '%a %U %G' /etc/authgw/authgw.conf)" = "640 root authgw" ] ||
	    fail "/etc/authgw/authgw.conf: $(stat -c '%a %U %G' /etc/authgw/authgw.conf)"
	# An existing directory and configuration are put right at the next
	# configure, unless dpkg-statoverride says otherwise.
	chown root:root /var/lib/authgw /etc/authgw/authgw.conf
	chmod 0755 /var/lib/authgw
	chmod 0644 /etc/authgw/authgw.conf
	dpkg_reinstall
	[ "$(stat -c '%a %U %G' /var/lib/authgw)" = "750 authgw authgw" ] ||
	    fail "reinstalled: /var/lib/authgw: $(stat -c '%a %U %G' /var/lib/authgw)"
	[ "$(stat -c '%a %U %G' /etc/authgw/authgw.conf)" = "640 root authgw" ] ||
	    fail "reinstalled: /etc/authgw/authgw.conf: $(stat -c '%a %U %G' /etc/authgw/authgw.conf)"
	dpkg-statoverride --add authgw root 0700 /var/lib/authgw
	dpkg-statoverride --add root root 0600 /etc/authgw/authgw.conf
	chown authgw:root /var/lib/authgw
	chmod 0700 /var/lib/authgw
	chown root:root /etc/authgw/authgw.conf
	chmod 0600 /etc/authgw/authgw.conf
	dpkg_reinstall
	got="$(stat -c '%a %U %G' /var/lib/authgw) $(stat -c '%a %U %G' /etc/authgw/authgw.conf)"
	dpkg-statoverride --remove /var/lib/authgw
	dpkg-statoverride --remove /etc/authgw/authgw.conf
	[ "$got" = "700 authgw root 600 root root" ] ||
	    fail "postinst overrode dpkg-statoverride: $got"
	dpkg_reinstall
	say "postinst: /var/lib/authgw and authgw.conf put right when reinstalled, dpkg-statoverride honoured"
	/usr/sbin/authgw check-config | grep -q '^# effective configuration of /etc/authgw/authgw.conf' ||
	    fail "the default configuration is not /etc/authgw/authgw.conf"
	# The units' Documentation= pages, found where man looks (man -w
	# formats nothing; systemd-analyze's own man check would leave cat
	# pages in /var/cache/man).
	if command -v man >/dev/null 2>&1; then
		man -w 8 authgw >/dev/null && man -w 5 authgw.conf >/dev/null ||
		    fail "man authgw(8), authgw.conf(5)"
	fi
	if command -v systemd-analyze >/dev/null 2>&1; then
		systemd-analyze verify --man=no \
		    /lib/systemd/system/authgw.socket \
		    /lib/systemd/system/authgw.service ||
		    fail "systemd-analyze verify"
		say "systemd-analyze verify: the units are clean"
	else
		say "systemd-analyze is not installed: units not verified"
	fi
	# lighttpd's and Apache's own checks of the installed files, when
	# those servers are installed (the integration tests run both).
	if command -v lighttpd >/dev/null 2>&1; then
		lt=$(mktemp -d /tmp/authgw-lt.XXXXXX)
		printf 'server.document-root = "%s"\nserver.port = 8080\nserver.modules += ( "mod_fastcgi" )\ninclude "/etc/lighttpd/conf-available/20-authgw.conf"\n' \
		    "$lt" >"$lt/lighttpd.conf"
		lighttpd -tt -f "$lt/lighttpd.conf" >"$lt/out" 2>&1 ||
		    { cat "$lt/out" >&2; rm -rf "$lt"; fail "lighttpd -tt"; }
		rm -rf "$lt"
		say "lighttpd -tt accepts conf-available/20-authgw.conf"
	fi
	mods=/usr/lib/apache2/modules
	if command -v apache2 >/dev/null 2>&1 && [ -f "$mods/mod_authnz_fcgi.so" ]; then
		ap=$(mktemp -d /tmp/authgw-ap.XXXXXX)
		{
			printf 'ServerRoot "%s"
PidFile "%s/pid"
ErrorLog "%s/error.log"
' \
			    "$ap" "$ap" "$ap"
			printf 'DefaultRuntimeDir "%s"
Listen 127.0.0.1:8080
ServerName localhost
' "$ap"
			for m in mpm_prefork authn_core authz_core authz_user \
			    authnz_fcgi proxy proxy_fcgi; do
				printf 'LoadModule %s_module %s/mod_%s.so
' "$m" "$mods" "$m"
			done
			echo 'Include /etc/apache2/conf-available/authgw.conf'
		} >"$ap/httpd.conf"
		apache2 -t -f "$ap/httpd.conf" >"$ap/out" 2>&1 ||
		    { cat "$ap/out" >&2; rm -rf "$ap"; fail "apache2 -t"; }
		rm -rf "$ap"
		say "apache2 -t accepts conf-available/authgw.conf"
	fi
	say "installed: program, conffiles, user authgw, /var/lib/authgw 0750"
}

remove_and_purge() {
	apt_get remove authgw
	[ ! -e /usr/sbin/authgw ] || fail "removed, /usr/sbin/authgw is still there"
	[ -f /etc/authgw/authgw.conf ] || fail "removed, the configuration is gone"
	[ -f /var/lib/authgw/authgw.db ] || fail "removed, the database is gone"
	say "removed: database and configuration kept"
	apt_get purge authgw
	left=$(find /etc /lib /usr /var /run \( -path "$top" -o -path /proc \) \
	    -prune -o -name '*authgw*' -print 2>/dev/null || true)
	[ -z "$left" ] || fail "purged, still there: $left"
	getent passwd authgw >/dev/null ||
	    fail "purged: the system user authgw is gone (Debian keeps it)"
	say "purged: nothing left but the system user authgw, which Debian keeps"
}

case ${1:-} in
--inside)
	inside
	exit 0
	;;
"") ;;
*) echo "usage: $0" >&2; exit 64 ;;
esac

[ "$(id -u)" = 0 ] || fail "run as root: it installs and purges the package"
guard_real_install
sh "$top/scripts/deps.sh" deb
unshare --net true 2>/dev/null ||
    fail "cannot make a network namespace (unshare --net): the job runs authgw, nginx and an SMTP sink on a loopback of their own"
build_and_lint
install_and_check
unshare --net sh "$self" --inside || {
	apt-get purge -y -qq authgw >/dev/null 2>&1 || true
	fail "the installed package does not serve"
}
remove_and_purge
say "package job: ok"
