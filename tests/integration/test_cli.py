"""The admin command line (SPEC section 7) and its exit statuses: 0, 1 with a
one-line reason on stderr, 64 usage, 78 config. Effects on live sessions are
checked against a running authgw over FastCGI."""

import os
import re
import sqlite3
import time
import unittest

import harness
from harness import AUTHGW_BIN

USER = 'user@example.com'
OTHER = 'other@example.com'
PASSWORD = 'first-password-123'
NEWPASS = 'second-password-456'

SPEC_KEYS = ('listen', 'workers', 'database', 'memcached', 'cache_ttl',
             'prefix', 'base_url', 'cookie_name', 'cookie_secure',
             'cookie_domain', 'session_lifetime', 'session_max_lifetime',
             'login_window', 'login_max_per_account', 'login_max_per_ip',
             'require_verified_email', 'verify_token_ttl', 'registration',
             'mail_command', 'mail_from', 'www_dir', 'metrics_allow',
             'log_level', 'syslog', 'maintenance_interval')


class CliCase(harness.TestCase):

    def setUp(self):
        super().setUp()
        self.ag = self.authgw(maintenance_interval=3600)
        self.dump_logs_on_failure(self.ag)

    def cli(self, *args, input=None):
        return self.ag.cli(*args, input=input)

    def assert_ok(self, r):
        self.assertEqual(r.returncode, 0, 'rc %d: %s %s'
                         % (r.returncode, r.stdout, r.stderr))
        return r

    def assert_fails(self, r, code=1):
        self.assertEqual(r.returncode, code, 'expected %d, got %d: %r %r'
                         % (code, r.returncode, r.stdout, r.stderr))
        if code == 1:
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, 'not a one-line reason: %r'
                             % r.stderr)
        else:
            self.assertTrue(r.stderr.strip(), 'no reason on stderr')
        return r

    def serve(self):
        self.ag.start()
        return self.ag

    def login(self, email=USER, password=PASSWORD):
        return self.ag.login_cookie(email, password)

    def login_status(self, email, password):
        import json
        r = self.ag.fcgi('/auth/login', 'POST', headers={
            'Content-Type': 'application/json', 'Accept': 'application/json'},
            body=json.dumps({'email': email, 'password': password}).encode())
        return r.status


