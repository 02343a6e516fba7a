"""authgw behind a real Apache httpd 2.4, configured by the shipped examples.

Apache runs in the foreground with a minimal httpd.conf of the test's own
(ServerRoot, pid file and logs in the temp dir, modules loaded by absolute
path, never /etc/apache2) that includes the rendered example:

- mod_authnz_fcgi (conf/apache-authnz-fcgi.conf): authgw runs on its own on
  TCP, Apache asks it in the authentication phase (AuthnzFcgiCheckAuthnProvider,
  RequireBasicAuth Off) and proxies /auth/ to it with mod_proxy_fcgi;
- mod_fcgid (conf/apache-fcgid.conf + conf/htaccess): Apache starts authgw
  itself (fd 0 a listening socket, AUTHGW_CONFIG from FcgidInitialEnv), as
  the responder for /auth/ and as the access checker named in the .htaccess
  of the protected directory;
- mod_proxy_fcgi alone (conf/apache-proxy-fcgi.conf): authgw's pages over
  its unix socket with mod_proxy_fcgi's default parameters (the tests are in
  test_stock_configs);
- conf/apache-authgw.conf, the Debian package's conf-available/authgw.conf
  (mod_authnz_fcgi and mod_proxy_fcgi, authgw on TCP 127.0.0.1:9000, which
  the test points at its own authgw).
"""

import os
import re
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import WEB_EMAIL as EMAIL, WEB_PASSWORD as PASSWORD  # noqa: E402

COMMON_MODULES = ('mpm_prefork', 'authn_core', 'authz_core', 'authz_user',
                  'mime', 'cgi')
VARIANT_MODULES = {
    'authnz_fcgi': ('authnz_fcgi', 'proxy', 'proxy_fcgi'),
    'fcgid': ('fcgid', 'headers'),
    'proxy_fcgi': ('proxy', 'proxy_fcgi'),
    'packaged': ('authnz_fcgi', 'proxy', 'proxy_fcgi'),
}
VARIANT_CONF = {
    'authnz_fcgi': 'apache-authnz-fcgi.conf',
    'fcgid': 'apache-fcgid.conf',
    'proxy_fcgi': 'apache-proxy-fcgi.conf',
    'packaged': 'apache-authgw.conf',
}
# The address conf/apache-authgw.conf names for authgw (it has no
# placeholders: it is installed as it is).
PACKAGED_ADDR = '127.0.0.1:9000'



def missing_for(variant):
    """Why the variant cannot run here, or None."""
    return harness.apache_missing(COMMON_MODULES + VARIANT_MODULES[variant])


class Apache(harness.ApacheServer):
    """apache2 -DFOREGROUND with a generated httpd.conf including the
    example for variant ('authnz_fcgi', 'fcgid' or 'proxy_fcgi'), rendered
    with subst and used as it is. stop() also ends the authgw processes
    mod_fcgid started (they are in Apache's process group)."""

    def __init__(self, tmpdir, port, variant, subst):
        super().__init__(tmpdir, port)
        subst = dict(subst, DOCROOT=self.root)
        extra = ''
        if variant == 'packaged':
            harness.render_packaged(
                os.path.join(harness.CONF_DIR, VARIANT_CONF[variant]),
                self.site, {PACKAGED_ADDR: subst['AUTHGW_ADDR']})
        else:
            harness.render_template(
                os.path.join(harness.CONF_DIR, VARIANT_CONF[variant]),
                self.site, subst)
        if variant == 'fcgid':
            # The shared-hosting case: the protected directory's .htaccess.
            harness.render_template(
                os.path.join(harness.CONF_DIR, 'htaccess'),
                os.path.join(self.root, 'private', '.htaccess'), subst)
            extra = ('FcgidIPCDir "%s/fcgid"\n'
                     'FcgidProcessTableFile "%s/fcgid_shm"\n'
                     % (self.dir, self.dir))
        self.write_config(COMMON_MODULES + VARIANT_MODULES[variant], extra)


