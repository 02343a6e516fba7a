#!/usr/bin/env python3
"""authgw benchmarks through nginx auth_request, measured with wrk on
loopback, every figure beside a baseline measured in the same run.

Every scenario runs the shipped conf/nginx.conf (rendered by the test
harness, plus one `return 204` location for the web-server ceiling); only
what auth_request talks to, and authgw's configuration, change:

  nginx-204      GET /bench204   nginx `return 204` (web server ceiling)
  trivial        GET /private/   auth_request to bench/trivial_authz, which
                                 always says 200: the ceiling of any FastCGI
                                 authorizer, and the baseline of the ratios
  authgw-mc      GET /private/   authgw, memcached configured (host table
                                 in front of it)
  authgw-local   GET /private/   authgw, no memcached (host table, SQLite)
  authgw-mc-down GET /private/   authgw, memcached configured but down
  authgw-sqlite  GET /private/   authgw, every cache off (SQLite per check)
  login-429      POST /auth/login  wrong password on a locked account
                                 (refused before hashing); ratio to authgw-mc
  login-ok       POST /auth/login  correct logins at the default scrypt cost

Usage: bench/check_bench.py [--seconds N] [--connections N] [--workers N]
                            [--rounds N]
Needs a built tree (AUTHGW_BUILDDIR), nginx, memcached and wrk.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))
import harness  # noqa: E402

USER = 'bench@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'bench-password'


def wrk(url, seconds, conns, cookie=None, lua=None):
    """One wrk run; requests/s, p50 and p99 (microseconds), non-2xx."""
    argv = ['wrk', '-t1', '-c%d' % conns, '-d%ds' % seconds, '--latency']
    if cookie:
        argv += ['-H', 'Cookie: ' + cookie]
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
    return {'rps': float(m.group(1)), 'p50': lat['50'], 'p99': lat['99'],
            'non2xx': int(bad.group(1)) if bad else 0,
            'requests': int(total.group(1)) if total else 0}


def bench_template(tmp):
    """conf/nginx.conf plus a `return 204` location."""
    with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
        text = f.read()
    marker = '\t\tlocation /auth/ {'
    if marker not in text:
        sys.exit('conf/nginx.conf changed: no "location /auth/ {" line')
    text = text.replace(marker, '\t\tlocation = /bench204 {\n'
                        '\t\t\taccess_log off;\n\t\t\treturn 204;\n\t\t}\n\n'
                        + marker, 1)
    path = os.path.join(tmp, 'nginx-bench.conf')
    with open(path, 'w') as f:
        f.write(text)
    return path


def lua_post(tmp, name, body):
    path = os.path.join(tmp, name + '.lua')
    with open(path, 'w') as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Accept"] = "application/json"\n'
                % json.dumps(json.dumps(body)))
    return path


class Bench:
    """Every scenario is set up first and stays up; then each is measured
    in --rounds interleaved rounds and the median round is reported, so
    that the order of scenarios and the machine's drift weigh on all alike."""

    ORDER = ('nginx-204', 'trivial', 'authgw-mc', 'authgw-local',
             'authgw-mc-down', 'authgw-sqlite', 'login-429', 'login-ok')

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='authgw-bench-')
        self.template = bench_template(self.tmp)
        self.targets = {}       # name -> (url, cookie, lua, connections)
        self.authgws = {}       # name -> Authgw, for the hit rate
        self.samples = {n: [] for n in self.ORDER}
        self.hit_rate = {}

    def authgw(self, name, **conf):
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        conf.setdefault('workers', self.args.workers)
        conf.setdefault('log_level', 'warn')
        conf.setdefault('maintenance_interval', 60)
        ag = harness.Authgw(d, **conf)
        ag.add_user(USER, PASSWORD)
        ag.add_user(ADMIN, PASSWORD, admin=True)
        ag.start()
        ngx = harness.Nginx(d, ag, template=self.template).start()
        return ag, 'http://127.0.0.1:%d' % ngx.port

    def stats(self, ag):
        admin = ag.login_cookie(ADMIN, PASSWORD)
        r = ag.fcgi('/auth/admin/stats.json', headers={
            'Cookie': '%s=%s' % (ag.cookie_name, admin),
            'Accept': 'application/json'})
        return r.json() if r.status == 200 else None

    def check(self, name, **conf):
        ag, base = self.authgw(name, **conf)
        cookie = '%s=%s' % (ag.cookie_name, ag.login_cookie(USER, PASSWORD))
        self.targets[name] = (base + '/private/', cookie, None,
                              self.args.connections)
        self.authgws[name] = ag
        return ag, base

    def setup(self):
        a = self.args
        _, base = self.authgw('ceiling')
        self.targets['nginx-204'] = (base + '/bench204', None, None,
                                     a.connections)
        exe = os.path.join(harness.BUILD_DIR, 'bench', 'trivial_authz')
        sock = os.path.join(self.tmp, 'trivial.sock')
        triv = harness.register_process(subprocess.Popen(
            [exe, sock, str(a.workers)], start_new_session=True))
        harness.wait_connectable(sock, proc=triv)
        d = os.path.join(self.tmp, 'trivial')
        os.mkdir(d)
        ngx = harness.Nginx(d, sock, template=self.template).start()
        self.targets['trivial'] = ('http://127.0.0.1:%d/private/' % ngx.port,
                                   None, None, a.connections)
        mc = harness.Memcached(self.tmp).start()
        _, base = self.check('authgw-mc', memcached=mc.addr)
        # Wrong logins on one locked account: each answered 429.
        wrong = lua_post(self.tmp, 'wrong', {'email': USER,
                                             'password': 'wrong password'})
        self.targets['login-429'] = (base + '/auth/login', None, wrong,
                                     a.connections)
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
                                    a.workers)

    def run(self):
        self.setup()
        for name in self.ORDER:                 # warm every path once
            url, cookie, lua, conns = self.targets[name]
            wrk(url, 1, conns, cookie, lua)
        before = {n: self.stats(ag) for n, ag in self.authgws.items()}
        for _ in range(self.args.rounds):
            for name in self.ORDER:
                url, cookie, lua, conns = self.targets[name]
                self.samples[name].append(
                    wrk(url, self.args.seconds, conns, cookie, lua))
        for name, ag in self.authgws.items():
            after = self.stats(ag)
            if before[name] and after:
                hits = after['cache_hits'] - before[name]['cache_hits']
                miss = after['cache_misses'] - before[name]['cache_misses']
                self.hit_rate[name] = hits / max(1, hits + miss)

    def median(self, name):
        runs = sorted(self.samples[name], key=lambda x: x['rps'])
        return runs[len(runs) // 2]

    def report(self):
        a = self.args
        r = {n: self.median(n) for n in self.ORDER}
        b = r['trivial']
        print('authgw bench: wrk -t1 -c%d -d%ds on loopback, %d authgw '
              'workers, %d cores, median of %d interleaved rounds; ratios '
              'to `trivial` measured in this run'
              % (a.connections, a.seconds, a.workers, os.cpu_count(),
                 a.rounds))
        print('%-15s %9s %7s %8s %8s %7s %8s %9s  %s'
              % ('scenario', 'req/s', 'x triv', 'p50 us', 'p99 us',
                 'p99 x', 'non-2xx', 'hit rate', 'req/s of each round'))
        for name in self.ORDER:
            x = r[name]
            hr = self.hit_rate.get(name)
            print('%-15s %9.0f %7.2f %8.0f %8.0f %7.2f %8d %9s  %s'
                  % (name, x['rps'], x['rps'] / b['rps'], x['p50'], x['p99'],
                     x['p99'] / b['p99'], x['non2xx'],
                     '%.4f' % hr if hr is not None else '-',
                     ' '.join('%.0f' % s['rps'] for s in self.samples[name])))
        print('login-429 / authgw-mc requests/s: %.2f (target >= 0.5); '
              'login-ok: %.1f logins/s at N=2^15, r=8, p=3'
              % (r['login-429']['rps'] / r['authgw-mc']['rps'],
                 r['login-ok']['rps']))

    def cleanup(self):
        harness._cleanup_all()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    for prog in ('nginx', 'wrk', 'memcached'):
        if harness.find_program(prog) is None:
            sys.exit('%s is not installed' % prog)
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()
    b.report()


if __name__ == '__main__':
    main()
