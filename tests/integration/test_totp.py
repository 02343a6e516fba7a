"""The second factor (issue 16; SPEC 9), spoken in FastCGI to a real
prefork authgw, and through a real nginx.

Codes are computed here by an independent RFC 6238 implementation
(hmac/hashlib/struct). The setup page's inline QR code is drawn into a
PGM image and decoded with zbarimg (Debian's zbar-tools): it must give the
otpauth:// URI the page prints.

A step at or before the last accepted one is refused, and a secret has
three acceptable steps at a time (now-1, now, now+1). No test waits for
the clock: each needs at most two steps of a secret. Steps.fresh_code
spends one; Steps.right_code gives the next one without spending it, for
a request that must be refused before its code is spent (so it must come
before the second fresh_code); both refuse a third step, whatever the
time, and a test that needs more uses another user or a recovery code.
Two, not three: near the end of a step the server's now may already be
the next one, where now-1 is out of its window, so only now and now+1 are
safe there."""

import base64
import hashlib
import hmac
import html
import json
import os
import re
import struct
import subprocess
import time
import unittest
import urllib.parse

import harness
from harness import FCGI_AUTHORIZER, Memcached, wait_for

USER = 'user@example.com'
OTHER = 'other@example.com'
PASSWORD = 'correct horse battery'
JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
HTML = 'text/html,application/xhtml+xml;q=0.9'
FORM = 'application/x-www-form-urlencoded'


