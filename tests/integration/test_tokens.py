"""API tokens (issue 13; SPEC 4 /check and /tokens, 5 "API tokens", 6
tokens_checked, 7 token add/list/revoke), spoken in FastCGI to a real
prefork authgw, with a real memcached where a test needs the second tier.

A token is "agw_" + base64url of 32 random bytes, shown once, stored as the
SHA-256 of its whole text. /check and the authorizer role accept it as
`Authorization: Bearer TOKEN` or as HTTP Basic with the account's email and
the token; never the account password. A live session cookie decides first;
an Authorization authgw does not know is ignored. A refused authgw
credential gets 401 with WWW-Authenticate: Basic, never a redirect. A token
stops validating at once (every tier, every process) when revoked, when its
user is disabled or deleted, or when the password is reset (a reset link,
`user passwd`, or a verification link that sets the password); a password
change by the user and "log out everywhere" keep it. last_used is written
at most once per half session_lifetime. Only a session of a verified
address makes tokens at /tokens, and each one made there is mailed to the
owner (without the token).

A test whose comment begins "Was a BUG" found that bug in src/ (fixed
since, in the commit it names)."""

import base64
import fcntl
import hashlib
import json
import os
import re
import struct
import threading
import time
import urllib.parse

import harness
from harness import FCGI_AUTHORIZER, Memcached, wait_for

USER = 'user@example.com'
OTHER = 'other@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'correct horse battery'
NEW = 'a brand new passphrase'
TOKEN_RE = re.compile(r'^agw_[A-Za-z0-9_-]{43}$')
JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
HTML = {'Accept': 'text/html'}
BASIC_CHALLENGE = 'Basic realm="authgw"'
RESET_LINK_RE = re.compile(
    r'(?m)^http://\S+/auth/password/reset\?token=([A-Za-z0-9_-]+)\r?$')
VERIFY_LINK_RE = re.compile(
    r'(?m)^http://\S+/auth/verify\?token=([A-Za-z0-9_-]+)\r?$')
# struct flock on Linux x86_64/arm64 (as in test_security_login).
FLOCK = 'hhxxxxqqixxxx'


def bearer(token):
    return {'Authorization': 'Bearer ' + token}


def basic(user, secret):
    raw = ('%s:%s' % (user, secret)).encode()
    return {'Authorization': 'Basic ' + base64.b64encode(raw).decode()}


def sha256(text):
    return hashlib.sha256(text.encode()).digest()


def random_token():
    """A well-formed token nobody was given."""
    raw = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')
    return 'agw_' + raw


class _Pairs:
    """FastCGI parameters in order, a name possibly repeated (for
    harness.fcgi, which asks for .items())."""

    def __init__(self, pairs):
        self.pairs = pairs

    def items(self):
        return list(self.pairs)


class TokenCase(harness.TestCase):
    """An authgw with USER, OTHER (users) and ADMIN (admin role), all
    verified; self.ag, and self.mc when memcached is on."""

    def start(self, memcached=False, **conf):
        conf.setdefault('login_max_per_ip', 1000)
        conf.setdefault('login_max_per_account', 1000)
        self.mc = None
        if memcached:
            self.mc = self.track(Memcached(self.tmpdir).start())
            conf.setdefault('memcached', self.mc.addr)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(OTHER, PASSWORD)
        self.ag.add_user(ADMIN, PASSWORD, admin=True)
        self.ag.start()
        return self.ag

    # -- requests

    def post_json(self, path, body, cookie=None, headers=None, ag=None):
        ag = ag or self.ag
        h = dict(JSON)
        if cookie is not None:
            h['Cookie'] = '%s=%s' % (ag.cookie_name, cookie)
        h.update(headers or {})
        return ag.fcgi(path, 'POST', headers=h,
                       body=json.dumps(body).encode())

    def create_r(self, cookie, name='ci', expires_in=None, headers=None):
        body = {'name': name}
        if expires_in is not None:
            body['expires_in'] = expires_in
        return self.post_json('/auth/tokens', body, cookie, headers)

    def create(self, cookie, name='ci', expires_in=None):
        """A token made by POST /tokens (JSON); returns its text."""
        r = self.create_r(cookie, name, expires_in)
        self.assertEqual(r.status, 201, r)
        t = r.json()['token']
        self.assertRegex(t, TOKEN_RE)
        return t

    def cli_token(self, email=USER, name='cli', expires=None):
        """A token made by `token add`; returns its text."""
        args = ['token', 'add', email, name]
        if expires is not None:
            args += ['--expires', str(expires)]
        r = self.ag.cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.strip()
        self.assertRegex(t, TOKEN_RE)
        return t

    def check(self, headers=None, cookie=None, query='', ag=None):
        return (ag or self.ag).check(cookie, query=query, headers=headers)

    def authorize(self, headers=None, cookie=None, accept=None, role=None):
        """An AUTHORIZER request for /private/page (role: AUTHGW_ROLE)."""
        h = dict(headers or {})
        if cookie is not None:
            h['Cookie'] = '%s=%s' % (self.ag.cookie_name, cookie)
        if accept is not None:
            h['Accept'] = accept
        extra = {} if role is None else {'AUTHGW_ROLE': role}
        return self.ag.fcgi('/private/page', headers=h, role=FCGI_AUTHORIZER,
                            extra=extra)

    def metric(self, name):
        r = self.ag.fcgi('/auth/metrics')
        self.assertEqual(r.status, 200, r)
        m = re.search(r'^authgw_%s (\d+)$' % re.escape(name), r.text, re.M)
        self.assertIsNotNone(m, 'no %s in /metrics' % name)
        return int(m.group(1))

    def token_row(self, text):
        """(id, user email, last_used, expires) of a token, or None."""
        rows = self.ag.query(
            'SELECT t.id, u.email, t.last_used, t.expires FROM api_tokens t '
            'JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?',
            sha256(text))
        return rows[0] if rows else None

    def token_id(self, text):
        row = self.token_row(text)
        self.assertIsNotNone(row, 'no row for the token')
        return row[0]

    # -- assertions

    def assert_passes(self, r, email=USER, role='user', source=None):
        """A /check success decided by a token."""
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), email, r)
        self.assertEqual(r.header('remote-user'), email, r)
        self.assertEqual(r.header('x-auth-role'), role, r)
        self.assertEqual(r.header('x-auth-method'), 'token', r)
        self.assertIsNone(r.header('www-authenticate'), r)
        if source is not None:
            self.assertEqual(r.header('x-auth-source'), source, r)
        uid = self.ag.query('SELECT id FROM users WHERE email = ?', email)
        self.assertEqual(r.header('x-auth-user-id'), str(uid[0][0]), r)
        return r

    def assert_basic_refusal(self, r):
        """401 asking for Basic: never a redirect nor a login Location."""
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.get_all('www-authenticate'), [BASIC_CHALLENGE], r)
        self.assertIsNone(r.header('location'), r)
        self.assertIsNone(r.header('x-auth-user'), r)
        self.assertIsNone(r.header('variable-remote_user'), r)
        return r

    def assert_login_refusal(self, r):
        """The ordinary refusal without authgw credentials: 401 with the
        login page in Location, and no Basic challenge."""
        self.assertEqual(r.status, 401, r)
        self.assertIn('/auth/login', r.header('location', ''), r)
        self.assertNotIn('Basic', ' '.join(r.get_all('www-authenticate')), r)
        self.assertIsNone(r.header('x-auth-user'), r)
        return r

    def assert_refused_everywhere(self, token, instances=None):
        """Bearer and Basic refused by every instance."""
        for ag in instances or [self.ag]:
            self.assert_basic_refusal(self.check(bearer(token), ag=ag))
            email = (self.token_row(token) or (None, USER))[1]
            self.assert_basic_refusal(self.check(basic(email, token), ag=ag))

    def warm(self, token, email=USER, role='user'):
        """Check twice: the second answer comes from the cache."""
        self.assert_passes(self.check(bearer(token)), email, role)
        self.assert_passes(self.check(bearer(token)), email, role, 'cache')


# ---------------------------------------------------------------- /check

