"""API tokens: what an attacker's read of the first version found (issue
13, review). Each test but the last failed before its fix (run against
4852aa6); the last keeps `user passwd` working for a disabled account now
that it is one unit of work with the reset's rules:

- a password set by a verification link ends the account's API tokens
  (with require_verified_email = false a first registrant's token used to
  outlive the owner's claim of the address), and an unverified session
  cannot make tokens;
- every token made at /tokens is mailed to the owner;
- the Basic user is matched as login matches it (ASCII case aside);
- ?mfa=1 is parsed like role and refused (403) to a session made without
  a second factor and to every token (it was ignored: fail open);
- `authgw user passwd` ends sessions and tokens, a disabled account too.
"""

import base64
import json
import re

import harness
from harness import wait_for

PASSWORD = 'correct horse battery'
OWNER = 'the owner password'
EMAIL = 'Victim@example.com'
JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
LINK_RE = re.compile(r'(?m)^http://\S+/auth/verify\?token=([A-Za-z0-9_-]+)\r?$')


class TokenSecurityTest(harness.TestCase):

    def start(self, **conf):
        conf.setdefault('login_max_per_ip', 100)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.start()
        return self.ag

    def post_json(self, path, body, cookie=None):
        h = dict(JSON)
        if cookie:
            h['Cookie'] = '%s=%s' % (self.ag.cookie_name, cookie)
        return self.ag.fcgi(path, 'POST', headers=h,
                            body=json.dumps(body).encode())

    def mails(self):
        try:
            with open(self.tmpdir + '/mail.out') as f:
                return f.read()
        except OSError:
            return ''

    def token(self, email=EMAIL, *extra):
        r = self.ag.cli('token', 'add', email, 'script', *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def bearer(self, tok, query=''):
        return self.ag.check(query=query,
                             headers={'Authorization': 'Bearer ' + tok})

    def test_verification_setting_a_password_ends_tokens(self):
        self.start(require_verified_email=False)
        # A first registrant who does not own the address signs in (the
        # setting allows it) and holds a token (from an administrator:
        # /tokens itself refuses an unverified address, tested below).
        r = self.post_json('/auth/register', {'email': EMAIL,
                                              'password': PASSWORD})
        self.assertEqual(r.status, 202, r)
        tok = self.token()
        self.assertEqual(self.bearer(tok).status, 200)
        # The owner registers too, and uses the link mailed to them.
        r = self.post_json('/auth/register', {'email': EMAIL,
                                              'password': OWNER})
        self.assertEqual(r.status, 202, r)
        links = wait_for(lambda: len(LINK_RE.findall(self.mails())) >= 2 and
                         LINK_RE.findall(self.mails()), timeout=15,
                         what='two verification mails')
        r = self.post_json('/auth/verify', {'token': links[-1],
                                            'password': OWNER})
        self.assertEqual(r.status, 200, r)
        r = self.bearer(tok)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header('www-authenticate'), 'Basic realm="authgw"')
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens'),
                         [(0,)])

    def test_unverified_session_cannot_make_tokens(self):
        self.start(require_verified_email=False)
        self.ag.add_user(EMAIL, PASSWORD, verified=False)
        sid = self.ag.login_cookie(EMAIL, PASSWORD)
        r = self.post_json('/auth/tokens', {'name': 'x'}, cookie=sid)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.ag.query('SELECT count(*) FROM api_tokens'),
                         [(0,)])

    def test_token_made_at_tokens_is_mailed(self):
        self.start()
        self.ag.add_user(EMAIL, PASSWORD)
        sid = self.ag.login_cookie(EMAIL, PASSWORD)
        r = self.post_json('/auth/tokens', {'name': 'laptop'}, cookie=sid)
        self.assertEqual(r.status, 201, r)
        tok = r.json()['token']
        text = wait_for(lambda: 'A new API token' in self.mails() and
                        self.mails(), timeout=15, what='the notice')
        self.assertIn('To: ' + EMAIL, text)
        self.assertIn('/auth/tokens', text)
        self.assertNotIn(tok, text)     # never the token itself

    def test_basic_user_matches_as_login_does(self):
        self.start()
        self.ag.add_user(EMAIL, PASSWORD)
        tok = self.token()
        for user in (EMAIL, EMAIL.lower(), EMAIL.upper(),
                     'victim@EXAMPLE.COM'):
            r = self.ag.check(headers={'Authorization': 'Basic ' +
                                       base64.b64encode(('%s:%s' % (
                                           user, tok)).encode()).decode()})
            self.assertEqual(r.status, 200, (user, r))
        self.assertEqual(self.ag.login_cookie(EMAIL.upper(), PASSWORD)
                         is not None, True)

    def test_mfa_query(self):
        self.start()
        self.ag.add_user(EMAIL, PASSWORD)
        tok = self.token()
        sid = self.ag.login_cookie(EMAIL, PASSWORD)
        self.assertEqual(self.ag.check(sid).status, 200)
        # No session has a second factor yet, and a token never does.
        self.assertEqual(self.ag.check(sid, query='mfa=1').status, 403)
        self.assertEqual(self.bearer(tok, 'mfa=1').status, 403)
        self.assertEqual(self.bearer(tok, 'role=user&mfa=1').status, 403)
        for q in ('mfa=0', 'mfa=', 'mfa=true', 'mfa=1&mfa=1', 'mfa=1%00'):
            self.assertEqual(self.ag.check(sid, query=q).status, 400, q)
            self.assertEqual(self.bearer(tok, q).status, 400, q)

    def test_cli_passwd_ends_tokens_of_a_disabled_account_too(self):
        self.start()
        self.ag.add_user(EMAIL, PASSWORD)
        tok = self.token()
        sid = self.ag.login_cookie(EMAIL, PASSWORD)
        self.assertEqual(self.ag.cli('user', 'disable', EMAIL).returncode, 0)
        r = self.ag.cli('user', 'passwd', EMAIL, input=OWNER + '\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ag.cli('user', 'enable', EMAIL).returncode, 0)
        self.assertEqual(self.bearer(tok).status, 401)
        self.assertEqual(self.ag.check(sid).status, 401)
        self.assertIsNotNone(self.ag.login_cookie(EMAIL, OWNER))