def hotp(key, counter, digits=6):
    mac = hmac.new(key, struct.pack('>Q', counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0f
    v = struct.unpack('>I', mac[off:off + 4])[0] & 0x7fffffff
    return '%0*d' % (digits, v % 10 ** digits)


def b32key(secret):
    return base64.b32decode(secret + '=' * (-len(secret) % 8))


# Seconds a request may take to reach the server after its code is made:
# within them of the end of a step, the server's now may be the next step.
STEP_MARGIN = 5


class Steps:
    """Codes of one secret, each step used once (no replay), never waiting
    for the clock: two steps at most per secret (see the module's text)."""

    MAX_SPENT = 2

    def __init__(self, secret):
        self.key = b32key(secret)
        self.last = -1       # the last step spent (or maybe spent)
        self.spent = 0

    def next_step(self):
        """The lowest step above the last spent one that the server
        accepts whether its now is the test's now or the next step."""
        if self.spent >= self.MAX_SPENT:
            raise AssertionError('a step after %d spent ones of a secret: '
                                 'the test would have to wait for the '
                                 'clock; use another user' % self.MAX_SPENT)
        t = time.time()
        now = int(t) // 30
        low = now - 1 if t + STEP_MARGIN < (now + 1) * 30 else now
        step = max(self.last + 1, low)
        if step > now + 1:      # cannot happen within MAX_SPENT
            raise AssertionError('no fresh step left for this secret')
        return step

    def fresh_code(self):
        """A right code, spent: never given again."""
        step = self.next_step()
        self.last = step
        self.spent += 1
        return hotp(self.key, step)

    def right_code(self):
        """A code the server would accept now, not spent here: for a
        request that must be refused before its code is spent (a used,
        tampered or expired pending login, a missing CSRF token, the
        factor on already). Should the server spend it anyway, a later
        fresh_code() of the same step is refused and the test fails."""
        return hotp(self.key, self.next_step())

    def old_code(self):
        """A code of a step before the skew (two steps back): wrong."""
        now = int(time.time()) // 30
        code = hotp(self.key, now - 2)
        if code in {hotp(self.key, s) for s in range(now - 1, now + 3)}:
            code = hotp(self.key, now - 3)
        return code

    def wrong_code(self):
        now = int(time.time()) // 30
        right = {hotp(self.key, s) for s in range(now - 3, now + 4)}
        for n in range(1000000):
            c = '%06d' % ((n * 7919 + 123457) % 1000000)
            if c not in right:
                return c


def svg_to_pgm(svg, path, scale=4):
    """The <svg> of the page (one path of unit squares) as a PGM image."""
    side = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    d = re.search(r'<path fill="#000" d="([^"]*)"', svg).group(1)
    dark = set()
    for x, y in re.findall(r'M(\d+) (\d+)h1v1h-1z', d):
        dark.add((int(x), int(y)))
    rows = []
    for y in range(side * scale):
        rows.append(bytes(0 if (x // scale, y // scale) in dark else 255
                          for x in range(side * scale)))
    with open(path, 'wb') as f:
        f.write(b'P5\n%d %d\n255\n' % (side * scale, side * scale))
        f.write(b''.join(rows))


class TotpCase(harness.TestCase):

    def start(self, memcached=False, **conf):
        conf.setdefault('login_max_per_ip', 1000)
        conf.setdefault('login_max_per_account', 1000)
        if memcached:
            self.mc = self.track(Memcached(self.tmpdir).start())
            conf.setdefault('memcached', self.mc.addr)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(OTHER, PASSWORD)
        self.ag.start()
        return self.ag

    def post_json(self, path, body, cookie=None, addr=None):
        h = dict(JSON)
        if cookie is not None:
            h['Cookie'] = '%s=%s' % (self.ag.cookie_name, cookie)
        extra = {'REMOTE_ADDR': addr} if addr else None
        return self.ag.fcgi(path, 'POST', headers=h, extra=extra,
                            body=json.dumps(body).encode())

    def get_json(self, path, cookie):
        h = {'Accept': 'application/json',
             'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)}
        return self.ag.fcgi(path, headers=h)

    def enable(self, email=USER):
        """Turn it on by JSON; (Steps, recovery codes, session cookie)."""
        cookie = self.ag.login_cookie(email, PASSWORD)
        r = self.get_json('/auth/totp', cookie)
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertFalse(j['enabled'])
        steps = Steps(j['secret'])
        r = self.post_json('/auth/totp/enable',
                           {'code': steps.fresh_code()}, cookie)
        self.assertEqual(r.status, 200, r)
        codes = r.json()['recovery_codes']
        self.assertEqual(len(codes), 10)
        self.assertEqual(len(set(codes)), 10)
        return steps, codes, cookie

    def password_step(self, email=USER, addr=None):
        r = self.post_json('/auth/login', {'email': email,
                                           'password': PASSWORD}, addr=addr)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()['error'], 'totp_required', r)
        self.assertEqual(r.set_cookies(), {}, r)
        return r.json()['pending']

    def code_step(self, pending, code, addr=None):
        return self.post_json('/auth/login', {'pending': pending,
                                              'code': code}, addr=addr)

    def session_of(self, r):
        self.assertEqual(r.status, 200, r)
        return r.set_cookies()[self.ag.cookie_name][0]

    def account_attempts(self, email=USER):
        return self.ag.query('SELECT count(*) FROM attempts WHERE kind = 1 '
                             'AND key = ?', email)[0][0]


class TotpJsonTest(TotpCase):

    def test_enable_login_check_and_replay(self):
        self.start(memcached=True)
        before = self.ag.login_cookie(USER, PASSWORD)
        cookie = self.ag.login_cookie(USER, PASSWORD)
        r = self.get_json('/auth/totp', cookie)
        secret = r.json()['secret']
        self.assertRegex(secret, r'^[A-Z2-7]{32}$')
        self.assertIn('secret=' + secret, r.json()['uri'])
        self.assertTrue(r.json()['uri'].startswith('otpauth://totp/'))
        # The pending secret is kept: every worker shows the same one.
        for _ in range(4):
            self.assertEqual(self.get_json('/auth/totp', cookie)
                             .json()['secret'], secret)
        steps = Steps(secret)
        r = self.post_json('/auth/totp/enable', {'code': steps.wrong_code()},
                           cookie)
        self.assertEqual(r.status, 403, r)
        r = self.post_json('/auth/totp/enable', {'code': 'abcdef'}, cookie)
        self.assertEqual(r.status, 400, r)
        r = self.post_json('/auth/totp/enable', {'code': steps.fresh_code()},
                           cookie)
        self.assertEqual(r.status, 200, r)
        codes = r.json()['recovery_codes']
        # Never shown again; at rest neither the secret nor the codes.
        r = self.get_json('/auth/totp', cookie)
        self.assertEqual(r.json(), {'enabled': True})
        row = self.ag.query('SELECT secret, pending FROM totp')[0]
        self.assertIsNone(row[1])
        self.assertNotIn(b32key(secret), bytes(row[0]))
        dump = b''.join(bytes(h) for (h,) in self.ag.query(
            'SELECT code_hash FROM totp_recovery'))
        for c in codes:
            self.assertNotIn(c.replace('-', '').encode(), dump)
        r = self.post_json('/auth/totp/enable', {'code': steps.right_code()},
                           cookie)
        self.assertEqual(r.status, 409, r)
        # Login: the password alone gives a pending login, no session.
        pending = self.password_step()
        r = self.ag.check(pending)
        self.assertEqual(r.status, 401, r)
        code = steps.fresh_code()
        new = self.session_of(self.code_step(pending, code))
        for _ in range(2):   # from the store, then from the cache tiers
            r = self.ag.check(new)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-mfa'), '1', r)
            r = self.ag.check(new, query='mfa=1')
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.get_json('/auth/session', new).status, 200)
        # The same code again, with a new pending login: a replay.
        pending = self.password_step()
        r = self.code_step(pending, code)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()['error'], 'wrong code', r)
        # A code of a step before the skew: refused, without waiting.
        r = self.code_step(pending, steps.old_code())
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()['error'], 'wrong code', r)
        # A session from before enabling: ended by it (review 16), but
        # the enabling one stays, without the factor; ?mfa=1 refuses it.
        for _ in range(2):
            self.assertEqual(self.ag.check(before).status, 401)
            r = self.ag.check(cookie)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-mfa'), '0', r)
            self.assertEqual(self.ag.check(cookie, query='mfa=1').status,
                             403)
        # An API token, even one made by an MFA session, never passes.
        r = self.post_json('/auth/tokens', {'name': 'ci'}, new)
        self.assertEqual(r.status, 201, r)
        bearer = {'Authorization': 'Bearer ' + r.json()['token']}
        for _ in range(2):
            r = self.ag.check(headers=bearer)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-mfa'), '0', r)
            self.assertEqual(self.ag.check(headers=bearer,
                                           query='mfa=1').status, 403)
        # The admin figures count it.
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM totp WHERE enabled = 1')[0][0], 1)

    def test_verification_link_signs_no_one_in_with_the_factor_on(self):
        """A verification link confirms the address but makes no session
        for an account with the factor on (a link and its password would
        be a second way in around the code)."""
        self.start(require_verified_email=False)
        new = 'late@example.com'
        r = self.post_json('/auth/register', {'email': new,
                                              'password': PASSWORD})
        self.assertEqual(r.status, 202, r)
        link = re.compile(r'(?m)^http://\S+/auth/verify\?token='
                          r'([A-Za-z0-9_-]+)\r?$')
        out = os.path.join(self.tmpdir, 'mail.out')

        def token():
            try:
                with open(out) as f:
                    return link.findall(f.read())
            except OSError:
                return []
        found = wait_for(token, timeout=15, what='the verification mail')
        self.enable(new)
        r = self.post_json('/auth/verify', {'token': found[0],
                                            'password': PASSWORD})
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(self.ag.cookie_name, r.set_cookies(), r)
        self.assertEqual(self.ag.query('SELECT verified FROM users WHERE '
                                       'email = ?', new)[0][0], 1)
        # The login still asks for the code.
        self.password_step(new)

    def test_recovery_code_single_use(self):
        self.start()
        steps, codes, _ = self.enable()
        pending = self.password_step()
        r = self.code_step(pending, codes[0].lower())
        self.session_of(r)
        pending = self.password_step()
        r = self.code_step(pending, codes[0])
        self.assertEqual(r.status, 401, r)
        r = self.code_step(pending, codes[1].replace('-', ' '))
        self.session_of(r)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM totp_recovery')[0][0], 8)

    def test_pending_token_used_twice_other_user_and_tampered(self):
        self.start()
        steps, codes, _ = self.enable()
        other, other_codes, _ = self.enable(OTHER)
        # Another user's pending login with my code: a wrong code for him.
        theirs = self.password_step(OTHER)
        r = self.code_step(theirs, steps.right_code())
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json()['error'], 'wrong code', r)
        pending = self.password_step()
        self.session_of(self.code_step(pending, steps.fresh_code()))
        # Used: refused even with a right code (sign in again). My two
        # steps are spent (enable, login): a right recovery code, which
        # the refusal leaves unspent.
        r = self.code_step(pending, codes[0])
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])
        # And the other way round: used with a recovery code, then a
        # right time code (the other user's second step, left unspent).
        pending = self.password_step(OTHER)
        self.session_of(self.code_step(pending, other_codes[0]))
        r = self.code_step(pending, other.right_code())
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM totp_recovery')[0][0], 19)
        # Tampered: any change refuses it, before any code is tried. (The
        # other user's pending login: mine has spent its two steps.)
        pending = self.password_step(OTHER)
        raw = bytearray(base64.urlsafe_b64decode(pending + '=='))
        for i in (1, 9, 30, len(raw) - 1):
            t = bytearray(raw)
            t[i] ^= 1
            text = base64.urlsafe_b64encode(bytes(t)).decode().rstrip('=')
            r = self.code_step(text, other.right_code())
            self.assertEqual(r.status, 401, r)
            self.assertIn('sign in again', r.json()['error'])
        for bad in ('', 'x', 'A' * 600, pending[:-1]):
            r = self.code_step(bad, '123456')
            self.assertEqual(r.status, 401, r)
        # Not a session either.
        for text in (pending, pending[:43]):
            self.assertEqual(self.ag.check(text).status, 401)
        self.session_of(self.code_step(pending, other.fresh_code()))

    def test_malformed_codes_are_400_and_not_counted(self):
        self.start(login_max_per_account=2)
        steps, _, _ = self.enable()
        pending = self.password_step()
        for bad in ('12345', '1234567', '12a456', '', '１２３４５６',
                    'ABCD-EFGH-IJKL-MNO1', '123456' * 20):
            r = self.code_step(pending, bad)
            self.assertEqual(r.status, 400, (bad, r))
        r = self.post_json('/auth/login', {'pending': pending})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.account_attempts(), 0)
        self.session_of(self.code_step(pending, steps.fresh_code()))

    def test_wrong_codes_count_and_limit(self):
        self.start(login_max_per_account=3)
        steps, _, _ = self.enable()
        pending = self.password_step(addr='192.0.2.7')
        for _ in range(2):
            r = self.code_step(pending, steps.wrong_code(), addr='192.0.2.7')
            self.assertEqual(r.status, 401, r)
        self.assertEqual(self.account_attempts(), 2)
        # A right password alone does not clear the count.
        pending = self.password_step(addr='192.0.2.8')
        self.assertEqual(self.account_attempts(), 2)
        r = self.code_step(pending, steps.wrong_code(), addr='192.0.2.8')
        self.assertEqual(r.status, 401, r)
        r = self.code_step(pending, steps.fresh_code(), addr='192.0.2.9')
        self.assertEqual(r.status, 429, r)
        self.assertTrue(r.header('retry-after'), r)
        r = self.post_json('/auth/login', {'email': USER,
                                           'password': PASSWORD})
        self.assertEqual(r.status, 429, r)
        # The address counter counts wrong codes too.
        addr_rows = self.ag.query('SELECT count(*) FROM attempts WHERE '
                                  'kind = 2 AND key = ?', '192.0.2.7')
        self.assertEqual(addr_rows[0][0], 2)

    def test_a_completed_factor_clears_the_count(self):
        self.start(login_max_per_account=5)
        steps, _, _ = self.enable()
        pending = self.password_step()
        self.code_step(pending, steps.wrong_code())
        self.assertEqual(self.account_attempts(), 1)
        self.session_of(self.code_step(pending, steps.fresh_code()))
        self.assertEqual(self.account_attempts(), 0)

    def test_expired_pending_login(self):
        self.start(totp_pending_ttl=2)
        steps, _, _ = self.enable()
        pending = self.password_step()
        time.sleep(2.5)     # the pending TTL (2 s), not a time step
        r = self.code_step(pending, steps.right_code())
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])
        pending = self.password_step()
        self.session_of(self.code_step(pending, steps.fresh_code()))

    def test_password_change_voids_pending_logins(self):
        self.start()
        steps, _, _ = self.enable()
        pending = self.password_step()
        r = self.ag.cli('user', 'passwd', USER, input='another password 1\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.code_step(pending, steps.fresh_code())
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])

    def test_disable_with_password(self):
        self.start()
        steps, _, cookie = self.enable()
        r = self.post_json('/auth/totp/disable', {'password': 'wrong one'},
                           cookie)
        self.assertEqual(r.status, 401, r)
        r = self.post_json('/auth/totp/disable', {}, cookie)
        self.assertEqual(r.status, 400, r)
        r = self.post_json('/auth/totp/disable', {'password': PASSWORD})
        self.assertEqual(r.status, 401, r)       # no session
        r = self.post_json('/auth/totp/disable', {'password': PASSWORD},
                           cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'enabled': False})
        self.ag.login_cookie(USER, PASSWORD)
        self.assertEqual(self.ag.query('SELECT count(*) FROM totp_recovery')
                         [0][0], 0)
        # Off again: a new secret is shown.
        r = self.get_json('/auth/totp', cookie)
        self.assertFalse(r.json()['enabled'])
        self.assertNotEqual(b32key(r.json()['secret']), steps.key)

    def test_cli_totp_reset(self):
        self.start()
        steps, _, _ = self.enable()
        pending = self.password_step()
        mfa = self.session_of(self.code_step(pending, steps.fresh_code()))
        r = self.ag.cli('user', 'totp-reset', USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('totp-reset done', r.stdout)
        self.assertEqual(self.ag.check(mfa).status, 401)
        self.ag.login_cookie(USER, PASSWORD)
        r = self.ag.cli('user', 'totp-reset', USER)
        self.assertEqual(r.returncode, 1, r)
        r = self.ag.cli('user', 'totp-reset', 'nobody@example.com')
        self.assertEqual(r.returncode, 1, r)
        r = self.ag.cli('user', 'totp-reset')
        self.assertEqual(r.returncode, 64, r)

    def test_authorizer_variable_and_requirement(self):
        self.start()
        steps, _, plain = self.enable()
        pending = self.password_step()
        mfa = self.session_of(self.code_step(pending, steps.fresh_code()))

        def authorize(cookie, extra=None):
            h = {'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)}
            return self.ag.fcgi('/private/page', headers=h,
                                role=FCGI_AUTHORIZER, extra=extra)
        r = authorize(mfa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('variable-auth_mfa'), '1', r)
        r = authorize(plain)
        self.assertEqual(r.header('variable-auth_mfa'), '0', r)
        self.assertEqual(authorize(mfa, {'AUTHGW_MFA': '1'}).status, 200)
        self.assertEqual(authorize(plain, {'AUTHGW_MFA': '1'}).status, 403)
        self.assertEqual(authorize(mfa, {'AUTHGW_MFA': 'yes'}).status, 500)

    def test_admin_figure(self):
        self.start()
        self.enable()
        self.ag.add_user('root@example.com', PASSWORD, admin=True)
        admin = self.ag.login_cookie('root@example.com', PASSWORD)
        r = self.get_json('/auth/admin/stats.json', admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['users_totp'], 1)
        r = self.ag.fcgi('/auth/metrics')
        self.assertIn('authgw_users_totp 1', r.text)
        h = {'Accept': HTML, 'Cookie': '%s=%s' % (self.ag.cookie_name, admin)}
        r = self.ag.fcgi('/auth/admin', headers=h)
        self.assertIn('1 users with it on', r.text)


class TotpHtmlTest(TotpCase):

    def test_html_setup_qr_scans_enable_and_login(self):
        zbarimg = harness.find_program('zbarimg')
        if zbarimg is None:
            self.skipTest('zbarimg (zbar-tools) not installed')
        self.start()
        jar = {self.ag.cookie_name: self.ag.login_cookie(USER, PASSWORD)}

        def request(method, path, form=None, keep=True):
            h = {'Accept': HTML,
                 'Cookie': '; '.join('%s=%s' % kv for kv in jar.items())}
            body = b''
            if form is not None:
                h['Content-Type'] = FORM
                body = urllib.parse.urlencode(form).encode()
            r = self.ag.fcgi(path, method, headers=h, body=body)
            if keep:
                for name, (value, _attrs) in r.set_cookies().items():
                    jar[name] = value
            return r

        page = request('GET', '/auth/totp')
        self.assertEqual(page.status, 200, page)
        self.assertNotIn('<script', page.text.lower())
        self.assertIn("img-src 'self' data:",
                      page.header('content-security-policy'))
        svg = re.search(r'<svg .*?</svg>', page.text, re.S).group(0)
        uri = html.unescape(re.search(r'<code id="uri">([^<]*)</code>',
                                      page.text).group(1))
        secret = re.search(r'<code id="secret">([A-Z2-7]{32})</code>',
                           page.text).group(1)
        img = os.path.join(self.tmpdir, 'qr.pgm')
        svg_to_pgm(svg, img)
        out = subprocess.run([zbarimg, '--raw', '-q', img],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), uri)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
        self.assertEqual(q['secret'], [secret])
        self.assertEqual(q['digits'], ['6'])
        self.assertEqual(q['period'], ['30'])
        self.assertEqual(q['algorithm'], ['SHA1'])
        self.assertIn(urllib.parse.quote(USER, safe=''),
                      urllib.parse.urlsplit(uri).path)
        steps = Steps(secret)
        csrf = harness.html_field(page.text, 'csrf')
        # Without the CSRF token: refused, nothing changes.
        r = request('POST', '/auth/totp/enable', {'code': steps.right_code()})
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.ag.query('SELECT enabled FROM totp')[0][0], 0)
        r = request('POST', '/auth/totp/enable', {'csrf': csrf,
                                                  'code': '000'})
        self.assertEqual(r.status, 400, r)
        r = request('POST', '/auth/totp/enable',
                    {'csrf': csrf, 'code': steps.fresh_code()})
        self.assertEqual(r.status, 200, r)
        codes = re.findall(r'<li><code>([A-Z2-7-]{19})</code></li>', r.text)
        self.assertEqual(len(codes), 10)
        # Once on, the secret never shows again.
        page = request('GET', '/auth/totp')
        self.assertNotIn(secret, page.text)
        self.assertNotIn('<svg', page.text)
        self.assertEqual(re.findall(r'<li><code>', page.text), [])
        # A login through the forms: the code form, then the session.
        login = self.ag.fcgi('/auth/login', headers={'Accept': HTML})
        lcsrf = harness.html_field(login.text, 'csrf')
        cookies = {n: v for n, (v, _a) in login.set_cookies().items()}

        def form_post(form):
            h = {'Accept': HTML, 'Content-Type': FORM,
                 'Cookie': '; '.join('%s=%s' % kv for kv in cookies.items())}
            return self.ag.fcgi('/auth/login', 'POST', headers=h,
                                body=urllib.parse.urlencode(form).encode())
        r = form_post({'csrf': lcsrf, 'email': USER, 'password': PASSWORD,
                       'next': '/private/x'})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(self.ag.cookie_name, r.set_cookies())
        self.assertNotIn('<script', r.text.lower())
        pending = harness.html_field(r.text, 'pending')
        self.assertEqual(harness.html_field(r.text, 'next'), '/private/x')
        ccsrf = harness.html_field(r.text, 'csrf')
        r = form_post({'csrf': ccsrf, 'pending': pending,
                       'code': steps.wrong_code(), 'next': '/private/x'})
        self.assertEqual(r.status, 401, r)
        self.assertIn('wrong code', r.text)
        self.assertEqual(harness.html_field(r.text, 'pending'), pending)
        r = form_post({'pending': pending, 'code': steps.right_code()})
        self.assertEqual(r.status, 403, r)      # no CSRF token
        r = form_post({'csrf': ccsrf, 'pending': pending,
                       'code': steps.fresh_code(), 'next': '/private/x'})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), '/private/x')
        sid = r.set_cookies()[self.ag.cookie_name][0]
        self.assertEqual(self.ag.check(sid).header('x-auth-mfa'), '1')
        # Turning it off: the CSRF token first, then the password.
        page = request('GET', '/auth/totp')
        csrf = harness.html_field(page.text, 'csrf')
        r = request('POST', '/auth/totp/disable', {'password': PASSWORD})
        self.assertEqual(r.status, 403, r)
        r = request('POST', '/auth/totp/disable', {'csrf': csrf,
                                                   'password': 'nope nope'})
        self.assertEqual(r.status, 401, r)
        r = request('POST', '/auth/totp/disable', {'csrf': csrf,
                                                   'password': PASSWORD})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(self.ag.query('SELECT count(*) FROM totp')[0][0], 0)

    def test_page_needs_a_session(self):
        self.start()
        r = self.ag.fcgi('/auth/totp', headers={'Accept': HTML})
        self.assertEqual(r.status, 303, r)
        self.assertIn('/auth/login?next=', r.header('location'))
        r = self.ag.fcgi('/auth/totp', headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 401, r)