class CheckTest(TokenCase):

    def setUp(self):
        super().setUp()
        self.start()
        self.cookie = self.ag.login_cookie(USER, PASSWORD)

    def test_bearer_passes_with_the_users_headers(self):
        t = self.create(self.cookie)
        self.assert_passes(self.check(bearer(t)), source='db')
        self.assert_passes(self.check(bearer(t)), source='cache')
        # Any method nginx may send, the header name in any case, the
        # scheme in any case, spaces around: all the same check.
        for method in ('HEAD', 'POST', 'DELETE'):
            r = self.ag.fcgi('/auth/check', method,
                             headers={'authorization': 'bearer  %s ' % t})
            self.assert_passes(r, source='cache')
        # A session still says so.
        r = self.check(cookie=self.cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-method'), 'session', r)

    def test_basic_passes_with_the_email_and_the_token(self):
        t = self.cli_token()
        self.assert_passes(self.check(basic(USER, t)), source='db')
        self.assert_passes(self.check(basic(USER, t)), source='cache')
        # The user is the address as login finds it: without regard to
        # ASCII case (d8ecfc9 compared the local part's case: a BUG, fixed
        # in e6920a8), nothing around it, a valid address.
        for who in ('user@EXAMPLE.Com', 'USER@example.com',
                    'User@Example.COM'):
            r = self.post_json('/auth/login', {'email': who,
                                               'password': PASSWORD})
            self.assertEqual(r.status, 200, (who, r))
            self.assert_passes(self.check(basic(who, t)))
        for who in (' user@example.com', 'user@example.com ', '',
                    'user', 'user@example.com.', 'us\u00e9r@example.com',
                    'user@example.com:x'):
            self.assert_basic_refusal(self.check(basic(who, t)))

    def test_another_users_token_in_basic_is_refused(self):
        mine = self.create(self.cookie)
        theirs = self.cli_token(OTHER)
        self.assert_passes(self.check(bearer(theirs)), OTHER)
        for who, tok in ((USER, theirs), (OTHER, mine), (ADMIN, mine)):
            with self.subTest(user=who):
                self.assert_basic_refusal(self.check(basic(who, tok)))
        # Each with its own address still passes.
        self.assert_passes(self.check(basic(USER, mine)))
        self.assert_passes(self.check(basic(OTHER, theirs)), OTHER)

    def test_malformed_authorization_is_refused_with_basic(self):
        t = self.create(self.cookie)
        b64 = lambda s: base64.b64encode(s.encode('latin-1')).decode()
        cases = {
            'bearer prefix only': 'Bearer agw_',
            'bearer short': 'Bearer ' + t[:-1],
            'bearer long': 'Bearer ' + t + 'A',
            'bearer bad alphabet': 'Bearer ' + t[:-1] + '+',
            'bearer padded': 'Bearer ' + t[:-1] + '=',
            'bearer stray bits': 'Bearer agw_' + 'A' * 42 + 'B',
            'bearer two tokens': 'Bearer %s %s' % (t, t),
            'bearer unknown': 'Bearer ' + random_token(),
            'basic empty': 'Basic',
            'basic not base64': 'Basic !!!not-base64!!!',
            'basic unpadded': 'Basic ' + b64(USER + ':' + t).rstrip('='),
            'basic stray bits': 'Basic ' + b64(USER + ':' + t)[:-3] + 'B==',
            'basic no colon': 'Basic ' + b64(USER + t),
            'basic control byte': 'Basic ' + b64(USER + ':' + t + '\x01'),
            'basic control in user': 'Basic ' + b64('u\x00@example.com:' + t),
            'basic short token': 'Basic ' + b64(USER + ':' + t[:-1]),
            'basic unknown token': 'Basic ' + b64(USER + ':' +
                                                  random_token()),
            'basic empty password': 'Basic ' + b64(USER + ':'),
            'basic too long': 'Basic ' + b64(USER + ':' + t + 'x' * 1200),
        }
        for what, value in cases.items():
            with self.subTest(case=what):
                r = self.check({'Authorization': value})
                self.assert_basic_refusal(r)
        # None of it wrote a token row's last_used nor a session.
        self.assertEqual(self.ag.query(
            'SELECT last_used FROM api_tokens'), [(0,)])
        self.assertEqual(self.ag.query('SELECT count(*) FROM attempts')[0][0],
                         0)
        # The refusals are in the security log (burst-limited), without
        # the token.
        log = self.ag.log()
        self.assertIn('event=token_refused', log)
        self.assertNotIn(t, log)

    def test_foreign_authorization_is_ignored(self):
        # An application's own credentials: authgw answers as if there
        # were no Authorization at all (the login's Location, no Basic).
        for value in ('Bearer something-else', 'Bearer', 'Bearer ',
                      'Bearer AGW_' + 'A' * 43, 'Bearer xagw_' + 'A' * 43,
                      'Digest username="u", realm="r", nonce="n"',
                      'Negotiate YIIBhwYGKwYBBQUCoIIBezCC', 'Token agw_x',
                      'BasicAuth ' + base64.b64encode(b'a:b').decode(),
                      'agw_' + 'A' * 43):
            with self.subTest(authorization=value):
                self.assert_login_refusal(
                    self.check({'Authorization': value}))
                # ... and the session decides as it would without it.
                r = self.check({'Authorization': value}, cookie=self.cookie)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-method'), 'session', r)

    def test_account_password_in_basic_is_refused_without_hashing(self):
        # Every hashing slot held, as another process would: a request
        # that hashed a password would get 503 at once (the control
        # below). The password in Basic gets 401 and hashes nothing.
        self.ag.stop()
        self.ag.write_config(hash_slots=1, hash_queue=0)
        self.ag.start()
        fd = os.open(self.ag.db_path + '-hash.lock',
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(
            FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0))
        r = self.post_json('/auth/login', {'email': USER,
                                           'password': PASSWORD})
        self.assertEqual(r.status, 503, 'control: hashing is blocked: %r'
                         % r)
        busy = self.metric('hash_busy_total')
        for h in (basic(USER, PASSWORD), basic(USER, 'agw_' + PASSWORD),
                  basic(OTHER, 'wrong password')):
            self.assert_basic_refusal(self.check(h))
            r = self.authorize(h, accept='text/html')
            self.assert_basic_refusal(r)
        self.assertEqual(self.metric('hash_busy_total'), busy)
        # Not counted as failed logins either.
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM attempts WHERE kind = 1')[0][0], 0)

    def test_long_authorization_still_gets_basic(self):
        # Several KiB of Basic (over what a user:password may decode to,
        # under the 8 KiB a parameter may have): refused, with the
        # challenge. (Over 8 KiB: test_over_long_basic_is_answered_with_basic.)
        r = self.check({'Authorization': 'Basic ' + 'QUFB' * 1500})
        self.assert_basic_refusal(r)

    def test_over_long_basic_is_answered_with_basic(self):
        # Was a BUG (d8ecfc9, fixed in 5922211): http_param() hides a
        # parameter over HTTP_PARAM_MAX (8192 bytes), so check_token() saw
        # no Authorization at all and the refusal was the login's (401
        # with Location and WWW-Authenticate: Cookie; for a browser
        # through the authorizer a 302), not the Basic challenge SPEC 5
        # asks for every refused request carrying Basic.
        value = 'Basic ' + 'QUFB' * 2100     # 8406 bytes
        self.assert_basic_refusal(self.check({'Authorization': value}))
        self.assert_basic_refusal(self.authorize({'Authorization': value},
                                                 accept='text/html'))
        # A live cookie still decides.
        r = self.check({'Authorization': value}, cookie=self.cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-method'), 'session', r)

    def test_live_cookie_decides_before_any_token(self):
        mine = self.create(self.cookie)
        theirs = self.cli_token(OTHER)
        for h in (bearer(theirs), basic(OTHER, theirs), bearer(mine),
                  bearer(random_token()), {'Authorization': 'Basic !!'},
                  basic(USER, PASSWORD)):
            with self.subTest(authorization=h['Authorization'][:20]):
                r = self.check(h, cookie=self.cookie)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header('x-auth-user'), USER, r)
                self.assertEqual(r.header('x-auth-method'), 'session', r)
        # The tokens were not even looked at.
        self.assertEqual(self.metric('tokens_checked_total'), 0)

    def test_dead_or_malformed_cookie_falls_through_to_the_token(self):
        t = self.cli_token(OTHER)
        ended = self.ag.login_cookie(USER, PASSWORD)
        r = self.post_json('/auth/logout', {}, ended)
        self.assertEqual(r.status, 200, r)
        for cookie in (ended, 'A' * 43, 'not a token', '', t, t[4:]):
            with self.subTest(cookie=cookie):
                self.assert_passes(self.check(bearer(t), cookie=cookie),
                                   OTHER)
                self.assert_basic_refusal(self.check(
                    bearer(random_token()), cookie=cookie))
                self.assert_login_refusal(self.check(cookie=cookie))

    def test_a_token_is_never_a_cookie_nor_a_cookie_a_token(self):
        t = self.create(self.cookie)
        self.warm(t)
        r = self.check(cookie=self.cookie)
        self.assertEqual(r.status, 200, r)
        # The token's base64 part as a session cookie (a session's hash is
        # the SHA-256 of the raw bytes, a token's of its text): refused.
        for _ in range(2):
            self.assert_login_refusal(self.check(cookie=t[4:]))
            self.assert_login_refusal(self.check(cookie=t))
        # The session cookie dressed as a token: refused.
        for _ in range(2):
            self.assert_basic_refusal(self.check(bearer('agw_' +
                                                         self.cookie)))
            self.assert_basic_refusal(self.check(basic(USER, 'agw_' +
                                                       self.cookie)))

    def test_mfa_is_never_satisfied_by_a_token(self):
        # SPEC 5: a token never satisfies ?mfa=1 (nor, before TOTP, does
        # any session); a bad mfa value is a 400 like a bad role.
        t = self.create(self.cookie)
        for h in (bearer(t), basic(USER, t)):
            r = self.check(h, query='mfa=1')
            self.assertEqual(r.status, 403, r)
            self.assertIsNone(r.header('x-auth-user'), r)
            self.assertIsNone(r.header('www-authenticate'), r)
            r = self.check(h, query='role=user&mfa=1')
            self.assertEqual(r.status, 403, r)
        for q in ('mfa=0', 'mfa=', 'mfa=true', 'mfa=1&mfa=1', 'mfa=%31%00'):
            r = self.check(bearer(t), query=q)
            self.assertEqual(r.status, 400, (q, r))
        self.assert_basic_refusal(self.check(bearer(random_token()),
                                             query='mfa=1'))
        self.assert_passes(self.check(bearer(t)))

    def test_role_query_applies_to_tokens(self):
        user_token = self.create(self.cookie)
        admin_token = self.cli_token(ADMIN)
        for h in (bearer(user_token), basic(USER, user_token)):
            r = self.check(h, query='role=admin')
            self.assertEqual(r.status, 403, r)
            self.assertIsNone(r.header('x-auth-user'), r)
            self.assertIsNone(r.header('www-authenticate'), r)
            self.assert_passes(self.check(h, query='role=user'))
        for h in (bearer(admin_token), basic(ADMIN, admin_token)):
            self.assert_passes(self.check(h, query='role=admin'), ADMIN,
                               'admin')
            self.assert_passes(self.check(h, query='role=user'), ADMIN,
                               'admin')
        # A bad role parameter is a 400 before any token is looked at.
        r = self.check(bearer(admin_token), query='role=root')
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.metric('tokens_checked_total'), 8)

    def test_authorizer_role(self):
        t = self.create(self.cookie)
        for h in (bearer(t), basic(USER, t)):
            r = self.authorize(h)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('variable-auth_method'), 'token', r)
            self.assertEqual(r.header('variable-remote_user'), USER, r)
            self.assertEqual(r.header('variable-auth_user'), USER, r)
            self.assertEqual(r.header('variable-auth_role'), 'user', r)
            self.assertIsNone(r.header('x-auth-method'), r)
        r = self.authorize(cookie=self.cookie)
        self.assertEqual(r.header('variable-auth_method'), 'session', r)
        # AUTHGW_ROLE gates a token as a session.
        self.assertEqual(self.authorize(bearer(t), role='admin').status, 403)
        self.assertEqual(self.authorize(bearer(t), role='user').status, 200)
        admin = self.cli_token(ADMIN)
        r = self.authorize(bearer(admin), role='admin')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('variable-auth_role'), 'admin', r)
        # Refused authgw credentials: 401 + Basic even for a browser,
        # never the 302 to the login page a browser gets without them.
        for accept in (None, 'text/html', 'application/json'):
            for h in (bearer(random_token()), basic(USER, 'agw_nope'),
                      basic(USER, PASSWORD)):
                self.assert_basic_refusal(self.authorize(h, accept=accept))
        r = self.authorize(accept='text/html')
        self.assertEqual(r.status, 302, r)
        r = self.authorize({'Authorization': 'Bearer app-token'},
                           accept='text/html')
        self.assertEqual(r.status, 302, r)

    def test_disabled_users_token_is_refused(self):
        t = self.create(self.cookie)
        self.warm(t)
        self.assertEqual(self.ag.cli('user', 'disable', USER).returncode, 0)
        self.assert_refused_everywhere(t)
        self.assert_basic_refusal(self.authorize(bearer(t),
                                                 accept='text/html'))
        # No new token for a disabled account from the command line.
        r = self.ag.cli('token', 'add', USER, 'late')
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(r.stdout, '')
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM api_tokens')[0][0], 1)
        # Enabled again: the token was never ended, and passes at once.
        self.assertEqual(self.ag.cli('user', 'enable', USER).returncode, 0)
        self.assert_passes(self.check(bearer(t)))
        # The operator's new password for a disabled account ends its
        # tokens too (one unit of work since e6920a8).
        self.assertEqual(self.ag.cli('user', 'disable', USER).returncode, 0)
        r = self.ag.cli('user', 'passwd', USER, input=NEW + '\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)
        self.assertEqual(self.ag.cli('user', 'enable', USER).returncode, 0)
        self.assert_refused_everywhere(t)

    def test_tokens_checked_counts_token_checks_only(self):
        t = self.create(self.cookie)
        self.assertEqual(self.metric('tokens_checked_total'), 0)
        self.check(bearer(t))
        self.check(bearer(t))
        self.check(basic(USER, t))
        self.authorize(bearer(t))
        self.check(bearer(random_token()))     # checked, unknown
        self.assertEqual(self.metric('tokens_checked_total'), 5)
        # Neither a session, nor what is not a token's form, nor the
        # application's own Authorization.
        self.check(cookie=self.cookie)
        self.check({'Authorization': 'Bearer agw_short'})
        self.check({'Authorization': 'Bearer app-token'})
        self.check(basic(USER, PASSWORD))
        self.assertEqual(self.metric('tokens_checked_total'), 5)
        # The admin's figures say the same.
        admin = self.ag.login_cookie(ADMIN, PASSWORD)
        r = self.ag.fcgi('/auth/admin/stats.json', headers={
            'Accept': 'application/json',
            'Cookie': '%s=%s' % (self.ag.cookie_name, admin)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['tokens_checked'], 5)
        page = self.ag.fcgi('/auth/admin', headers={
            'Accept': 'text/html',
            'Cookie': '%s=%s' % (self.ag.cookie_name, admin)})
        self.assertEqual(page.status, 200, page)
        self.assertIn('API token checks</th><td>5</td>', page.text)

    def test_admin_cache_clear_drops_cached_tokens(self):
        t = self.create(self.cookie)
        self.warm(t)
        admin = self.ag.login_cookie(ADMIN, PASSWORD)
        r = self.post_json('/auth/admin/cache/clear', {}, admin)
        self.assertEqual(r.status, 200, r)
        self.assert_passes(self.check(bearer(t)), source='db')
        self.assert_passes(self.check(bearer(t)), source='cache')

    def test_passive_check_writes_no_last_used(self):
        t = self.cli_token()
        for _ in range(3):
            self.assert_passes(self.check(dict(bearer(t),
                                               **{'X-Auth-Passive': '1'})))
        self.assertEqual(self.token_row(t)[2], 0)
        self.assert_passes(self.check(bearer(t)))
        self.assertGreater(self.token_row(t)[2], 0)


class LastUsedTest(TokenCase):

    def test_last_used_written_once_per_half_lifetime(self):
        # session_lifetime 4: at most one write per 2 seconds.
        self.start(session_lifetime=4)
        t = self.cli_token()
        u = self.cli_token(name='other')
        self.assertEqual(self.token_row(t)[2], 0)
        self.assert_passes(self.check(bearer(t)), source='db')
        first = self.token_row(t)[2]
        self.assertAlmostEqual(first, time.time(), delta=2)
        self.assertEqual(self.token_row(u)[2], 0)     # only the one used
        # Checks (both workers, Bearer and Basic) within the half
        # lifetime write nothing.
        n = 0
        while time.time() < first + 1.8:
            self.assert_passes(self.check(bearer(t)))
            self.assert_passes(self.check(basic(USER, t)))
            self.assertEqual(self.token_row(t)[2], first)
            n += 1
        self.assertGreater(n, 3)
        # Past it: the next check writes once more.
        wait_for(lambda: time.time() >= first + 2.05, timeout=5,
                 what='half the lifetime')
        self.assert_passes(self.check(bearer(t)))
        second = self.token_row(t)[2]
        self.assertGreaterEqual(second, first + 2)
        # The listings show it.
        out = self.ag.cli('token', 'list', USER).stdout
        line = [l for l in out.splitlines()
                if l.split('\t')[0] == str(self.token_id(t))][0]
        self.assertEqual(line.split('\t')[4], time.strftime(
            '%Y-%m-%dT%H:%M:%SZ', time.gmtime(second)))
        cookie = self.ag.login_cookie(USER, PASSWORD)
        r = self.ag.fcgi('/auth/tokens', headers={
            'Accept': 'application/json',
            'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)})
        used = {x['id']: x['last_used'] for x in r.json()['tokens']}
        self.assertEqual(used, {self.token_id(t): second,
                                self.token_id(u): 0})

    def test_refused_basic_with_a_valid_token_writes_nothing(self):
        # Was a BUG (d8ecfc9, fixed in 5922211): check_token() ran
        # session_check(), which writes the token's last_used and fills
        # the cache tiers, before it compared the Basic user with the
        # token's owner, so a request refused 401 (another address with
        # this token) was recorded as the token's last use.
        self.start()
        t = self.cli_token()
        for _ in range(2):
            self.assert_basic_refusal(self.check(basic(OTHER, t)))
        self.assertEqual(self.token_row(t)[2], 0)
        # Nor was it cached: the first accepted check reads the store.
        self.assert_passes(self.check(basic(USER, t)), source='db')
        self.assertGreater(self.token_row(t)[2], 0)


class ExpiryTest(TokenCase):

    def test_expired_token_is_refused(self):
        self.start(check_cache=30)
        cookie = self.ag.login_cookie(USER, PASSWORD)
        r = self.create_r(cookie, 'short', 2)
        self.assertEqual(r.status, 201, r)
        by_route = r.json()['token']
        self.assertAlmostEqual(r.json()['expires'], time.time() + 2,
                               delta=2)
        by_cli = self.cli_token(name='short', expires=2)
        never = self.cli_token(name='long')
        for t in (by_route, by_cli):
            r = self.check(bearer(t))
            self.assert_passes(r, source='db')
            # nginx may keep the success only while it lives.
            self.assertIn(r.header('x-accel-expires'), ('0', '1'), r)
            self.assert_passes(self.check(basic(USER, t)), source='cache')
        r = self.check(bearer(never))
        self.assertEqual(r.header('x-accel-expires'), '30', r)
        time.sleep(2.6)
        for t in (by_route, by_cli):
            for _ in range(2):      # every worker, every tier
                r = self.check(bearer(t))
                self.assert_basic_refusal(r)
                self.assertEqual(r.header('x-accel-expires'), '0', r)
                self.assert_basic_refusal(self.check(basic(USER, t)))
        self.assert_passes(self.check(bearer(never)))
        # Listed as expired (not yet purged): the expiry is there.
        out = self.ag.cli('token', 'list').stdout
        self.assertEqual(len(out.splitlines()), 3, out)
        self.assertEqual(sum(1 for l in out.splitlines()
                             if l.split('\t')[5] == 'never'), 1, out)

    def test_duplicated_authorization_is_never_kept(self):
        # nginx keys its cache by the first Authorization, authgw judges
        # the last: a request carrying two is answered but never kept.
        self.start(check_cache=30)
        t = self.cli_token()
        params = harness.make_params('GET', '/auth/check')
        for first in (bearer(t), {'Authorization': 'Bearer app-token'}):
            pairs = list(params.items()) + [
                ('HTTP_AUTHORIZATION', first['Authorization']),
                ('HTTP_AUTHORIZATION', bearer(t)['Authorization'])]
            r = harness.fcgi(self.ag.listen, _Pairs(pairs))
            self.assert_passes(r)
            self.assertEqual(r.header('x-accel-expires'), '0', r)
        # Control: once, it is kept.
        r = harness.fcgi(self.ag.listen, _Pairs(
            list(params.items()) + [('HTTP_AUTHORIZATION',
                                     bearer(t)['Authorization'])]))
        self.assertEqual(r.header('x-accel-expires'), '30', r)

    def test_x_accel_expires_for_a_token(self):
        self.start(check_cache=30)
        t = self.cli_token()
        soon = self.cli_token(name='soon', expires=10)
        # No cookie at all: a token's success may be kept.
        r = self.check(bearer(t))
        self.assert_passes(r)
        self.assertEqual(r.header('x-accel-expires'), '30', r)
        r = self.check(basic(USER, t))
        self.assertEqual(r.header('x-accel-expires'), '30', r)
        # min(N, seconds to the expiry - 1)
        r = self.check(bearer(soon))
        self.assert_passes(r)
        self.assertIn(int(r.header('x-accel-expires')), range(7, 10), r)
        # Refusals and passive checks: never kept.
        r = self.check(bearer(random_token()))
        self.assertEqual(r.header('x-accel-expires'), '0', r)
        r = self.check(dict(bearer(t), **{'X-Auth-Passive': '1'}))
        self.assertEqual(r.header('x-accel-expires'), '0', r)
        r = self.check(bearer(t), query='role=admin')
        self.assertEqual(r.header('x-accel-expires'), '0', r)


# ----------------------------------------------------------- /tokens JSON

class TokensRouteTest(TokenCase):

    def setUp(self):
        super().setUp()
        self.start()
        self.cookie = self.ag.login_cookie(USER, PASSWORD)

    def get_tokens(self, cookie=None, headers=None):
        h = {'Accept': 'application/json'}
        if cookie is not None:
            h['Cookie'] = '%s=%s' % (self.ag.cookie_name, cookie)
        h.update(headers or {})
        return self.ag.fcgi('/auth/tokens', headers=h)

    def revoke(self, token_id, cookie=None, headers=None):
        return self.post_json('/auth/tokens/revoke', {'id': token_id},
                              cookie or self.cookie, headers)

    def test_create_answers_the_token_once(self):
        t0 = int(time.time())
        r = self.create_r(self.cookie, 'deploy key', 3600)
        self.assertEqual(r.status, 201, r)
        self.assertIn('no-store', r.header('cache-control', ''))
        body = r.json()
        self.assertEqual(sorted(body), ['expires', 'id', 'name', 'token'])
        self.assertRegex(body['token'], TOKEN_RE)
        self.assertEqual(body['name'], 'deploy key')
        self.assertIn(body['expires'] - t0, range(3599, 3603))
        self.assertEqual(body['id'], self.token_id(body['token']))
        r = self.create_r(self.cookie, 'forever')
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()['expires'], 0)
        # expires_in "" is never too; a JSON number is as good as text.
        self.assertEqual(self.create_r(self.cookie, 'e', '').json()
                         ['expires'], 0)
        self.assertEqual(self.create_r(self.cookie, 'n', 315360000).status,
                         201)
        # Every token is new.
        texts = {self.create(self.cookie, 'x%d' % i) for i in range(5)}
        self.assertEqual(len(texts), 5)
        # The list never holds a value.
        r = self.get_tokens(self.cookie)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn('agw_', r.text)
        for t in texts:
            self.assertNotIn(t[4:], r.text)

    def test_list(self):
        r = self.get_tokens(self.cookie)
        self.assertEqual((r.status, r.json()), (200, {'tokens': []}), r)
        t0 = int(time.time())
        a = self.create(self.cookie, 'alpha')
        b = self.create(self.cookie, 'beta', 600)
        self.cli_token(OTHER, 'theirs')
        self.assert_passes(self.check(bearer(a)))
        got = self.get_tokens(self.cookie).json()['tokens']
        self.assertEqual([x['name'] for x in got], ['alpha', 'beta'])
        for x in got:
            self.assertEqual(sorted(x), ['created', 'expires', 'id',
                                         'last_used', 'name'])
            self.assertIn(x['created'] - t0, range(0, 3))
        self.assertEqual([x['id'] for x in got],
                         [self.token_id(a), self.token_id(b)])
        self.assertEqual(got[0]['expires'], 0)
        self.assertIn(got[1]['expires'] - t0, range(599, 603))
        self.assertIn(got[0]['last_used'] - t0, range(0, 3))
        self.assertEqual(got[1]['last_used'], 0)
        # The other user sees only theirs.
        other = self.ag.login_cookie(OTHER, PASSWORD)
        got = self.get_tokens(other).json()['tokens']
        self.assertEqual([x['name'] for x in got], ['theirs'])

    def test_each_token_made_is_mailed_to_its_owner(self):
        queued = self.metric('mails_queued_total')
        t = self.create(self.cookie, 'laptop')
        self.assertEqual(self.metric('mails_queued_total'), queued + 1)

        def notice():
            try:
                with open(os.path.join(self.tmpdir, 'mail.out')) as f:
                    text = f.read()
            except OSError:
                return None
            return 'A new API token' in text and text
        text = wait_for(notice, timeout=15, what='the notice')
        self.assertIn('To: %s' % USER, text)
        self.assertIn(self.ag.base_url + '/auth/tokens', text)
        # The notice never carries the token.
        self.assertNotIn(t[4:], text)
        self.assertNotIn(t[4:], ''.join(str(r) for r in self.ag.query(
            'SELECT * FROM outbox')))
        # A refused creation mails nothing.
        self.assertEqual(self.create_r(self.cookie, '').status, 400)
        self.assertEqual(self.metric('mails_queued_total'), queued + 1)

    def test_bad_input_is_400_and_writes_nothing(self):
        self.create(self.cookie, 'existing')
        before = self.ag.query('SELECT * FROM api_tokens')
        bad = [
            {}, {'name': ''}, {'name': 'x' * 65}, {'name': '\u00e9' * 33},
            {'name': 'a\x01b'}, {'name': 'tab\there'}, {'name': 'nl\n'},
            {'name': 'del\x7f'}, {'name': None}, {'name': ['a']},
            {'name': 'ok', 'expires_in': 0},
            {'name': 'ok', 'expires_in': -1},
            {'name': 'ok', 'expires_in': '0'},
            {'name': 'ok', 'expires_in': 315360001},
            {'name': 'ok', 'expires_in': 'soon'},
            {'name': 'ok', 'expires_in': 1.5},
            {'name': 'ok', 'expires_in': ' 5'},
            {'name': 'ok', 'expires_in': '5s'},
            {'name': 'ok', 'expires_in': '99999999999999999999999'},
        ]
        for body in bad:
            with self.subTest(body=body):
                r = self.post_json('/auth/tokens', body, self.cookie)
                self.assertEqual(r.status, 400, r)
                self.assertNotIn('agw_', r.text)
        # The same field twice in a form.
        r = self.ag.fcgi('/auth/tokens', 'POST', headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'application/json', 'Origin': self.ag.base_url,
            'Cookie': '%s=%s' % (self.ag.cookie_name, self.cookie)},
            body=b'name=a&name=b')
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.ag.query('SELECT * FROM api_tokens'), before)
        # The limits themselves are accepted.
        for name in ('x' * 64, '\u00e9' * 32, 'a b <c> & "d"', '1'):
            self.assertEqual(self.create_r(self.cookie, name).status, 201,
                             name)
        self.assertEqual(self.create_r(self.cookie, 'y', 1).status, 201)

    def test_revoke(self):
        a = self.create(self.cookie, 'a')
        b = self.create(self.cookie, 'b')
        theirs = self.cli_token(OTHER)
        self.warm(a)
        r = self.revoke(self.token_id(a))
        self.assertEqual((r.status, r.json()), (200, {'revoked': True}), r)
        self.assert_refused_everywhere(a)
        self.assertIsNone(self.token_row(a))
        self.assert_passes(self.check(bearer(b)))
        # Again, unknown, another user's: 404, and theirs still passes.
        aid = self.ag.query('SELECT max(id) FROM api_tokens')[0][0] + 100
        for tid in (self.token_id(b) - 1, aid, self.token_id(theirs),
                    str(self.token_id(theirs))):
            with self.subTest(id=tid):
                r = self.revoke(tid)
                self.assertEqual(r.status, 404, r)
        self.assert_passes(self.check(bearer(theirs)), OTHER)
        # Malformed ids: 400, nothing revoked.
        for tid in ('', 'abc', '0', '-1', 0, -5, 1.5, '1 ', ' 1', '0x1',
                    '1' * 21, '99999999999999999999', None, [1]):
            with self.subTest(id=tid):
                r = self.revoke(tid)
                self.assertEqual(r.status, 400, r)
        r = self.post_json('/auth/tokens/revoke', {}, self.cookie)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 2)
        # The id as a JSON number works as well.
        r = self.revoke(self.token_id(b))
        self.assertEqual(r.status, 200, r)
        self.assert_refused_everywhere(b)

    def test_a_revoked_id_never_names_another_token(self):
        # Was a BUG (d8ecfc9, fixed in 5922211): api_tokens.id was an
        # INTEGER PRIMARY KEY without AUTOINCREMENT, so SQLite gave the id
        # of the newest token, once revoked, to the next token made (of
        # any user): a revocation of an old id (a revoke form sent twice,
        # a script, `token revoke ID` from an earlier list) ended a token
        # made later instead of answering 404 / exit 1.
        a = self.create(self.cookie, 'a')
        b = self.create(self.cookie, 'b')
        bid = self.token_id(b)
        self.assertEqual(self.revoke(bid).status, 200)
        c = self.create(self.cookie, 'c')
        theirs = self.cli_token(OTHER)
        self.assertNotIn(bid, (self.token_id(c), self.token_id(theirs)))
        # The same revocation again: nothing more is revoked.
        self.assertEqual(self.revoke(bid).status, 404)
        self.assertEqual(self.ag.cli('token', 'revoke', str(bid)).returncode,
                         1)
        for t, who in ((a, USER), (c, USER), (theirs, OTHER)):
            self.assert_passes(self.check(bearer(t)), who)

    def test_only_a_session_manages_tokens(self):
        t = self.create(self.cookie)
        tid = self.token_id(t)
        before = self.ag.query('SELECT * FROM api_tokens')
        for h in (bearer(t), basic(USER, t)):
            with self.subTest(authorization=h['Authorization'][:6]):
                self.assertEqual(self.get_tokens(headers=h).status, 401)
                r = self.ag.fcgi('/auth/tokens', 'POST',
                                 headers=dict(JSON, **h),
                                 body=b'{"name": "minted"}')
                self.assertEqual(r.status, 401, r)
                r = self.ag.fcgi('/auth/tokens/revoke', 'POST',
                                 headers=dict(JSON, **h),
                                 body=json.dumps({'id': tid}).encode())
                self.assertEqual(r.status, 401, r)
                # Nor is a token a session anywhere else.
                for path in ('/auth/session', '/auth/sessions'):
                    self.assertEqual(self.ag.fcgi(path, headers=dict(
                        h, Accept='application/json')).status, 401, path)
        self.assertEqual(self.ag.query('SELECT * FROM api_tokens'), before)
        self.assert_passes(self.check(bearer(t)))
        # Without a session: 401 (JSON), the login page (a browser's GET).
        self.assertEqual(self.get_tokens().status, 401)
        self.assertEqual(self.create_r(None).status, 401)
        self.assertEqual(self.revoke(tid, cookie='A' * 43).status, 401)
        r = self.ag.fcgi('/auth/tokens', headers=HTML)
        self.assertEqual(r.status, 303, r)
        loc = urllib.parse.urlsplit(r.header('location'))
        self.assertEqual(loc.path, '/auth/login')
        self.assertEqual(urllib.parse.parse_qs(loc.query)['next'],
                         ['/auth/tokens'])

    def test_forms_need_the_csrf_token(self):
        t = self.create(self.cookie)
        tid = self.token_id(t)
        before = self.ag.query('SELECT * FROM api_tokens')
        c = {'Cookie': '%s=%s' % (self.ag.cookie_name, self.cookie),
             'Content-Type': 'application/x-www-form-urlencoded',
             'Accept': 'text/html'}
        for path, body in (('/auth/tokens', b'name=evil'),
                           ('/auth/tokens/revoke', b'id=%d' % tid)):
            for extra in ({}, {'Origin': 'http://evil.example'}):
                r = self.ag.fcgi(path, 'POST', headers=dict(c, **extra),
                                 body=body)
                self.assertEqual(r.status, 403, r)
                self.assertNotIn('agw_', r.text)
        self.assertEqual(self.ag.query('SELECT * FROM api_tokens'), before)
        # With the Origin of base_url a form is accepted.
        r = self.ag.fcgi('/auth/tokens', 'POST', headers=dict(
            c, Origin=self.ag.base_url), body=b'name=fine')
        self.assertEqual(r.status, 201, r)

    def test_at_most_100_per_user(self):
        made = [self.create(self.cookie, 't%d' % i) for i in range(99)]
        made.append(self.cli_token(name='hundredth'))
        r = self.create_r(self.cookie, 'one too many')
        self.assertEqual(r.status, 409, r)
        self.assertNotIn('agw_', r.text)
        r = self.ag.cli('token', 'add', USER, 'cli too many')
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, '')
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM api_tokens')[0][0], 100)
        # Another user is not concerned; the 100 all pass.
        self.cli_token(OTHER)
        for t in (made[0], made[50], made[-1]):
            self.assert_passes(self.check(bearer(t)))
        # One revoked: room for one more, and only one.
        self.assertEqual(self.revoke(self.token_id(made[0])).status, 200)
        self.assertEqual(self.create_r(self.cookie, 'again').status, 201)
        self.assertEqual(self.create_r(self.cookie, 'again 2').status, 409)

    def test_token_made_as_the_session_ends_is_refused(self):
        # The session is in the host table; a reset (here, its row gone
        # behind authgw's back) ends it between the route's check and the
        # insert: no token is made for a session that no longer exists.
        self.assertEqual(self.check(cookie=self.cookie).status, 200)
        self.assertEqual(self.check(cookie=self.cookie)
                         .header('x-auth-source'), 'cache')
        with self.ag.db() as db:
            db.execute('DELETE FROM sessions')
        r = self.create_r(self.cookie, 'orphan')
        self.assertEqual(r.status, 401, r)
        self.assertNotIn('agw_', r.text)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM api_tokens')[0][0], 0)

    def test_storage_failure_is_503(self):
        # A plain CGI run whose database cannot be opened: 503, never 401
        # nor the Basic challenge.
        other_dir = os.path.join(self.tmpdir, 'cgi')
        os.mkdir(other_dir)
        ag = harness.Authgw(other_dir, database=os.path.join(
            self.tmpdir, 'gone', 'x.db'), cache_entries=0)
        env = {'REQUEST_METHOD': 'GET', 'REQUEST_URI': '/auth/check',
               'REMOTE_ADDR': '127.0.0.1',
               'HTTP_AUTHORIZATION': 'Bearer ' + random_token()}
        r = harness.cgi_request(env, config=ag.config_path)
        self.assertEqual(r.status, 503, r)
        self.assertIsNone(r.header('www-authenticate'), r)
        env['HTTP_AUTHORIZATION'] = basic(USER, random_token())[
            'Authorization']
        r = harness.cgi_request(dict(env, FCGI_ROLE='AUTHORIZER',
                                     REQUEST_URI='/private/',
                                     HTTP_ACCEPT='text/html'),
                                config=ag.config_path)
        self.assertEqual(r.status, 503, r)
        self.assertIsNone(r.header('location'), r)


