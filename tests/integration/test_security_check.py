"""Security fixes of issue 10 around the session check, spoken in FastCGI to
a real prefork authgw:
  item 4:  an IPv4-mapped client address (::ffff:a.b.c.d) is rate-limited
           as the IPv4 address a.b.c.d, not as the shared network ::/64;
  item 7:  /check's role parameter fails closed (400 for an unknown value,
           control bytes or a repetition; SPEC 4), and the authorizer roles'
           AUTHGW_ROLE with a value other than user or admin is a 500;
  item 11: every 200 of a check says whether the address is verified
           (X-Auth-Verified, Variable-AUTH_VERIFIED)."""

import json

import harness
from harness import FCGI_AUTHORIZER

USER = 'user@example.com'
ADMIN = 'admin@example.com'
UNVERIFIED = 'unverified@example.com'
PASSWORD = 'correct horse battery'


class CheckTestCase(harness.TestCase):

    def start(self, **conf):
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.add_user(ADMIN, PASSWORD, admin=True)
        ag.start()
        return ag

    def login(self, ag, email, password, remote_addr):
        body = json.dumps({'email': email, 'password': password}).encode()
        return ag.fcgi('/auth/login', 'POST',
                       headers={'Content-Type': 'application/json',
                                'Accept': 'application/json'},
                       body=body, extra={'REMOTE_ADDR': remote_addr})

    def sessions(self):
        return (('user', self.user), ('admin', self.admin), ('none', None))

    def authorize(self, ag, token=None, role=None, accept=None):
        """An AUTHORIZER request for /private/page; role sets AUTHGW_ROLE
        as a web server's environment would."""
        headers = {}
        if token is not None:
            headers['Cookie'] = '%s=%s' % (ag.cookie_name, token)
        if accept is not None:
            headers['Accept'] = accept
        extra = {} if role is None else {'AUTHGW_ROLE': role}
        return ag.fcgi('/private/page', headers=headers,
                       role=FCGI_AUTHORIZER, extra=extra)


class MappedAddressRateLimitTest(CheckTestCase):
    """Item 4: behind a dual-stack front end every IPv4 client arrives as
    ::ffff:a.b.c.d; masked to /64 they all shared one counter."""

    def test_ipv4_mapped_clients_are_counted_apart(self):
        ag = self.start(login_window=300, login_max_per_account=1000,
                        login_max_per_ip=3)
        got = [self.login(ag, USER, 'wrong password', '::ffff:10.0.0.1')
               .status for _ in range(20)]
        self.assertEqual(got[:3], [401, 401, 401], got)
        self.assertEqual(set(got[3:]), {429}, got)
        # Another IPv4 client behind the same dual-stack socket.
        r = self.login(ag, USER, PASSWORD, '::ffff:10.0.0.2')
        self.assertEqual(r.status, 200, r)
        r = self.login(ag, ADMIN, 'wrong password', '::ffff:10.0.0.3')
        self.assertEqual(r.status, 401, r)

    def test_ipv4_mapped_clients_register_apart(self):
        ag = self.start(login_window=300, login_max_per_account=1000,
                        login_max_per_ip=2)

        def register(i, remote_addr):
            body = json.dumps({'email': 'new%d@example.com' % i,
                               'password': PASSWORD}).encode()
            return ag.fcgi('/auth/register', 'POST',
                           headers={'Content-Type': 'application/json',
                                    'Accept': 'application/json'},
                           body=body, extra={'REMOTE_ADDR': remote_addr})

        got = [register(i, '::ffff:192.0.2.1').status for i in range(4)]
        self.assertEqual(got, [202, 202, 429, 429], got)
        r = register(9, '::ffff:192.0.2.2')
        self.assertEqual(r.status, 202, r)

    def test_ipv4_mapped_address_is_the_ipv4_address(self):
        ag = self.start(login_window=300, login_max_per_account=1000,
                        login_max_per_ip=2)
        self.assertEqual(
            self.login(ag, USER, 'wrong password', '10.0.0.1').status, 401)
        self.assertEqual(
            self.login(ag, USER, 'wrong password', '::ffff:10.0.0.1').status,
            401)
        # One client, whichever way it arrives: over its limit.
        self.assertEqual(
            self.login(ag, USER, PASSWORD, '10.0.0.1').status, 429)
        self.assertEqual(
            self.login(ag, USER, PASSWORD, '::FFFF:10.0.0.1').status, 429)
        keys = {k for (k,) in ag.query(
            'SELECT DISTINCT key FROM attempts WHERE kind = 2')}
        self.assertEqual(keys, {'10.0.0.1'})


