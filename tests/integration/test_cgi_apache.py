"""authgw as a plain CGI program under a real Apache httpd (mod_cgi).

No FastCGI socket: Apache runs the program once per request, as its own
user, with AUTHGW_CONFIG set by SetEnv; the route comes split as
SCRIPT_NAME (/auth) + PATH_INFO (/login). The pages and the session check
(GET /auth/check) must work as they do over FastCGI.
"""

import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_apache import APACHE, BASE_CONF, module_path, run_as  # noqa: E402
from test_lighttpd import EMAIL, PASSWORD, make_docroot  # noqa: E402

MODULES = ('mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'mime',
           'cgi', 'alias', 'env')

SITE_CONF = '''\
# authgw as a CGI program for its own pages.
SetEnv AUTHGW_CONFIG "{config}"
ScriptAlias /auth "{program}"
<Directory "{cgi_dir}">
    Options +ExecCGI
    Require all granted
</Directory>
'''


def missing():
    if APACHE is None:
        return 'Apache httpd (apache2) is not installed'
    lacking = [m for m in MODULES if module_path(m) is None]
    if lacking:
        return 'Apache modules not installed: %s' % ', '.join(lacking)
    return None


class ApacheCgi:
    def __init__(self, tmpdir, port, config_path):
        self.dir = os.path.join(tmpdir, 'apache')
        self.root = os.path.join(self.dir, 'root')
        os.makedirs(self.dir, exist_ok=True)
        make_docroot(self.root)
        # A copy Apache's user can surely reach and run (the build dir may
        # be in a private home directory).
        cgi_dir = os.path.join(self.dir, 'cgi-bin')
        os.makedirs(cgi_dir)
        program = os.path.join(cgi_dir, 'authgw')
        shutil.copy2(harness.AUTHGW_BIN, program)
        os.chmod(program, 0o755)
        self.port = port
        self.site = os.path.join(self.dir, 'site.conf')
        with open(self.site, 'w') as f:
            f.write(SITE_CONF.format(config=config_path, program=program,
                                     cgi_dir=cgi_dir))
        user, group = run_as()
        load = '\n'.join('LoadModule %s_module "%s"' % (m, module_path(m))
                         for m in MODULES)
        self.config_path = os.path.join(self.dir, 'httpd.conf')
        with open(self.config_path, 'w') as f:
            f.write(BASE_CONF.format(dir=self.dir, port=port, user=user,
                                     group=group, load_modules=load,
                                     root=self.root, extra='',
                                     site=self.site))
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        with open(os.path.join(self.dir, 'stderr.log'), 'ab') as log:
            self.proc = harness._register(subprocess.Popen(
                [APACHE, '-f', self.config_path, '-DFOREGROUND'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.dir, start_new_session=True))
        try:
            harness.wait_connectable(('127.0.0.1', self.port), proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError('%s\n--- apache log:\n%s' % (e, self.log()))
        return self

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        return harness._reap(self.proc)

    def log(self):
        out = ''
        for name in ('stderr.log', 'error.log', 'access.log'):
            try:
                with open(os.path.join(self.dir, name),
                          errors='replace') as f:
                    out += '[%s]\n%s' % (name, f.read())
            except OSError:
                pass
        return out


class ApacheCgiTest(harness.TestCase):

    def setUp(self):
        why = missing()
        if why:
            self.skipTest(why)
        super().setUp()
        # The program runs as Apache's user: it writes the database.
        os.chmod(self.tmpdir, 0o777)
        self.ag = self.authgw()
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        user, group = run_as()
        uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
        for name in os.listdir(self.tmpdir):
            if name.startswith('authgw.'):
                os.chown(os.path.join(self.tmpdir, name), uid, gid)
        self.web = self.track(ApacheCgi(self.tmpdir, self.port,
                                        self.ag.config_path))
        self.dump_logs_on_failure(self.web)
        self.web.start()
        self.client = harness.Client(self.port)

    def test_login_session_check_logout(self):
        c = self.client
        r = c.get('/auth/session', headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 401, r)
        r = c.get('/auth/check', headers={'X-Original-URI': '/private/x'})
        self.assertEqual(r.status, 401, r)

        r = c.login(EMAIL, PASSWORD, next='/private/secret.txt')
        self.assertEqual(r.status, 303, r)
        self.assertTrue(r.header('location', '').endswith(
            '/private/secret.txt'), r)
        self.assertTrue(c.session_cookie(self.ag.cookie_name), r)

        r = c.get('/auth/session', headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user']['email'], EMAIL)
        r = c.get('/auth/check')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), EMAIL, r)

        r = c.post('/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        r = c.get('/auth/session', headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 401, r)

    def test_unknown_route_is_404(self):
        r = self.client.get('/auth/no-such-page',
                            headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 404, r)


if __name__ == '__main__':
    unittest.main()