class ConcurrentLimitTest(TokenCase):

    def test_the_limit_holds_under_concurrent_creations(self):
        # 95 tokens, then 10 creations at once on 4 workers: exactly 5
        # get through (the count and the insert are one unit of work).
        self.start(workers=4)
        cookie = self.ag.login_cookie(USER, PASSWORD)
        with self.ag.db() as db:
            uid = db.execute('SELECT id FROM users WHERE email = ?',
                             (USER,)).fetchone()[0]
            db.executemany(
                'INSERT INTO api_tokens (user_id, token_hash, name, '
                'created) VALUES (?, ?, ?, 1)',
                [(uid, os.urandom(32), 'filler') for _ in range(95)])
        barrier = threading.Barrier(10)
        statuses = []

        def create(i):
            barrier.wait(timeout=30)
            statuses.append(self.create_r(cookie, 'racer %d' % i).status)
        threads = [threading.Thread(target=create, args=(i,))
                   for i in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        self.assertEqual(sorted(statuses), [201] * 5 + [409] * 5, statuses)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM api_tokens WHERE user_id = ?', uid)[0][0],
            100)


class UnverifiedTest(TokenCase):

    def test_unverified_address_makes_no_token_and_verifying_ends_them(self):
        # With require_verified_email = false a first registrant signs in
        # before the address is theirs: no token at /tokens (403), and a
        # token the operator made ends when the link sets the password.
        self.start(require_verified_email=False)
        email = 'new@example.com'
        r = self.post_json('/auth/register', {'email': email,
                                              'password': PASSWORD})
        self.assertEqual(r.status, 202, r)

        def link():
            try:
                with open(os.path.join(self.tmpdir, 'mail.out')) as f:
                    return VERIFY_LINK_RE.findall(f.read())
            except OSError:
                return []
        vtoken, = wait_for(link, timeout=15, what='the verification link')
        cookie = self.ag.login_cookie(email, PASSWORD)
        r = self.create_r(cookie, 'early')
        self.assertEqual(r.status, 403, r)
        self.assertNotIn('agw_', r.text)
        r = self.ag.fcgi('/auth/tokens', 'POST', headers={
            'Accept': 'text/html', 'Origin': self.ag.base_url,
            'Content-Type': 'application/x-www-form-urlencoded',
            'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)},
            body=b'name=early')
        self.assertEqual(r.status, 403, r)
        self.assertNotIn('agw_', r.text)
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)
        # The operator may make one (the command line trusts its user).
        t = self.cli_token(email, 'ops')
        r = self.check(bearer(t))
        self.assert_passes(r, email)
        self.assertEqual(r.header('x-auth-verified'), '0', r)
        r = self.post_json('/auth/verify', {'token': vtoken,
                                            'password': PASSWORD})
        self.assertEqual(r.status, 200, r)
        self.assert_refused_everywhere(t)
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)
        # Verified: tokens may be made.
        cookie = self.ag.login_cookie(email, PASSWORD)
        self.assert_passes(self.check(bearer(self.create(cookie))), email)


