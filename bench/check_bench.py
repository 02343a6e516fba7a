#!/usr/bin/env python3
"""/check through nginx auth_request, measured with wrk on loopback.

Every scenario runs the shipped conf/nginx.conf (rendered by the test
harness); only what nginx's auth_request talks to changes:

  static      GET /            public file, no auth_request (web server ceiling)
  trivial     GET /private/    auth_request to bench/trivial_authz, which
                               always says 200 (ceiling of any FastCGI
                               authorizer): the baseline of the ratios
  authgw-db   GET /private/    auth_request to authgw, SQLite alone

Prints a table: requests/s, p50, p99, and each as a ratio to `trivial`,
all measured in this run. Usage:
  bench/check_bench.py [--seconds N] [--connections N] [--workers N]
Needs a built tree (AUTHGW_BUILDDIR), nginx and wrk.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))
import harness  # noqa: E402


def wrk(url, seconds, conns, cookie=None):
    argv = ['wrk', '-t1', '-c%d' % conns, '-d%ds' % seconds, '--latency']
    if cookie:
        argv += ['-H', 'Cookie: ' + cookie]
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    lat = {}
    for pct in ('50', '99'):
        m = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$' % pct, out, re.M)
        v = float(m.group(1))
        lat[pct] = v * {'us': 1, 'ms': 1000, 's': 1000000}[m.group(2)]
    non2xx = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {'rps': rps, 'p50': lat['50'], 'p99': lat['99'], 'errors': errors}


def trivial_authz(tmp):
    exe = os.path.join(harness.BUILD_DIR, 'bench', 'trivial_authz')
    if not os.access(exe, os.X_OK):
        sys.exit('build bench/trivial_authz first (make bench)')
    sock = os.path.join(tmp, 'trivial.sock')
    return sock, exe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--workers', type=int, default=2)
    args = ap.parse_args()
    for prog in ('nginx', 'wrk'):
        if shutil.which(prog) is None and harness.find_program(prog) is None:
            sys.exit('%s is not installed' % prog)

    results = {}
    tmp = tempfile.mkdtemp(prefix='authgw-bench-')
    try:
        ag = harness.Authgw(tmp, workers=args.workers, log_level='warn',
                            maintenance_interval=60)
        ag.add_user('bench@example.com', 'bench-password')
        ag.start()
        token = ag.login_cookie('bench@example.com', 'bench-password')
        cookie = '%s=%s' % (ag.cookie_name, token)

        ngx = harness.Nginx(os.path.join(tmp, 'n1'), ag).start()
        base = 'http://127.0.0.1:%d' % ngx.port
        wrk(base + '/private/', 2, args.connections, cookie)   # warm up
        results['static'] = wrk(base + '/', args.seconds, args.connections)
        results['authgw-db'] = wrk(base + '/private/', args.seconds,
                                   args.connections, cookie)
        ngx.stop()

        sock, exe = trivial_authz(tmp)
        triv = harness._register(subprocess.Popen(
            [exe, sock, str(args.workers)], start_new_session=True))
        harness.wait_connectable(sock, proc=triv)
        ngx2 = harness.Nginx(os.path.join(tmp, 'n2'), sock).start()
        base2 = 'http://127.0.0.1:%d' % ngx2.port
        wrk(base2 + '/private/', 2, args.connections)
        results['trivial'] = wrk(base2 + '/private/', args.seconds,
                                 args.connections)
        ngx2.stop()
        harness._kill_group(triv, 15)
        harness._reap(triv)
        ag.stop()
    finally:
        harness._cleanup_all()
        shutil.rmtree(tmp, ignore_errors=True)

    base = results['trivial']
    print('/check through nginx auth_request: wrk -t1 -c%d -d%ds, '
          '%d authgw workers, %d cores'
          % (args.connections, args.seconds, args.workers, os.cpu_count()))
    print('%-11s %10s %8s %9s %9s %8s %9s %7s'
          % ('scenario', 'req/s', 'ratio', 'p50 us', 'p99 us', 'p99 x',
             'non-2xx', ''))
    for name in ('static', 'trivial', 'authgw-db'):
        r = results[name]
        print('%-11s %10.0f %8.2f %9.0f %9.0f %8.2f %9d'
              % (name, r['rps'], r['rps'] / base['rps'], r['p50'], r['p99'],
                 r['p99'] / base['p99'], r['errors']))


if __name__ == '__main__':
    main()
