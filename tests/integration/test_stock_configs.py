"""The configurations people already write (SPEC 4, SPEC 5 "Passive checks",
issue 12 section 1), through the real web servers.

nginx runs the shipped conf/nginx.conf, the stock form the README shows:
`location = /auth/check { fastcgi_pass ...; include fastcgi_params; }` with
nginx's own fastcgi_params file and `auth_request /auth/check;`, no
parameter overridden. In an auth_request subrequest nginx sends the
subrequest's own path (SCRIPT_NAME, DOCUMENT_URI) and the original
request's method, headers and REQUEST_URI: authgw routes by the former,
answers every method alike, reads no body and takes REQUEST_URI for next=.
Apache's mod_proxy_fcgi (conf/apache-proxy-fcgi.conf) and lighttpd
(conf/lighttpd.conf) run with their default parameters too.

Also here: a FastCGI parameter sent twice counts by its last value (an
admin location written `include fastcgi_params; fastcgi_param QUERY_STRING
role=admin;` really gates on the role), the first of several session
cookies counts, an Authorization authgw does not know is left alone, and a
passive check ("X-Auth-Passive: 1") never extends a session.
"""

import base64
import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, Nginx  # noqa: E402
import test_apache  # noqa: E402
import test_lighttpd  # noqa: E402

USER = 'user@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'S3cret-Passw0rd-xyzzy'
METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')
PRIVATE = '/private/index.html'


class Pairs(list):
    """FastCGI parameters as (name, value) pairs, a name possibly twice,
    for harness.fcgi (which encodes params.items())."""

    def items(self):
        return list(self)


def raw_request(port, method, path, headers, body=None):
    """One HTTP request with headers given as (name, value) pairs, a name
    possibly twice (two Cookie lines); returns a harness.Response."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return harness.Response(r.status, r.getheaders(), r.read(), r.reason)
    finally:
        conn.close()


def login_cookie(client, ag, email=USER):
    """Sign client in through the web server; returns the session token."""
    r = client.login(email, PASSWORD)
    if r.status != 303:
        raise AssertionError('login %s: %r' % (email, r))
    return client.cookies[ag.cookie_name]


def session_row(ag, token):
    """(expires, extensions) of the session with this cookie value."""
    raw = base64.urlsafe_b64decode(token + '=' * (-len(token) % 4))
    h = hashlib.sha256(raw).digest()
    rows = ag.query('SELECT expires, extensions FROM sessions '
                    'WHERE token_hash = ?', h)
    if not rows:
        raise AssertionError('no session row for the token')
    return rows[0]


# ------------------------------------------------------------------ nginx

class NginxStockCase(harness.TestCase):
    """authgw (unix socket) + nginx running the shipped conf/nginx.conf
    (or `template`), with users USER and ADMIN."""

    def up(self, template=None, site_regex=False, **conf):
        c = {'login_max_per_ip': 1000, 'login_max_per_account': 1000}
        c.update(conf)
        self.ag = self.authgw(**c)
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(ADMIN, PASSWORD, admin=True)
        self.ag.start()
        self.nginx = self.track(Nginx(self.tmpdir, self.ag,
                                      template=template,
                                      site_regex=site_regex))
        self.dump_logs_on_failure(self.ag, self.nginx)
        self.nginx.start()
        self.port = self.nginx.port
        return Client(self.port)

    def signed_in(self, email=USER):
        c = Client(self.port)
        login_cookie(c, self.ag, email)
        return c

    def assert_to_login(self, r, next_uri=None):
        """nginx's error_page 401 =302: to the login page (with next)."""
        self.assertEqual(r.status, 302, r)
        loc = urllib.parse.urlsplit(r.header('location', ''))
        self.assertEqual(loc.path, '/auth/login', r)
        if next_uri is not None:
            q = urllib.parse.parse_qs(loc.query)
            self.assertEqual(q.get('next'), [next_uri], r)