# ------------------------------------------------------------- the page

class TokensPageTest(TokenCase):

    def test_html_flow(self):
        self.start()
        jar = {self.ag.cookie_name: self.ag.login_cookie(USER, PASSWORD)}

        def request(method, path, form=None):
            h = {'Accept': 'text/html,application/xhtml+xml;q=0.9',
                 'Cookie': '; '.join('%s=%s' % kv for kv in jar.items())}
            body = b''
            if form is not None:
                h['Content-Type'] = 'application/x-www-form-urlencoded'
                body = urllib.parse.urlencode(form).encode()
            r = self.ag.fcgi(path, method, headers=h, body=body)
            for name, (value, _attrs) in r.set_cookies().items():
                jar[name] = value
            return r

        page = request('GET', '/auth/tokens')
        self.assertEqual(page.status, 200, page)
        self.assertIn('text/html', page.header('content-type'))
        self.assertIn('No API tokens yet.', page.text)
        self.assertIn(USER, page.text)
        self.assertNotIn('<script', page.text.lower())
        self.assertIn('action="/auth/tokens"', page.text)
        self.assertIn('action="/auth/tokens/revoke"', page.text)
        csrf = harness.html_field(page.text, 'csrf')
        self.assertTrue(csrf)
        # A bad name: the page again with the reason, 400.
        r = request('POST', '/auth/tokens', {'csrf': csrf, 'name': ''})
        self.assertEqual(r.status, 400, r)
        self.assertIn('1 to 64 bytes', r.text)
        # Created: shown once, on this page only.
        name = '<b>laptop</b> & "co"'
        r = request('POST', '/auth/tokens', {'csrf': csrf, 'name': name,
                                             'expires_in': ''})
        self.assertEqual(r.status, 201, r)
        self.assertIn('no-store', r.header('cache-control', ''), r)
        shown = re.findall(r'agw_[A-Za-z0-9_-]{43}', r.text)
        self.assertEqual(len(set(shown)), 1, r.text)
        self.assertEqual(len(shown), 1, r.text)
        token = shown[0]
        self.assertNotIn('<b>laptop', r.text)
        self.assertIn('&lt;b&gt;laptop&lt;/b&gt; &amp; &quot;co&quot;',
                      r.text)
        self.assert_passes(self.check(bearer(token)))
        again = request('GET', '/auth/tokens')
        self.assertEqual(again.status, 200, again)
        self.assertNotIn(token, again.text)
        self.assertNotIn('agw_', again.text)
        self.assertNotIn('No API tokens yet.', again.text)
        tid = self.token_id(token)
        self.assertIn('<option value="%d">' % tid, again.text)
        self.assertIn('<td>never</td>', again.text)
        self.assertNotIn('<b>laptop', again.text)
        # With an expiry.
        r = request('POST', '/auth/tokens', {'csrf': csrf, 'name': 'ci',
                                             'expires_in': '86400'})
        self.assertEqual(r.status, 201, r)
        self.assertRegex(r.text, r'<tr><td>\d+</td><td>ci</td><td>[-0-9 :]+'
                         r' UTC</td><td>never</td><td>[-0-9 :]+ UTC</td></tr>')
        # Revoked by the form: 303 back to the page.
        r = request('POST', '/auth/tokens/revoke', {'csrf': csrf,
                                                    'id': str(tid)})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), '/auth/tokens')
        self.assert_basic_refusal(self.check(bearer(token)))
        page = request('GET', '/auth/tokens')
        self.assertNotIn('<option value="%d">' % tid, page.text)
        # An unknown id: the page with a 404.
        r = request('POST', '/auth/tokens/revoke', {'csrf': csrf,
                                                    'id': str(tid)})
        self.assertEqual(r.status, 404, r)
        self.assertIn('no such token', r.text)
        # Too many: the page with a 409.
        with self.ag.db() as db:
            uid = db.execute('SELECT id FROM users WHERE email = ?',
                             (USER,)).fetchone()[0]
            db.executemany(
                'INSERT INTO api_tokens (user_id, token_hash, name, '
                'created) VALUES (?, ?, ?, 1)',
                [(uid, os.urandom(32), 'filler') for _ in range(99)])
        r = request('POST', '/auth/tokens', {'csrf': csrf, 'name': 'more'})
        self.assertEqual(r.status, 409, r)
        self.assertNotIn('agw_', r.text)


    def test_page_lists_a_token_of_any_accepted_expiry(self):
        # Was a BUG (d8ecfc9, fixed in 5922211): `token add --expires`
        # took up to INT64_MAX / 2 seconds, and the page's cell_time()
        # failed on a time gmtime_r() cannot express, so the user's whole
        # /tokens page answered 503 while such a token existed. Now the
        # command line is bounded like expires_in (ten years).
        self.start()
        for far in (str(10 ** 18), '315360001'):
            r = self.ag.cli('token', 'add', USER, 'far', '--expires', far)
            self.assertEqual(r.returncode, 64, r)
            self.assertEqual(r.stdout, '')
        t = self.cli_token(USER, 'far', expires=315360000)
        cookie = self.ag.login_cookie(USER, PASSWORD)
        page = self.ag.fcgi('/auth/tokens', headers={
            'Accept': 'text/html',
            'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)})
        self.assertEqual(page.status, 200, page)
        self.assertIn('<td>far</td>', page.text)
        year = time.gmtime(self.token_row(t)[3]).tm_year
        self.assertIn('<td>%d-' % year, page.text)


# ------------------------------------------------------ what is stored

class StorageOfTokensTest(TokenCase):

    def test_only_the_sha256_is_stored(self):
        self.start(memcached=True)
        cookie = self.ag.login_cookie(USER, PASSWORD)
        tokens = [self.create(cookie, 'route'), self.cli_token(name='cli')]
        for t in tokens:
            self.warm(t)
        hashes = {row[0] for row in self.ag.query(
            'SELECT token_hash FROM api_tokens')}
        self.assertEqual(hashes, {sha256(t) for t in tokens})
        # No column of any table holds the text, its base64 part or the
        # raw bytes.
        needles = []
        for t in tokens:
            raw = base64.urlsafe_b64decode(t[4:] + '=')
            needles += [t.encode(), t[4:].encode(), raw,
                        raw.hex().encode(), hashlib.sha256(raw).digest()]
        db = self.ag.db()
        try:
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in db.execute('SELECT * FROM "%s"' % table):
                    for v in row:
                        if isinstance(v, str):
                            v = v.encode()
                        if isinstance(v, bytes):
                            for n in needles:
                                self.assertNotIn(n, v, table)
        finally:
            db.close()
        data = b''
        for suffix in ('', '-wal', '-journal'):
            try:
                with open(self.ag.db_path + suffix, 'rb') as f:
                    data += f.read()
            except FileNotFoundError:
                pass
        for n in needles:
            self.assertNotIn(n, data)
        # memcached keys name the SHA-256 of the text, never the text.
        keys = self.mc.command('lru_crawler metadump all')
        for t in tokens:
            self.assertIn(sha256(t).hex(), keys)
            self.assertNotIn(t[4:], keys)
        # Nor is any token in the log (debug level) or the CLI listing.
        log = self.ag.log()
        listing = self.ag.cli('token', 'list').stdout
        for t in tokens:
            self.assertNotIn(t[4:], log)
            self.assertNotIn(t[4:], listing)


class CgiTest(TokenCase):

    def test_plain_cgi_takes_tokens(self):
        # authgw run as a CGI program (no listen): the same check.
        ag = self.authgw()
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        self.ag = ag
        t = self.cli_token()
        env = {'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': '/auth',
               'PATH_INFO': '/check', 'REQUEST_URI': '/auth/check',
               'QUERY_STRING': '', 'REMOTE_ADDR': '127.0.0.1'}
        for h in (bearer(t), basic(USER, t)):
            r = harness.cgi_request(dict(env, HTTP_AUTHORIZATION=h[
                'Authorization']), config=ag.config_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assert_passes(r)
        r = harness.cgi_request(dict(env, HTTP_AUTHORIZATION='Bearer ' +
                                     random_token()), config=ag.config_path)
        self.assert_basic_refusal(r)
        r = harness.cgi_request(dict(
            env, FCGI_ROLE='AUTHORIZER', REQUEST_URI='/private/',
            SCRIPT_NAME='/private/', PATH_INFO='', HTTP_ACCEPT='text/html',
            HTTP_AUTHORIZATION=bearer(t)['Authorization']),
            config=ag.config_path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('variable-auth_method'), 'token', r)


# ----------------------------------------------------- the command line

class CliTest(TokenCase):

    def setUp(self):
        super().setUp()
        self.start()

    def test_add_prints_the_token_alone(self):
        r = self.ag.cli('token', 'add', USER, 'backup job')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r'^agw_[A-Za-z0-9_-]{43}\n$')
        t = r.stdout.strip()
        tid = self.token_id(t)
        self.assertIn(str(tid), r.stderr)
        self.assertNotIn(t[4:], r.stderr)
        self.assert_passes(self.check(bearer(t)))
        self.assert_passes(self.check(basic(USER, t)))
        # The address as login normalises it.
        r = self.ag.cli('token', 'add', 'other@EXAMPLE.COM', 'x')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_passes(self.check(bearer(r.stdout.strip())), OTHER)
        r = self.ag.cli('token', 'add', USER, 'exp', '--expires', '600')
        self.assertEqual(r.returncode, 0, r.stderr)
        exp = self.token_row(r.stdout.strip())[3]
        self.assertAlmostEqual(exp, time.time() + 600, delta=3)

    def test_usage_errors_are_64(self):
        for args in (('token',), ('token', 'frob'), ('token', 'add'),
                     ('token', 'add', USER), ('token', 'add', USER, ''),
                     ('token', 'add', USER, 'x' * 65),
                     ('token', 'add', USER, 'a\tb'),
                     ('token', 'add', USER, 'a\nb'),
                     ('token', 'add', USER, 'n', '--expires'),
                     ('token', 'add', USER, 'n', '--expires', '0'),
                     ('token', 'add', USER, 'n', '--expires', '-5'),
                     ('token', 'add', USER, 'n', '--expires', '5s'),
                     ('token', 'add', USER, 'n', '--bogus', '5'),
                     ('token', 'add', USER, 'n', 'extra'),
                     ('token', 'list', USER, 'extra'),
                     ('token', 'revoke'), ('token', 'revoke', 'abc'),
                     ('token', 'revoke', '0'), ('token', 'revoke', '1', '2')):
            with self.subTest(args=args):
                r = self.ag.cli(*args)
                self.assertEqual(r.returncode, 64, r)
                self.assertTrue(r.stderr.strip())
                self.assertEqual(r.stdout, '')
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)

    def test_unknown_user_is_1(self):
        for args in (('token', 'add', 'nobody@example.com', 'x'),
                     ('token', 'list', 'nobody@example.com'),
                     ('token', 'add', 'not-an-address', 'x')):
            with self.subTest(args=args):
                r = self.ag.cli(*args)
                self.assertEqual(r.returncode, 1, r)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r)
                self.assertEqual(r.stdout, '')

    def test_list(self):
        a = self.cli_token(USER, 'first')
        b = self.cli_token(USER, 'second', expires=3600)
        c = self.cli_token(OTHER, 'theirs')
        self.assert_passes(self.check(bearer(a)))
        r = self.ag.cli('token', 'list')
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l.split('\t') for l in r.stdout.splitlines()]
        self.assertEqual([len(x) for x in rows], [6, 6, 6], r.stdout)
        self.assertEqual([x[0] for x in rows],
                         [str(self.token_id(t)) for t in (a, b, c)])
        self.assertEqual([x[1] for x in rows], [USER, USER, OTHER])
        self.assertEqual([x[2] for x in rows], ['first', 'second', 'theirs'])
        iso = r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        for x in rows:
            self.assertRegex(x[3], iso)
        self.assertRegex(rows[0][4], iso)
        self.assertEqual([rows[1][4], rows[2][4]], ['never', 'never'])
        self.assertEqual([rows[0][5], rows[2][5]], ['never', 'never'])
        self.assertRegex(rows[1][5], iso)
        for t in (a, b, c):
            self.assertNotIn(t[4:], r.stdout)
        r = self.ag.cli('token', 'list', OTHER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split('\t')[2] for l in r.stdout.splitlines()],
                         ['theirs'])
        r = self.ag.cli('token', 'list', ADMIN)
        self.assertEqual((r.returncode, r.stdout), (0, ''))

    def test_revoke(self):
        a = self.cli_token()
        b = self.cli_token(OTHER)
        self.warm(a)
        r = self.ag.cli('token', 'revoke', str(self.token_id(b)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_refused_everywhere(b)
        self.assert_passes(self.check(bearer(a)))
        tid = self.token_id(a)
        self.assertEqual(self.ag.cli('token', 'revoke', str(tid)).returncode,
                         0)
        self.assert_refused_everywhere(a)
        for tid in (tid, tid + 1000):
            r = self.ag.cli('token', 'revoke', str(tid))
            self.assertEqual(r.returncode, 1, r)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r)


# ------------------------------------------ coherence on every tier

class TierTest(TokenCase):
    """memcached and the host table both on (local entries live 1 s), and
    a second authgw instance on the same database, memcached and host
    table: what ends a token ends it for both at once, and neither tier
    serves it again once the other has aged."""

    def setUp(self):
        super().setUp()
        # Unverified accounts may sign in (test_verify_is_seen_at_once).
        self.start(memcached=True, cache_local_ttl=1,
                   require_verified_email=False)
        other_dir = os.path.join(self.tmpdir, 'second')
        os.mkdir(other_dir)
        conf = dict(self.ag.conf)
        conf.pop('listen', None)
        self.ag2 = self.track(harness.Authgw(other_dir, **conf))
        self.dump_logs_on_failure(self.ag2)
        self.ag2.start()
        self.cookie = self.ag.login_cookie(USER, PASSWORD)
        self.tokens = [self.create(self.cookie, 'route'),
                       self.cli_token(name='cli')]

    def mc_stat(self, name):
        for line in self.mc.command('stats').splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == name:
                return int(parts[2])
        raise KeyError(name)

    def mc_keys(self):
        return self.mc.command('lru_crawler metadump all')

    def warm_all(self, email=USER, role='user'):
        """Every token checked by both instances, answered from the host
        table, then (after the local entries aged) from memcached."""
        for t in self.tokens:
            for ag in (self.ag, self.ag2):
                self.assert_passes(self.check(bearer(t), ag=ag), email, role)
            self.assert_passes(self.check(basic(email, t), ag=self.ag2),
                               email, role, 'cache')
            self.assertIn(sha256(t).hex(), self.mc_keys())
        hits = self.mc_stat('get_hits')
        time.sleep(1.2)
        for t in self.tokens:
            self.assert_passes(self.check(bearer(t)), email, role, 'cache')
        self.assertGreaterEqual(self.mc_stat('get_hits'), hits +
                                len(self.tokens))

    def assert_ended(self):
        for t in self.tokens:
            self.assert_refused_everywhere(t, [self.ag, self.ag2])
        # Not kept in memcached either, and refused after the host
        # table's entries would have aged.
        keys = self.mc_keys()
        for t in self.tokens:
            self.assertNotIn(sha256(t).hex(), keys)
        time.sleep(1.2)
        for t in self.tokens:
            self.assert_refused_everywhere(t, [self.ag2, self.ag])

    def assert_alive(self, email=USER, role='user'):
        for t in self.tokens:
            for ag in (self.ag, self.ag2):
                self.assert_passes(self.check(bearer(t), ag=ag), email, role)
                self.assert_passes(self.check(basic(email, t), ag=ag),
                                   email, role)

    def test_revoke_by_route_and_by_cli(self):
        self.warm_all()
        by_route, by_cli = self.tokens
        r = self.post_json('/auth/tokens/revoke',
                           {'id': self.token_id(by_route)}, self.cookie)
        self.assertEqual(r.status, 200, r)
        self.assert_refused_everywhere(by_route, [self.ag, self.ag2])
        self.assert_passes(self.check(bearer(by_cli), ag=self.ag2))
        r = self.ag.cli('token', 'revoke', str(self.token_id(by_cli)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_ended()

    def test_disable_ends_at_once_and_enable_restores(self):
        self.warm_all()
        self.assertEqual(self.ag.cli('user', 'disable', USER).returncode, 0)
        self.assert_ended()
        self.assertEqual(self.ag.cli('user', 'enable', USER).returncode, 0)
        self.assert_alive()

    def test_delete_ends_at_once(self):
        self.warm_all()
        self.assertEqual(self.ag.cli('user', 'del', USER).returncode, 0)
        self.assert_ended()
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)

    def test_role_change_is_seen_at_once(self):
        self.warm_all()
        for t in self.tokens:
            self.assertEqual(self.check(bearer(t), query='role=admin')
                             .status, 403)
        self.assertEqual(self.ag.cli('user', 'role', USER, 'admin')
                         .returncode, 0)
        for t in self.tokens:
            for ag in (self.ag2, self.ag):
                r = self.check(bearer(t), query='role=admin', ag=ag)
                self.assert_passes(r, role='admin')
        self.warm_all(role='admin')
        self.assertEqual(self.ag.cli('user', 'role', USER, 'user')
                         .returncode, 0)
        for t in self.tokens:
            for ag in (self.ag2, self.ag):
                r = self.check(bearer(t), query='role=admin', ag=ag)
                self.assertEqual(r.status, 403, r)
        self.assert_alive()

    def test_reset_link_ends_every_token(self):
        self.warm_all()
        r = self.post_json('/auth/password/forgot', {'email': USER})
        self.assertEqual(r.status, 202, r)

        def link():
            try:
                with open(os.path.join(self.tmpdir, 'mail.out')) as f:
                    return RESET_LINK_RE.findall(f.read())
            except OSError:
                return []
        found = wait_for(link, timeout=15, what='the reset link')
        # One link, sent once though the two instances here share the
        # database and its outbox: a claim leases the message (SPEC 8).
        self.assertEqual(len(found), 1, found)
        token = found[0]
        # Still valid until the reset itself.
        self.assert_alive()
        r = self.post_json('/auth/password/reset', {'token': token,
                                                    'password': NEW})
        self.assertEqual((r.status, r.json()), (200, {'ok': True}), r)
        self.assert_ended()
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 0)
        self.assertEqual(self.check(cookie=self.cookie).status, 401)

    def test_cli_passwd_ends_every_token(self):
        self.warm_all()
        theirs = self.cli_token(OTHER)
        r = self.ag.cli('user', 'passwd', USER, input=NEW + '\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_ended()
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens')
                         [0][0], 1)
        self.assert_passes(self.check(bearer(theirs)), OTHER)

    def test_password_change_keeps_tokens(self):
        self.warm_all()
        other_session = self.ag.login_cookie(USER, PASSWORD)
        r = self.post_json('/auth/password/change',
                           {'current': PASSWORD, 'password': NEW},
                           self.cookie)
        self.assertEqual((r.status, r.json()), (200, {'ok': True}), r)
        self.assertEqual(self.check(cookie=other_session).status, 401)
        self.assert_alive()
        time.sleep(1.2)
        self.assert_alive()

    def test_logout_everywhere_keeps_tokens(self):
        self.warm_all()
        r = self.post_json('/auth/logout', {'all': True}, self.cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.check(cookie=self.cookie).status, 401)
        self.assert_alive()
        time.sleep(1.2)
        self.assert_alive()

    def test_verify_is_seen_at_once(self):
        # An unverified account (allowed to sign in here) with a token:
        # verifying it shows at once on every tier.
        self.ag.add_user('new@example.com', PASSWORD, verified=False)
        t = self.cli_token('new@example.com', 'n')
        for ag in (self.ag, self.ag2):
            for _ in range(2):
                r = self.check(bearer(t), ag=ag)
                self.assert_passes(r, 'new@example.com')
                self.assertEqual(r.header('x-auth-verified'), '0', r)
        self.assertEqual(self.ag.cli('user', 'verify', 'new@example.com')
                         .returncode, 0)
        for ag in (self.ag2, self.ag):
            r = self.check(bearer(t), ag=ag)
            self.assert_passes(r, 'new@example.com')
            self.assertEqual(r.header('x-auth-verified'), '1', r)


if __name__ == '__main__':
    harness.run_modules()
