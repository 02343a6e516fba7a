#!/bin/sh
# Install what authgw needs to build and test, on Debian 12, when missing.
# Usage: scripts/deps.sh [build|test|demo|deb]   (default: test)
set -eu

build="build-essential autoconf automake pkg-config libfcgi-dev
libsqlite3-dev libpq-dev libmemcached-dev libssl-dev libjansson-dev libcmocka-dev
libqrencode-dev"
test="$build sqlite3 postgresql python3 nginx-light lighttpd apache2
libapache2-mod-fcgid spawn-fcgi memcached curl clang libclang-rt-14-dev
msmtp chromium fail2ban wrk zbar-tools"
demo="$build nginx-light memcached"
# The Debian package job (scripts/deb-test.sh): building it, lintian, and
# running the installed package (systemd for systemd-socket-activate and
# systemd-analyze, iproute2 for the loopback of its network namespace,
# msmtp for the packaged mail_command).
deb="$build debhelper lintian dpkg-dev python3 nginx-light curl msmtp
systemd iproute2 adduser"

case "${1:-test}" in
build) want=$build ;;
test) want=$test ;;
demo) want=$demo ;;
deb) want=$deb ;;
*) echo "usage: $0 [build|test|demo|deb]" >&2; exit 64 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
# Installing a web server must not start it on port 80 here.
cleanup_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	cleanup_policy=yes
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
[ -n "$cleanup_policy" ] && rm -f /usr/sbin/policy-rc.d
exit 0
