"""authgw behind a real lighttpd, configured by the shipped conf/lighttpd.conf.

The example is rendered into a temp dir (placeholders replaced) and run as
it is; the test only appends mod_cgi for a small CGI program under /private/
that prints what authgw passed on (REMOTE_USER and friends). Two variants:
lighttpd connecting to an authgw that runs on its own (unix socket), and
lighttpd starting authgw itself ("bin-path", authgw on an inherited fd 0).
"""

import os
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LIGHTTPD = harness.find_program('lighttpd')

EMAIL = 'lighty@example.org'
PASSWORD = 'lighty password 1'
SECRET_TEXT = 'secret text for signed-in users\n'

# A CGI program under /private/: what the web server passed on after the
# authorizer let the request through, and the request body it still got.
WHOAMI_CGI = r'''#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
for v in REMOTE_USER AUTH_USER AUTH_USER_ID AUTH_ROLE REQUEST_METHOD; do
    eval "printf '%s=%s\n' $v \"\$$v\""
done
if [ -n "$CONTENT_LENGTH" ] && [ "$CONTENT_LENGTH" -gt 0 ]; then
    printf 'BODY='
    head -c "$CONTENT_LENGTH"
    printf '\n'
fi
'''


def make_docroot(root):
    """A public index.html, and under private/ a static file and a CGI."""
    priv = os.path.join(root, 'private')
    os.makedirs(priv, exist_ok=True)
    with open(os.path.join(root, 'index.html'), 'w') as f:
        f.write('<!doctype html><title>public</title><p>public page</p>\n')
    with open(os.path.join(priv, 'secret.txt'), 'w') as f:
        f.write(SECRET_TEXT)
    cgi = os.path.join(priv, 'whoami.cgi')
    with open(cgi, 'w') as f:
        f.write(WHOAMI_CGI)
    os.chmod(cgi, 0o755)


def parse_env_dump(text):
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep:
            out[k] = v
    return out


