"""The micro-cache (SPEC 3 check_cache, SPEC 5 "Micro-cache", issue 12
section 2), through a real nginx running the shipped conf/nginx.conf with
its "#cache " recipe turned on, as its comment says.

What is measured is whether authgw was asked: its `checks` counter (from
/metrics, read straight over FastCGI). Without that, every other test here
would also pass with a cache that never stores anything.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, Nginx  # noqa: E402
from test_stock_configs import login_cookie, raw_request  # noqa: E402

USER = 'user@example.com'
OTHER = 'other@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'S3cret-Passw0rd-xyzzy'
PRIVATE = '/private/index.html'
STAFF = '/staff/index.html'


class MicroCacheCase(harness.TestCase):

    def up(self, check_cache=30, template=None, **conf):
        c = {'login_max_per_ip': 1000, 'login_max_per_account': 1000,
             'check_cache': check_cache}
        c.update(conf)
        self.ag = self.authgw(**c)
        for email, admin in ((USER, False), (OTHER, False), (ADMIN, True)):
            self.ag.add_user(email, PASSWORD, admin=admin)
        self.ag.start()
        self.nginx = self.track(Nginx(self.tmpdir, self.ag, micro_cache=True,
                                      template=template))
        self.dump_logs_on_failure(self.ag, self.nginx)
        self.nginx.start()
        self.port = self.nginx.port

    def checks(self):
        """authgw's checks counter, asked directly (never cached)."""
        r = self.ag.fcgi('/auth/metrics', extra={'REMOTE_ADDR': '127.0.0.1'})
        self.assertEqual(r.status, 200, r)
        m = re.search(r'^authgw_checks_total (\d+)$', r.text, re.M)
        self.assertIsNotNone(m, r.text)
        return int(m.group(1))

    def signed_in(self, email=USER):
        c = Client(self.port)
        token = login_cookie(c, self.ag, email)
        return c, token

    def get(self, path, cookie=None, headers=()):
        h = [('Accept', 'application/json')] + list(headers)
        if cookie is not None:
            h.append(('Cookie', cookie))
        return raw_request(self.port, 'GET', path, h)

    def sid(self, token):
        return '%s=%s' % (self.ag.cookie_name, token)

    def asked(self, fn, times=5):
        """How many checks authgw answered while fn ran `times` times."""
        before = self.checks()
        for _ in range(times):
            fn()
        return self.checks() - before


