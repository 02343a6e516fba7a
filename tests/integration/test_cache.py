"""The session cache (SPEC section 5, issue 3): the host-local shared table
and memcached in front of SQLite, invalidation on every path, faults.
A real memcached is started on a free loopback port for each test."""

import base64
import hashlib
import json
import os
import signal
import time
import urllib.parse

import harness
from harness import Memcached, fcgi, make_params, wait_for

USER = 'user@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'correct horse battery'


def token_key_hex(token):
    raw = base64.urlsafe_b64decode(token + '=' * (-len(token) % 4))
    return hashlib.sha256(raw).hexdigest()


class CacheTest(harness.TestCase):

    def start(self, memcached=True, **conf):
        self.mc = None
        if memcached:
            self.mc = self.track(Memcached(self.tmpdir).start())
            conf.setdefault('memcached', self.mc.addr)
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.add_user(ADMIN, PASSWORD, admin=True)
        ag.start()
        return ag

    def mc_stat(self, name):
        for line in self.mc.command('stats').splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == name:
                return int(parts[2])
        raise KeyError(name)

    def post_json(self, ag, path, token, body=None):
        data = json.dumps(body or {}).encode()
        return ag.fcgi(path, 'POST', headers={
            'Content-Type': 'application/json', 'Accept': 'application/json',
            'Cookie': '%s=%s' % (ag.cookie_name, token)}, body=data)

    # -- hits

    def test_hit_after_first_check(self):
        ag = self.start()
        t = ag.login_cookie(USER, PASSWORD)
        r1 = ag.check(t)
        r2 = ag.check(t)
        self.assertEqual((r1.status, r2.status), (200, 200))
        self.assertEqual(r1.header('x-auth-source'), 'db')
        self.assertEqual(r2.header('x-auth-source'), 'cache')
        self.assertEqual(r2.header('x-auth-user'), USER)

    def test_hit_without_memcached(self):
        ag = self.start(memcached=False)
        t = ag.login_cookie(USER, PASSWORD)
        ag.check(t)
        self.assertEqual(ag.check(t).header('x-auth-source'), 'cache')
        h = ag.fcgi('/auth/healthz').json()
        self.assertEqual(h, {'sqlite': 'ok', 'memcached': 'off'})

    def test_memcached_tier_serves_after_local_entry_ages(self):
        ag = self.start(cache_local_ttl=1)
        t = ag.login_cookie(USER, PASSWORD)
        self.assertEqual(ag.check(t).header('x-auth-source'), 'db')
        # The entry is in memcached under a key derived from the token's
        # hash, never the token itself.
        keys = self.mc.command('lru_crawler metadump all')
        self.assertIn(token_key_hex(t), keys)
        self.assertNotIn(t, keys)
        hits = self.mc_stat('get_hits')
        time.sleep(1.2)
        r = ag.check(t)
        self.assertEqual(r.header('x-auth-source'), 'cache', r)
        self.assertGreater(self.mc_stat('get_hits'), hits)

    def test_forged_memcached_entry_authenticates_nobody(self):
        ag = self.start(cache_local_ttl=1)
        t = ag.login_cookie(USER, PASSWORD)
        ag.check(t)
        keys = self.mc.command('lru_crawler metadump all')
        key = [urllib.parse.unquote(w.split('=', 1)[1]) for w in keys.split()
               if w.startswith('key=') and token_key_hex(t) in w][0]
        # Store another session's entry (wrong hash) under this key.
        bogus = 's1\t' + '0' * 64 + '\t1\tAAAAAAAAAAAAAAAAAAAAAA\t1\t' \
            '9999999999\t1\t2\tadmin\t1\t0\tadmin@example.com'
        self.assertIn('STORED', self.mc.command(
            'set %s 0 60 %d\r\n%s' % (key, len(bogus), bogus)))
        db = ag.db()                    # behind authgw's back
        db.execute('DELETE FROM sessions')
        db.commit()
        db.close()
        time.sleep(1.2)
        self.assertEqual(ag.check(t).status, 401)

    def test_minted_entry_for_a_random_token_is_refused(self):
        # Someone who can write to memcached (it may be shared with other
        # applications) stores a well-formed admin entry under a token of
        # their choosing: without the tag key it authenticates nobody.
        import os as _os
        ag = self.start(cache_local_ttl=1)
        t = ag.login_cookie(USER, PASSWORD)
        ag.check(t)
        keys = self.mc.command('lru_crawler metadump all')
        ns = [urllib.parse.unquote(w.split('=', 1)[1]).split(':')[1]
              for w in keys.split() if w.startswith('key=authgw')][0]
        token = base64.urlsafe_b64encode(_os.urandom(32)).decode().rstrip('=')
        h = token_key_hex(token)
        now = int(time.time())
        fields = ['s2', h, '999999', 'A' * 22, str(now), str(now + 8600),
                  str(now), '2', 'admin', '1', '0', ADMIN]
        value = '\t'.join(fields) + '\t' + 'A' * 43
        self.assertIn('STORED', self.mc.command('set authgw:%s:%s 0 60 %d\r\n%s'
                                                % (ns, h, len(value), value)))
        r = ag.check(token, query='role=admin')
        self.assertEqual(r.status, 401, r)

    # -- invalidation on every path

    def assert_invalidated(self, ag, token, **conf):
        r = ag.check(token)
        self.assertEqual(r.status, 401, r)

    def cached_session(self, ag, email=USER):
        t = ag.login_cookie(email, PASSWORD)
        ag.check(t)
        self.assertEqual(ag.check(t).header('x-auth-source'), 'cache')
        return t

    def test_logout_invalidates(self):
        ag = self.start()
        t = self.cached_session(ag)
        self.assertEqual(self.post_json(ag, '/auth/logout', t).status, 200)
        self.assert_invalidated(ag, t)

    def test_entry_of_a_long_cache_ttl_is_kept(self):
        """memcached reads an expiry over 30 days as a Unix time: with a
        cache_ttl of 31 days every entry would expire at once. Every
        expiry sent is at most 30 days."""
        ag = self.start(cache_ttl=31 * 86400, session_lifetime=40 * 86400,
                        session_max_lifetime=40 * 86400)
        t = self.cached_session(ag)
        dump = self.mc.command('lru_crawler metadump all')
        rows = [dict(w.split('=', 1) for w in line.split())
                for line in dump.splitlines() if token_key_hex(t) in line]
        self.assertEqual(len(rows), 1, dump)
        now = time.time()
        self.assertLessEqual(int(rows[0]['exp']), now + 30 * 86400 + 5, rows)
        self.assertGreater(int(rows[0]['exp']), now + 30 * 86400 - 60, rows)

    def test_logout_all_invalidates_every_session(self):
        ag = self.start()
        t1 = self.cached_session(ag)
        t2 = self.cached_session(ag)
        r = self.post_json(ag, '/auth/logout', t1, {'all': True})
        self.assertEqual(r.status, 200, r)
        self.assert_invalidated(ag, t1)
        self.assert_invalidated(ag, t2)

    def test_cli_revoke_invalidates(self):
        ag = self.start()
        t = self.cached_session(ag)
        pub = ag.query('SELECT public_id FROM sessions')[0][0]
        self.assertEqual(ag.cli('session', 'revoke', pub).returncode, 0)
        self.assert_invalidated(ag, t)

    def test_cli_passwd_invalidates(self):
        ag = self.start()
        t = self.cached_session(ag)
        r = ag.cli('user', 'passwd', USER, input='another password\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_invalidated(ag, t)

    def test_cli_role_change_seen_at_once(self):
        ag = self.start()
        t = self.cached_session(ag)
        self.assertEqual(ag.check(t, query='role=admin').status, 403)
        self.assertEqual(ag.cli('user', 'role', USER, 'admin').returncode, 0)
        r = ag.check(t, query='role=admin')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-role'), 'admin')

    def test_cli_disable_and_del_invalidate(self):
        ag = self.start()
        t = self.cached_session(ag)
        self.assertEqual(ag.cli('user', 'disable', USER).returncode, 0)
        self.assert_invalidated(ag, t)
        self.assertEqual(ag.cli('user', 'enable', USER).returncode, 0)
        t = self.cached_session(ag)
        self.assertEqual(ag.cli('user', 'del', USER).returncode, 0)
        self.assert_invalidated(ag, t)

    def test_admin_cache_clear(self):
        ag = self.start()
        t = self.cached_session(ag)
        admin = ag.login_cookie(ADMIN, PASSWORD)
        other = self.mc.command('set other:app 0 60 5\r\nhello')
        self.assertIn('STORED', other)
        self.assertEqual(self.post_json(ag, '/auth/admin/cache/clear',
                                        t).status, 403)
        r = self.post_json(ag, '/auth/admin/cache/clear', admin)
        self.assertEqual(r.status, 200, r)
        # Every cached session is unreachable: the next check is from db.
        self.assertEqual(ag.check(t).header('x-auth-source'), 'db')
        # Other applications' keys are untouched.
        self.assertIn('hello', self.mc.command('get other:app'))

    # -- faults

    def test_memcached_killed_mid_run(self):
        ag = self.start(cache_local_ttl=1)
        t = self.cached_session(ag)
        self.mc.stop()
        for _ in range(3):
            time.sleep(0.6)
            r = ag.check(t)
            self.assertEqual(r.status, 200, r)
        self.assertEqual(ag.fcgi('/auth/healthz').json()['memcached'], 'down')
        t2 = ag.login_cookie(USER, PASSWORD)
        self.assertEqual(ag.check(t2).status, 200)

    def test_memcached_refusing(self):
        port = harness.free_port()      # nothing listens there
        self.mc = None
        ag = self.authgw(memcached='127.0.0.1:%d' % port)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.start()
        t = ag.login_cookie(USER, PASSWORD)
        for _ in range(5):
            self.assertEqual(ag.check(t).status, 200)

    def test_frozen_memcached_during_logout(self):
        ag = self.start(cache_local_ttl=1, workers=2)
        t = self.cached_session(ag)
        keep = self.cached_session(ag)
        self.mc.pause()
        try:
            t0 = time.time()
            r = self.post_json(ag, '/auth/logout', t)
            self.assertEqual(r.status, 200, r)
            # A frozen server costs at most the short time-outs.
            self.assertLess(time.time() - t0, 3)
            self.assertEqual(ag.check(keep).status, 200)
        finally:
            self.mc.resume()
        time.sleep(1.2)                 # local entries aged out
        for _ in range(4):              # every worker
            self.assertEqual(ag.check(t).status, 401)
        wait_for(lambda: ag.check(keep).status == 200, timeout=5,
                 what='live session still valid')

    def test_two_instances_see_each_others_logouts(self):
        ag = self.start()
        other_dir = os.path.join(self.tmpdir, 'second')
        os.mkdir(other_dir)
        conf = dict(ag.conf)
        for k in ('listen',):
            conf.pop(k, None)
        ag2 = self.track(harness.Authgw(other_dir, **conf))
        ag2.start()
        t = ag.login_cookie(USER, PASSWORD)
        self.assertEqual(ag2.check(t).status, 200)
        self.assertEqual(ag2.check(t).header('x-auth-source'), 'cache')
        self.assertEqual(self.post_json(ag, '/auth/logout', t).status, 200)
        self.assertEqual(ag2.check(t).status, 401)


class PoolTest(harness.TestCase):
    """A pool of two memcached (issue 14): keys spread by consistent
    hashing, and a frozen server costs only its own keys."""

    def start_pool(self):
        self.nodes = [self.track(Memcached(self.tmpdir).start())
                      for _ in range(2)]
        ag = self.authgw(memcached=','.join(n.addr for n in self.nodes),
                         cache_local_ttl=1, workers=1)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.start()
        return ag

    def node_of(self, token):
        key = token_key_hex(token)
        held = [i for i, n in enumerate(self.nodes)
                if key in n.command('lru_crawler metadump all')]
        self.assertEqual(len(held), 1, held)
        return held[0]

    def test_keys_spread_and_a_frozen_node_costs_only_its_keys(self):
        ag = self.start_pool()
        tokens = [ag.login_cookie(USER, PASSWORD) for _ in range(12)]
        for t in tokens:
            self.assertEqual(ag.check(t).header('x-auth-source'), 'db')
        on = {0: [], 1: []}
        for t in tokens:
            on[self.node_of(t)].append(t)
        # 12 keys on one server of two: one chance in 2048.
        self.assertTrue(on[0] and on[1], on)
        time.sleep(1.2)                 # the host table's entries aged out
        self.nodes[1].pause()
        try:
            # The first key of the frozen server costs its time-out, and
            # opens its breaker: the database answers.
            r = ag.check(on[1][0])
            self.assertEqual((r.status, r.header('x-auth-source')),
                             (200, 'db'), r)
            # The other server's keys are still served from memcached.
            for t in on[0]:
                r = ag.check(t)
                self.assertEqual((r.status, r.header('x-auth-source')),
                                 (200, 'cache'), r)
            t0 = time.monotonic()
            for t in on[1][1:]:
                self.assertEqual(ag.check(t).status, 200)
            # Skipped, not waited for (each wait would be 100 ms or more).
            self.assertLess(time.monotonic() - t0, 0.1 * len(on[1]))
            self.assertEqual(ag.fcgi('/auth/healthz').json()['memcached'],
                             'down')
        finally:
            self.nodes[1].resume()
        wait_for(lambda: ag.fcgi('/auth/healthz').json()['memcached'] ==
                 'ok', timeout=5, what='the pool answering again')


class CgiCacheTest(harness.TestCase):
    """Plain CGI runs (issue 12, section 3): a check the host table answers
    opens neither the database nor memcached; the runs that need memcached
    (a lookup the host table misses, a put after a database load, an
    invalidation) still use it, under the same generations."""

    def start(self, memcached=True, **conf):
        self.mc = None
        if memcached:
            self.mc = self.track(Memcached(self.tmpdir).start())
            conf.setdefault('memcached', self.mc.addr)
        ag = self.authgw(**conf)       # no listen: the CGI mode
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        return ag

    mc_stat = CacheTest.mc_stat

    def cgi(self, ag, method, route, token=None, body=None, extra=None):
        env = {'REQUEST_METHOD': method, 'SCRIPT_NAME': '/auth',
               'PATH_INFO': route, 'REQUEST_URI': '/auth' + route,
               'QUERY_STRING': '', 'REMOTE_ADDR': '127.0.0.1',
               'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '80',
               'HTTP_HOST': '127.0.0.1', 'HTTP_ACCEPT': 'application/json'}
        data = b''
        if body is not None:
            data = json.dumps(body).encode()
            env['CONTENT_TYPE'] = 'application/json'
            env['CONTENT_LENGTH'] = str(len(data))
        if token:
            env['HTTP_COOKIE'] = '%s=%s' % (ag.cookie_name, token)
        env.update(extra or {})
        r = harness.cgi_request(env, data, config=ag.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def cgi_login(self, ag):
        r = self.cgi(ag, 'POST', '/login',
                     body={'email': USER, 'password': PASSWORD})
        self.assertEqual(r.status, 200, r)
        return r.set_cookies()[ag.cookie_name][0]

    def files(self, ag):
        return sorted(os.listdir(ag.tmpdir))

    def warm_check_touches_nothing(self, ag):
        t = self.cgi_login(ag)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 200)
        before = self.files(ag)
        conns = self.mc_stat('total_connections') if self.mc else None
        # The database away: a run that opened it would create a new one.
        os.rename(ag.db_path, ag.db_path + '.away')
        try:
            r = self.cgi(ag, 'GET', '/check', t)
            after = self.files(ag)
        finally:
            os.rename(ag.db_path + '.away', ag.db_path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-source'), 'cache', r)
        self.assertEqual(after, sorted(f if f != 'authgw.db' else
                                       'authgw.db.away' for f in before))
        if self.mc:
            # (+1: the stats command's own connection)
            self.assertEqual(self.mc_stat('total_connections'), conns + 1)
        # Nor did any run leave SQLite's journal files behind.
        self.assertEqual([f for f in self.files(ag) if f.endswith(
            ('-wal', '-shm', '-journal'))], [])

    def test_cgi_warm_check_opens_no_database_nor_memcached(self):
        self.warm_check_touches_nothing(self.start())

    def test_cgi_warm_check_opens_no_database_without_memcached(self):
        self.warm_check_touches_nothing(self.start(memcached=False))

    def test_cgi_loads_libraries_only_when_needed(self):
        # The dynamic loader names every object it loads (LD_DEBUG=files),
        # dlopen included.
        ag = self.start()
        t = self.cgi_login(ag)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 200)
        env = {'LD_DEBUG': 'files'}
        r = self.cgi(ag, 'GET', '/check', t, extra=env)
        self.assertEqual(r.header('x-auth-source'), 'cache', r)
        self.assertIn('libcrypto', r.stderr)        # LD_DEBUG works
        # (Nor, through it, libstdc++; a sanitizer build links that anyway.)
        self.assertNotIn('libmemcached', r.stderr)
        self.assertNotIn('libsqlite3', r.stderr)
        deletes = self.mc_stat('delete_hits')
        r = self.cgi(ag, 'POST', '/logout', t, body={}, extra=env)
        self.assertEqual(r.status, 200, r)
        self.assertIn('libmemcached', r.stderr)
        self.assertIn('libsqlite3', r.stderr)
        self.assertEqual(self.mc_stat('delete_hits'), deletes + 1)

    def test_cgi_first_request_creates_the_schema(self):
        ag = self.start(memcached=False)
        os.unlink(ag.db_path)
        # A check without a session needs no database, and makes none.
        self.assertEqual(self.cgi(ag, 'GET', '/check').status, 401)
        self.assertFalse(os.path.exists(ag.db_path))
        r = self.cgi(ag, 'GET', '/healthz')
        self.assertEqual(r.status, 200, r)
        self.assertGreater(ag.query('PRAGMA user_version')[0][0], 0)

    def test_cgi_miss_fills_and_reads_memcached(self):
        ag = self.start(cache_local_ttl=1)
        t = self.cgi_login(ag)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 200)
        self.assertIn(token_key_hex(t),
                      self.mc.command('lru_crawler metadump all'))
        hits = self.mc_stat('get_hits')
        time.sleep(1.2)                 # past cache_local_ttl
        r = self.cgi(ag, 'GET', '/check', t)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-source'), 'cache', r)
        self.assertGreater(self.mc_stat('get_hits'), hits)

    def test_cgi_logout_deletes_the_memcached_entry(self):
        ag = self.start(cache_local_ttl=1)
        t = self.cgi_login(ag)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 200)
        self.assertIn(token_key_hex(t),
                      self.mc.command('lru_crawler metadump all'))
        deletes = self.mc_stat('delete_hits')
        r = self.cgi(ag, 'POST', '/logout', t, body={})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.mc_stat('delete_hits'), deletes + 1)
        self.assertNotIn(token_key_hex(t),
                         self.mc.command('lru_crawler metadump all'))
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 401)
        time.sleep(1.2)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 401)

    def test_cgi_cli_passwd_refuses_the_memcached_entry(self):
        ag = self.start(cache_local_ttl=1)
        t = self.cgi_login(ag)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 200)
        # An old entry put back behind authgw's back stays refused: its
        # generation is not the hash's current one.
        keys = self.mc.command('lru_crawler metadump all')
        key = [urllib.parse.unquote(w.split('=', 1)[1]) for w in keys.split()
               if w.startswith('key=') and token_key_hex(t) in w][0]
        old = self.mc.command('get %s' % key).split('\r\n')[1]
        r = ag.cli('user', 'passwd', USER, input='another password\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('STORED', self.mc.command(
            'set %s 0 60 %d\r\n%s' % (key, len(old), old)))
        time.sleep(1.2)
        self.assertEqual(self.cgi(ag, 'GET', '/check', t).status, 401)


if __name__ == '__main__':
    harness.run_modules()