class NginxStockConfigTest(NginxStockCase):

    @staticmethod
    def shipped_lines(*names):
        """The directives (comments dropped) of conf/ files."""
        lines = []
        for name in names:
            with open(os.path.join(harness.CONF_DIR, name)) as f:
                lines += [ln.split('#')[0].strip() for ln in f]
        return [ln for ln in lines if ln]

    def test_shipped_config_is_the_stock_form(self):
        lines = self.shipped_lines('nginx.conf', 'nginx-snippet.conf')
        # The one fastcgi_param is the PHP application's REMOTE_USER;
        # authgw's locations override nothing.
        self.assertEqual([ln for ln in lines
                          if ln.startswith('fastcgi_param')],
                         ['fastcgi_param REMOTE_USER $auth_user;'],
                         'conf/nginx.conf overrides a FastCGI parameter')
        self.assertEqual([ln for ln in self.shipped_lines(
            'nginx-snippet.conf') if ln.startswith('fastcgi_param')], [])
        self.assertIn('location = /auth/check {', lines)
        self.assertIn('include fastcgi_params;', lines)
        self.assertIn('auth_request /auth/check;', lines)
        self.assertIn('include snippets/authgw.conf;', lines)

    def test_readme_shows_the_shipped_lines(self):
        """Every directive of the README's nginx example is a line of
        conf/nginx.conf or of the snippet it includes: what a user copies
        is what the tests run."""
        with open(os.path.join(harness.SRC_DIR, 'README.md')) as f:
            readme = f.read()
        m = re.search(r'### nginx.*?```nginx\n(.*?)```', readme, re.S)
        self.assertIsNotNone(m, 'no nginx example in README.md')
        conf = set(self.shipped_lines('nginx.conf', 'nginx-snippet.conf'))
        for ln in m.group(1).splitlines():
            ln = ln.split('#')[0].strip()
            if ln and ln != '}':
                self.assertIn(ln, conf, 'README line not in nginx.conf '
                              'or nginx-snippet.conf')

    def test_snippet_loads_on_its_own(self):
        """`include snippets/authgw.conf;` alone, before any protected
        location, is a configuration nginx accepts (the Debian package's
        first step): what the snippet reads, it declares."""
        nginx = harness.require_program('nginx')
        d = os.path.join(self.tmpdir, 'alone')
        os.makedirs(os.path.join(d, 'snippets'))
        harness.render_packaged(
            os.path.join(harness.CONF_DIR, 'nginx-snippet.conf'),
            os.path.join(d, 'snippets', 'authgw.conf'),
            {'unix:' + harness.PACKAGED_SOCKET:
             'unix:' + os.path.join(d, 'authgw.sock')})
        shutil.copy(harness.nginx_fastcgi_params(nginx),
                    os.path.join(d, 'fastcgi_params'))
        with open(os.path.join(d, 'nginx.conf'), 'w') as f:
            f.write('pid %s/nginx.pid;\nerror_log %s/error.log;\n'
                    'events {}\nhttp {\n\taccess_log off;\n'
                    '\tserver {\n\t\tlisten 127.0.0.1:%d;\n'
                    '\t\tinclude snippets/authgw.conf;\n\t}\n}\n'
                    % (d, d, harness.free_port()))
        r = subprocess.run([nginx, '-t', '-p', d + '/', '-c',
                            os.path.join(d, 'nginx.conf')],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_snippet_comment_shows_the_tested_lines(self):
        """The protected location the snippet's comment shows (the Debian
        package's /etc/nginx/snippets/authgw.conf; scripts/deb-test.sh runs
        it as it is) is made of lines of nginx.conf's /private/."""
        with open(os.path.join(harness.CONF_DIR, 'nginx-snippet.conf')) as f:
            text = f.read()
        m = re.search(r'(?m)^#\tlocation \^~ /private/ \{\n'
                      r'((?:#(?:\t\t.*)?\n)+)#\t\}', text)
        self.assertIsNotNone(m, 'no commented ^~ /private/ location')
        with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
            conf = f.read()
        private = re.search(r'location \^~ /private/ \{(.*?)\n\t\t\}', conf,
                            re.S).group(1)
        private = {ln.strip() for ln in private.splitlines()}
        shown = [ln.lstrip('#').strip() for ln in m.group(1).splitlines()]
        for ln in shown:
            self.assertIn(ln, private)
        # The PHP location's REMOTE_USER comes after its include.
        self.assertLess(shown.index('include snippets/fastcgi-php.conf;'),
                        shown.index('fastcgi_param REMOTE_USER $auth_user;'))

    def test_protected_page(self):
        anon = self.up()
        r = anon.get(PRIVATE + '?a=1&b=x%20y')
        # next= is the original request's REQUEST_URI (no X-Original-URI).
        self.assert_to_login(r, PRIVATE + '?a=1&b=x%20y')
        c = self.signed_in()
        r = c.get(PRIVATE)
        self.assertEqual(r.status, 200, r)
        self.assertIn(Nginx.PRIVATE_TEXT, r.text)
        self.assertEqual(r.header('x-auth-user'), USER, r)
        # The check itself, asked directly, has nothing to come back to.
        r = anon.get('/auth/check')
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header('location'), self.ag.base_url +
                         '/auth/login', r)

    def test_regex_locations_do_not_bypass_the_check(self):
        """Issue 15's review: nginx prefers a regex location to a plain
        prefix one, so beside a site's "location ~ \\.php$" and "location
        ~* \\.(png|...)$" a "location /private/" was never asked about
        /private/x.php or /private/x.png (200 without a session). The
        shipped ^~ locations with the PHP application nested inside."""
        anon = self.up(site_regex=True)
        self.track(harness.FcgiEcho(self.nginx.php_socket)).start()
        for d in ('', 'private', 'staff'):
            for name in ('x.php', 'x.png'):
                with open(os.path.join(self.nginx.root, d, name), 'w') as f:
                    f.write('file %s/%s\n' % (d, name))
        # The site's own regex locations answer outside the protected ones.
        r = anon.get('/x.php')
        self.assertEqual(r.status, 200, r)
        self.assertIn('SCRIPT_NAME=/x.php', r.text)
        self.assertEqual(anon.get('/x.png').status, 200)
        for path in ('/private/x.php', '/private/x.png', '/staff/x.php',
                     '/staff/x.png'):
            with self.subTest(path=path):
                self.assert_to_login(anon.get(
                    path, headers={'Accept': 'text/html'}), path)
                r = anon.get(path, headers={'Accept': 'application/json'})
                self.assertIn(r.status, (302, 401), r)
                self.assertNotIn('file ', r.text)
                self.assertNotIn('SCRIPT_NAME', r.text)
        user = self.signed_in(USER)
        r = user.get('/private/x.php')
        self.assertEqual(r.status, 200, r)
        self.assertIn('REMOTE_USER=%s\n' % USER, r.text)
        r = user.get('/private/x.png')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text, 'file private/x.png\n')
        self.assertEqual(user.get('/staff/x.png').status, 403)
        admin = self.signed_in(ADMIN)
        self.assertEqual(admin.get('/staff/x.png').status, 200)

    def test_remote_user_is_the_checked_user(self):
        """Debian's fastcgi.conf sends REMOTE_USER = $remote_user (the
        client's own, unchecked Basic user name); the shipped PHP
        location sets it again after the include, and PHP-FPM (here its
        stand-in) keeps the last: a signed-in user sending Basic
        credentials of the admin is still themself."""
        self.up()
        self.track(harness.FcgiEcho(self.nginx.php_socket)).start()
        with open(os.path.join(self.nginx.root, 'private', 'x.php'),
                  'w') as f:
            f.write('<?php\n')
        user = self.signed_in(USER)
        basic = base64.b64encode(('%s:x' % ADMIN).encode()).decode()
        r = user.get('/private/x.php',
                     headers={'Authorization': 'Basic ' + basic})
        self.assertEqual(r.status, 200, r)
        self.assertIn('REMOTE_USER=%s\n' % USER, r.text)
        self.assertNotIn(ADMIN, r.text)

    def test_remote_user_before_the_include_is_the_clients(self):
        """Why the order is shown: the same location with the REMOTE_USER
        line moved before the include hands the backend the client's own
        Basic user name."""
        with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
            text = f.read()
        inc = '\t\t\t\tinclude snippets/fastcgi-php.conf;\n'
        par = '\t\t\t\tfastcgi_param REMOTE_USER $auth_user;\n'
        self.assertIn(inc, text)
        self.assertIn(par, text)
        text = text.replace(par, '').replace(inc, par + inc)
        template = os.path.join(self.tmpdir, 'nginx-wrong-order.conf')
        with open(template, 'w') as f:
            f.write(text)
        self.up(template=template)
        self.track(harness.FcgiEcho(self.nginx.php_socket)).start()
        with open(os.path.join(self.nginx.root, 'private', 'x.php'),
                  'w') as f:
            f.write('<?php\n')
        basic = base64.b64encode(('%s:x' % ADMIN).encode()).decode()
        r = self.signed_in(USER).get(
            '/private/x.php', headers={'Authorization': 'Basic ' + basic})
        self.assertEqual(r.status, 200, r)
        self.assertIn('REMOTE_USER=%s\n' % ADMIN, r.text)

    def test_admin_role(self):
        anon = self.up()
        self.assert_to_login(anon.get('/staff/'), '/staff/')
        r = self.signed_in(USER).get('/staff/')
        self.assertEqual(r.status, 403, r)
        r = self.signed_in(ADMIN).get('/staff/')
        self.assertEqual(r.status, 200, r)
        self.assertIn(Nginx.STAFF_TEXT, r.text)

    def test_dot_segments_are_still_the_check(self):
        """nginx protects /auth/../private/x and /auth/%2e%2e/private/x as
        /private/x: authgw answers them as the check (the subrequest's
        own path), not by the raw REQUEST_URI."""
        self.up()
        c = self.signed_in()
        for path in ('/auth/../private/index.html',
                     '/auth/%2e%2e/private/index.html',
                     '/auth/check/../../private/index.html'):
            with self.subTest(path=path):
                r = raw_request(self.port, 'GET', path, [])
                self.assert_to_login(r)
                self.assertNotIn(Nginx.PRIVATE_TEXT, r.text)
                r = c.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertIn(Nginx.PRIVATE_TEXT, r.text)
                self.assertEqual(r.header('x-auth-user'), USER, r)

    def test_every_method_is_checked_without_a_body(self):
        """auth_request sends the original method and announces the body
        it does not send: every method is checked alike."""
        anon = self.up()
        c = self.signed_in()
        for m in METHODS:
            body = None if m in ('GET', 'HEAD') else b'x=1'
            h = {'Content-Type': 'application/x-www-form-urlencoded'}
            with self.subTest(method=m):
                r = anon.request(m, PRIVATE, body=body, headers=h)
                self.assertEqual(r.status, 302, r)
                r = c.request(m, PRIVATE, body=body, headers=h)
                # Let through: nginx's static module answers (405 to a
                # POST), with the user authgw named.
                self.assertNotIn(r.status, (302, 401, 403, 500), r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
                # The check location asked directly, with a body.
                r = c.request(m, '/auth/check', body=body, headers=h)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
                r = anon.request(m, '/auth/check', body=body, headers=h)
                self.assertEqual(r.status, 401, r)

    def test_first_session_cookie_counts(self):
        """Two session cookies, in one Cookie line or two (nginx 1.22
        sends each line as a parameter of its own): the first counts, as
        nginx's $cookie_authgw_sid."""
        self.up()
        good = login_cookie(Client(self.port), self.ag)
        bad = 'A' * 43
        ck = self.ag.cookie_name
        cases = (
            ([('Cookie', '%s=%s; %s=%s' % (ck, good, ck, bad))], 200),
            ([('Cookie', '%s=%s; %s=%s' % (ck, bad, ck, good))], 302),
            ([('Cookie', '%s=%s' % (ck, good)),
              ('Cookie', '%s=%s' % (ck, bad))], 200),
            ([('Cookie', '%s=%s' % (ck, bad)),
              ('Cookie', '%s=%s' % (ck, good))], 302),
            ([('Cookie', 'a=1'), ('Cookie', '%s=%s' % (ck, good))], 200),
        )
        for headers, want in cases:
            with self.subTest(headers=headers):
                r = raw_request(self.port, 'GET', PRIVATE, headers)
                self.assertEqual(r.status, want, r)
                r = raw_request(self.port, 'GET', '/auth/check', headers)
                self.assertEqual(r.status, 200 if want == 200 else 401, r)

    def test_unrelated_authorization_is_left_alone(self):
        """A live cookie decides; an Authorization authgw does not know
        (an application's own Bearer token) changes nothing."""
        anon = self.up()
        c = self.signed_in()
        for authz in ('Bearer xyz', 'Bearer agwnot', 'Negotiate abc'):
            with self.subTest(authz=authz):
                h = {'Authorization': authz}
                r = c.get(PRIVATE, headers=h)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
                self.assertEqual(c.get('/auth/check', headers=h).status,
                                 200)
                self.assert_to_login(anon.get(PRIVATE, headers=h), PRIVATE)
                r = anon.get('/auth/check', headers=h)
                self.assertEqual(r.status, 401, r)
                self.assertNotIn('basic', r.header('www-authenticate',
                                                   '').lower(), r)

    def test_passive_check_never_extends(self):
        """X-Auth-Passive: 1 reaches the check (auth_request passes the
        request's headers on): the session is validated and never
        extended, so an idle user with an open tab still times out."""
        self.up(session_lifetime=4, session_max_lifetime=100)
        passive, direct, active = (self.signed_in(), self.signed_in(),
                                   self.signed_in())
        created = time.time()
        hp = {'X-Auth-Passive': '1'}
        seen = {'passive': [], 'direct': [], 'active': []}
        mid = None
        # From +2 s on, each is due for renewal; at +4 s, unused, dead.
        while time.time() < created + 5.5:
            seen['passive'].append(passive.get(PRIVATE, headers=hp).status)
            seen['direct'].append(
                direct.get('/auth/check', headers=hp).status)
            seen['active'].append(active.get(PRIVATE).status)
            if mid is None and time.time() > created + 3:
                mid = [session_row(self.ag, c.cookies[self.ag.cookie_name])
                       for c in (passive, direct, active)]
            time.sleep(0.25)
        self.assertEqual(set(seen['active']), {200}, seen)
        self.assertEqual(seen['passive'][0], 200, seen)
        # Due and checked passively for a second: not extended.
        self.assertEqual([m[1] for m in mid[:2]], [0, 0], mid)
        self.assertGreaterEqual(mid[2][1], 1, mid)
        self.assertEqual(seen['passive'][-1], 302,
                         'a passive check kept the session alive: %r' % seen)
        self.assertEqual(seen['direct'][-1], 401, seen)


# An admin site written the stock way: its own check location, the
# include, and the role added after it. nginx sends QUERY_STRING twice
# (the include's empty one first).
ADMIN_SERVER = '''
	server {
		listen 127.0.0.1:%(port)d;
		root @ROOT@/staff;

		location = /auth/check {
			fastcgi_pass @AUTHGW@;
			include fastcgi_params;
			fastcgi_param QUERY_STRING role=admin;
		}

		location / {
			auth_request /auth/check;
			auth_request_set $auth_location $upstream_http_location;
			error_page 401 =302 $auth_location;
			try_files $uri $uri/ =404;
		}
	}
}
'''


class NginxAdminStockWayTest(NginxStockCase):

    def template(self):
        self.admin_port = harness.free_port()
        with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
            text = f.read().rstrip()
        self.assertTrue(text.endswith('}'))
        path = os.path.join(self.tmpdir, 'nginx-admin.conf')
        with open(path, 'w') as f:
            f.write(text[:-1] + ADMIN_SERVER % {'port': self.admin_port})
        return path

    def test_role_after_the_include_gates(self):
        """`include fastcgi_params; fastcgi_param QUERY_STRING
        role=admin;`: the last QUERY_STRING counts, so a user-role session
        gets 403 (with the first, it passed the admin gate)."""
        self.up(template=self.template())
        harness.wait_connectable(('127.0.0.1', self.admin_port))
        for email, want in ((USER, 403), (ADMIN, 200)):
            with self.subTest(email=email):
                c = self.signed_in(email)
                a = Client(self.admin_port)
                a.cookies = dict(c.cookies)
                r = a.get('/auth/check')
                self.assertEqual(r.status, want, r)
                r = a.get('/index.html')
                self.assertEqual(r.status, want, r)
                if want == 200:
                    self.assertIn(Nginx.STAFF_TEXT, r.text)
        anon = Client(self.admin_port)
        self.assertEqual(anon.get('/auth/check').status, 401)
        self.assert_to_login(anon.get('/index.html'), '/index.html')


# --------------------------------------------------- FastCGI parameters

class FastcgiParametersTest(harness.TestCase):
    """Parameters sent more than once, straight over FastCGI."""

    def setUp(self):
        super().setUp()
        self.ag = self.authgw()
        self.ag.add_user(USER, PASSWORD)
        self.ag.start()
        self.dump_logs_on_failure(self.ag)
        self.tok = self.ag.login_cookie(USER, PASSWORD)
        self.ck = '%s=%s' % (self.ag.cookie_name, self.tok)

    def send(self, pairs):
        """GET /auth/check as nginx sends it, each name in pairs sent as
        pairs have it instead (a value None: not sent)."""
        base = harness.make_params('GET', '/auth/check')
        for k, _v in pairs:
            base.pop(k, None)
        return harness.fcgi(self.ag.listen, Pairs(
            list(base.items()) + [(k, v) for k, v in pairs if v is not None]))

    def test_last_query_string_counts(self):
        r = self.send([('HTTP_COOKIE', self.ck), ('QUERY_STRING', ''),
                       ('QUERY_STRING', 'role=admin')])
        self.assertEqual(r.status, 403, r)
        r = self.send([('HTTP_COOKIE', self.ck),
                       ('QUERY_STRING', 'role=admin'),
                       ('QUERY_STRING', '')])
        self.assertEqual(r.status, 200, r)

    def test_last_path_counts(self):
        r = self.send([('HTTP_COOKIE', self.ck),
                       ('REQUEST_URI', '/private/x'), ('DOCUMENT_URI', None),
                       ('SCRIPT_NAME', '/auth/check'),
                       ('SCRIPT_NAME', '/auth/healthz')])
        self.assertEqual(r.status, 200, r)
        self.assertIn('"sqlite":"ok"', r.text)
        self.assertIsNone(r.header('x-auth-user'), r)

    def test_cookie_lines_are_one_list(self):
        """HTTP_COOKIE twice (nginx 1.22, two Cookie lines): one list in
        order, the first session cookie counts."""
        ck, bad = self.ck, '%s=%s' % (self.ag.cookie_name, 'A' * 43)
        for pairs, want in (
                ([('HTTP_COOKIE', 'a=1'), ('HTTP_COOKIE', ck)], 200),
                ([('HTTP_COOKIE', ck), ('HTTP_COOKIE', bad)], 200),
                ([('HTTP_COOKIE', bad), ('HTTP_COOKIE', ck)], 401),
                ([('HTTP_COOKIE', ck), ('HTTP_COOKIE', 'b=2'),
                  ('HTTP_COOKIE', bad)], 200)):
            with self.subTest(pairs=pairs):
                self.assertEqual(self.send(pairs).status, want)
        # Longer than a header may be, joined: as if there were none.
        r = self.send([('HTTP_COOKIE', ck),
                       ('HTTP_COOKIE', 'x=' + 'a' * 5000),
                       ('HTTP_COOKIE', 'y=' + 'b' * 5000)])
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.send([('HTTP_COOKIE', ck)]).status, 200)