class MicroCacheTest(MicroCacheCase):

    def test_readme_shows_the_shipped_recipe(self):
        """Every line of the README's micro-cache example is a line of
        the recipe of conf/nginx.conf and the snippet it includes, the one
        these tests turn on."""
        with open(os.path.join(harness.SRC_DIR, 'README.md')) as f:
            readme = f.read()
        m = re.search(r'#### The micro-cache.*?```nginx\n(.*?)```', readme,
                      re.S)
        self.assertIsNotNone(m, 'no micro-cache example in README.md')
        conf = set()
        for name in ('nginx.conf', 'nginx-snippet.conf'):
            with open(os.path.join(harness.CONF_DIR, name)) as f:
                conf |= {re.sub(r'^#cache ', '', ln.strip()).split('#')[0]
                         .strip() for ln in f}
        for ln in m.group(1).splitlines():
            ln = ln.split('#')[0].strip()
            ln = ln.replace('/run/nginx-authgw', '@CACHE@')
            if ln and ln != '}':
                self.assertIn(ln, conf, 'README line not in nginx.conf '
                              'or nginx-snippet.conf')

    def test_repeated_checks_are_answered_by_nginx(self):
        self.up()
        _, tok = self.signed_in()

        def private():
            r = self.get(PRIVATE, self.sid(tok))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-user'), USER, r)
        # The first one fills the entry, the next nine are nginx's own.
        self.assertEqual(self.asked(private, 10), 1)

    def test_without_check_cache_nothing_is_kept(self):
        """The recipe alone caches nothing: authgw's X-Accel-Expires is
        what lets nginx keep an answer."""
        self.up(check_cache=0)
        _, tok = self.signed_in()
        self.assertEqual(self.asked(
            lambda: self.assertEqual(self.get(PRIVATE, self.sid(tok)).status,
                                     200), 5), 5)

    def test_logout_refused_within_check_cache(self):
        self.up(check_cache=2)
        c, tok = self.signed_in()
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        r = c.post('/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        ended = time.monotonic()
        while self.get(PRIVATE, self.sid(tok)).status == 200:
            self.assertLess(time.monotonic() - ended, 2 + 1,
                            'an ended session passed past check_cache + 1 s')
            time.sleep(0.05)
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 302)

    def test_two_users_never_share_an_entry(self):
        self.up()
        toks = {email: self.signed_in(email)[1] for email in (USER, OTHER)}
        for _ in range(3):
            for email, tok in toks.items():
                r = self.get(PRIVATE, self.sid(tok))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), email, r)

    def test_no_cookie_or_empty_cookie_never_cached(self):
        self.up()
        _, tok = self.signed_in()
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        for cookie in (None, '%s=' % self.ag.cookie_name, 'other=1'):
            with self.subTest(cookie=cookie):
                n = self.asked(lambda: self.assertEqual(
                    self.get(PRIVATE, cookie).status, 302), 3)
                self.assertEqual(n, 3)

    def test_refusal_never_cached(self):
        self.up()
        bad = self.sid('A' * 43)
        self.assertEqual(self.asked(lambda: self.assertEqual(
            self.get(PRIVATE, bad).status, 302), 3), 3)
        # A 403 neither: a user at the admin gate, asked every time.
        _, tok = self.signed_in()
        self.assertEqual(self.asked(lambda: self.assertEqual(
            self.get(STAFF, self.sid(tok)).status, 403), 3), 3)

    def test_role_query_not_served_from_a_plain_entry(self):
        self.up()
        _, tok = self.signed_in()
        _, atok = self.signed_in(ADMIN)
        # A user's plain success is cached; the admin gate still says 403.
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        self.assertEqual(self.get(STAFF, self.sid(tok)).status, 403)
        # An admin's admin-gate success has an entry of its own.
        self.assertEqual(self.asked(lambda: self.assertEqual(
            self.get(STAFF, self.sid(atok)).status, 200), 3), 1)

    def test_passive_check_bypasses_the_cache(self):
        self.up()
        _, tok = self.signed_in()
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        n = self.asked(lambda: self.assertEqual(self.get(
            PRIVATE, self.sid(tok), [('X-Auth-Passive', '1')]).status, 200), 3)
        self.assertEqual(n, 3)

    def test_ambiguous_cookie_never_keys_an_entry(self):
        """nginx's $cookie_NAME matches the name in any case, authgw only
        exactly: "AUTHGW_SID=x; authgw_sid=GOOD" is judged on GOOD but
        would be keyed by x. authgw must not let it be kept, or a later
        request carrying only authgw_sid=x would pass as that user."""
        self.up()
        _, tok = self.signed_in()
        mixed = 'AUTHGW_SID=xyz; %s' % self.sid(tok)
        self.assertEqual(self.asked(lambda: self.assertEqual(
            self.get(PRIVATE, mixed).status, 200), 2), 2)
        r = self.get(PRIVATE, '%s=xyz' % self.ag.cookie_name)
        self.assertEqual(r.status, 302, r)

    def test_bare_cookie_name_never_keys_an_entry(self):
        """nginx 1.22's $cookie_NAME: a bare NAME item swallows the next
        item, so "authgw_sid;authgw_sid=GOOD" gives it nothing while
        authgw judges GOOD. Kept, the success would sit under a key of
        Authorization alone and be served to anyone sending it (found by
        the review of this work)."""
        self.up()
        _, tok = self.signed_in()
        for cookie in ('%s;%s' % (self.ag.cookie_name, self.sid(tok)),
                       '%s ,%s' % (self.ag.cookie_name, self.sid(tok))):
            with self.subTest(cookie=cookie):
                authz = [('Authorization', 'Bearer undefined')]
                n = self.asked(lambda: self.assertEqual(
                    self.get(PRIVATE, cookie, authz).status, 200), 2)
                self.assertEqual(n, 2)
                r = self.get(PRIVATE, None, authz)
                self.assertEqual(r.status, 302, r)

    # An admin-only server of its own, written the stock way with the
    # role as a parameter, beside the shipped one.
    ADMIN_SERVER = '''
	server {
		listen 127.0.0.1:%d;
		server_name admin.localhost;
		root @ROOT@;
		location = /auth/check {
			fastcgi_pass @AUTHGW@;
			include fastcgi_params;
			fastcgi_param QUERY_STRING role=admin;
			#cache fastcgi_cache authgw_check;
			#cache fastcgi_cache_key "$server_name:$server_port$uri|$args|$cookie_authgw_sid|$http_authorization";
			#cache fastcgi_cache_bypass $authgw_nokey $http_x_auth_passive;
			#cache fastcgi_no_cache $authgw_nokey $http_x_auth_passive;
			#cache fastcgi_ignore_headers Cache-Control Expires;
		}
		location / {
			auth_request /auth/check;
			try_files $uri =404;
		}
	}
}
'''

    def test_role_by_parameter_has_entries_of_its_own(self):
        """An admin-only server whose check location adds `fastcgi_param
        QUERY_STRING role=admin;` after the include: nginx keys its
        checks by $args (empty, as the plain server's). The key's server
        part keeps a plain entry from answering it (found by the
        review)."""
        with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
            text = f.read().rstrip()
        self.assertTrue(text.endswith('}'))
        port = harness.free_port()
        text = text[:-1] + self.ADMIN_SERVER % port
        tmpl = os.path.join(self.tmpdir, 'nginx-admin-server.conf')
        with open(tmpl, 'w') as f:
            f.write(text)
        self.up(template=tmpl)
        _, tok = self.signed_in()
        _, atok = self.signed_in(ADMIN)

        def staff(token):
            return raw_request(port, 'GET', '/private/index.html',
                               [('Cookie', self.sid(token))])
        self.assertEqual(staff(tok).status, 403)
        for _ in range(2):
            self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        r = staff(tok)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(staff(atok).status, 200)

    def test_cache_files_readable_by_nginx_user_only(self):
        self.up()
        _, tok = self.signed_in()
        self.assertEqual(self.get(PRIVATE, self.sid(tok)).status, 200)
        files = []
        for d, _, names in os.walk(self.nginx.cache_dir):
            files += [os.path.join(d, n) for n in names]
            self.assertEqual(os.stat(d).st_mode & 0o077, 0, d)
        self.assertTrue(files, 'nginx kept nothing')
        for f in files:
            self.assertEqual(os.stat(f).st_mode & 0o077, 0, f)


