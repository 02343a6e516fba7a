#!/usr/bin/env python3
"""authgw benchmarks through nginx auth_request, lighttpd's FastCGI
authorizer and Apache's mod_authnz_fcgi, measured with wrk on loopback,
every figure beside a baseline measured in the same run.

The scenarios come in groups (--only GROUP[,GROUP...]; default all); each
group brings its baseline, and a row shared by two groups is set up and
measured once. A group whose web server or module is not installed (or,
for microcache, an authgw without check_cache) is skipped with a one-line
message, as the integration tests skip.

checks: every scenario runs the shipped conf/nginx.conf (rendered by the
test harness, plus one `return 204` location for the web-server ceiling);
only what auth_request talks to, and authgw's configuration, change:

  nginx-204      GET /bench204   nginx `return 204` (web server ceiling)
  trivial        GET /private/   auth_request to bench/trivial_authz, which
                                 always says 200: the ceiling of any FastCGI
                                 authorizer, and the baseline of the ratios
  authgw-mc      GET /private/   authgw, memcached configured (host table
                                 in front of it)
  authgw-token   GET /private/   the authgw-mc authgw, with an API token as
                                 `Authorization: Bearer` instead of the
                                 cookie; ratio to authgw-mc (target >= 0.9)
  authgw-local   GET /private/   authgw, no memcached (host table, SQLite)
  authgw-mc-down GET /private/   authgw, memcached configured but down
  authgw-sqlite  GET /private/   authgw, every cache off (SQLite per check)
  login-429      POST /auth/login  wrong password on a locked account
                                 (refused before hashing); ratio to authgw-mc
  login-ok       POST /auth/login  correct logins at the default scrypt cost,
                                 as many connections as hash slots (more
                                 would be answered 503 by the hashing bound)

microcache: nginx's fastcgi_cache on the check location (SPEC 5,
"Micro-cache"): the bench template with the recipe conf/nginx.conf ships
commented turned on as its comment says (the "#cache " lines uncommented,
as tests/integration/test_microcache.py does: the key is the query, the
session cookie and Authorization; Cache-Control and Expires ignored so
that authgw's X-Accel-Expires decides; an empty key and X-Auth-Passive
neither read nor fill it), the cache directory on /dev/shm (a tmpfs, as
the recipe asks), with its baselines of the checks group:

  nginx-204, trivial, authgw-mc      as above
  authgw-microcache GET /private/   authgw with check_cache = 1 and
                                 memcached behind that nginx; the set-up
                                 checks that repeated requests do not reach
                                 authgw, and the table says how many checks
                                 authgw answered per request. Target:
                                 >= 3 x trivial's req/s

lighttpd: the shipped conf/lighttpd.conf rendered as
tests/integration/test_lighttpd.py renders it (variant 1: authgw on its
unix socket; mod_fastcgi's default parameters, "mode" => "authorizer" on
/private/), one lighttpd per authorizer:

  lighttpd-static  GET /index.html   lighttpd alone (ceiling)
  lighttpd-trivial GET /private/secret.txt  bench/trivial_authz as the
                                 authorizer (it answers the Variable-*
                                 headers in that role, as authgw does): the
                                 baseline
  lighttpd-authgw  GET /private/secret.txt  authgw, memcached configured.
                                 Targets: >= 0.9 x the baseline's req/s,
                                 p99 <= 1.5 x

apache: Apache httpd with the shipped conf/apache-authnz-fcgi.conf, set up
as tests/integration/test_apache.py sets it up (its generated httpd.conf,
mod_authnz_fcgi's check over TCP, authgw and trivial_authz listening on
127.0.0.1), and the test harness's MPM, prefork with MaxRequestWorkers 16,
one child per wrk connection; unlike the harness, the pool is held at 16
children (APACHE_POOL) so that it does not shrink while the other rows run:

  apache-static    GET /index.html   Apache alone (ceiling)
  apache-trivial   GET /private/secret.txt  trivial_authz as the
                                 authenticator: the baseline
  apache-authgw    GET /private/secret.txt  authgw, memcached configured.
                                 Targets as for lighttpd

In these three groups the ratios are the median over the rounds of each
round's ratio (a row against its baseline measured in the same round).

flood: in a table of its own, /check under a login flood (SPEC 5, issue
11), on one more authgw (memcached, the default scrypt cost N=2^15, r=8,
p=3, authgw's default of 4 workers, hash_slots and hash_queue automatic):

  flood-quiet    GET /private/   wrk alone, saturating (as the rows above)
  flood-check    GET /private/   the same wrk while a second load generator
                                 (an asyncio loop in this process) sends
                                 logins through the same nginx
  paced-quiet    GET /private/   wrk alone, each connection waiting before
                                 each request, so that the offered rate is
                                 about --pace (0.3) of what the saturating
                                 wrk reached in the set-up: a server with
                                 headroom, where latency is service time
                                 rather than queueing
  paced-check    GET /private/   the same paced wrk under the same flood

The flood is open loop (a fixed rate, not slowed by the answers) at
--flood-factor (10) times the hashing capacity = hash slots / seconds per
hash; the seconds per hash are measured in the run (the median of the
set-up's sequential wrong-password logins, one scrypt each, on the idle
instance). It cycles through four kinds of login that all reach the
hashing bound: an unknown user (the dummy hash), a wrong password, the
right password, an unverified account (403); login_max_per_account is
raised so that none of these is refused 429 before hashing (the worst case
for the bound: as many accounts as the attacker likes). Each comes from an
address of its own in 127.0.0.0/8 (the socket is bound to it, and nginx
passes it on as REMOTE_ADDR), so login_max_per_ip (default) never refuses
them either. On top of these, a fifth as many come from one address the
set-up put over its limit: 429 before any hashing. The flood starts a
second before the flooded wrk and stops with it; every login is answered
or given up after 30 s. Reported: the answers by status (with their median
and slowest times), the 429s and 503s without `Retry-After` (`1` for a
503), logins slower than 5 s, unanswered ones, the hashes done per second
while flooded. Failed checks are wrk's non-2xx answers and socket errors (a
check slower than wrk's 2 s time-out is one). Each flooded row's p99 is
compared to the quiet row of the same shape in the same round; the median
of those ratios is the figure against the target (<= 2).

hosts: several hosts on PostgreSQL (SPEC 8, issue 14). The bench starts
a throw-away PostgreSQL (tests/pgtest.sh, as tests/integration/test_hosts.py
does: fsync off, a unix socket); every authgw of the group is a "host" in a
directory of its own with its own cache_file, all on that one database
(sessions are made with scrypt N=2^4, r=1, p=1: checks never hash). In the
checks group's nginx (the shipped conf/nginx.conf), in the same rounds:

  trivial        the do-nothing authorizer, as above: the baseline
  authgw-mc      as above (SQLite, memcached, host table warm)
  pg-mc          the same on PostgreSQL: memcached configured, host table
                 warm (trusted while the host's listener beats). Target for
                 both: >= 0.9 x trivial's req/s
  pg-cold        GET /private/index.html (the file: /private/ checks twice,
                 as index's internal redirect runs auth_request again, and
                 the second check would find the entry the first just made)
                 on PostgreSQL, no memcached, the host table cold: wrk (a
                 Lua script) rotates over --sessions sessions spread over
                 users of 100 each, with cache_local_ttl = 1 (a table entry
                 lives under 1 s: the table holds whole seconds), so that
                 each session comes round after its entry expired, as
                 cgi_bench's mc-cold rows do; every check goes to PostgreSQL
  pg-cold-mc     the same sessions on a host with a memcached of its own,
                 warmed (each session checked once in the set-up): each
                 check misses the table and is answered by memcached

The cold table's baseline is pg-cold: pg-cold-mc's ratio to it is what
memcached pays with PostgreSQL behind it. The run counts memcached's
get_hits during pg-cold-mc's rounds and each host's table hits (authgw's
cache_hits minus memcached's), so the report shows how cold the table was.

Then, with nothing else running, the logout propagation delay across two
hosts (SPEC 8: < 1 s): hosts A and B on the database; --prop-sessions (200)
times: log in on A, check on B over FastCGI until it answers
X-Auth-Source: cache (B's table holds the session: only B's listener can
take it out), log out on A (POST /auth/logout, FastCGI), then check on B
over FastCGI back to back until it answers 401. The delay is from A's
answer to B's first 401 (its resolution is one check's round trip, shown).
Reported: N, p50, p99 (nearest rank), max, and the checks B answered 200
meanwhile; once without memcached and once with a memcached on both hosts
(the logout also writes the tombstone). The table header repeats the
command line; the group takes about 5 x rounds x seconds plus a minute.

Usage: bench/check_bench.py [--seconds N] [--connections N] [--workers N]
                            [--rounds N] [--only GROUP[,GROUP...]]
                            [--flood-workers N] [--flood-factor X]
                            [--pace F] [--sessions N] [--prop-sessions N]
GROUP: checks, microcache, lighttpd, apache, flood, hosts.
Needs a built tree (AUTHGW_BUILDDIR), memcached and wrk; nginx, lighttpd,
Apache (apache2 with mod_authnz_fcgi, mod_proxy_fcgi, mpm_prefork) for
their groups; PostgreSQL (Debian's postgresql) for hosts.
"""