class Lighttpd:
    """lighttpd -D with conf/lighttpd.conf rendered into tmpdir/lighttpd.

    variant 'socket': authgw runs on its own; lighttpd connects to
    authgw.socket_path. variant 'bin-path': lighttpd starts authgw with
    the config file of `authgw` (which must have no listen)."""

    def __init__(self, tmpdir, authgw, port, variant='socket'):
        self.dir = os.path.join(tmpdir, 'lighttpd')
        self.root = os.path.join(self.dir, 'root')
        os.makedirs(self.dir, exist_ok=True)
        make_docroot(self.root)
        self.port = port
        self.config_path = os.path.join(self.dir, 'lighttpd.conf')
        harness.render_template(
            os.path.join(harness.CONF_DIR, 'lighttpd.conf'), self.config_path,
            {'PORT': port, 'DOCROOT': self.root, 'RUNDIR': self.dir,
             'AUTHGW_SOCKET': authgw.socket_path,
             'AUTHGW_BIN': harness.AUTHGW_BIN,
             'AUTHGW_CONFIG': authgw.config_path})
        with open(self.config_path) as f:
            text = f.read()
        if variant == 'bin-path':
            text = self._switch_to_bin_path(text)
        # Test-only addition: CGI programs under /private/.
        text += ('\nserver.modules += ( "mod_cgi" )\n'
                 '$HTTP["url"] =~ "^/private/.*\\.cgi$" {\n'
                 '    cgi.assign = ( ".cgi" => "" )\n'
                 '}\n')
        with open(self.config_path, 'w') as f:
            f.write(text)
        self.proc = None

    @staticmethod
    def _switch_to_bin_path(text):
        """Comment out variant 1's var.authgw and uncomment variant 2's."""
        lines = text.split('\n')
        out, block = [], None
        for line in lines:
            if line.startswith('var.authgw = ('):
                block = 'off'
            elif line.startswith('#var.authgw = ('):
                block = 'on'
            if block == 'off':
                out.append('#' + line)
            elif block == 'on':
                out.append(line[1:] if line.startswith('#') else line)
            else:
                out.append(line)
            if block and line.lstrip('#').startswith(')'):
                block = None
        text = '\n'.join(out)
        if '"bin-path"' not in text.replace('#    "bin-path"', ''):
            raise AssertionError('could not switch lighttpd.conf to bin-path')
        return text

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def check_config(self):
        return subprocess.run([LIGHTTPD, '-tt', '-f', self.config_path],
                              capture_output=True, text=True, timeout=30)

    def start(self):
        with open(os.path.join(self.dir, 'stderr.log'), 'ab') as log:
            self.proc = harness._register(subprocess.Popen(
                [LIGHTTPD, '-D', '-f', self.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.dir, start_new_session=True))
        try:
            harness.wait_connectable(('127.0.0.1', self.port), proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError('%s\n--- lighttpd log:\n%s' % (e, self.log()))
        return self

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        # _reap also kills what is left of the process group (an authgw
        # started through bin-path lives in lighttpd's group).
        return harness._reap(self.proc)

    def log(self):
        out = ''
        for name in ('stderr.log', 'lighttpd-error.log'):
            try:
                with open(os.path.join(self.dir, name),
                          errors='replace') as f:
                    out += f.read()
            except OSError:
                pass
        return out


class WebServerFlows:
    """The flows every web server front end must pass; mixed into a
    harness.TestCase whose setUp sets self.ag (an Authgw with user EMAIL),
    self.port (the web server's) and self.client. test_apache.py uses it
    too."""

    # What a browser without a session gets: authgw's 302 to the login page
    # (lighttpd, mod_authnz_fcgi). mod_fcgid overrides this.
    def assert_browser_denied(self, r, next_uri):
        self.assert_login_redirect(r, next_uri)

    # -- helpers
    def get_private(self, client=None, path='/private/secret.txt',
                    accept='application/json', headers=None):
        h = {'Accept': accept}
        h.update(headers or {})
        return (client or self.client).get(path, headers=h)

    def login(self, client=None, next_path='/private/secret.txt'):
        c = client or self.client
        r = c.login(EMAIL, PASSWORD, next=next_path)
        self.assertEqual(r.status, 303, r)
        self.assertEqual(urllib.parse.urlsplit(r.header('location')).path,
                         next_path, r)
        self.assertTrue(c.session_cookie(self.ag.cookie_name), r)
        return r

    def assert_login_redirect(self, r, next_uri):
        self.assertEqual(r.status, 302, r)
        loc = urllib.parse.urlsplit(r.header('location', ''))
        login = urllib.parse.urlsplit(self.ag.base_url + '/auth/login')
        self.assertEqual((loc.scheme, loc.netloc, loc.path),
                         (login.scheme, login.netloc, login.path), r)
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual(q.get('next'), [next_uri], r)

    # -- the flows
    def test_public_page_needs_no_session(self):
        r = self.client.get('/index.html')
        self.assertEqual(r.status, 200, r)
        self.assertIn('public page', r.text)

    def test_no_session_json_client_gets_401(self):
        r = self.get_private()
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(SECRET_TEXT.strip(), r.text)

    def test_no_session_browser_is_sent_to_login(self):
        r = self.get_private(accept='text/html,application/xhtml+xml,*/*;q=0.8')
        self.assert_browser_denied(r, '/private/secret.txt')
        self.assertNotIn(SECRET_TEXT.strip(), r.text)

    def test_login_page_through_web_server(self):
        r = self.client.get('/auth/login', headers={'Accept': 'text/html'})
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(harness.html_field(r.text, 'csrf'), r)
        self.assertIn('no-store', r.header('cache-control', ''), r)

    def test_login_then_protected_file_then_logout(self):
        self.login()
        sid = self.client.session_cookie(self.ag.cookie_name)
        r = self.get_private()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text, SECRET_TEXT)
        for name in r.headers:
            self.assertFalse(name.startswith('variable-'), r)

        r = self.client.get('/auth/session',
                            headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user']['email'], EMAIL)

        r = self.client.post('/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(self.client.session_cookie(self.ag.cookie_name))
        r = self.get_private()
        self.assertEqual(r.status, 401, r)
        # The old cookie, replayed, is dead on the server side too.
        r = self.get_private(client=harness.Client(self.port), headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, sid)})
        self.assertEqual(r.status, 401, r)

    def test_backend_sees_the_user(self):
        self.login()
        r = self.client.get('/private/whoami.cgi')
        self.assertEqual(r.status, 200, r)
        env = parse_env_dump(r.text)
        self.assertEqual(env.get('REMOTE_USER'), EMAIL, r)
        self.assertEqual(env.get('AUTH_USER'), EMAIL, r)
        self.assertEqual(env.get('AUTH_ROLE'), 'user', r)
        self.assertRegex(env.get('AUTH_USER_ID', ''), r'^[0-9]+$', r)

    def test_role_change_reaches_backend_at_once(self):
        self.login()
        env = parse_env_dump(self.client.get('/private/whoami.cgi').text)
        self.assertEqual(env.get('AUTH_ROLE'), 'user')
        r = self.ag.cli('user', 'role', EMAIL, 'admin')
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.client.get('/private/whoami.cgi')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(parse_env_dump(r.text).get('AUTH_ROLE'), 'admin', r)

    def test_disabled_user_is_refused_at_once(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        r = self.ag.cli('user', 'disable', EMAIL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.get_private().status, 401)

    def test_request_body_reaches_backend_after_authorizer(self):
        self.login()
        r = self.client.post('/private/whoami.cgi', body=b'hello=world',
                             headers={'Content-Type':
                                      'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 200, r)
        env = parse_env_dump(r.text)
        self.assertEqual(env.get('REQUEST_METHOD'), 'POST', r)
        self.assertEqual(env.get('REMOTE_USER'), EMAIL, r)
        self.assertEqual(env.get('BODY'), 'hello=world', r)

    def test_forged_cookie_is_refused(self):
        r = self.get_private(headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, 'A' * 43)})
        self.assertEqual(r.status, 401, r)
        r = self.get_private(headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, 'not a token')})
        self.assertEqual(r.status, 401, r)

    def test_wrong_password_is_refused(self):
        r = self.client.login(EMAIL, 'not the password')
        self.assertEqual(r.status, 401, r)
        self.assertIsNone(self.client.session_cookie(self.ag.cookie_name))
        self.assertEqual(self.get_private().status, 401)

    def test_next_keeps_the_query(self):
        r = self.get_private(path='/private/secret.txt?page=2&sort=name',
                             accept='text/html')
        self.assert_browser_denied(r, '/private/secret.txt?page=2&sort=name')