class MicroCacheTokenTest(MicroCacheCase):
    """API tokens (SPEC 5): a success decided by a token may be kept
    (nginx keys by Authorization), without any cookie; another token, or
    none, is never answered from it; a refusal is never kept."""

    def token(self, email=USER):
        r = self.ag.cli('token', 'add', email, 'mc')
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_token_success_is_kept_and_keyed_by_authorization(self):
        self.up()
        a, b = self.token(USER), self.token(OTHER)
        ha = [('Authorization', 'Bearer ' + a)]
        r = self.get(PRIVATE, headers=ha)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.asked(
            lambda: self.assertEqual(self.get(PRIVATE, headers=ha).status,
                                     200)), 0)
        # Another token is asked about, and answered as its own user.
        r = self.get('/auth/check', headers=[('Authorization', 'Bearer ' + b)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), OTHER)
        # No Authorization at all: never the kept success.
        r = self.get(PRIVATE)
        self.assertNotEqual(r.status, 200, r)

    def test_token_refusal_is_never_kept(self):
        self.up()
        h = [('Authorization', 'Bearer agw_' + 'B' * 43)]
        n = self.asked(lambda: self.assertEqual(
            self.get(PRIVATE, headers=h).status, 401), times=3)
        self.assertEqual(n, 3)


if __name__ == '__main__':
    harness.run_modules()