# --------------------------------------------------------------- lighttpd

@unittest.skipIf(test_lighttpd.LIGHTTPD is None, 'lighttpd is not installed')
class LighttpdStockTest(harness.TestCase):
    """The shipped conf/lighttpd.conf, lighttpd's default parameters:
    authgw the responder for /auth/ and the authorizer of /private/."""

    def setUp(self):
        super().setUp()
        self.ag = self.authgw(session_lifetime=4, session_max_lifetime=100)
        self.port = self.ag.http_port
        self.ag.add_user(USER, PASSWORD)
        self.ag.start()
        web = test_lighttpd.Lighttpd(self.tmpdir, self.ag, self.port)
        self.start_web_server(web, self.ag, web)

    def test_shipped_config_sets_no_parameters(self):
        lines = []
        for name in ('lighttpd.conf', 'lighttpd-authgw.conf'):
            with open(os.path.join(harness.CONF_DIR, name)) as f:
                lines += [ln.split('#')[0] for ln in f]
        for ln in lines:
            for word in ('bin-environment', 'setenv', 'fix-root-scriptname',
                         'strip-request-uri'):
                self.assertNotIn(word, ln)

    def test_every_method_on_check(self):
        c = Client(self.port)
        login_cookie(c, self.ag)
        anon = Client(self.port)
        for m in METHODS:
            body = None if m in ('GET', 'HEAD') else b'{"x":1}'
            h = {'Content-Type': 'application/json'}
            with self.subTest(method=m):
                r = c.request(m, '/auth/check', body=body, headers=h)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
                r = anon.request(m, '/auth/check', body=body, headers=h)
                self.assertEqual(r.status, 401, r)

    def test_dot_segments_are_still_the_check(self):
        c = Client(self.port)
        login_cookie(c, self.ag)
        for path in ('/auth/../private/secret.txt',
                     '/auth/%2e%2e/private/secret.txt'):
            with self.subTest(path=path):
                r = raw_request(self.port, 'GET', path,
                                [('Accept', 'application/json')])
                self.assertEqual(r.status, 401, r)
                self.assertEqual(c.get(path).text, harness.WEB_SECRET_TEXT)

    def test_first_cookie_and_authorization(self):
        good = login_cookie(Client(self.port), self.ag)
        ck, bad = self.ag.cookie_name, 'A' * 43
        for headers, want in (
                ([('Cookie', '%s=%s' % (ck, good)),
                  ('Cookie', '%s=%s' % (ck, bad))], 200),
                ([('Cookie', '%s=%s' % (ck, bad)),
                  ('Cookie', '%s=%s' % (ck, good))], 401),
                ([('Cookie', '%s=%s' % (ck, good)),
                  ('Authorization', 'Bearer xyz')], 200)):
            with self.subTest(headers=headers):
                r = raw_request(self.port, 'GET', '/private/secret.txt',
                                headers + [('Accept', 'application/json')])
                self.assertEqual(r.status, want, r)

    def test_passive_authorizer_check_never_extends(self):
        p, a = Client(self.port), Client(self.port)
        login_cookie(p, self.ag)
        login_cookie(a, self.ag)
        created = time.time()
        hp = {'X-Auth-Passive': '1', 'Accept': 'application/json'}
        last = mid = None
        while time.time() < created + 5.5:
            last = p.get('/private/secret.txt', headers=hp).status
            self.assertEqual(a.get('/private/secret.txt').status, 200)
            if mid is None and time.time() > created + 3:
                mid = session_row(self.ag, p.cookies[self.ag.cookie_name])
            time.sleep(0.25)
        self.assertEqual(mid[1], 0, 'a passive check extended the session')
        self.assertEqual(last, 401, 'a passive check kept the session')