NGINX_MFA_LOCATION = '''
		location /mfa/ {
			auth_request /auth/check-mfa;
			auth_request_set $auth_location $upstream_http_location;
			auth_request_set $auth_mfa $upstream_http_x_auth_mfa;
			error_page 401 = @authgw_401;
			add_header X-Auth-MFA $auth_mfa always;
			try_files $uri $uri/ =404;
		}

		# Everything else is public.'''


class TotpNginxTest(TotpCase):
    """nginx auth_request with ?mfa=1 (the shipped snippet's
    /auth/check-mfa), with and without the micro-cache."""

    def nginx(self, micro_cache):
        with open(os.path.join(harness.CONF_DIR, 'nginx.conf')) as f:
            text = f.read()
        text = text.replace('\n\t\t# Everything else is public.',
                            NGINX_MFA_LOCATION, 1)
        template = os.path.join(self.tmpdir, 'nginx-mfa.conf.in')
        with open(template, 'w') as f:
            f.write(text)
        web = self.track(harness.Nginx(self.tmpdir, self.ag,
                                       template=template,
                                       micro_cache=micro_cache))
        self.dump_logs_on_failure(web)
        os.makedirs(os.path.join(web.root, 'mfa'), exist_ok=True)
        with open(os.path.join(web.root, 'mfa', 'index.html'), 'w') as f:
            f.write('<p>mfa only</p>\n')
        web.start()
        return harness.Client(web.port)

    def run_flow(self, micro_cache):
        self.start(check_cache=5 if micro_cache else 0)
        steps, _, plain = self.enable()
        client = self.nginx(micro_cache)
        pending = self.password_step()
        mfa = self.session_of(self.code_step(pending, steps.fresh_code()))
        for _ in range(3):
            for cookie, want in ((mfa, 200), (plain, 403)):
                r = client.get('/mfa/', headers={
                    'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)})
                self.assertEqual(r.status, want, r)
                if want == 200:
                    self.assertIn('mfa only', r.text)
                    self.assertEqual(r.header('x-auth-mfa'), '1', r)
                # The plain check passes both.
                r = client.get('/private/', headers={
                    'Cookie': '%s=%s' % (self.ag.cookie_name, cookie)})
                self.assertEqual(r.status, 200, r)
        r = client.get('/mfa/', headers={'Accept': HTML})
        self.assertEqual(r.status, 302, r)

    def test_nginx_requires_the_factor(self):
        self.run_flow(False)

    def test_nginx_micro_cache_keeps_them_apart(self):
        self.run_flow(True)


class TotpReview16Test(TotpCase):
    """Review 16 (an attacker's view of the second factor)."""

    def test_review16_password_change_drops_the_pending_secret(self):
        # A thief's session reads the setup secret while the factor is
        # off. The owner notices, changes the password (which ends every
        # other session), then turns the factor on: the secret scanned
        # must not be the one the thief read.
        self.start()
        thief = self.ag.login_cookie(USER, PASSWORD)
        seen = self.get_json('/auth/totp', thief).json()['secret']
        owner = self.ag.login_cookie(USER, PASSWORD)
        r = self.post_json('/auth/password/change',
                           {'current': PASSWORD,
                            'password': 'a brand new password'}, owner)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ag.check(thief).status, 401)
        r = self.get_json('/auth/totp', owner)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json()['secret'], seen,
                            'the thief knows the secret about to be enabled')

    def test_review16_cli_passwd_drops_the_pending_secret(self):
        self.start()
        thief = self.ag.login_cookie(USER, PASSWORD)
        seen = self.get_json('/auth/totp', thief).json()['secret']
        r = self.ag.cli('user', 'passwd', USER, input='another password 1\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        owner = self.ag.login_cookie(USER, 'another password 1')
        self.assertNotEqual(self.get_json('/auth/totp', owner)
                            .json()['secret'], seen)

    def test_review16_disable_voids_pending_logins(self):
        # doc/design.md: the token "carries the generation, so a password
        # change, disabling or log out everywhere voids it".
        self.start()
        steps, _, cookie = self.enable()
        pending = self.password_step()
        r = self.post_json('/auth/totp/disable', {'password': PASSWORD},
                           cookie)
        self.assertEqual(r.status, 200, r)
        r = self.get_json('/auth/totp', cookie)
        again = Steps(r.json()['secret'])
        r = self.post_json('/auth/totp/enable', {'code': again.fresh_code()},
                           cookie)
        self.assertEqual(r.status, 200, r)
        r = self.code_step(pending, again.fresh_code())
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])

    def test_review16_enable_ends_other_sessions(self):
        # Finding 3: a session stolen before the owner turned the factor
        # on must not keep passing /check. Enabling ends every other
        # session of the user (every tier: the check before it cached
        # the session); the enabling session stays, without mfa (it was
        # not made with the factor); another user's session is untouched.
        self.start(memcached=True)
        stolen = self.ag.login_cookie(USER, PASSWORD)
        owner = self.ag.login_cookie(USER, PASSWORD)
        other = self.ag.login_cookie(OTHER, PASSWORD)
        for c in (stolen, owner, other):
            for _ in range(2):   # from the store, then from the caches
                self.assertEqual(self.ag.check(c).status, 200)
        steps = Steps(self.get_json('/auth/totp', owner).json()['secret'])
        r = self.post_json('/auth/totp/enable', {'code': steps.fresh_code()},
                           owner)
        self.assertEqual(r.status, 200, r)
        for _ in range(2):
            self.assertEqual(self.ag.check(stolen).status, 401)
            r = self.ag.check(owner)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-auth-mfa'), '0', r)
            self.assertEqual(self.ag.check(owner, query='mfa=1').status,
                             403)
            self.assertEqual(self.ag.check(other).status, 200)
        self.assertEqual(self.get_json('/auth/session', stolen).status, 401)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM sessions s JOIN users u '
            'ON u.id = s.user_id WHERE u.email = ?', USER)[0][0], 1)
        # Sessions made from now on need the code.
        self.password_step()

    def test_review16_logout_all_voids_pending_logins(self):
        self.start()
        steps, _, cookie = self.enable()
        pending = self.password_step()
        r = self.post_json('/auth/logout', {'all': True}, cookie)
        self.assertEqual(r.status, 200, r)
        r = self.code_step(pending, steps.fresh_code())
        self.assertEqual(r.status, 401, r)
        self.assertIn('sign in again', r.json()['error'])

    def test_review16_concurrent_codes_stay_under_the_limit(self):
        import concurrent.futures
        self.start(login_max_per_account=3, workers=4)
        steps, _, _ = self.enable()
        pendings = [self.password_step() for _ in range(4)]
        wrong = steps.wrong_code()

        def one(i):
            return self.code_step(pendings[i % 4], wrong,
                                  addr='198.51.100.%d' % (i % 200 + 1)).status
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            got = list(ex.map(one, range(64)))
        self.assertLessEqual(sum(1 for s in got if s == 401), 3, got)

    def test_review16_same_code_two_pendings_concurrently(self):
        import concurrent.futures
        self.start(workers=4)
        steps, _, _ = self.enable()
        pendings = [self.password_step() for _ in range(8)]
        code = steps.fresh_code()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda p: self.code_step(p, code).status,
                              pendings))
        self.assertEqual(got.count(200), 1, got)


if __name__ == '__main__':
    unittest.main()