class CheckRoleParameterTest(CheckTestCase):
    """Item 7: ?role= is admin or user, once, or the check answers 400
    before it looks at the session (SPEC 4)."""

    def setUp(self):
        super().setUp()
        self.ag = self.start()
        self.user = self.ag.login_cookie(USER, PASSWORD)
        self.admin = self.ag.login_cookie(ADMIN, PASSWORD)

    def assert_400(self, queries):
        for q in queries:
            for who, tok in self.sessions():
                with self.subTest(query=q, session=who):
                    r = self.ag.check(tok, query=q)
                    self.assertEqual(r.status, 400, r)
                    self.assertIsNone(r.header('x-auth-user'), r)

    def test_role_with_control_bytes_is_refused(self):
        self.assert_400(['role=admin%00', 'role=%01', 'role=%00admin',
                         'role=user%00', 'role=admin%0a', 'role=admin%0d%0a',
                         'role=%7f', 'role=admin%7f', 'role=%00'])

    def test_role_given_twice_is_refused(self):
        self.assert_400(['role=&role=admin', 'role=admin&role=admin',
                         'role=user&role=admin', 'role=admin&role=user',
                         'role=admin&x=1&%72ole=user', 'role&role=admin',
                         'rol%65=admin&role=user', 'role=admin&&role='])

    def test_unknown_role_is_refused(self):
        self.assert_400(['role=', 'role', 'role=Admin', 'role=ADMIN',
                         'role=superuser', 'role=admin+', 'role=%20admin',
                         'role=admin%20', 'role=users', 'role=adm'])

    def test_known_roles_still_gate(self):
        ag = self.ag
        self.assertEqual(ag.check(self.user).status, 200)
        self.assertEqual(ag.check(self.user, query='role=user').status, 200)
        self.assertEqual(ag.check(self.user, query='role=admin').status, 403)
        self.assertEqual(ag.check(self.admin, query='role=admin').status, 200)
        self.assertEqual(ag.check(self.admin, query='role=user').status, 200)
        self.assertEqual(
            ag.check(self.admin, query='x=1&%72ole=admin&y=2').status, 200)
        self.assertEqual(
            ag.check(self.user, query='x=1&role=admin&y=2').status, 403)
        # Other parameters may repeat; only role is judged.
        self.assertEqual(ag.check(self.user, query='x=1&x=2').status, 200)
        self.assertEqual(ag.check(None, query='role=admin').status, 401)


class AuthorizerRoleTest(CheckTestCase):
    """Item 7, the authorizer side: AUTHGW_ROLE comes from the web server's
    configuration, so a value other than user or admin is the operator's
    mistake: 500 for every request, never a pass."""

    def setUp(self):
        super().setUp()
        self.ag = self.start()
        self.user = self.ag.login_cookie(USER, PASSWORD)
        self.admin = self.ag.login_cookie(ADMIN, PASSWORD)

    def test_known_authgw_role_gates(self):
        ag = self.ag
        self.assertEqual(self.authorize(ag, self.user).status, 200)
        self.assertEqual(self.authorize(ag, self.user, 'user').status, 200)
        self.assertEqual(self.authorize(ag, self.user, 'admin').status, 403)
        r = self.authorize(ag, self.admin, 'admin')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('variable-auth_role'), 'admin', r)
        self.assertEqual(self.authorize(ag, None, 'admin').status, 401)

    def test_unknown_authgw_role_fails_closed(self):
        ag = self.ag
        for role in ('', 'superuser', 'Admin', 'admin ', ' admin',
                     'admin\x01', 'user\n', 'admin,user'):
            for who, tok in self.sessions():
                for accept in (None, 'text/html'):
                    with self.subTest(role=role, session=who, accept=accept):
                        r = self.authorize(ag, tok, role, accept)
                        self.assertEqual(r.status, 500, r)
                        self.assertIsNone(r.header('variable-remote_user'), r)
                        self.assertIsNone(r.header('location'), r)
        self.assertIn('AUTHGW_ROLE', ag.log())


class VerifiedHeaderTest(CheckTestCase):
    """Item 11: with require_verified_email = false an unverified account
    can sign in, and the application behind must be able to tell."""

    def start_unverified(self, **conf):
        ag = self.start(**conf)
        ag.add_user(UNVERIFIED, PASSWORD, verified=False)
        return ag

    def assert_verified(self, ag, token, want):
        # Twice: the first answer may come from SQLite, the second from
        # the host table; both tiers carry the flag.
        for _ in range(2):
            r = ag.check(token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-verified'), want, r)
            r = self.authorize(ag, token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('variable-auth_verified'), want, r)
            self.assertIsNone(r.header('x-auth-verified'), r)
        self.assertIsNone(ag.check(token).header('variable-auth_verified'))

    def test_unverified_address_is_said(self):
        ag = self.start_unverified(require_verified_email=False)
        unverified = ag.login_cookie(UNVERIFIED, PASSWORD)
        verified = ag.login_cookie(USER, PASSWORD)
        self.assert_verified(ag, unverified, '0')
        self.assert_verified(ag, verified, '1')
        self.assertEqual(ag.check(unverified, query='role=user')
                         .header('x-auth-verified'), '0')
        # Verifying the address shows at once (the cached entry is dropped).
        self.assertEqual(ag.cli('user', 'verify', UNVERIFIED).returncode, 0)
        self.assert_verified(ag, unverified, '1')

    def test_verified_header_whatever_the_setting(self):
        ag = self.start_unverified()
        self.assert_verified(ag, ag.login_cookie(ADMIN, PASSWORD), '1')
        r = self.login(ag, UNVERIFIED, PASSWORD, '127.0.0.1')
        self.assertEqual(r.status, 403, r)

    def test_refusals_do_not_say(self):
        ag = self.start_unverified(require_verified_email=False)
        unverified = ag.login_cookie(UNVERIFIED, PASSWORD)
        r = ag.check(unverified, query='role=admin')
        self.assertEqual(r.status, 403, r)
        self.assertIsNone(r.header('x-auth-verified'), r)
        r = ag.check(None)
        self.assertEqual(r.status, 401, r)
        self.assertIsNone(r.header('x-auth-verified'), r)


if __name__ == '__main__':
    harness.run_modules()