class GeneralTest(CliCase):

    def test_version_and_help(self):
        r = self.ag.cli('--version', config=False)
        self.assert_ok(r)
        self.assertRegex(r.stdout, r'\d+\.\d+\.\d+')
        r = self.ag.cli('--help', config=False)
        self.assert_ok(r)
        for word in ('check-config', 'user', 'session', 'db migrate'):
            self.assertIn(word, r.stdout + r.stderr)

    def test_usage_errors(self):
        for args in (('frobnicate',), ('user',), ('user', 'add'),
                     ('user', 'role', 'x@y.z', 'superuser'),
                     ('user', 'role', 'x@y.z'), ('session',),
                     ('session', 'revoke'), ('db',), ('db', 'explode'),
                     ('user', 'list', 'extra', 'words'), ('--bogus',)):
            r = self.cli(*args, input='password-x\n')
            self.assertEqual(r.returncode, 64, '%s: %d %r' % (
                args, r.returncode, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        r = harness.subprocess.run([AUTHGW_BIN, '-c'], capture_output=True,
                                   text=True, timeout=20)
        self.assertEqual(r.returncode, 64, r)

    def test_check_config(self):
        r = self.assert_ok(self.cli('check-config'))
        conf = {}
        for line in r.stdout.splitlines():
            m = re.match(r'^\s*([a-z_0-9]+)\s*=\s*(.*?)\s*$', line)
            if m:
                conf[m.group(1)] = m.group(2)
        for k in SPEC_KEYS:
            self.assertIn(k, conf, 'check-config does not print %s' % k)
        self.assertEqual(conf['database'], self.ag.db_path)
        self.assertEqual(conf['workers'], '2')
        self.assertEqual(conf['session_lifetime'], '86400')
        self.assertEqual(conf['login_window'], '900')
        self.assertIn(conf['cookie_secure'], ('false', 'no', '0', 'off'))
        self.assertEqual(conf['scrypt_log2n'], '10')
        # The printed config is itself a valid config.
        p = os.path.join(self.tmpdir, 'printed.conf')
        with open(p, 'w') as f:
            f.write(r.stdout)
        r2 = harness.subprocess.run([AUTHGW_BIN, '-c', p, 'check-config'],
                                    capture_output=True, text=True, timeout=20)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        def settings(text):
            return [l for l in text.splitlines() if not l.startswith('#')]
        self.assertEqual(settings(r2.stdout), settings(r.stdout))

    def test_check_config_errors(self):
        with open(self.ag.config_path, 'a') as f:
            f.write('session_lifetime = -5\n')
        n = sum(1 for _ in open(self.ag.config_path))
        r = self.cli('check-config')
        self.assertEqual(r.returncode, 78, r)
        self.assertIn('authgw.conf:%d' % n, r.stderr)
        self.ag.write_config()
        with open(self.ag.config_path, 'a') as f:
            f.write('workers = 1x\n')
        self.assertEqual(self.cli('check-config').returncode, 78)
        # Every command reads the config first.
        self.assertEqual(self.cli('user', 'list').returncode, 78)

    def test_db_migrate(self):
        self.assertFalse(os.path.exists(self.ag.db_path))
        self.assert_ok(self.cli('db', 'migrate'))
        db = sqlite3.connect(self.ag.db_path)
        tables = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute('PRAGMA user_version').fetchone()[0]
        db.close()
        self.assertTrue({'users', 'sessions', 'meta'} <= tables, tables)
        self.assertGreaterEqual(version, 1)
        self.assert_ok(self.cli('db', 'migrate'))   # idempotent

    def test_db_unusable_is_1(self):
        self.ag.write_config(database=os.path.join(self.tmpdir, 'no', 'such',
                                                   'dir', 'x.db'))
        r = self.cli('user', 'list')
        self.assert_fails(r, 1)


class UserTest(CliCase):

    def test_add_and_list(self):
        r = self.assert_ok(self.cli('user', 'add', USER, '--verified',
                                    input=PASSWORD + '\nignored second line\n'))
        self.assert_ok(self.cli('user', 'add', OTHER, '--admin',
                                input=PASSWORD + '\n'))
        r = self.assert_ok(self.cli('user', 'list'))
        users = [l for l in r.stdout.splitlines() if USER in l]
        admins = [l for l in r.stdout.splitlines() if OTHER in l]
        self.assertEqual(len(users), 1, r.stdout)
        self.assertEqual(len(admins), 1, r.stdout)
        self.assertIn('admin', admins[0])
        self.assertNotIn('admin', users[0])
        rows = dict(self.ag.query('SELECT email, role FROM users'))
        self.assertEqual(rows, {USER: 'user', OTHER: 'admin'})
        ver = dict(self.ag.query('SELECT email, verified FROM users'))
        self.assertEqual(ver, {USER: 1, OTHER: 0})
        pw = self.ag.query('SELECT pwhash FROM users')[0][0]
        self.assertNotIn(PASSWORD, pw)
        self.assertTrue(pw.startswith('$scrypt$'), pw)
        # First line only: the password works, the second line is not it.
        self.serve()
        self.assertEqual(self.login_status(USER, PASSWORD), 200)
        self.assertEqual(self.login_status(
            USER, PASSWORD + '\nignored second line'), 401)

    def test_duplicate_add_is_1(self):
        self.assert_ok(self.cli('user', 'add', USER, input=PASSWORD + '\n'))
        self.assert_fails(self.cli('user', 'add', USER, input=PASSWORD + '\n'))
        self.assert_fails(self.cli('user', 'add', USER.upper(),
                                   input=PASSWORD + '\n'))
        self.assertEqual(self.ag.query('SELECT count(*) FROM users')[0][0], 1)

    def test_add_bad_input(self):
        for args, inp in ((('user', 'add', USER), ''),
                          (('user', 'add', USER), 'short\n'),
                          (('user', 'add', 'not-an-email'), PASSWORD + '\n')):
            r = self.cli(*args, input=inp)
            self.assertIn(r.returncode, (1, 64), (args, inp, r))
            self.assertTrue(r.stderr.strip())
        self.assertEqual(self.ag.query('SELECT count(*) FROM users')[0][0], 0)

    def test_passwd_ends_sessions(self):
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(OTHER, PASSWORD)
        self.serve()
        tok = self.login()
        other = self.login(OTHER)
        self.assertEqual(self.ag.check(tok).status, 200)
        self.assert_ok(self.cli('user', 'passwd', USER, input=NEWPASS + '\n'))
        self.assertEqual(self.ag.check(tok).status, 401)
        self.assertEqual(self.ag.check(other).status, 200)
        self.assertEqual(self.login_status(USER, PASSWORD), 401)
        self.assertEqual(self.login_status(USER, NEWPASS), 200)
        self.assert_fails(self.cli('user', 'passwd', 'nobody@example.com',
                                   input=NEWPASS + '\n'))

    def _role_at_once(self, **conf):
        if conf:
            self.ag.write_config(**conf)
        self.ag.add_user(USER, PASSWORD)
        self.serve()
        tok = self.login()
        for _ in range(3):     # warm any cache
            r = self.ag.check(tok)
            self.assertEqual(r.header('x-auth-role'), 'user', r)
        self.assertEqual(self.ag.check(tok, query='role=admin').status, 403)
        self.assert_ok(self.cli('user', 'role', USER, 'admin'))
        r = self.ag.check(tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-role'), 'admin', r)
        self.assertEqual(self.ag.check(tok, query='role=admin').status, 200)
        self.assert_ok(self.cli('user', 'role', USER, 'user'))
        self.assertEqual(self.ag.check(tok).header('x-auth-role'), 'user')
        self.assertEqual(self.ag.check(tok, query='role=admin').status, 403)
        self.assertEqual(self.ag.query('SELECT role FROM users')[0][0], 'user')

    def test_role_takes_effect_at_once(self):
        self._role_at_once()
        self.assertEqual(self.cli('user', 'role', USER, 'superuser').returncode, 64)
        self.assert_fails(self.cli('user', 'role', 'nobody@example.com', 'admin'))

    def test_role_takes_effect_at_once_with_memcached(self):
        mc = self.track(harness.Memcached(self.tmpdir)).start()
        self._role_at_once(memcached=mc.addr)

    def test_verify(self):
        self.ag.add_user(USER, PASSWORD, verified=False)
        self.serve()
        self.assertEqual(self.login_status(USER, PASSWORD), 403)
        self.assert_ok(self.cli('user', 'verify', USER))
        self.assertEqual(self.login_status(USER, PASSWORD), 200)
        self.assert_fails(self.cli('user', 'verify', 'nobody@example.com'))

    def test_disable_enable(self):
        self.ag.add_user(USER, PASSWORD)
        self.serve()
        tok = self.login()
        self.assert_ok(self.cli('user', 'disable', USER))
        self.assertEqual(self.ag.check(tok).status, 401)
        self.assertEqual(self.login_status(USER, PASSWORD), 401)
        self.assert_ok(self.cli('user', 'enable', USER))
        self.assertEqual(self.login_status(USER, PASSWORD), 200)
        self.assert_fails(self.cli('user', 'disable', 'nobody@example.com'))
        self.assert_fails(self.cli('user', 'enable', 'nobody@example.com'))

    def test_del(self):
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(OTHER, PASSWORD)
        self.serve()
        tok = self.login()
        self.assert_ok(self.cli('user', 'del', USER))
        self.assertEqual(self.ag.check(tok).status, 401)
        self.assertEqual(self.login_status(USER, PASSWORD), 401)
        out = self.assert_ok(self.cli('user', 'list')).stdout
        self.assertNotIn(USER, out)
        self.assertIn(OTHER, out)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM sessions s LEFT JOIN users u '
            'ON u.id = s.user_id WHERE u.id IS NULL')[0][0], 0)
        self.assert_fails(self.cli('user', 'del', USER))


class SessionCliTest(CliCase):

    def setUp(self):
        super().setUp()
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(OTHER, PASSWORD)

    def public_ids(self, out):
        return set(re.findall(r'(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])',
                              out))

    def test_list_and_revoke(self):
        self.serve()
        t1, t2 = self.login(), self.login()
        t3 = self.login(OTHER)
        out = self.assert_ok(self.cli('session', 'list')).stdout
        ids = set(r[0] for r in self.ag.query('SELECT public_id FROM sessions'))
        self.assertEqual(len(ids), 3)
        self.assertTrue(ids <= self.public_ids(out), (ids, out))
        for t in (t1, t2, t3):
            self.assertNotIn(t, out)
        out = self.assert_ok(self.cli('session', 'list', USER)).stdout
        mine = set(r[0] for r in self.ag.query(
            'SELECT public_id FROM sessions s JOIN users u ON u.id = s.user_id '
            'WHERE u.email = ?', USER))
        self.assertEqual(self.public_ids(out) & ids, mine, out)
        # Revoke t1's session by its public id.
        pid = self.ag.query(
            'SELECT public_id FROM sessions ORDER BY id LIMIT 1')[0][0]
        self.assert_ok(self.cli('session', 'revoke', pid))
        self.assertEqual(self.ag.check(t1).status, 401)
        self.assertEqual(self.ag.check(t2).status, 200)
        self.assertEqual(self.ag.check(t3).status, 200)
        self.assert_fails(self.cli('session', 'revoke', pid))
        self.assert_fails(self.cli('session', 'revoke', 'A' * 22))
        r = self.cli('session', 'list', 'nobody@example.com')
        self.assertIn(r.returncode, (0, 1), r)

    def test_revoke_with_memcached(self):
        mc = self.track(harness.Memcached(self.tmpdir)).start()
        self.ag.write_config(memcached=mc.addr)
        self.serve()
        tok = self.login()
        for _ in range(3):
            self.assertEqual(self.ag.check(tok).status, 200)
        pid = self.ag.query('SELECT public_id FROM sessions')[0][0]
        self.assert_ok(self.cli('session', 'revoke', pid))
        self.assertEqual(self.ag.check(tok).status, 401)

    def test_purge(self):
        self.ag.write_config(session_lifetime=2)
        self.serve()
        self.login()
        self.login(OTHER)
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0], 2)
        time.sleep(3.2)
        self.assert_ok(self.cli('session', 'purge'))
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0], 0)

    def test_purge_keeps_live(self):
        self.serve()
        tok = self.login()
        self.assert_ok(self.cli('session', 'purge'))
        self.assertEqual(self.ag.check(tok).status, 200)


