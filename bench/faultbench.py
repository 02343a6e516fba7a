#!/usr/bin/env python3
"""authgw fault bench (issue 11, section 2): what each fault costs while
wrk loads /check through nginx.

Every scenario runs the shipped conf/nginx.conf as the test harness renders
it: wrk -t1 GETs /private/ (auth_request to authgw's /check) with live
session cookies, from one second before the fault to a little after it.
Each scenario has its own authgw (and memcached, tmpfs), and stops
everything it started, by PID, at its end.

  worker-kill    SIGKILL a worker every second for 10 s (slots in turn)
  sighup         SIGHUP to the master every 2 s for 10 s (a value of the
                 configuration changes each time)
  mc-kill        memcached SIGKILLed, down 3 s, started again on its port
  mc-freeze      memcached SIGSTOPped for 5 s, then SIGCONTed
  disk-full      the database on a size-limited tmpfs mounted here; a
                 filler file takes the remaining space for 8 s: logins
                 (writes) and checks of cached and of never-checked
                 sessions go on; then the space is freed; afterwards
                 PRAGMA integrity_check, and every user and session from
                 before (and every login answered 200 during) is there
  mail           mail_command hangs (3 s), then fails (4 s), then succeeds,
                 switched by a control file; 10 registrations queued at the
                 start; every message must go out exactly once

In every scenario one session is logged out at the start and checked
through nginx every 20 ms until the end (the memcached scenarios log out a
second one during the fault, while memcached is unreachable): a 200 for it
is a stale validation.

Columns: requests, non-2xx and socket errors as wrk counts them;
unexpected = failures the scenario does not allow (wrk's, the watcher's
and the scenario's own probes); stale = 200s for a revoked session;
deaths = worker deaths in authgw's log (those the bench caused, and the
signals of any other); recover = seconds from the end of the fault to
recovery (per scenario, see the detail column); target = issue 11's.

Usage: bench/faultbench.py [--connections N] [--workers N]
                           [--only NAME[,NAME...]] [--short]
Needs root (the tmpfs), a built tree (AUTHGW_BUILDDIR), nginx, memcached
and wrk. Exit status 1 if a target is missed.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'integration'))
import harness  # noqa: E402

USER = 'bench@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'bench-password'
WATCH_INTERVAL = 0.020
WRK_MAX_SECONDS = 120           # wrk is stopped with SIGINT before this

SCENARIOS = ('worker-kill', 'sighup', 'mc-kill', 'mc-freeze', 'disk-full',
             'mail')


def log(msg):
    sys.stderr.write('[faultbench %s] %s\n' % (time.strftime('%H:%M:%S'),
                                               msg))
    sys.stderr.flush()


# ------------------------------------------------------------------- wrk

WRK_LUA = """\
local cookies = {%s}
local n = 0
statuses = {}
request = function()
  n = n %% #cookies + 1
  return wrk.format("GET", "/private/", {["Cookie"] = cookies[n]})
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      io.write(string.format("STATUS %%d %%d\\n", code, count))
    end
  end