class ApacheAuthnzFcgiTest(harness.WebServerFlows, harness.TestCase):
    """mod_authnz_fcgi + mod_proxy_fcgi; authgw on its own, on TCP."""
    variant = 'authnz_fcgi'

    def setUp(self):
        why = missing_for(self.variant)
        if why:
            self.skipTest(why)
        super().setUp()
        self.ag = self.authgw()
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        addr = '127.0.0.1:%d' % harness.free_port()
        self.ag.start(listen=addr)
        web = Apache(self.tmpdir, self.port, self.variant,
                     {'AUTHGW_ADDR': addr})
        self.start_web_server(web, self.ag, web)

    def test_access_log_names_the_user(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        # UserExpr made authgw's user Apache's user: it is in the access log.
        harness.wait_for(lambda: EMAIL in self.web.log(), timeout=5,
                         what='the user in the access log')

    def test_fails_closed_when_authgw_is_down(self):
        self.check_fails_closed_when_authgw_is_down()


class ApachePackagedConfTest(ApacheAuthnzFcgiTest):
    """conf/apache-authgw.conf, the Debian package's
    /etc/apache2/conf-available/authgw.conf (<Location "/private/">,
    CGIPassAuth): the same flows."""
    variant = 'packaged'

    def test_authorization_reaches_authgw_pages(self):
        """CGIPassAuth On: Apache hands Authorization on to authgw's pages
        (without it, mod_proxy_fcgi drops it). Seen through the
        micro-cache rule: a success is never to be kept when
        Authorization holds a '|' (X-Accel-Expires: 0), which authgw can
        only say if it got the header."""
        self.ag.reload(check_cache=30)
        harness.wait_for(lambda: self.client.get('/auth/check').header(
            'x-accel-expires') is not None, what='check_cache in force')
        self.login()
        r = self.client.get('/auth/check')
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.header('x-accel-expires'), '0', r)
        r = self.client.get('/auth/check',
                            headers={'Authorization': 'Bearer x|y'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-accel-expires'), '0', r)
        # A token authgw does not know is the application's: a session
        # still passes the check in front of /private/ with it.
        self.assertEqual(self.get_private(
            headers={'Authorization': 'Bearer x'}).status, 200)


class ApacheFcgidHtaccessTest(harness.WebServerFlows, harness.TestCase):
    """mod_fcgid: Apache starts authgw; the protected directory has the
    shipped htaccess (FcgidAccessChecker)."""

    def setUp(self):
        why = missing_for('fcgid')
        if why:
            self.skipTest(why)
        super().setUp()
        # authgw runs as Apache's user: it must write the database directory.
        os.chmod(self.tmpdir, 0o777)
        self.ag = self.authgw(workers=1, **harness.apache_authgw_conf())
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        harness.apache_chown_authgw_files(self.tmpdir)
        web = Apache(self.tmpdir, self.port, 'fcgid', {
            'AUTHGW_BIN': harness.AUTHGW_BIN,
            'AUTHGW_CONFIG': self.ag.config_path})
        self.start_web_server(web, web, self.ag)

    # mod_fcgid turns an access checker's every refusal into 401 and drops
    # the Location; the htaccess ErrorDocument links to the login page.
    def assert_browser_denied(self, r, next_uri):
        self.assertEqual(r.status, 401, r)
        m = re.search(r'href="([^"]*)"', r.text)
        self.assertIsNotNone(m, r)
        link = urllib.parse.urlsplit(m.group(1))
        self.assertEqual(link.path, '/auth/login', r)
        self.assertEqual(urllib.parse.parse_qs(link.query).get('next'),
                         [next_uri.split('?')[0]], r)

    def test_authgw_is_started_by_apache(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        self.assertIsNone(self.ag.proc)
        # It runs as Apache's user and has written its database.
        self.assertTrue(os.path.exists(self.ag.db_path))


class ApacheConfigTest(unittest.TestCase):
    """The shipped examples pass `apache2 -t`."""

    def check(self, variant, subst):
        why = missing_for(variant)
        if why:
            self.skipTest(why)
        with tempfile.TemporaryDirectory(prefix='authgw-ap-') as tmp:
            web = Apache(tmp, 8080, variant, subst)
            r = web.check_config()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_authnz_fcgi_syntax(self):
        self.check('authnz_fcgi', {'AUTHGW_ADDR': '127.0.0.1:9000'})

    def test_fcgid_syntax(self):
        self.check('fcgid', {'AUTHGW_BIN': '/bin/true',
                             'AUTHGW_CONFIG': '/etc/authgw.conf'})

    def test_packaged_syntax(self):
        self.check('packaged', {'AUTHGW_ADDR': PACKAGED_ADDR})

    def test_proxy_fcgi_syntax(self):
        self.check('proxy_fcgi', {'AUTHGW_SOCKET': '/run/authgw/authgw.sock'})

    def test_no_parameter_overrides(self):
        """The examples leave mod_proxy_fcgi's parameters alone: no
        backend type, no SetEnv/ProxyFCGISetEnvIf for authgw's pages."""
        for name in VARIANT_CONF.values():
            with open(os.path.join(harness.CONF_DIR, name)) as f:
                lines = [ln.strip() for ln in f
                         if ln.strip() and not ln.strip().startswith('#')]
            for ln in lines:
                for word in ('ProxyFCGIBackendType', 'ProxyFCGISetEnvIf',
                             'SetEnv ', 'RequestHeader'):
                    self.assertNotIn(word, ln, '%s: %s' % (name, ln))


if __name__ == '__main__':
    unittest.main()
