#!/usr/bin/env python3
"""authgw as a plain CGI program (issue 12, section 3): what one /check
costs beyond spawning a program at all, every figure beside a baseline
measured in the same run.

Each run is what a web server's CGI module does for one request: fork,
exec with a CGI environment (GATEWAY_INTERFACE, REQUEST_METHOD=GET,
SCRIPT_NAME=/auth and PATH_INFO=/check as a `ScriptAlias /auth` gives them,
REQUEST_URI, the server and client variables, HTTP_COOKIE with a live
session, AUTHGW_CONFIG as `SetEnv` passes it), stdin /dev/null, stdout a
pipe read to its end, stderr the web server's error log (a file), then
waitpid. A run's time is from the fork to the reaped child, on the
monotonic clock.

  true       /bin/true spawned the same way, with the same environment:
             the cost of fork + exec + exit, the baseline
  cgi-mc     authgw -> GET /auth/check, memcached configured and running
             (the host table in front of it, as in every mode)
  cgi-local  the same without memcached (host table, SQLite)

and, in a second table measured after the first (with its own
`true-cold` baseline, interleaved the same way: runs that create and
remove SQLite's files leave work to the file system that would weigh on
the rows beside them), the same two checks when the host table does not
hold the session (a session last checked on this host more than
cache_local_ttl ago: the common case of a CGI site with little traffic):

  mc-cold    memcached answers (the session was checked once in the
             set-up, cache_local_ttl = 1 has passed since)
  local-cold SQLite answers

The cold rows rotate over --sessions live sessions of their own (logged
in, checked once, then a pause over cache_local_ttl), so that each
session's host-table entry has expired before it is checked again (the
memcached hits counted during them are shown).

Each scenario has its own authgw configuration and database (no `listen`:
the CGI mode), a user, and a session logged in through a CGI POST
/auth/login before the runs; every /check must answer 200 for that user
(a run that does not is counted as failed and shown). Warm-up runs of each
scenario first; then --rounds interleaved rounds, each running --runs /
--rounds spawns of every scenario in turn (the order rotating from round
to round), so that the machine's drift weighs on all alike. Reported per
scenario over all its runs: median and p90 ms, and the median minus the
median of `true` ("over true"), against the target (<= 3 ms over true);
"cpu ms" is the median of the child's own user + system time (from
wait4: less disturbed by other load on the machine than the wall time,
which the target is about); the source column counts X-Auth-Source (cache
or db) of the answers.

Usage: bench/cgi_bench.py [--runs N] [--rounds N] [--warmup N]
                          [--sessions N] [--other AUTHGW] [--keep]

--other runs every authgw row a second time with another binary (rows
NAME*, same databases, same rounds), for a before/after in one run.
Needs a built tree (AUTHGW_BUILDDIR) and memcached.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))
import harness  # noqa: E402

USER = 'bench@example.com'
PASSWORD = 'bench-password'
TARGET_MS = 3.0
TRUE = '/bin/true'


def cgi_env(config, method, script, path_info, cookie=None, length=None,
            content_type=None):
    """The CGI/1.1 environment Apache's mod_cgi gives a ScriptAlias'd
    program (no inherited environment besides PATH)."""
    env = {
        'PATH': '/usr/local/bin:/usr/bin:/bin',
        'GATEWAY_INTERFACE': 'CGI/1.1',
        'SERVER_SOFTWARE': 'Apache',
        'SERVER_NAME': '127.0.0.1',
        'SERVER_ADDR': '127.0.0.1',
        'SERVER_PORT': '80',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'REQUEST_SCHEME': 'http',
        'REQUEST_METHOD': method,
        'REQUEST_URI': script + path_info,
        'SCRIPT_NAME': script,
        'PATH_INFO': path_info,
        'QUERY_STRING': '',
        'REMOTE_ADDR': '127.0.0.1',
        'REMOTE_PORT': '50000',
        'HTTP_HOST': '127.0.0.1',
        'HTTP_ACCEPT': 'application/json',
        'HTTP_USER_AGENT': 'cgi_bench',
        'AUTHGW_CONFIG': config,
    }
    if cookie:
        env['HTTP_COOKIE'] = cookie
    if length is not None:
        env['CONTENT_LENGTH'] = str(length)
    if content_type:
        env['CONTENT_TYPE'] = content_type
    return env


def spawn(argv, env, errlog, stdin=None):
    """fork + execve as a CGI module does; returns (seconds, stdout,
    exit status, CPU seconds of the child: user + system). stdin: bytes to
    feed (a pipe), or None (/dev/null)."""
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe() if stdin is not None else (None, None)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            fd = in_r if in_r is not None else os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(out_w, 1)
            os.dup2(errlog, 2)
            os.closerange(3, 256)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(out_w)
    if in_r is not None:
        os.close(in_r)
        os.write(in_w, stdin)
        os.close(in_w)
    chunks = []
    while True:
        b = os.read(out_r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(out_r)
    _, status, ru = os.wait4(pid, 0)
    took = time.monotonic() - t0
    return (took, b''.join(chunks), os.waitstatus_to_exitcode(status),
            ru.ru_utime + ru.ru_stime)


class Scenario:
    """One thing spawned: argv, environment, and how to judge an answer."""

    def __init__(self, name, argv, env, errlog, expect_user=None,
                 cookies=None):
        self.name = name
        self.argv = argv
        self.env = env
        self.cookies = cookies or []    # rotated over, one per run
        self.next_cookie = 0
        self.errlog = errlog
        self.expect_user = expect_user
        self.times = []
        self.cpu = []
        self.failed = []
        self.sources = {}

    def run(self, keep=True):
        if self.cookies:
            self.env['HTTP_COOKIE'] = self.cookies[self.next_cookie]
            self.next_cookie = (self.next_cookie + 1) % len(self.cookies)
        took, out, rc, cpu = spawn(self.argv, self.env, self.errlog)
        bad = None
        if rc != 0:
            bad = 'exit status %d' % rc
        elif self.expect_user is not None:
            headers, _ = harness.parse_cgi_response(out)
            status = harness.status_of(headers)
            if status != 200 or headers.get('x-auth-user') != \
                    self.expect_user:
                bad = 'status %s: %r' % (status, out[:120])
            elif keep:
                src = headers.get('x-auth-source', '-')
                self.sources[src] = self.sources.get(src, 0) + 1
        if keep:
            self.times.append(took * 1000)
            self.cpu.append(cpu * 1000)
            if bad:
                self.failed.append(bad)
        elif bad:
            sys.exit('%s: warm-up run failed: %s' % (self.name, bad))


class Bench:

    PHASES = (('true', 'cgi-mc', 'cgi-local'),
              ('true-cold', 'mc-cold', 'local-cold'))
    COLD_TTL = 1            # cache_local_ttl of the cold rows

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='authgw-cgibench-')
        self.errlog = os.open(os.path.join(self.tmp, 'error.log'),
                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.scen = {}
        self.phases = self.PHASES
        if args.other:
            self.phases = tuple(p + tuple(n + '*' for n in p[1:])
                                for p in self.PHASES)

    def login(self, name, ag):
        """A session of USER through a CGI POST /auth/login: the cookie."""
        body = json.dumps({'email': USER, 'password': PASSWORD}).encode()
        env = cgi_env(ag.config_path, 'POST', '/auth', '/login',
                      length=len(body), content_type='application/json')
        _, out, rc, _ = spawn([harness.AUTHGW_BIN], env, self.errlog, body)
        headers, _ = harness.parse_cgi_response(out)
        sc = headers.get('set-cookie', [])
        cookies = [c.split(';', 1)[0] for c in
                   (sc if isinstance(sc, list) else [sc])
                   if c.startswith(ag.cookie_name + '=')]
        if rc != 0 or harness.status_of(headers) != 200 or not cookies:
            sys.exit('%s: CGI login failed (exit %d): %r' % (name, rc, out))
        return cookies[0]

    def authgw(self, name, sessions=0, **conf):
        """A CGI configuration (no listen), a user, a live session (or
        `sessions` of them, each checked once): the scenario spawning GET
        /auth/check with its cookie."""
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        conf.setdefault('log_level', 'info')
        # Room for every session of the rows (the default, 100, would end
        # the oldest ones).
        conf.setdefault('max_sessions_per_user', 100000)
        ag = harness.Authgw(d, **conf)
        ag.add_user(USER, PASSWORD)
        env = cgi_env(ag.config_path, 'GET', '/auth', '/check',
                      cookie=self.login(name, ag))
        cookies = []
        for _ in range(sessions):
            cookies.append(self.login(name, ag))
        sc = Scenario(name, [harness.AUTHGW_BIN], env, self.errlog,
                      expect_user=USER, cookies=cookies)
        for _ in cookies:
            sc.run(keep=False)
        self.scen[name] = sc
        if self.args.other:
            # The other binary on the same database, with sessions of
            # its own (a cold session must not be warmed by the twin).
            env = dict(env, HTTP_COOKIE=self.login(name, ag))
            cookies = [self.login(name, ag) for _ in range(sessions)]
            tw = Scenario(name + '*', [self.args.other], env, self.errlog,
                          expect_user=USER, cookies=cookies)
            for _ in cookies:
                tw.run(keep=False)
            self.scen[name + '*'] = tw
        return ag

    def setup(self):
        self.mc = harness.Memcached(self.tmp).start()
        self.authgw('cgi-mc', memcached=self.mc.addr)
        self.authgw('cgi-local')
        n = self.args.sessions
        self.authgw('mc-cold', sessions=n, memcached=self.mc.addr,
                    cache_local_ttl=self.COLD_TTL)
        self.authgw('local-cold', sessions=n, cache_local_ttl=self.COLD_TTL)
        # The baselines get the very environment of a check.
        for name in ('true', 'true-cold'):
            self.scen[name] = Scenario(name, [TRUE],
                                       dict(self.scen['cgi-local'].env),
                                       self.errlog)

    def mc_hits(self):
        for line in self.mc.command('stats').splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == 'get_hits':
                return int(parts[2])
        return 0

    def measure(self, order):
        """--rounds interleaved rounds over the scenarios of order."""
        per = max(1, self.args.runs // self.args.rounds)
        for r in range(self.args.rounds):
            k = r % len(order)
            for name in order[k:] + order[:k]:
                for _ in range(per):
                    self.scen[name].run()

    def run(self):
        self.setup()
        for _ in range(self.args.warmup):
            for name in self.phases[0]:
                self.scen[name].run(keep=False)
        self.measure(self.phases[0])
        time.sleep(self.COLD_TTL + 0.5)
        hits = self.mc_hits()
        self.measure(self.phases[1])
        self.hits = self.mc_hits() - hits

    def table(self, order):
        base = statistics.median(self.scen[order[0]].times)
        print('%-11s %5s %9s %8s %10s %7s %7s  %-10s %s'
              % ('scenario', 'runs', 'median ms', 'p90 ms', 'over true',
                 'cpu ms', 'failed', 'source', 'target (<= 3 ms over true)'))
        for name in order:
            s = self.scen[name]
            med = statistics.median(s.times)
            p90 = statistics.quantiles(s.times, n=10)[-1]
            src = ' '.join('%s:%d' % kv for kv in sorted(s.sources.items()))
            if name == order[0]:
                verdict = '(baseline)'
            else:
                met = med - base <= TARGET_MS and not s.failed
                verdict = 'met' if met else 'MISSED'
            print('%-11s %5d %9.2f %8.2f %10.2f %7.2f %7d  %-10s %s'
                  % (name, len(s.times), med, p90, med - base,
                     statistics.median(s.cpu), len(s.failed), src or '-',
                     verdict))
            for f in s.failed[:3]:
                print('  failed run: %s' % f)

    def report(self):
        a = self.args
        print('authgw CGI bench: GET /auth/check as plain CGI, fork+execve '
              'with a CGI environment, sequential, %d cores; %d interleaved '
              'rounds of %d runs per scenario; "over true" = median - median '
              'of /bin/true spawned the same way in the same rounds'
              % (os.cpu_count(), a.rounds, max(1, a.runs // a.rounds)))
        if a.other:
            print('NAME* = the same scenario run by %s, on the same '
                  'database, interleaved in the same rounds' % a.other)
        self.table(self.phases[0])
        print()
        mc = [n for n in self.phases[1] if n.startswith('mc-cold')]
        print('host table cold (cache_local_ttl = %d passed; %d sessions '
              'each): memcached get hits %d over the %d runs of %s'
              % (self.COLD_TTL, a.sessions, self.hits,
                 sum(len(self.scen[n].times) for n in mc), ', '.join(mc)))
        self.table(self.phases[1])

    def cleanup(self):
        harness._cleanup_all()
        os.close(self.errlog)
        if self.args.keep:
            print('kept %s' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=200,
                    help='runs per scenario (default 200)')
    ap.add_argument('--rounds', type=int, default=20,
                    help='interleaved rounds the runs are split into '
                    '(default 20)')
    ap.add_argument('--sessions', type=int, default=64,
                    help='sessions each cold row rotates over (default 64;'
                    ' each must come round again after more than 1 s)')
    ap.add_argument('--warmup', type=int, default=5,
                    help='unmeasured runs of each scenario first (default 5)')
    ap.add_argument('--other', metavar='AUTHGW',
                    help='also run every authgw row with this binary (a '
                    'build of another commit), rows named NAME*')
    ap.add_argument('--keep', action='store_true',
                    help='keep the temporary directory (configurations, '
                    'databases, error.log)')
    args = ap.parse_args()
    if harness.find_program('memcached') is None:
        sys.exit('memcached is not installed')
    if not os.access(harness.AUTHGW_BIN, os.X_OK):
        sys.exit('authgw is not built: %s' % harness.AUTHGW_BIN)
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()
    b.report()


if __name__ == '__main__':
    main()
