"""Storage failures (SPEC section 4-5): when SQLite cannot be used, a check
answers 503, never 401, and leaves the cookie alone; nothing crashes."""

import json
import os

import harness
from harness import cgi_request, wait_for

USER = 'user@example.com'
PASSWORD = 'correct horse battery'


class StorageTest(harness.TestCase):

    def cgi(self, ag, method, path, headers=None, body=b''):
        env = {'REQUEST_METHOD': method, 'REQUEST_URI': path,
               'REMOTE_ADDR': '127.0.0.1',
               'CONTENT_LENGTH': str(len(body)) if body else ''}
        for k, v in (headers or {}).items():
            if k.lower() == 'content-type':
                env['CONTENT_TYPE'] = v
            else:
                env['HTTP_' + k.upper().replace('-', '_')] = v
        return cgi_request(env, body, config=ag.config_path)

    def test_cgi_with_unusable_database(self):
        ag = self.authgw(database=os.path.join(self.tmpdir, 'gone', 'x.db'),
                         cache_entries=0)
        cookie = {'Cookie': '%s=%s' % (ag.cookie_name, 'A' * 43)}
        for path in ('/auth/check', '/auth/session'):
            r = self.cgi(ag, 'GET', path, cookie)
            self.assertEqual(r.status, 503, (path, r))
            self.assertEqual(r.set_cookies(), {}, r)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cgi(ag, 'GET', '/auth/healthz')
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()['sqlite'], 'error')
        body = json.dumps({'email': USER, 'password': PASSWORD}).encode()
        r = self.cgi(ag, 'POST', '/auth/login',
                     {'Content-Type': 'application/json'}, body)
        self.assertEqual(r.status, 503, r)
        # The authorizer role too.
        r = cgi_request({'FCGI_ROLE': 'AUTHORIZER', 'REQUEST_METHOD': 'GET',
                         'REQUEST_URI': '/private/', 'HTTP_COOKIE':
                         cookie['Cookie']}, config=ag.config_path)
        self.assertEqual(r.status, 503, r)

    def test_database_lost_under_a_running_server(self):
        ag = self.authgw(cache_entries=0, workers=2)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.start()
        token = ag.login_cookie(USER, PASSWORD)
        self.assertEqual(ag.check(token).status, 200)
        good = ag.conf['database']
        # New workers that cannot open their database (a lost mount).
        ag.reload(database=os.path.join(self.tmpdir, 'gone', 'x.db'))
        wait_for(lambda: ag.check(token).status == 503, timeout=10,
                 what='503 from the new workers')
        for _ in range(4):
            r = ag.check(token)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.set_cookies(), {}, r)
        self.assertTrue(ag.running())
        # Storage back: the same cookie is valid again.
        ag.reload(database=good)
        wait_for(lambda: ag.check(token).status == 200, timeout=10,
                 what='the session valid again')

    def test_healthz_reads_the_database(self):
        """A database file overwritten with garbage under a running server
        is "error" and 503 at /healthz, not "ok" from a connection that
        never looks at the file again."""
        ag = self.authgw(cache_entries=0, workers=1)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.start()
        r = ag.fcgi('/auth/healthz')
        self.assertEqual((r.status, r.json()['sqlite']), (200, 'ok'))
        with open(ag.conf['database'], 'r+b') as f:
            f.write(b'garbage!' * 1024)
        r = ag.fcgi('/auth/healthz')
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()['sqlite'], 'error')


if __name__ == '__main__':
    harness.run_modules()