end
"""


class Wrk:
    """wrk -t1 on /private/ with the cookies in turn, in the background,
    until stop() (SIGINT: wrk prints its report)."""

    def __init__(self, tmp, port, cookie_name, tokens, conns):
        self.lua = os.path.join(tmp, 'wrk.lua')
        with open(self.lua, 'w') as f:
            f.write(WRK_LUA % ', '.join(
                json.dumps('%s=%s' % (cookie_name, t)) for t in tokens))
        self.out = os.path.join(tmp, 'wrk.out')
        argv = ['wrk', '-t1', '-c%d' % conns, '-d%ds' % WRK_MAX_SECONDS,
                '--timeout', '5s', '-s', self.lua,
                'http://127.0.0.1:%d/private/' % port]
        with open(self.out, 'w') as out:
            self.proc = harness.register_process(subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
        self.t0 = time.monotonic()

    def stop(self):
        """SIGINT, wait, parse: requests, non2xx, sockerr, statuses."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        harness.reap_process(self.proc, 15)
        with open(self.out) as f:
            text = f.read()
        r = {'requests': 0, 'non2xx': 0, 'sockerr': 0, 'statuses': {},
             'seconds': time.monotonic() - self.t0, 'text': text}
        m = re.search(r'(\d+) requests in', text)
        if m is None:
            raise RuntimeError('wrk gave no report:\n' + text)
        r['requests'] = int(m.group(1))
        m = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
        r['non2xx'] = int(m.group(1)) if m else 0
        m = re.search(r'Socket errors: connect (\d+), read (\d+), '
                      r'write (\d+), timeout (\d+)', text)
        if m:
            r['sockerr'] = sum(int(x) for x in m.groups())
            r['sockerr_detail'] = 'c%s/r%s/w%s/t%s' % m.groups()
        for code, n in re.findall(r'^STATUS (\d+) (\d+)$', text, re.M):
            r['statuses'][int(code)] = int(n)
        return r


# ----------------------------------------------------------- HTTP helpers