if __name__ == '__main__':
    unittest.main()


class UriSecretTest(harness.TestCase):
    """A password in a PostgreSQL URI the program cannot read is never
    shown: libpq quotes parts of such URIs (or all of it) in its
    messages, which go to stderr and the log (review of issue 14,
    finding 6). Nothing here reaches a server: libpq refuses each URI
    before connecting."""

    URIS = [
        ('postgresql://u:se%zzcret@localhost/d', 'se%zzcret'),
        ('postgresql://localhost/d?password=pw%zz', 'pw%zz'),
        ('postgresql://u:pwsecret@[::1/db', 'pwsecret'),
        ('postgresql://u:pa/ss@localhost/d', 'pa/ss'),
        ('postgresql://localhost/d?pass%77ord=topsecret&port=x',
         'topsecret'),
        ('postgresql://localhost/d?sslpassword=keysecret&port=x',
         'keysecret'),
    ]

    def test_uri_secrets_never_printed(self):
        for i, (uri, secret) in enumerate(self.URIS):
            d = os.path.join(self.tmpdir, 'h%d' % i)
            os.mkdir(d)
            ag = self.track(harness.Authgw(
                d, database=uri, cache_file=os.path.join(d, 's.cache')))
            out = ''
            for args in (('check-config',), ('user', 'list')):
                r = ag.cli(*args)
                out += r.stdout + r.stderr
                self.assertNotIn(secret, r.stdout + r.stderr,
                                 '%s %s' % (uri, args))
            try:
                with open(ag.log_path, errors='replace') as f:
                    log = f.read()
            except OSError:
                log = ''
            self.assertNotIn(secret, log, uri)
            # 'pa' alone would be libpq's port in the fourth URI.
            self.assertNotIn('"pa"', out + log, uri)
            self.assertIn('database = postgres', out, uri)