import argparse
import asyncio
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))
import harness  # noqa: E402

USER = 'bench@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'bench-password'


def server_version(name):
    """'1.22.1' from `nginx -v`, `lighttpd -v`, `apache2 -v`, or '?'."""
    path = harness.find_program(name)
    try:
        r = subprocess.run([path, '-v'], capture_output=True, text=True,
                           timeout=10)
    except (OSError, TypeError, subprocess.SubprocessError):
        return '?'
    m = re.search(r'/(\d+\.\d+\.\d+)', r.stdout + r.stderr)
    return m.group(1) if m else '?'


def wrk(url, seconds, conns, cookie=None, lua=None):
    """One wrk run; requests/s, p50 and p99 (microseconds), non-2xx."""
    argv = ['wrk', '-t1', '-c%d' % conns, '-d%ds' % seconds, '--latency']
    if cookie:      # a cookie's value, or a whole header line
        argv += ['-H', cookie if cookie.startswith('Authorization: ')
                 else 'Cookie: ' + cookie]
    if lua:
        argv += ['-s', lua]
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    m = re.search(r'Requests/sec:\s+([\d.]+)', out)
    if m is None:
        sys.exit('wrk failed:\n' + out)
    lat = {}
    for pct in ('50', '99'):
        m2 = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$' % pct, out, re.M)
        lat[pct] = float(m2.group(1)) * {'us': 1, 'ms': 1000,
                                         's': 1000000}[m2.group(2)]
    bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    total = re.search(r'(\d+) requests in', out)
    sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+),'
                     r' timeout (\d+)', out)
    return {'rps': float(m.group(1)), 'p50': lat['50'], 'p99': lat['99'],
            'non2xx': int(bad.group(1)) if bad else 0,
            'errors': sum(int(x) for x in sock.groups()) if sock else 0,
            'requests': int(total.group(1)) if total else 0}


def bench_template(tmp):
    """conf/nginx.conf plus a `return 204` location."""
    with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
        text = f.read()
    marker = '\t\tinclude snippets/authgw.conf;'
    if marker not in text:
        sys.exit('conf/nginx.conf changed: no "include snippets/authgw.conf;"'
                 ' line')
    text = text.replace(marker, '\t\tlocation = /bench204 {\n'
                        '\t\t\taccess_log off;\n\t\t\treturn 204;\n\t\t}\n\n'
                        + marker, 1)
    path = os.path.join(tmp, 'nginx-bench.conf')
    with open(path, 'w') as f:
        f.write(text)
    return path


def shm_dir():
    """A tmpfs for nginx's check cache (SPEC 5: the cache holds live
    credentials as its keys; in memory, never on disk)."""
    for d in ('/dev/shm', '/run/shm'):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return d
    return None         # tempfile's default; said in the report


def lua_post(tmp, name, body):
    path = os.path.join(tmp, name + '.lua')
    with open(path, 'w') as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Accept"] = "application/json"\n'
                % json.dumps(json.dumps(body)))
    return path


# The hosts group: sessions are made by the thousand, and checks never
# hash, so its hosts hash at a token cost.
PG_SCRYPT = {'scrypt_log2n': 4, 'scrypt_r': 1, 'scrypt_p': 1}
COLD_TTL = 1            # cache_local_ttl of the cold rows
COLD_PER_USER = 100     # sessions per user (max_sessions_per_user's default)
PROP_LIMIT = 5.0        # a logout not refused on B after this is counted