# ------------------------------------------------------ Apache proxy_fcgi

class ApacheProxyFcgiTest(harness.TestCase):
    """conf/apache-proxy-fcgi.conf as it is: authgw's pages through
    mod_proxy_fcgi over the unix socket, default parameters."""

    def setUp(self):
        why = test_apache.missing_for('proxy_fcgi')
        if why:
            self.skipTest(why)
        super().setUp()
        self.ag = self.authgw(session_lifetime=4, session_max_lifetime=100)
        self.port = self.ag.http_port
        self.ag.add_user(USER, PASSWORD)
        self.ag.start()
        web = test_apache.Apache(self.tmpdir, self.port, 'proxy_fcgi',
                                 {'AUTHGW_SOCKET': self.ag.socket_path})
        self.start_web_server(web, self.ag, web)

    def test_readme_shows_the_shipped_line(self):
        with open(os.path.join(harness.SRC_DIR, 'README.md')) as f:
            readme = f.read()
        m = re.search(r'### Apache: mod_proxy_fcgi.*?```apache\n(.*?)```',
                      readme, re.S)
        self.assertIsNotNone(m, 'no mod_proxy_fcgi example in README.md')
        with open(os.path.join(harness.CONF_DIR,
                               'apache-proxy-fcgi.conf')) as f:
            conf = {ln.strip() for ln in f if not ln.startswith('#')}
        for ln in m.group(1).splitlines():
            ln = ln.strip().replace('/run/authgw/authgw.sock',
                                    '@AUTHGW_SOCKET@')
            if ln:
                self.assertIn(ln, conf, 'README line not in the conf')

    def test_pages_and_check(self):
        c = self.client
        self.assertEqual(c.get('/auth/check').status, 401)
        login_cookie(c, self.ag)
        r = c.get('/auth/session', headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user']['email'], USER)
        for m in METHODS:
            body = None if m in ('GET', 'HEAD') else b'a=1'
            with self.subTest(method=m):
                r = c.request(m, '/auth/check', body=body, headers={
                    'Content-Type': 'text/plain'})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
        # Other routes keep their methods.
        r = c.request('DELETE', '/auth/session')
        self.assertEqual(r.status, 405, r)
        r = c.post('/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(c.get('/auth/check').status, 401)

    def test_first_cookie_of_joined_lines(self):
        """Apache joins a client's Cookie lines with ", ": the cookies
        are still told apart, and the first session cookie counts."""
        good = login_cookie(Client(self.port), self.ag)
        ck, bad = self.ag.cookie_name, 'A' * 43
        for headers, want in (
                ([('Cookie', 'a=1'), ('Cookie', '%s=%s' % (ck, good))], 200),
                ([('Cookie', '%s=%s' % (ck, good)),
                  ('Cookie', '%s=%s' % (ck, bad))], 200),
                ([('Cookie', '%s=%s' % (ck, bad)),
                  ('Cookie', '%s=%s' % (ck, good))], 401),
                ([('Cookie', '%s=%s' % (ck, good)),
                  ('Authorization', 'Bearer xyz')], 200)):
            with self.subTest(headers=headers):
                r = raw_request(self.port, 'GET', '/auth/check', headers)
                self.assertEqual(r.status, want, r)

    def test_passive_check_never_extends(self):
        c = Client(self.port)
        tok = login_cookie(c, self.ag)
        created = time.time()
        last = mid = None
        while time.time() < created + 5.5:
            last = c.get('/auth/check',
                         headers={'X-Auth-Passive': '1'}).status
            if mid is None and time.time() > created + 3:
                mid = session_row(self.ag, tok)
            time.sleep(0.25)
        self.assertEqual(mid[1], 0, 'a passive check extended the session')
        self.assertEqual(last, 401, 'a passive check kept the session')


@unittest.skipIf(test_apache.missing_for('authnz_fcgi'),
                 'Apache with mod_authnz_fcgi is not installed')
class ApacheAuthnzStockTest(harness.TestCase):
    """conf/apache-authnz-fcgi.conf: a passive check in the authenticator
    role, and the first of the client's joined Cookie lines."""

    def setUp(self):
        super().setUp()
        self.ag = self.authgw(session_lifetime=4, session_max_lifetime=100)
        self.port = self.ag.http_port
        self.ag.add_user(USER, PASSWORD)
        addr = '127.0.0.1:%d' % harness.free_port()
        self.ag.start(listen=addr)
        web = test_apache.Apache(self.tmpdir, self.port, 'authnz_fcgi',
                                 {'AUTHGW_ADDR': addr})
        self.start_web_server(web, self.ag, web)

    def test_first_cookie_of_joined_lines(self):
        good = login_cookie(Client(self.port), self.ag)
        ck, bad = self.ag.cookie_name, 'A' * 43
        for headers, want in (
                ([('Cookie', 'a=1'), ('Cookie', '%s=%s' % (ck, good))], 200),
                ([('Cookie', '%s=%s' % (ck, bad)),
                  ('Cookie', '%s=%s' % (ck, good))], 401)):
            with self.subTest(headers=headers):
                r = raw_request(self.port, 'GET', '/private/secret.txt',
                                headers + [('Accept', 'application/json')])
                self.assertEqual(r.status, want, r)

    def test_passive_authenticator_check_never_extends(self):
        p = Client(self.port)
        tok = login_cookie(p, self.ag)
        created = time.time()
        hp = {'X-Auth-Passive': '1', 'Accept': 'application/json'}
        last = mid = None
        while time.time() < created + 5.5:
            last = p.get('/private/secret.txt', headers=hp).status
            if mid is None and time.time() > created + 3:
                mid = session_row(self.ag, tok)
            time.sleep(0.25)
        self.assertEqual(mid[1], 0, 'a passive check extended the session')
        self.assertEqual(last, 401, 'a passive check kept the session')


if __name__ == '__main__':
    unittest.main()