@unittest.skipIf(LIGHTTPD is None, 'lighttpd is not installed')
class LighttpdCase(WebServerFlows, harness.TestCase):
    variant = 'socket'

    def setUp(self):
        super().setUp()
        self.ag = self.authgw()
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        if self.variant == 'socket':
            self.ag.start()
        self.web = self.track(Lighttpd(self.tmpdir, self.ag, self.port,
                                       self.variant))
        self.dump_logs_on_failure(self.ag, self.web)
        self.web.start()
        self.client = harness.Client(self.port)


    def test_fails_closed_when_authgw_is_down(self):
        if self.variant != 'socket':
            self.skipTest('lighttpd restarts the authgw it started')
        self.login()
        self.assertEqual(self.get_private().status, 200)
        self.assertEqual(self.ag.stop(), 0)
        r = self.get_private()
        self.assertGreaterEqual(r.status, 500, r)
        self.assertNotIn(SECRET_TEXT.strip(), r.text)


class LighttpdBinPathCase(LighttpdCase):
    """lighttpd starts authgw itself through "bin-path" (inherited fd 0)."""
    variant = 'bin-path'

    def test_authgw_runs_under_lighttpd(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        # authgw was not started by the test: lighttpd spawned it.
        self.assertIsNone(self.ag.proc)
        self.assertEqual(self.client.post('/auth/logout', json={}).status,
                         200)
        self.assertEqual(self.get_private().status, 401)


@unittest.skipIf(LIGHTTPD is None, 'lighttpd is not installed')
class LighttpdConfigTest(unittest.TestCase):
    """The shipped example passes lighttpd's own check, both variants."""

    def test_config_syntax(self):
        with tempfile.TemporaryDirectory(prefix='authgw-lt-') as tmp:
            class _Ag:
                socket_path = os.path.join(tmp, 'authgw.sock')
                config_path = os.path.join(tmp, 'authgw.conf')
            for variant in ('socket', 'bin-path'):
                web = Lighttpd(os.path.join(tmp, variant), _Ag, 8080, variant)
                r = web.check_config()
                self.assertEqual(r.returncode, 0,
                                 '%s: %s%s' % (variant, r.stdout, r.stderr))


if __name__ == '__main__':
    unittest.main()