def pg_bindir():
    """PostgreSQL's server binaries (tests/pgtest.sh bindir), or None."""
    r = subprocess.run(['sh', os.path.join(harness.SRC_DIR, 'tests',
                                           'pgtest.sh'), 'bindir'],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def pg_version():
    try:
        out = subprocess.run([os.path.join(pg_bindir(), 'postgres'),
                              '--version'], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, TypeError, subprocess.SubprocessError):
        return '?'
    m = re.search(r'(\d+(?:\.\d+)*)', out)
    return m.group(1) if m else '?'


def lua_rotate(tmp, name, cookies):
    """A wrk script sending the Cookie headers of `cookies` in turn (one
    Lua state with -t1: every connection takes the next), the requests
    formatted once in init."""
    listing = os.path.join(tmp, name + '.cookies')
    with open(listing, 'w') as f:
        f.write(''.join(c + '\n' for c in cookies))
    path = os.path.join(tmp, name + '.lua')
    with open(path, 'w') as f:
        f.write('local cookies, reqs, i = {}, {}, 0\n'
                'for line in io.lines(%s) do cookies[#cookies + 1] = line '
                'end\n'
                'function init(args)\n'
                '\tfor k, c in ipairs(cookies) do\n'
                '\t\treqs[k] = wrk.format(nil, nil, {Cookie = c})\n'
                '\tend\nend\n'
                'function request()\n'
                '\ti = i %% #reqs + 1\n\treturn reqs[i]\nend\n'
                % json.dumps(listing))
    return path


def mc_get_hits(mc):
    for line in mc.command('stats').splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == 'get_hits':
            return int(parts[2])
    return 0


def nearest_rank(values, pct):
    s = sorted(values)
    return s[max(0, math.ceil(pct / 100 * len(s)) - 1)]


FLOOD_USER = 'flood@example.com'        # right and wrong passwords
UNVERIFIED = 'unverified@example.com'   # right password, 403
LOCKED_ADDR = '127.255.255.254'         # over login_max_per_ip: 429
HANG = 30.0             # a login unanswered this long is given up
SLOW = 5.0              # a login slower than this is counted as slow


def hash_bound(workers):
    """The hash slots and queue places authgw's automatic defaults give a
    worker (src/hashslot.c, hashslot_bound)."""
    n = os.sysconf('SC_NPROCESSORS_ONLN')
    slots = 1 if n < 2 else n // 2
    queue = slots
    if workers >= 2:
        slots = min(slots, workers - 1)
        queue = min(queue, workers - 1 - slots)
    return slots, queue


def flood_addr(n):
    """The n-th client address of the flood: 127.A.B.C, never 127.0.0.1
    nor LOCKED_ADDR, unique for the first 254 * 256 * 254 logins."""
    a, r = divmod(n, 256 * 254)
    b, c = divmod(r, 254)
    return '127.%d.%d.%d' % (1 + a % 254, b, c + 1)


class Flood:
    """The second load generator: logins through nginx at a fixed rate (open
    loop), from an asyncio loop in a thread of its own, until stop(). The
    four hashing kinds cycle at `rate` logins/s; a locked address adds a
    fifth as many. Addresses keep counting from one round to the next, so
    each hashing login has an address never seen before."""

    KINDS = ('unknown', 'wrong', 'right', 'unverified', 'locked')

    def __init__(self, port, rate):
        self.port = port
        self.rate = rate                # the four hashing kinds
        self.next_addr = 0
        self.next_user = 0
        self.thread = None
        self.stop_flag = threading.Event()
        self.result = None

    def request(self, kind):
        if kind == 'locked':
            addr = LOCKED_ADDR
        else:
            addr = flood_addr(self.next_addr)
            self.next_addr += 1
        if kind == 'unknown':
            email, pw = 'nobody%d@example.com' % self.next_user, PASSWORD
            self.next_user += 1
        else:
            email, pw = {'wrong': (FLOOD_USER, 'wrong password'),
                         'right': (FLOOD_USER, PASSWORD),
                         'unverified': (UNVERIFIED, PASSWORD),
                         'locked': (FLOOD_USER, 'wrong password')}[kind]
        body = json.dumps({'email': email, 'password': pw}).encode()
        head = ('POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                'Content-Type: application/json\r\n'
                'Accept: application/json\r\nContent-Length: %d\r\n'
                'Connection: close\r\n\r\n' % len(body)).encode()
        return addr, head + body

    async def one(self, kind, res):
        addr, data = self.request(kind)
        t0 = time.monotonic()
        writer = None
        try:
            async def exchange():
                nonlocal writer
                reader, writer = await asyncio.open_connection(
                    '127.0.0.1', self.port, local_addr=(addr, 0))
                writer.write(data)
                await writer.drain()
                return await reader.read()      # to EOF (Connection: close)
            out = await asyncio.wait_for(exchange(), HANG)
        except asyncio.TimeoutError:
            res['unanswered'] += 1
            res['slow'] += 1
            return
        except Exception as e:      # refused, reset: counted, shown
            res['errors'].append('%s: %r' % (kind, e))
            return
        finally:
            if writer is not None:
                writer.close()
        took = time.monotonic() - t0
        res['slowest'] = max(res['slowest'], took)
        if took > SLOW:
            res['slow'] += 1
        head = out.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')
        m = re.match(r'HTTP/1\.[01] (\d{3})', head[0])
        if m is None:
            res['errors'].append('%s: no status line: %r' % (kind, out[:80]))
            return
        status = int(m.group(1))
        res['status'][status] = res['status'].get(status, 0) + 1
        res['took'].setdefault(status, []).append(took)
        key = (kind, status)
        res['by_kind'][key] = res['by_kind'].get(key, 0) + 1
        if status == 503:
            retry = [h.split(':', 1)[1].strip() for h in head[1:]
                     if h.lower().startswith('retry-after:')]
            if retry != ['1']:
                res['no_retry_after'] += 1
        if status == 429:
            if not any(h.lower().startswith('retry-after:') for h in head):
                res['no_retry_after'] += 1

    async def main(self):
        res = {'status': {}, 'by_kind': {}, 'took': {}, 'unanswered': 0,
               'slow': 0, 'slowest': 0.0, 'no_retry_after': 0, 'errors': [],
               'sent': 0, 'late': 0.0}
        tasks = set()
        step = 1.0 / (self.rate * 5 / 4)    # five kinds at 5/4 the rate
        t0 = time.monotonic()
        i = 0
        while not self.stop_flag.is_set():
            due = t0 + i * step
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                res['late'] = max(res['late'], now - due)
            t = asyncio.ensure_future(self.one(self.KINDS[i % 5], res))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            res['sent'] += 1
            i += 1
        res['seconds'] = time.monotonic() - t0
        if tasks:
            await asyncio.gather(*tasks)
        res['drained'] = time.monotonic() - t0
        return res

    def start(self):
        self.stop_flag.clear()
        self.result = None

        def run():
            self.result = asyncio.run(self.main())
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        """Stop sending, wait for every login in flight (at most HANG
        seconds), return the counts."""
        self.stop_flag.set()
        self.thread.join(HANG + 30)
        if self.result is None:
            sys.exit('the login flood did not finish')
        return self.result


class Bench:
    """Every scenario is set up first and stays up; then each is measured
    in --rounds interleaved rounds and the median round is reported, so
    that the order of scenarios and the machine's drift weigh on all alike.
    A group brings its own baseline; one shared by several groups (trivial)
    is set up and measured once."""

    CHECKS = ('nginx-204', 'trivial', 'authgw-mc', 'authgw-token',
              'authgw-local',
              'authgw-mc-down', 'authgw-sqlite', 'login-429', 'login-ok')
    MICROCACHE = ('nginx-204', 'trivial', 'authgw-mc', 'authgw-microcache')
    LIGHTTPD = ('lighttpd-static', 'lighttpd-trivial', 'lighttpd-authgw')
    APACHE = ('apache-static', 'apache-trivial', 'apache-authgw')
    FLOOD = ('flood-quiet', 'flood-check', 'paced-quiet', 'paced-check')
    HOSTS = ('trivial', 'authgw-mc', 'pg-mc', 'pg-cold', 'pg-cold-mc')
    GROUPS = (('checks', CHECKS), ('microcache', MICROCACHE),
              ('lighttpd', LIGHTTPD), ('apache', APACHE), ('flood', FLOOD),
              ('hosts', HOSTS))
    PAIRS = (('flood-quiet', 'flood-check'), ('paced-quiet', 'paced-check'))
    RAMP = 1.0          # seconds of flood before wrk starts
    # Apache's prefork pool (the test harness's MPM and MaxRequestWorkers
    # 16), held at 16 children: otherwise it shrinks to MaxSpareServers 4
    # while the other rows are measured and grows back at 1, 2, 4... a
    # second at the start of each of its own, with wrk's keep-alive
    # connections queued in the listen backlog meanwhile.
    APACHE_POOL = ('StartServers 16\nMinSpareServers 16\n'
                   'MaxSpareServers 17\nMaxRequestWorkers 16\n')

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='authgw-bench-')
        # Apache's children (nobody when we are root) serve its docroot.
        os.chmod(self.tmp, 0o711)
        self.groups = []
        for group, _ in self.GROUPS:
            if args.only is not None and group not in args.only:
                continue
            why = self.missing(group)
            if why:
                print('bench: %s skipped: %s' % (group, why), flush=True)
                continue
            self.groups.append(group)
        self.order = []
        for group, names in self.GROUPS:
            if group in self.groups:
                self.order += [n for n in names if n not in self.order]
        self.template = bench_template(self.tmp)
        self.targets = {}       # name -> (url, cookie, lua, connections)
        self.authgws = {}       # name -> Authgw, for the hit rate
        self.samples = {n: [] for n in self.order}
        self.floods = []        # each flooded round's login counts
        self.hit_rate = {}
        self.checks_seen = {}   # name -> checks authgw answered in the rounds
        self.flood = None
        self.mc = None
        self.trivial = set()    # trivial_authz addresses started
        self.cache_dir = None
        self.pg = None          # the hosts group's PostgreSQL
        self.pg_users = False   # USER and ADMIN added to it
        self.cold_mc = None     # pg-cold-mc's own memcached
        self.hits_seen = {}     # name -> cache hits authgw counted
        self.prop_hosts = []    # (variant, host A, host B)
        self.propagation = []   # (variant, delays s, 200s seen, round trips)

    def missing(self, group):
        """Why `group` cannot run here (a one-line reason), or None."""
        if group in ('checks', 'microcache', 'flood', 'hosts') and \
                harness.find_program('nginx') is None:
            return 'nginx is not installed'
        if group == 'hosts' and pg_bindir() is None:
            return 'PostgreSQL is not installed (tests/pgtest.sh bindir)'
        if group == 'lighttpd':
            import test_lighttpd
            if test_lighttpd.LIGHTTPD is None:
                return 'lighttpd is not installed'
        if group == 'apache':
            import test_apache
            return test_apache.missing_for('authnz_fcgi')
        if group == 'microcache':
            return self.check_cache_missing()
        return None

    def check_cache_missing(self):
        """None if this authgw accepts `check_cache = 1`, else why not."""
        d = tempfile.mkdtemp(prefix='cc-', dir=self.tmp)
        ag = harness.Authgw(d, check_cache=1)
        r = ag.cli('check-config')
        if r.returncode == 0:
            return None
        err = (r.stderr.strip().splitlines() or ['exit %d' % r.returncode])
        return ('this authgw does not accept check_cache (SPEC 3, '
                'micro-cache): %s' % err[-1])

    def memcached(self):
        if self.mc is None:
            self.mc = harness.Memcached(self.tmp).start()
        return self.mc.addr

    def trivial_authz(self, addr):
        """bench/trivial_authz on addr (a unix socket path or host:port),
        started once per address."""
        if addr not in self.trivial:
            self.trivial.add(addr)
            exe = os.path.join(harness.BUILD_DIR, 'bench', 'trivial_authz')
            triv = harness.register_process(subprocess.Popen(
                [exe, addr, str(self.args.workers)], start_new_session=True))
            harness.wait_connectable(addr, proc=triv)
        return addr

    def new_authgw(self, name, listen=None, **conf):
        """An authgw started in tmp/name with the bench's users."""
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        conf.setdefault('workers', self.args.workers)
        conf.setdefault('log_level', 'warn')
        conf.setdefault('maintenance_interval', 60)
        on_pg = self.pg is not None and conf.get('database') == self.pg.uri
        if on_pg:
            conf.setdefault('cache_file', os.path.join(d, 'sessions.cache'))
            conf.update(PG_SCRYPT)
        ag = harness.Authgw(d, **conf)
        if not (on_pg and self.pg_users):   # one database: add them once
            ag.add_user(USER, PASSWORD)
            ag.add_user(ADMIN, PASSWORD, admin=True)
            self.pg_users = self.pg_users or on_pg
        ag.start(listen=listen)
        if on_pg:
            harness.wait_for(lambda: ag.fcgi('/auth/healthz').json().get(
                'listener') == 'ok', timeout=20,
                what='the listener of %s' % name)
        return ag

    def authgw(self, name, cache_dir=None, **conf):
        """An authgw behind its own nginx (the bench template; with
        cache_dir, its micro-cache recipe turned on, the cache there); the
        authgw and nginx's base URL."""
        ag = self.new_authgw(name, **conf)
        ngx = harness.Nginx(ag.tmpdir, ag, template=self.template,
                            micro_cache=cache_dir is not None)
        if cache_dir is not None:
            ngx.cache_dir = cache_dir
            ngx.render()
        ngx.start()
        return ag, 'http://127.0.0.1:%d' % ngx.port

    def stats(self, ag):
        admin = ag.login_cookie(ADMIN, PASSWORD)
        r = ag.fcgi('/auth/admin/stats.json', headers={
            'Cookie': '%s=%s' % (ag.cookie_name, admin),
            'Accept': 'application/json'})
        return r.json() if r.status == 200 else None

    def user_cookie(self, ag):
        return '%s=%s' % (ag.cookie_name, ag.login_cookie(USER, PASSWORD))

    def check(self, name, cache_dir=None, **conf):
        ag, base = self.authgw(name, cache_dir=cache_dir, **conf)
        self.targets[name] = (base + '/private/', self.user_cookie(ag), None,
                              self.args.connections)
        self.authgws[name] = ag
        return ag, base

    def setup_flood(self):
        """One authgw at the default scrypt cost and hashing bound, its
        seconds per hash measured, and the flood's generator."""
        a = self.args
        d = os.path.join(self.tmp, 'flood-mc')
        os.mkdir(d)
        mc = harness.Memcached(d).start()
        ag, base = self.authgw('flood', memcached=mc.addr, scrypt_log2n=15,
                               scrypt_r=8, scrypt_p=3,
                               workers=a.flood_workers,
                               login_max_per_account=1000000)
        ag.add_user(FLOOD_USER, PASSWORD)
        ag.add_user(UNVERIFIED, PASSWORD, verified=False)
        # Wrong passwords from LOCKED_ADDR until it is over its limit: each
        # 401 is one scrypt on the idle instance, timed.
        took = []
        for _ in range(1000):
            t0 = time.monotonic()
            r = ag.fcgi('/auth/login', 'POST', headers={
                'Content-Type': 'application/json',
                'Accept': 'application/json'},
                body=json.dumps({'email': FLOOD_USER,
                                 'password': 'wrong password'}).encode(),
                extra={'REMOTE_ADDR': LOCKED_ADDR})
            if r.status == 429:
                break
            if r.status != 401:
                sys.exit('flood setup: login answered %r' % r)
            took.append(time.monotonic() - t0)
        else:
            sys.exit('flood setup: %s never reached its limit' % LOCKED_ADDR)
        if len(took) < 5:
            sys.exit('flood setup: login_max_per_ip < 5, too few samples')
        self.hash_s = statistics.median(took)
        self.hash_n = len(took)
        self.slots, self.queue = hash_bound(a.flood_workers)
        self.capacity = self.slots / self.hash_s
        self.flood_rate = a.flood_factor * self.capacity
        cookie = '%s=%s' % (ag.cookie_name, ag.login_cookie(USER, PASSWORD))
        url = base + '/private/'
        for name in ('flood-quiet', 'flood-check'):
            self.targets[name] = (url, cookie, None, a.connections)
        # The paced rows: each connection waits `delay` ms before each
        # request, so that the offered rate is about --pace of what the
        # quiet, saturating wrk reached in two seconds.
        self.pace_full = wrk(url, 2, a.connections, cookie)['rps']
        self.pace_delay = max(1, round(a.connections * 1000 /
                                       (a.pace * self.pace_full)))
        lua = os.path.join(self.tmp, 'paced.lua')
        with open(lua, 'w') as f:
            f.write('function delay()\n\treturn %d\nend\n' % self.pace_delay)
        for name in ('paced-quiet', 'paced-check'):
            self.targets[name] = (url, cookie, lua, a.connections)
        self.flood = Flood(int(base.rsplit(':', 1)[1]), self.flood_rate)

    def setup(self):
        for group in self.groups:
            getattr(self, 'setup_' + group)()

    def setup_baselines(self):
        """nginx-204, trivial and authgw-mc: shared by checks and
        microcache, set up once."""
        a = self.args
        if 'nginx-204' in self.targets:
            return
        _, base = self.authgw('ceiling')
        self.targets['nginx-204'] = (base + '/bench204', None, None,
                                     a.connections)
        sock = self.trivial_authz(os.path.join(self.tmp, 'trivial.sock'))
        d = os.path.join(self.tmp, 'trivial')
        os.mkdir(d)
        ngx = harness.Nginx(d, sock, template=self.template).start()
        self.targets['trivial'] = ('http://127.0.0.1:%d/private/' % ngx.port,
                                   None, None, a.connections)
        _, self.mc_base = self.check('authgw-mc', memcached=self.memcached())

    def setup_checks(self):
        a = self.args
        self.setup_baselines()
        # Wrong logins on one locked account: each answered 429.
        wrong = lua_post(self.tmp, 'wrong', {'email': USER,
                                             'password': 'wrong password'})
        self.targets['login-429'] = (self.mc_base + '/auth/login', None,
                                     wrong, a.connections)
        # The same authgw as authgw-mc, an API token instead of the cookie.
        ag = self.authgws['authgw-mc']
        r = ag.cli('token', 'add', USER, 'bench')
        if r.returncode != 0:
            sys.exit('token add: %s' % r.stderr)
        self.targets['authgw-token'] = (
            self.mc_base + '/private/',
            'Authorization: Bearer ' + r.stdout.strip(), None, a.connections)
        self.check('authgw-local')
        self.check('authgw-mc-down',
                   memcached='127.0.0.1:%d' % harness.free_port())
        self.check('authgw-sqlite', cache_entries=0)
        # Correct logins at the default scrypt cost (N=2^15, r=8, p=3).
        _, base = self.authgw('logins', scrypt_log2n=15, scrypt_r=8,
                              scrypt_p=3)
        right = lua_post(self.tmp, 'right', {'email': USER,
                                             'password': PASSWORD})
        self.targets['login-ok'] = (base + '/auth/login', None, right,
                                    hash_bound(a.workers)[0])

    def setup_microcache(self):
        """authgw with check_cache = 1 behind nginx with the shipped
        micro-cache recipe turned on (harness.Nginx micro_cache: the
        "#cache " lines of conf/nginx.conf uncommented), its cache on a
        tmpfs; checked to cache before it counts."""
        self.setup_baselines()
        self.cache_dir = tempfile.mkdtemp(prefix='authgw-bench-cache-',
                                          dir=shm_dir())
        ag, base = self.check('authgw-microcache',
                              cache_dir=os.path.join(self.cache_dir, 'c'),
                              memcached=self.memcached(), check_cache=1)
        url, cookie = base + '/private/', self.targets['authgw-microcache'][1]
        before = self.stats(ag)['checks']
        for _ in range(5):
            r = harness.Client(int(base.rsplit(':', 1)[1])).get(
                '/private/', headers={'Cookie': cookie})
            if r.status != 200 or r.header('X-Auth-User') != USER:
                sys.exit('microcache: %s answered %r' % (url, r))
        seen = self.stats(ag)['checks'] - before
        if seen > 2:        # the first, and one more if a second turned
            sys.exit('microcache: 5 requests reached authgw %d times: '
                     'nginx did not cache the check' % seen)

    def setup_lighttpd(self):
        """conf/lighttpd.conf as test_lighttpd renders it (authgw, or
        trivial_authz, on a unix socket; mod_fastcgi's default parameters),
        one lighttpd for each authorizer."""
        import test_lighttpd
        a = self.args
        sock = self.trivial_authz(os.path.join(self.tmp, 'trivial.sock'))

        class Trivial:
            socket_path = sock
            config_path = '/dev/null'       # only for bin-path
        web = test_lighttpd.Lighttpd(os.path.join(self.tmp, 'lt-trivial'),
                                     Trivial, harness.free_port()).start()
        base = 'http://127.0.0.1:%d' % web.port
        self.targets['lighttpd-static'] = (base + '/index.html', None, None,
                                           a.connections)
        self.targets['lighttpd-trivial'] = (base + '/private/secret.txt',
                                            None, None, a.connections)
        ag = self.new_authgw('lighttpd-authgw', memcached=self.memcached())
        web = test_lighttpd.Lighttpd(ag.tmpdir, ag, ag.http_port).start()
        self.targets['lighttpd-authgw'] = (
            'http://127.0.0.1:%d/private/secret.txt' % web.port,
            self.user_cookie(ag), None, a.connections)
        self.authgws['lighttpd-authgw'] = ag

    def setup_apache(self):
        """conf/apache-authnz-fcgi.conf as test_apache sets it up (authgw,
        or trivial_authz, on TCP), prefork with APACHE_POOL."""
        import test_apache
        a = self.args
        modules = (test_apache.COMMON_MODULES +
                   test_apache.VARIANT_MODULES['authnz_fcgi'])

        def apache(tmpdir, addr, port):
            web = test_apache.Apache(tmpdir, port, 'authnz_fcgi',
                                     {'AUTHGW_ADDR': addr})
            web.write_config(modules, self.APACHE_POOL)
            return web.start()
        addr = self.trivial_authz('127.0.0.1:%d' % harness.free_port())
        web = apache(os.path.join(self.tmp, 'ap-trivial'), addr,
                     harness.free_port())
        base = 'http://127.0.0.1:%d' % web.port
        self.targets['apache-static'] = (base + '/index.html', None, None,
                                         a.connections)
        self.targets['apache-trivial'] = (base + '/private/secret.txt',
                                          None, None, a.connections)
        addr = '127.0.0.1:%d' % harness.free_port()
        ag = self.new_authgw('apache-authgw', listen=addr,
                             memcached=self.memcached())
        web = apache(ag.tmpdir, addr, ag.http_port)
        self.targets['apache-authgw'] = (
            'http://127.0.0.1:%d/private/secret.txt' % web.port,
            self.user_cookie(ag), None, a.connections)
        self.authgws['apache-authgw'] = ag

    def setup_hosts(self):
        """A PostgreSQL; pg-mc (one session, memcached); pg-cold and
        pg-cold-mc rotating over --sessions sessions with the table cold;
        two pairs of hosts for the propagation delay."""
        a = self.args
        self.setup_baselines()
        self.pg = harness.PostgreSQL(self.tmp).start()
        pg = {'database': self.pg.uri}
        self.check('pg-mc', memcached=self.memcached(), **pg)
        d = os.path.join(self.tmp, 'cold-mc')
        os.mkdir(d)
        self.cold_mc = harness.Memcached(d).start()
        cold_mc, base_mc = self.authgw('pg-cold-mc',
                                       memcached=self.cold_mc.addr,
                                       cache_local_ttl=COLD_TTL, **pg)
        cold, base = self.authgw('pg-cold', cache_local_ttl=COLD_TTL, **pg)
        users = ['cold%d@example.com' % i
                 for i in range(-(-a.sessions // COLD_PER_USER))]
        for u in users:
            cold.add_user(u, PASSWORD)
        # Two threads, one per host (a host hashes one login at a time on
        # 2 cores), each with users of its own.
        tokens = [None] * a.sessions

        def login(ag, k):
            for i in range(a.sessions):
                if (i // COLD_PER_USER) % 2 == k:
                    tokens[i] = ag.login_cookie(users[i // COLD_PER_USER],
                                                PASSWORD)
        t0 = time.monotonic()
        threads = [threading.Thread(target=login, args=(ag, k))
                   for k, ag in enumerate((cold, cold_mc))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if None in tokens:
            sys.exit('hosts setup: a login failed (see above)')
        self.login_s = time.monotonic() - t0
        # memcached warm: each session checked once on pg-cold-mc.
        for t in tokens:
            r = cold_mc.check(t)
            if r.status != 200:
                sys.exit('hosts setup: pg-cold-mc check answered %r' % r)
        lua = lua_rotate(self.tmp, 'cold', ['%s=%s' % (cold.cookie_name, t)
                                            for t in tokens])
        for name, ag, url in (('pg-cold-mc', cold_mc, base_mc),
                              ('pg-cold', cold, base)):
            # The file itself: /private/ would check twice (index's
            # internal redirect runs auth_request again), the second time
            # from the entry the first one just made.
            self.targets[name] = (url + '/private/index.html', None, lua,
                                  a.connections)
            self.authgws[name] = ag
        self.prop_hosts = [('no memcached', self.new_authgw('host-a', **pg),
                            self.new_authgw('host-b', **pg))]
        mc = {'memcached': self.memcached()}
        self.prop_hosts.append(('memcached',
                                self.new_authgw('host-a-mc', **pg, **mc),
                                self.new_authgw('host-b-mc', **pg, **mc)))

    def propagate(self, a, b, n):
        """n times: a session warm in b's table, logged out on a, b checked
        until it refuses. The delays (s), the 200s b answered after a's
        logout, and every check's round trip (s)."""
        delays, stale, trips = [], [], []
        logout = {'Content-Type': 'application/json',
                  'Accept': 'application/json'}
        for _ in range(n):
            t = a.login_cookie(USER, PASSWORD)
            for _ in range(100):
                r = b.check(t)
                if r.status != 200:
                    sys.exit('propagation: B answered %r' % r)
                if r.header('x-auth-source') == 'cache':
                    break
            else:
                sys.exit('propagation: B never answered from its cache')
            r = a.fcgi('/auth/logout', 'POST', body=b'{}', headers=dict(
                logout, Cookie='%s=%s' % (a.cookie_name, t)))
            if r.status != 200:
                sys.exit('propagation: logout on A answered %r' % r)
            t0 = time.monotonic()
            seen = 0
            while True:
                s = time.monotonic()
                r = b.check(t)
                t1 = time.monotonic()
                trips.append(t1 - s)
                if r.status == 401 or t1 - t0 > PROP_LIMIT:
                    break
                if r.status != 200:
                    sys.exit('propagation: B answered %r' % r)
                seen += 1
            delays.append(t1 - t0 if r.status == 401 else math.inf)
            stale.append(seen)
        return delays, stale, trips

    def pg_xacts(self):
        """Transactions committed in the database so far (pg_stat_database;
        every statement outside a transaction is one)."""
        return int(self.pg.psql("SELECT xact_commit FROM pg_stat_database "
                                "WHERE datname = current_database()")[0][0])

    def measure_pg(self, name):
        """wrk on a pg row, with the transactions PostgreSQL committed
        meanwhile and, for pg-cold-mc, memcached's get hits."""
        url, cookie, lua, conns = self.targets[name]
        hits = mc_get_hits(self.cold_mc) if name == 'pg-cold-mc' else 0
        xacts = self.pg_xacts()
        x = wrk(url, self.args.seconds, conns, cookie, lua)
        # pg_stat_database lags its backends by up to half a second.
        time.sleep(0.6)
        x['pg_xacts'] = self.pg_xacts() - xacts
        if name == 'pg-cold-mc':
            x['mc_hits'] = mc_get_hits(self.cold_mc) - hits
        return x

    def measure(self, name):
        url, cookie, lua, conns = self.targets[name]
        if name.startswith('pg-'):
            return self.measure_pg(name)
        if not name.endswith('-check'):
            return wrk(url, self.args.seconds, conns, cookie, lua)
        self.flood.start()
        try:
            time.sleep(self.RAMP)
            x = wrk(url, self.args.seconds, conns, cookie, lua)
        finally:
            self.floods.append(self.flood.stop())
        return x

    def run(self):
        self.setup()
        for name in self.order:                 # warm every path once
            url, cookie, lua, conns = self.targets[name]
            wrk(url, 1, conns, cookie, lua)
        before = {n: self.stats(ag) for n, ag in self.authgws.items()}
        for _ in range(self.args.rounds):
            for name in self.order:
                self.samples[name].append(self.measure(name))
        for name, ag in self.authgws.items():
            after = self.stats(ag)
            if before[name] and after:
                hits = after['cache_hits'] - before[name]['cache_hits']
                miss = after['cache_misses'] - before[name]['cache_misses']
                self.hit_rate[name] = hits / max(1, hits + miss)
                self.hits_seen[name] = hits
                self.checks_seen[name] = after['checks'] - \
                    before[name]['checks']
        if 'hosts' in self.groups:
            for variant, a, b in self.prop_hosts:
                self.propagation.append(
                    (variant,) + self.propagate(a, b, self.args.prop_sessions))

    def medians(self, name):
        """The median of each figure over the rounds, separately."""
        return {k: statistics.median(x[k] for x in self.samples[name])
                for k in ('rps', 'p50', 'p99')}

    def median(self, name):
        runs = sorted(self.samples[name], key=lambda x: x['rps'])
        return runs[len(runs) // 2]

    def report(self):
        for group in self.groups:
            getattr(self, 'report_' + group)()

    def ratios(self, name, base, key):
        """name's figure over base's in the same round, each round; and
        the median of those."""
        r = [x[key] / y[key] for x, y in zip(self.samples[name],
                                             self.samples[base])]
        return statistics.median(r), r

    def failed(self, name):
        return sum(y['non2xx'] + y['errors'] for y in self.samples[name])

    def report_table(self, title, names, base):
        """A group's rows, each figure the median over the rounds, the
        ratios the median of each round's ratio to base."""
        print()
        print(title)
        print('%-17s %9s %7s %8s %8s %7s %7s %9s  %s'
              % ('scenario', 'req/s', 'x base', 'p50 us', 'p99 us', 'p99 x',
                 'failed', 'hit rate', 'req/s of each round'))
        for name in names:
            x = self.medians(name)
            hr = self.hit_rate.get(name)
            print('%-17s %9.0f %7.2f %8.0f %8.0f %7.2f %7d %9s  %s'
                  % (name, x['rps'], self.ratios(name, base, 'rps')[0],
                     x['p50'], x['p99'], self.ratios(name, base, 'p99')[0],
                     self.failed(name),
                     '%.4f' % hr if hr is not None else '-',
                     ' '.join('%.0f' % y['rps']
                              for y in self.samples[name])))

    def verdict(self, name, base, rps_min, p99_max=None):
        """One README: line, name against base on the group's targets."""
        rps, rps_r = self.ratios(name, base, 'rps')
        p99, p99_r = self.ratios(name, base, 'p99')
        met = rps >= rps_min
        out = ('README: %s / %s: req/s x%.2f (rounds %s; target >= %g)'
               % (name, base, rps, ' '.join('%.2f' % r for r in rps_r),
                  rps_min))
        if p99_max is not None:
            met = met and p99 <= p99_max
            out += (', p99 x%.2f (rounds %s; target <= %g)'
                    % (p99, ' '.join('%.2f' % r for r in p99_r), p99_max))
        failed = self.failed(name) + self.failed(base)
        out += ', %d failed' % failed
        print(out + ': target %s' % ('INVALID (failed requests)' if failed
                                      else 'met' if met else 'MISSED'))

    def head(self, what):
        a = self.args
        return ('%s; wrk -t1 -c%d -d%ds on loopback, %d authgw (and '
                'trivial_authz) workers, %d cores, median of %d interleaved '
                'rounds; ratios: the median of each round\'s ratio to the '
                'baseline of the same round'
                % (what, a.connections, a.seconds, a.workers, os.cpu_count(),
                   a.rounds))

    def report_microcache(self):
        self.report_table(self.head(
            'nginx %s micro-cache (fastcgi_cache on the check location, '
            'cache in %s), authgw check_cache = 1, baseline trivial'
            % (server_version('nginx'), os.path.dirname(self.cache_dir))),
            self.MICROCACHE, 'trivial')
        seen = self.checks_seen.get('authgw-microcache')
        sent = sum(y['requests'] for y in self.samples['authgw-microcache'])
        if seen is not None:
            print('authgw-microcache: %d checks reached authgw for %d '
                  'requests (%.4f per request)'
                  % (seen, sent, seen / max(sent, 1)))
        self.verdict('authgw-microcache', 'trivial', 3)

    def report_lighttpd(self):
        self.report_table(self.head(
            'lighttpd %s, conf/lighttpd.conf, mod_fastcgi "mode" => '
            '"authorizer" on a unix socket' % server_version('lighttpd')),
            self.LIGHTTPD, 'lighttpd-trivial')
        self.verdict('lighttpd-authgw', 'lighttpd-trivial', 0.9, 1.5)

    def report_apache(self):
        self.report_table(self.head(
            'Apache %s, conf/apache-authnz-fcgi.conf, mod_authnz_fcgi on TCP, '
            'prefork: 16 children' % server_version('apache2')),
            self.APACHE, 'apache-trivial')
        self.verdict('apache-authgw', 'apache-trivial', 0.9, 1.5)

    def report_checks(self):
        a = self.args
        print()
        r = {n: self.median(n) for n in self.CHECKS}
        b = r['trivial']
        print('authgw bench: wrk -t1 -c%d -d%ds on loopback, %d authgw '
              'workers, %d cores, median of %d interleaved rounds; ratios '
              'to `trivial` measured in this run'
              % (a.connections, a.seconds, a.workers, os.cpu_count(),
                 a.rounds))
        print('%-15s %9s %7s %8s %8s %7s %8s %9s  %s'
              % ('scenario', 'req/s', 'x triv', 'p50 us', 'p99 us',
                 'p99 x', 'non-2xx', 'hit rate', 'req/s of each round'))
        for name in self.CHECKS:
            x = r[name]
            hr = self.hit_rate.get(name)
            print('%-15s %9.0f %7.2f %8.0f %8.0f %7.2f %8d %9s  %s'
                  % (name, x['rps'], x['rps'] / b['rps'], x['p50'], x['p99'],
                     x['p99'] / b['p99'], x['non2xx'],
                     '%.4f' % hr if hr is not None else '-',
                     ' '.join('%.0f' % s['rps'] for s in self.samples[name])))
        ok = r['login-ok']
        print('login-429 / authgw-mc requests/s: %.2f (target >= 0.5); '
              'login-ok: %.1f logins/s answered 200 at N=2^15, r=8, p=3 '
              '(%d hash slot)'
              % (r['login-429']['rps'] / r['authgw-mc']['rps'],
                 ok['rps'] * (ok['requests'] - ok['non2xx'])
                 / max(ok['requests'], 1), hash_bound(a.workers)[0]))
        self.verdict('authgw-token', 'authgw-mc', 0.9)

    def report_hosts(self):
        a = self.args
        print()
        print('hosts: bench/check_bench.py %s' % ' '.join(
            shlex.quote(x) for x in sys.argv[1:]))
        self.report_table(self.head(
            'nginx %s, conf/nginx.conf; PostgreSQL %s (tests/pgtest.sh, '
            'one database for every pg host, each host its own cache_file), '
            'host table warm, memcached configured; baseline trivial'
            % (server_version('nginx'), pg_version())),
            ('trivial', 'authgw-mc', 'pg-mc'), 'trivial')
        self.verdict('authgw-mc', 'trivial', 0.9)
        self.verdict('pg-mc', 'trivial', 0.9)
        rps, rps_r = self.ratios('pg-mc', 'authgw-mc', 'rps')
        print('pg-mc / authgw-mc: req/s x%.2f (rounds %s)'
              % (rps, ' '.join('%.2f' % r for r in rps_r)))
        self.report_xacts('pg-mc')
        print()
        self.report_table(self.head(
            'Host table cold: GET /private/index.html (one check each), '
            'cache_local_ttl = %d, wrk rotating over %d sessions (%d per '
            'user; made in %.0f s); PostgreSQL; baseline pg-cold (no '
            'memcached)'
            % (COLD_TTL, a.sessions, COLD_PER_USER, self.login_s)),
            ('pg-cold', 'pg-cold-mc'), 'pg-cold')
        mc_hits = sum(y['mc_hits'] for y in self.samples['pg-cold-mc'])
        for name, mc in (('pg-cold', 0), ('pg-cold-mc', mc_hits)):
            checks = self.checks_seen.get(name)
            if checks is None:
                continue
            sent = sum(y['requests'] for y in self.samples[name])
            print('%s: %d checks for %d requests; per check: host-table hits '
                  '%.4f, memcached hits %.4f, the rest from PostgreSQL'
                  % (name, checks, sent, (self.hits_seen[name] - mc) /
                     max(1, checks), mc / max(1, checks)))
        for name in ('pg-cold', 'pg-cold-mc'):
            self.report_xacts(name)
        rps, rps_r = self.ratios('pg-cold-mc', 'pg-cold', 'rps')
        p99, p99_r = self.ratios('pg-cold-mc', 'pg-cold', 'p99')
        print('README: pg-cold-mc / pg-cold (host table cold, memcached warm '
              'vs PostgreSQL): req/s x%.2f (rounds %s), p99 x%.2f (rounds '
              '%s), %d failed'
              % (rps, ' '.join('%.2f' % r for r in rps_r), p99,
                 ' '.join('%.2f' % r for r in p99_r),
                 self.failed('pg-cold-mc') + self.failed('pg-cold')))
        print()
        trips = [t for _, _, _, tr in self.propagation for t in tr]
        print('Logout propagation across two hosts on one PostgreSQL: log in '
              'on A, check on B until X-Auth-Source: cache, log out on A '
              '(FastCGI), check on B back to back (FastCGI) until 401; delay '
              '= A\'s answer to B\'s first 401 (one check\'s round trip: '
              'median %.2f ms, p99 %.2f ms); idle hosts, %d workers each'
              % (statistics.median(trips) * 1000,
                 nearest_rank(trips, 99) * 1000, a.workers))
        print('%-13s %5s %8s %8s %8s %10s %9s  %s'
              % ('variant', 'N', 'p50 ms', 'p99 ms', 'max ms', '200s after',
                 'not 401', 'target (< 1 s)'))
        for variant, delays, stale, _ in self.propagation:
            late = sum(1 for d in delays if d > 1.0)
            lost = sum(1 for d in delays if d == math.inf)
            print('%-13s %5d %8.2f %8.2f %8.2f %10d %9d  %s'
                  % (variant, len(delays),
                     nearest_rank(delays, 50) * 1000,
                     nearest_rank(delays, 99) * 1000,
                     max(delays) * 1000, sum(stale), lost,
                     'met' if late == 0 else 'MISSED (%d over 1 s)' % late))
        for variant, delays, stale, _ in self.propagation:
            print('README: logout propagation A -> B (%s): N=%d, p50 %.1f '
                  'ms, p99 %.1f ms, max %.1f ms; %d checks answered 200 after '
                  'the logout: target (< 1 s) %s'
                  % (variant, len(delays), nearest_rank(delays, 50) * 1000,
                     nearest_rank(delays, 99) * 1000, max(delays) * 1000,
                     sum(stale), 'met' if max(delays) < 1.0 else 'MISSED'))

    def report_xacts(self, name):
        x = sum(y['pg_xacts'] for y in self.samples[name])
        sent = sum(y['requests'] for y in self.samples[name])
        print('%s: PostgreSQL committed %d transactions during its rounds '
              '(the whole database: idle hosts\' probes and heartbeats '
              'too) for %d requests: %.4f per request'
              % (name, x, sent, x / max(sent, 1)))

    def flood_totals(self):
        tot = {'status': {}, 'by_kind': {}, 'took': {}, 'unanswered': 0,
               'slow': 0, 'slowest': 0.0, 'no_retry_after': 0, 'errors': [],
               'sent': 0, 'late': 0.0, 'seconds': 0.0, 'drained': 0.0}
        for x in self.floods:
            for k in ('status', 'by_kind'):
                for kk, v in x[k].items():
                    tot[k][kk] = tot[k].get(kk, 0) + v
            for kk, v in x['took'].items():
                tot['took'].setdefault(kk, []).extend(v)
            for k in ('unanswered', 'slow', 'no_retry_after', 'sent',
                      'seconds', 'drained'):
                tot[k] += x[k]
            tot['errors'] += x['errors']
            for k in ('slowest', 'late'):
                tot[k] = max(tot[k], x[k])
        return tot

    def report_flood(self):
        a = self.args
        tot = self.flood_totals()
        st = tot['status']
        hashed = st.get(200, 0) + st.get(401, 0) + st.get(403, 0)
        allowed = (200, 401, 403, 429, 503)
        wrong = sum(v for k, v in st.items() if k not in allowed)
        answered = sum(st.values())
        print()
        print('/check under a login flood: wrk -t1 -c%d -d%ds through nginx '
              'on one authgw (memcached, %d workers, scrypt N=2^15 r=8 p=3, '
              'hash_slots and hash_queue automatic: %d slot(s) + %d '
              'waiting), %d cores, %d interleaved rounds (each figure the '
              'median over the rounds; p99 x the median of each round\'s '
              'p99 over the same round\'s quiet p99)'
              % (a.connections, a.seconds, a.flood_workers, self.slots,
                 self.queue,
                 os.cpu_count(), a.rounds))
        print('%.3f s per hash (median of %d sequential logins on the idle '
              'instance): capacity %.2f hashes/s; flood: %.1f logins/s that '
              'hash (%gx capacity; %.1f/s sent, at most %.0f ms behind) '
              '+ %.1f/s from an address over its limit, for %d s before '
              'and during each flooded wrk; paced rows: each connection '
              'waits %d ms before each request (about %.0f%% of the %.0f '
              'req/s a quiet saturating wrk reached in the set-up)'
              % (self.hash_s, self.hash_n, self.capacity, self.flood_rate,
                 a.flood_factor, tot['sent'] / max(tot['seconds'], 1e-9)
                 * 4 / 5, tot['late'] * 1000, self.flood_rate / 4,
                 self.RAMP, self.pace_delay, a.pace * 100, self.pace_full))
        print('%-15s %9s %8s %8s %7s %8s  %s'
              % ('scenario', 'req/s', 'p50 us', 'p99 us', 'p99 x',
                 'failed', 'p99 us of each round'))
        verdict = []
        for quiet, flood in self.PAIRS:
            q, f = self.medians(quiet), self.medians(flood)
            failed = sum(y['non2xx'] + y['errors']
                         for y in self.samples[flood])
            ratios = [fl['p99'] / qu['p99'] for qu, fl in
                      zip(self.samples[quiet], self.samples[flood])]
            ratio = statistics.median(ratios)
            rounds = ' '.join('%.2f' % r for r in ratios)
            verdict.append((flood, ratio, failed, rounds, q, f))
            for name, x, rx in ((quiet, q, 1.0), (flood, f, ratio)):
                fails = sum(y['non2xx'] + y['errors']
                            for y in self.samples[name])
                print('%-15s %9.0f %8.0f %8.0f %7.2f %8d  %s'
                      % (name, x['rps'], x['p50'], x['p99'], rx, fails,
                         ' '.join('%.0f' % y['p99']
                                  for y in self.samples[name])))
        for flood, ratio, failed, rounds, q, f in verdict:
            print('%s: p99 flooded / quiet in the same round, median %.2f '
                  '(each round: %s; target <= 2), req/s %.2f, failed checks '
                  '%d (target 0)'
                  % (flood, ratio, rounds, f['rps'] / q['rps'], failed))
        took = ', '.join('%d: %.0f/%.0f ms' % (k, statistics.median(v) * 1000,
                                                max(v) * 1000)
                         for k, v in sorted(tot['took'].items()))
        print('logins: %d sent, %d answered: %s (median/slowest %s); '
              '%.2f hashes/s done while flooded; 429 or 503 without '
              'Retry-After (1 for 503): %d; other statuses: %d; over %.0f s: '
              '%d; unanswered after %.0f s: %d; errors: %d'
              % (tot['sent'], answered,
                 ', '.join('%d: %d' % kv for kv in sorted(st.items())),
                 took, hashed / max(tot['drained'], 1e-9),
                 tot['no_retry_after'], wrong, SLOW, tot['slow'], HANG,
                 tot['unanswered'], len(tot['errors'])))
        print('by kind: %s' % '; '.join(
            '%s %s' % (kind, ', '.join(
                '%d: %d' % (k2, v) for (k1, k2), v in
                sorted(tot['by_kind'].items()) if k1 == kind))
            for kind in Flood.KINDS))
        for e in tot['errors'][:5]:
            print('  login error: %s' % e)
        logins_ok = (wrong == 0 and tot['no_retry_after'] == 0 and
                     tot['slow'] == 0 and not tot['errors'] and
                     answered == tot['sent'])
        for flood, ratio, failed, rounds, q, f in verdict:
            met = ratio <= 2 and failed == 0 and logins_ok
            print('README: %s: /check p99 %.1f ms under a %gx login flood '
                  '(%.1f logins/s, %.2f s per hash, %d slot) vs %.1f ms '
                  'quiet (x%.2f), %.0f vs %.0f req/s, %d failed checks; '
                  '%d of %d logins answered (%s), %d over %.0f s: target %s'
                  % (flood, f['p99'] / 1000, a.flood_factor, self.flood_rate,
                     self.hash_s, self.slots, q['p99'] / 1000, ratio,
                     f['rps'], q['rps'], failed, answered, tot['sent'],
                     ', '.join('%d: %d' % kv for kv in sorted(st.items())),
                     tot['slow'], SLOW, 'met' if met else 'MISSED'))

    def cleanup(self):
        harness._cleanup_all()
        if self.pg is not None:
            self.pg.stop()      # tests/pgtest.sh stop: by its pid
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.cache_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def groups_arg(text):
    names = [g for g, _ in Bench.GROUPS]
    out = text.split(',')
    for g in out:
        if g not in names:
            raise argparse.ArgumentTypeError(
                'unknown group %r (groups: %s)' % (g, ', '.join(names)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--only', type=groups_arg,
                    help='run only these groups, comma-separated: %s '
                    '(default: all; a group whose server or module is '
                    'missing is skipped with a message)'
                    % ', '.join(g for g, _ in Bench.GROUPS))
    ap.add_argument('--flood-workers', type=int, default=4,
                    help='workers of the flooded authgw (default 4, '
                    'authgw\'s own default)')
    ap.add_argument('--pace', type=float, default=0.3,
                    help='the paced rows\' offered rate, as a fraction of '
                    'the quiet saturating rate (default 0.3)')
    ap.add_argument('--flood-factor', type=float, default=10.0,
                    help='the flood in multiples of the hashing capacity '
                    '(default 10, what SPEC 5 promises)')
    ap.add_argument('--sessions', type=int, default=8000,
                    help='sessions the cold rows of hosts rotate over '
                    '(default 8000: each must come round after more than '
                    '1 s, so more than the cold rows\' req/s)')
    ap.add_argument('--prop-sessions', type=int, default=200,
                    help='logouts timed across two hosts in hosts, for '
                    'each variant (default 200)')
    args = ap.parse_args()
    for prog in ('wrk', 'memcached'):
        if harness.find_program(prog) is None:
            sys.exit('%s is not installed' % prog)
    b = Bench(args)
    if not b.groups:
        b.cleanup()
        sys.exit('bench: nothing to run')
    try:
        b.run()
    finally:
        b.cleanup()
    b.report()


if __name__ == '__main__':
    main()
