"""authgw as a plain CGI program under a real Apache httpd (mod_cgi).

No FastCGI socket: Apache runs the program once per request, as its own
user, with AUTHGW_CONFIG set by SetEnv; the route comes split as
SCRIPT_NAME (/auth) + PATH_INFO (/login). The pages and the session check
(GET /auth/check) must work as they do over FastCGI.
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import WEB_EMAIL as EMAIL, WEB_PASSWORD as PASSWORD  # noqa: E402

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


class ApacheCgi(harness.ApacheServer):
    """Apache with authgw as a CGI program for /auth (SITE_CONF)."""

    def __init__(self, tmpdir, port, config_path):
        super().__init__(tmpdir, port)
        # A copy Apache's user can surely reach and run (the build dir may
        # be in a private home directory).
        cgi_dir = os.path.join(self.dir, 'cgi-bin')
        os.makedirs(cgi_dir)
        program = os.path.join(cgi_dir, 'authgw')
        shutil.copy2(harness.AUTHGW_BIN, program)
        os.chmod(program, 0o755)
        with open(self.site, 'w') as f:
            f.write(SITE_CONF.format(config=config_path, program=program,
                                     cgi_dir=cgi_dir))
        self.write_config(MODULES)


class ApacheCgiTest(harness.TestCase):

    def setUp(self):
        why = harness.apache_missing(MODULES)
        if why:
            self.skipTest(why)
        super().setUp()
        # The program runs as Apache's user: it writes the database.
        os.chmod(self.tmpdir, 0o777)
        self.ag = self.authgw(**harness.apache_authgw_conf())
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        harness.apache_chown_authgw_files(self.tmpdir)
        web = ApacheCgi(self.tmpdir, self.port, self.ag.config_path)
        self.start_web_server(web, web)

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