def http_get(port, path, cookie=None, timeout=5.0):
    """Status of one GET through nginx, or None on a socket error."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        h = {'Accept': 'application/json'}
        if cookie:
            h['Cookie'] = cookie
        conn.request('GET', path, headers=h)
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def http_post_json(port, path, body, cookie=None, timeout=10.0):
    """(status, headers dict, body bytes) of a JSON POST through nginx,
    or (None, {}, b'') on a socket error."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        h = {'Content-Type': 'application/json',
             'Accept': 'application/json'}
        if cookie:
            h['Cookie'] = cookie
        conn.request('POST', path, body=json.dumps(body).encode(), headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    except (OSError, http.client.HTTPException):
        return None, {}, b''
    finally:
        conn.close()


def login_via_nginx(port, cookie_name, email=USER, password=PASSWORD):
    """(status, token or None) of a JSON login through nginx."""
    st, hdrs, _ = http_post_json(port, '/auth/login',
                                 {'email': email, 'password': password})
    tok = None
    m = re.search(r'%s=([^;]+)' % re.escape(cookie_name),
                  hdrs.get('set-cookie', ''))
    if st == 200 and m:
        tok = m.group(1)
    return st, tok


class Watcher(threading.Thread):
    """GETs /private/ through nginx with each revoked cookie every 20 ms
    until stop(): 200 is a stale validation; 302/401 the right answer;
    anything else (5xx, a socket error) a failure of the request."""

    def __init__(self, port, cookie_name):
        super().__init__(daemon=True)
        self.port = port
        self.cookie_name = cookie_name
        self.tokens = []
        self.lock = threading.Lock()
        self.stale = 0
        self.requests = 0
        self.failures = {}
        self.halt = threading.Event()

    def add(self, token):
        with self.lock:
            self.tokens.append(token)

    def run(self):
        while not self.halt.is_set():
            with self.lock:
                toks = list(self.tokens)
            for t in toks:
                st = http_get(self.port, '/private/',
                              '%s=%s' % (self.cookie_name, t))
                with self.lock:
                    self.requests += 1
                    if st == 200:
                        self.stale += 1
                    elif st not in (302, 401):
                        self.failures[st] = self.failures.get(st, 0) + 1
            self.halt.wait(WATCH_INTERVAL)

    def stop(self):
        self.halt.set()
        self.join(10)


def worker_deaths(ag):
    """{signal or 'exit N': count} of the worker deaths in authgw's log."""
    out = {}
    for sig in re.findall(r'worker \d+ \(pid \d+\) killed by signal (\d+)',
                          ag.log()):
        name = signal.Signals(int(sig)).name
        out[name] = out.get(name, 0) + 1
    for code in re.findall(r'worker \d+ \(pid \d+\) exited with (\d+)',
                           ag.log()):
        out['exit ' + code] = out.get('exit ' + code, 0) + 1
    return out


# -------------------------------------------------------------- scenarios

class Gateway:
    """One scenario's authgw + nginx (+ memcached), its sessions, its
    watcher and its wrk."""

    def __init__(self, bench, name, **conf):
        self.bench = bench
        self.dir = os.path.join(bench.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.servers = []
        self.mc = None
        self.wrk = None
        self.watcher = None
        self.conf = dict(workers=bench.args.workers, log_level='warn',
                         maintenance_interval=3600,
                         login_max_per_account=1000000,
                         login_max_per_ip=1000000,
                         max_sessions_per_user=100000)
        self.conf.update(conf)

    def start_memcached(self):
        self.mc = harness.Memcached(self.dir).start()
        self.conf['memcached'] = self.mc.addr
        return self.mc

    def start(self, users=True):
        self.ag = harness.Authgw(self.dir, **self.conf)
        if 'database' in self.conf:
            self.ag.db_path = self.conf['database']
        if users:
            self.ag.add_user(USER, PASSWORD)
            self.ag.add_user(ADMIN, PASSWORD, admin=True)
        self.ag.start()
        self.servers.append(self.ag)
        self.ngx = harness.Nginx(self.dir, self.ag).start()
        self.servers.append(self.ngx)
        self.port = self.ngx.port
        self.cname = self.ag.cookie_name
        self.admin = self.ag.login_cookie(ADMIN, PASSWORD)
        return self

    def sessions(self, n):
        return [self.ag.login_cookie(USER, PASSWORD) for _ in range(n)]

    def cookie(self, tok):
        return '%s=%s' % (self.cname, tok)

    def revoke(self, tok):
        """Log tok out through nginx (after checks that cache it on every
        tier) and watch it from now on."""
        for _ in range(3):
            if http_get(self.port, '/private/', self.cookie(tok)) != 200:
                raise RuntimeError('session to revoke does not validate')
        st, _, body = http_post_json(self.port, '/auth/logout', {},
                                     self.cookie(tok))
        if st != 200:
            raise RuntimeError('logout: %s %r' % (st, body[:200]))
        self.watcher.add(tok)

    def begin(self, tokens, revoke_first=True):
        """Watcher and wrk running; one session revoked first."""
        self.watcher = Watcher(self.port, self.cname)
        if revoke_first:
            self.revoke(self.ag.login_cookie(USER, PASSWORD))
        self.watcher.start()
        self.wrk = Wrk(self.dir, self.port, self.cname, tokens,
                       self.bench.args.connections)
        time.sleep(1.0)

    def end(self):
        """Stop wrk and the watcher; returns wrk's result."""
        res = self.wrk.stop()
        self.wrk = None
        self.watcher.stop()
        return res

    def stats(self):
        r = self.ag.fcgi('/auth/admin/stats.json', headers={
            'Cookie': self.cookie(self.admin),
            'Accept': 'application/json'}, timeout=5)
        if r.status != 200:
            raise RuntimeError('stats.json: %r' % r)
        return r.json()

    def stop(self):
        if self.wrk is not None:
            try:
                self.wrk.stop()
            except Exception:
                pass
        if self.watcher is not None:
            self.watcher.stop()
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:
                log('stopping %s: %s' % (type(s).__name__, e))
        if self.mc is not None:
            self.mc.stop()


def row(name, res, gw, unexpected, recover, target, met, detail,
        deaths_caused=0, watch_counted=False):
    """One line of the table. The watcher's failed requests are added to
    unexpected unless the scenario counted them (watch_counted)."""
    d = worker_deaths(gw.ag)
    other = dict(d)
    if deaths_caused:
        other['SIGKILL'] = other.get('SIGKILL', 0) - deaths_caused
        if other['SIGKILL'] <= 0:
            del other['SIGKILL']
    deaths = '%d' % deaths_caused if deaths_caused else '0'
    if other:
        deaths += '+' + ','.join('%s:%d' % kv for kv in sorted(other.items()))
        met = False
    w = gw.watcher
    if not watch_counted:
        unexpected += sum(w.failures.values())
    stale = w.stale
    if stale:
        met = False
    if unexpected:
        met = False
    odd = {k: v for k, v in res['statuses'].items() if k != 200}
    if odd:
        detail += '; wrk statuses %s' % ' '.join(
            '%d:%d' % kv for kv in sorted(odd.items()))
    return {'name': name, 'requests': res['requests'],
            'non2xx': res['non2xx'], 'sockerr': res['sockerr'],
            'unexpected': unexpected, 'stale': stale,
            'stale_checks': w.requests, 'deaths': deaths,
            'recover': recover, 'target': target, 'met': met,
            'detail': detail}


def wrk_failures(res):
    return res['non2xx'] + res['sockerr']


class Bench:

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='authgw-faultbench-')
        os.chmod(self.tmp, 0o755)
        self.rows = []
        self.mounts = []
        self.short = 0.4 if args.short else 1.0

    def secs(self, s):
        return s * self.short

    # ------------------------------------------------ 1. worker kills
    def worker_kill(self):
        gw = Gateway(self, 'worker-kill').start()
        try:
            tokens = gw.sessions(8)
            gw.begin(tokens)
            kills, recov = [], []
            nkill = int(round(self.secs(10)))
            t_end = time.monotonic() + nkill
            for k in range(nkill):
                tick = time.monotonic()
                slot = k % gw.ag.conf['workers']
                w = gw.stats()['workers'][slot]
                pid = w['pid']
                if pid not in gw.ag.workers():
                    raise RuntimeError('slot %d pid %d is not a child'
                                       % (slot, pid))
                t_kill = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
                # Dead (a zombie or reaped): its count is final.
                while True:
                    try:
                        with open('/proc/%d/stat' % pid) as f:
                            if f.read().split(') ')[1][0] in 'ZX':
                                break
                    except OSError:
                        break
                    time.sleep(0.001)
                base = gw.stats()['workers'][slot]['requests']
                served = None
                while time.monotonic() - t_kill < 5:
                    w = gw.stats()['workers'][slot]
                    if w['pid'] != pid and w['pid'] > 0 and \
                            w['requests'] > base:
                        served = time.monotonic() - t_kill
                        break
                    time.sleep(0.005)
                recov.append(served)
                rest = tick + 1.0 - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
            time.sleep(max(0.0, t_end - time.monotonic()) + 2.0)
            res = gw.end()
            with open(gw.ngx.error_log) as f:
                cut = len(re.findall(r'upstream prematurely closed|'
                                     r'\(104: Connection reset by peer\)'
                                     r'|\(32: Broken pipe\)', f.read()))
            # At most the one request each killed worker had in hand
            # fails, whoever sent it (wrk or the watcher).
            fails = wrk_failures(res) + sum(gw.watcher.failures.values())
            unexpected = max(0, fails - len(kills))
            worst = max((r for r in recov if r is not None), default=None)
            missing = sum(1 for r in recov if r is None)
            met = worst is not None and worst <= 1.0 and missing == 0
            return row('worker-kill', res, gw, unexpected,
                       '%.3f' % worst if worst is not None else 'never',
                       '<=1/kill in flight; new worker serves <=1 s', met,
                       '%d kills; failed %d (nginx: %d cut upstream); new '
                       'worker served after %s s'
                       % (len(kills), fails, cut,
                          '/'.join('%.2f' % r if r is not None else 'never'
                                   for r in recov)),
                       deaths_caused=len(kills), watch_counted=True)
        finally:
            gw.stop()

    # ------------------------------------------------------ 2. SIGHUP
    def sighup(self):
        gw = Gateway(self, 'sighup').start()
        drains = []                     # per reload: its old workers gone

        def drained(t0, old):
            while time.monotonic() - t0 < 30:
                if not old & set(gw.ag.workers()):
                    drains.append(time.monotonic() - t0)
                    return
                time.sleep(0.005)
            drains.append(None)

        try:
            tokens = gw.sessions(8)
            gw.begin(tokens)
            n = int(round(self.secs(10) / 2))
            watchers = []
            tick = time.monotonic()
            for k in range(n):
                if k > 0:
                    time.sleep(max(0.0, tick + 2.0 - time.monotonic()))
                    tick = time.monotonic()
                old = set(gw.ag.workers())
                gw.ag.reload(cache_ttl=300 + (k % 2))
                th = threading.Thread(target=drained, args=(tick, old),
                                      daemon=True)
                th.start()
                watchers.append(th)
            for th in watchers:
                th.join(35)
            # The new generation serves: a check straight to authgw.
            t = time.monotonic()
            serves = gw.ag.check(tokens[0]).status == 200
            time.sleep(max(0.0, t + 1.0 - time.monotonic()))
            res = gw.end()
            fails = wrk_failures(res)
            worst = (max(drains) if drains and None not in drains
                     else None)
            met = fails == 0 and worst is not None and serves
            return row('sighup', res, gw, fails,
                       '%.3f' % worst if worst is not None else 'never',
                       '0 failed requests', met,
                       '%d reloads; old workers gone after %s s (new ones '
                       'serve%s)'
                       % (n, '/'.join('%.2f' % d if d is not None else
                                      'never' for d in drains),
                          '' if serves else ': NO'))
        finally:
            gw.stop()

    # --------------------------------------------------- 3, 4. memcached
    def memcached(self, kind):
        name = 'mc-' + kind
        # The host table keeps entries 1 s: most checks of 256 sessions
        # ask memcached, so its faults are on the path of the load.
        gw = Gateway(self, name, cache_local_ttl=1)
        mc = gw.start_memcached()
        gw.start()
        try:
            tokens = gw.sessions(256)
            late = gw.ag.login_cookie(USER, PASSWORD)
            for t in tokens:            # fill memcached
                gw.ag.check(t)
            gw.begin(tokens)
            for _ in range(3):          # cached on every tier
                http_get(gw.port, '/private/', gw.cookie(late))
            mc_before = self.mc_stat(mc, 'cmd_get')
            down = self.secs(3 if kind == 'kill' else 5)
            t0 = time.monotonic()
            if kind == 'kill':
                os.kill(mc.pid, signal.SIGKILL)
                harness.reap_process(mc.proc, 5)
            else:
                mc.pause()
            time.sleep(down / 2)
            # Revoked while memcached cannot be told: its entry there
            # stays; the generation must refuse it.
            st, _, _ = http_post_json(gw.port, '/auth/logout', {},
                                      gw.cookie(late), timeout=10)
            if st != 200:
                raise RuntimeError('logout during the fault: %s' % st)
            gw.watcher.add(late)
            time.sleep(max(0.0, t0 + down - time.monotonic()))
            t_end = time.monotonic()
            if kind == 'kill':
                mc = gw.mc = harness.Memcached(gw.dir, port=mc.port).start()
                base = 0
            else:
                mc.resume()
                time.sleep(0.05)        # the queued requests are answered
                base = self.mc_stat(mc, 'cmd_get')
            back = None
            while time.monotonic() - t_end < 15:
                if self.mc_stat(mc, 'cmd_get') > base:
                    back = time.monotonic() - t_end
                    break
                time.sleep(0.01)
            time.sleep(self.secs(3))
            res = gw.end()
            fails = wrk_failures(res)
            met = fails == 0
            return row(name, res, gw, fails,
                       '%.3f' % back if back is not None else 'never',
                       '0 failed checks, 0 stale', met,
                       'memcached %s %.0f s (%d gets before); a 2nd session '
                       'logged out during it; memcached used again %s s '
                       'after' % ('down' if kind == 'kill' else 'frozen',
                                  down, mc_before, '%.2f' % back
                                  if back is not None else 'never'))
        finally:
            gw.stop()

    @staticmethod
    def mc_stat(mc, key):
        try:
            m = re.search(r'STAT %s (\d+)' % key, mc.command('stats', 2.0))
            return int(m.group(1)) if m else 0
        except OSError:
            return 0

    # ----------------------------------------------------- 5. disk full
    def mount_tmpfs(self, path, size):
        os.makedirs(path, exist_ok=True)
        subprocess.run(['mount', '-t', 'tmpfs', '-o',
                        'size=%s,mode=0755' % size, 'tmpfs', path],
                       check=True, timeout=30)
        self.mounts.append(path)

    def unmount_all(self):
        for path in reversed(self.mounts):
            r = subprocess.run(['umount', path], capture_output=True,
                               text=True, timeout=30)
            if r.returncode != 0:
                log('umount %s: %s; lazy unmount' % (path, r.stderr.strip()))
                subprocess.run(['umount', '-l', path], timeout=30)
        self.mounts = []

    def disk_full(self):
        mnt = os.path.join(self.tmp, 'disk-full', 'dbfs')
        self.mount_tmpfs(mnt, '32m')
        db = os.path.join(mnt, 'authgw.db')
        gw = Gateway(self, 'disk-full', database=db, maintenance_interval=2)
        gw.start()
        filler = os.path.join(mnt, 'filler')
        try:
            tokens = gw.sessions(16)            # checked by wrk: cached
            cold = gw.sessions(48)              # never checked before
            # The first 8 due for renewal: their checks try a write.
            due = [hashlib.sha256(base64.urlsafe_b64decode(t + '=')).digest()
                   for t in cold[:8]]
            c = sqlite3.connect(db, timeout=10)
            try:
                with c:
                    c.executemany('UPDATE sessions SET expires = ? WHERE '
                                  'token_hash = ?',
                                  [(int(time.time()) + 600, h) for h in due])
            finally:
                c.close()
            users_before = gw.ag.query('SELECT id, email FROM users')
            sess_before = gw.ag.query('SELECT id FROM sessions')
            gw.begin(tokens)
            t0 = time.monotonic()
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                for size in (1 << 20, 4096, 1):  # to the last byte
                    try:
                        while os.write(fd, b'\0' * size) > 0:
                            pass
                    except OSError:
                        pass
            finally:
                os.close(fd)
            free = os.statvfs(mnt).f_bavail
            logins, cold_st, made = {}, {}, []
            phase = self.secs(8)
            i = 0
            while time.monotonic() - t0 < phase:
                st, tok = login_via_nginx(gw.port, gw.cname)
                logins[st] = logins.get(st, 0) + 1
                if tok:
                    made.append(tok)
                if i < len(cold):
                    s = http_get(gw.port, '/private/', gw.cookie(cold[i]))
                    cold_st[s] = cold_st.get(s, 0) + 1
                    i += 1
                time.sleep(0.05)
            os.unlink(filler)
            t_free = time.monotonic()
            back = None
            while time.monotonic() - t_free < 15:
                st, tok = login_via_nginx(gw.port, gw.cname)
                if st == 200:
                    back = time.monotonic() - t_free
                    made.append(tok)
                    break
                time.sleep(0.02)
            time.sleep(1.0)
            res = gw.end()
            # Afterwards: the database whole, nothing committed lost.
            c = sqlite3.connect(db, timeout=10)
            try:
                integrity = c.execute('PRAGMA integrity_check').fetchone()[0]
                users_after = set(c.execute('SELECT id, email FROM users'))
                sess_after = {r[0] for r in c.execute('SELECT id FROM '
                                                      'sessions')}
            finally:
                c.close()
            lost_users = len(set(users_before) - users_after)
            lost_sess = len({r[0] for r in sess_before} - sess_after)
            dead = sum(1 for t in tokens + cold + made
                       if gw.ag.check(t).status != 200)
            bad_logins = sum(n for st, n in logins.items()
                             if st not in (200, 503))
            bad_cold = sum(n for st, n in cold_st.items() if st != 200)
            unexpected = (wrk_failures(res) + bad_logins + bad_cold + dead +
                          lost_users + lost_sess)
            met = (unexpected == 0 and integrity == 'ok' and back is not None
                   and logins.get(401, 0) == 0)
            fmt = lambda d: ' '.join('%s:%d' % (k, v) for k, v in
                                     sorted(d.items(), key=str))
            return row('disk-full', res, gw, unexpected,
                       '%.3f' % back if back is not None else 'never',
                       '503 never 401, integrity ok', met,
                       'full %.0f s (%d blocks free); logins %s; '
                       'never-checked sessions (8 due for renewal) %s, '
                       '%d renewal writes refused; integrity %s; lost users '
                       '%d sessions %d; %d sessions not valid after; login '
                       'ok %s s after freeing'
                       % (phase, free, fmt(logins), fmt(cold_st),
                          gw.ag.log().count('session extension failed'),
                          integrity,
                          lost_users, lost_sess, dead,
                          '%.2f' % back if back is not None else 'never'))
        finally:
            gw.stop()
            try:
                os.unlink(filler)
            except OSError:
                pass

    # ----------------------------------------------------------- 6. mail
    MAILER = """#!/bin/sh
# faultbench mail_command: the control file says hang, fail or succeed.
msg=$(cat)
id=$(printf '%%s\\n' "$msg" | tr -d '\\r' | sed -n 's/^Message-ID: *//p' | head -n 1)
to=$(printf '%%s\\n' "$msg" | tr -d '\\r' | sed -n 's/^To: *//p' | head -n 1)
mode=$(cat '%(control)s')
echo "$mode $to $id" >> '%(tries)s'
case "$mode" in
hang) exec sleep 600 ;;
fail) exit 1 ;;
esac
echo "$to $id" >> '%(sent)s'
exit 0
"""

    def mail(self):
        d = os.path.join(self.tmp, 'mail')
        os.makedirs(d, exist_ok=True)
        control = os.path.join(d, 'mail.control')
        tries = os.path.join(d, 'mail.tries')
        sent = os.path.join(d, 'mail.sent')
        script = os.path.join(d, 'mailer.sh')
        with open(script, 'w') as f:
            f.write(self.MAILER % {'control': control, 'tries': tries,
                                   'sent': sent})
        os.chmod(script, 0o755)

        def mode(m):
            with open(control + '.tmp', 'w') as f:
                f.write(m + '\n')
            os.replace(control + '.tmp', control)

        mode('hang')
        gw = Gateway(self, 'mail', mail_command=script, mail_timeout=1,
                     mail_retry=1, maintenance_interval=1, log_level='info')
        gw.start()
        n = 10
        try:
            tokens = gw.sessions(8)
            gw.begin(tokens)
            queued = []
            for k in range(n):
                email = 'new%d@example.com' % k
                for _ in range(50):
                    st, hdrs, body = http_post_json(
                        gw.port, '/auth/register',
                        {'email': email, 'password': 'a new password'})
                    if st != 503:
                        break
                    time.sleep(float(hdrs.get('retry-after', '1')) / 10)
                if st != 202:
                    raise RuntimeError('register %s: %s %r'
                                       % (email, st, body[:200]))
                queued.append(email)
            time.sleep(self.secs(3))
            mode('fail')
            time.sleep(self.secs(4))
            mode('succeed')
            t_ok = time.monotonic()
            done = None
            while time.monotonic() - t_ok < 60:
                pending = gw.ag.query('SELECT count(*) FROM outbox '
                                      'WHERE sent = 0')[0][0]
                if pending == 0:
                    done = time.monotonic() - t_ok
                    break
                time.sleep(0.05)
            time.sleep(2.0)             # a duplicate would show by now
            res = gw.end()
            lines = []
            if os.path.exists(sent):
                with open(sent) as f:
                    lines = [ln.split() for ln in f if ln.strip()]
            with open(tries) as f:
                attempts = [ln.split()[0] for ln in f if ln.strip()]
            to = [ln[0] for ln in lines]
            ids = [ln[1] if len(ln) > 1 else '' for ln in lines]
            lost = len(set(queued) - set(to))
            dup = len(to) - len(set(to)) + (len(ids) - len(set(ids)))
            rows = gw.ag.query('SELECT count(*), sum(sent > 0) FROM outbox')
            fails = wrk_failures(res)
            met = lost == 0 and dup == 0 and fails == 0 and done is not None
            return row('mail', res, gw, fails + lost + dup,
                       '%.3f' % done if done is not None else 'never',
                       '0 lost, 0 duplicated', met,
                       '%d queued, %d sent, lost %d, duplicated %d; tries: '
                       'hang %d fail %d succeed %d; outbox %d rows, %d sent; '
                       'all out %s s after the command works'
                       % (n, len(lines), lost, dup, attempts.count('hang'),
                          attempts.count('fail'), attempts.count('succeed'),
                          rows[0][0], rows[0][1] or 0,
                          '%.2f' % done if done is not None else 'never'))
        finally:
            gw.stop()

    # ---------------------------------------------------------------- run
    def run(self):
        todo = self.args.only.split(',') if self.args.only else SCENARIOS
        runs = {'worker-kill': self.worker_kill, 'sighup': self.sighup,
                'mc-kill': lambda: self.memcached('kill'),
                'mc-freeze': lambda: self.memcached('freeze'),
                'disk-full': self.disk_full, 'mail': self.mail}
        for name in todo:
            if name not in runs:
                sys.exit('unknown scenario %s (one of %s)'
                         % (name, ', '.join(SCENARIOS)))
        t0 = time.monotonic()
        for name in todo:
            log('%s ...' % name)
            t = time.monotonic()
            try:
                r = runs[name]()
            except Exception as e:
                log('%s failed: %s' % (name, e))
                r = {'name': name, 'requests': 0, 'non2xx': 0, 'sockerr': 0,
                     'unexpected': '-', 'stale': '-', 'stale_checks': 0,
                     'deaths': '-', 'recover': '-', 'target': '-',
                     'met': False,
                     'detail': 'bench error: %s' % str(e).splitlines()[0]}
            finally:
                harness._cleanup_all()
                self.unmount_all()
            r['seconds'] = time.monotonic() - t
            self.rows.append(r)
        self.total = time.monotonic() - t0

    def report(self):
        a = self.args
        print('authgw fault bench: wrk -t1 -c%d on /private/ (nginx '
              'auth_request to authgw), %d authgw workers, %d cores; %.0f s '
              'in all' % (a.connections, a.workers, os.cpu_count(),
                          self.total))
        cols = ('scenario', 'requests', 'non-2xx', 'sockerr', 'unexpected',
                'stale', 'deaths', 'recover s', 'target', 'met')
        fmt = '%-11s %9s %8s %8s %10s %9s %-10s %9s  %-44s %-6s %s'
        print(fmt % (cols + ('detail',)))
        for r in self.rows:
            print(fmt % (r['name'], r['requests'], r['non2xx'], r['sockerr'],
                         r['unexpected'],
                         '%s/%d' % (r['stale'], r['stale_checks']),
                         r['deaths'], r['recover'], r['target'],
                         'yes' if r['met'] else 'NO', r['detail']))
        return all(r['met'] for r in self.rows)

    def cleanup(self):
        harness._cleanup_all()
        self.unmount_all()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--only', default='')
    ap.add_argument('--short', action='store_true',
                    help='scenarios at 0.4 of their length (smoke test)')
    args = ap.parse_args()
    for prog in ('nginx', 'wrk', 'memcached'):
        if harness.find_program(prog) is None:
            sys.exit('%s is not installed' % prog)
    if os.geteuid() != 0:
        sys.exit('faultbench mounts a tmpfs: run it as root')
    b = Bench(args)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    try:
        b.run()
    finally:
        b.cleanup()
    ok = b.report()
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
