"""Two-step email verification (SPEC 4, issue 10 item 6): GET /verify shows
a form and changes nothing, so a mail scanner or link prefetcher that opens
every link verifies nothing; POST /verify with the password chosen at
registration (the account's current one for a link from /verify/resend)
verifies the address, spends the link and signs the user in. A wrong
password is a failed login of the account and leaves the link usable."""

import json
import re
import threading
import time
import urllib.parse

import harness
from harness import Nginx, wait_for
from test_security_login import HashSlotHolder

PASSWORD = 'correct horse battery'
OTHER = 'another good password'
EMAIL = 'new@example.com'
LINK_RE = re.compile(r'(?m)^(http://\S+/auth/verify\?token=([A-Za-z0-9_-]+))\r?$')
JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}


class VerifyTest(harness.TestCase):

    def start(self, nginx=False, **conf):
        conf.setdefault('login_max_per_ip', 100)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.start()
        if nginx:
            self.nginx = self.track(Nginx(self.tmpdir, self.ag).start())
        return self.ag

    def mails(self):
        try:
            with open(self.tmpdir + '/mail.out') as f:
                return f.read()
        except OSError:
            return ''

    def post_json(self, path, body, addr='127.0.0.1'):
        return self.ag.fcgi(path, 'POST', headers=JSON,
                            body=json.dumps(body).encode(),
                            extra={'REMOTE_ADDR': addr})

    def register(self, email=EMAIL, password=PASSWORD):
        r = self.post_json('/auth/register', {'email': email,
                                              'password': password})
        self.assertEqual(r.status, 202, r)

    def links(self, n=1):
        """The tokens of the first n verification mails, oldest first."""
        text = wait_for(lambda: len(LINK_RE.findall(self.mails())) >= n and
                        self.mails(), timeout=15, what='%d mail(s)' % n)
        return [t for _, t in LINK_RE.findall(text)]

    def get(self, token, headers=None):
        return self.ag.fcgi('/auth/verify', query='token=' + token,
                            headers=headers or {'Accept': 'text/html'})

    def verify(self, token, password, addr='127.0.0.1'):
        return self.post_json('/auth/verify', {'token': token,
                                               'password': password}, addr)

    def login(self, email, password):
        return self.post_json('/auth/login', {'email': email,
                                              'password': password}).status

    def verified(self, email=EMAIL):
        return self.ag.query('SELECT verified FROM users WHERE email = ?',
                             email)[0][0]

    def state(self):
        """Everything a verification may write."""
        q = self.ag.query
        return (q('SELECT id, email, pwhash, verified, gen FROM users '
                  'ORDER BY id'),
                q('SELECT id, token_hash, used, pwhash FROM verify_tokens '
                  'ORDER BY id'),
                q('SELECT count(*) FROM sessions'),
                q('SELECT kind, key FROM attempts ORDER BY id'))

    def session_of(self, r):
        c = r.set_cookies().get(self.ag.cookie_name)
        self.assertTrue(c and c[0], 'no session cookie: %r' % r)
        return c

    def test_get_changes_nothing(self):
        self.start()
        self.register()
        token, = self.links()
        before = self.state()
        for headers in ({'Accept': 'text/html'}, {'Accept': 'text/html'},
                        {'Accept': 'application/json'}):
            r = self.get(token, headers)
            self.assertEqual(self.state(), before, 'GET /verify wrote')
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(self.ag.cookie_name,
                             r.set_cookies(), 'GET signed in: %r' % r)
        r = self.ag.fcgi('/auth/verify', 'HEAD', query='token=' + token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.state(), before, 'HEAD /verify wrote')
        self.assertEqual(self.verified(), 0)
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0],
                         0)
        # The page: a form posting the token and a password, no script.
        page = self.get(token).text
        self.assertEqual(harness.html_field(page, 'token'), token)
        self.assertTrue(harness.html_field(page, 'csrf'))
        self.assertIn('type="password"', page)
        self.assertIn('action="/auth/verify"', page)
        self.assertIn(EMAIL, page)
        self.assertNotIn('<script', page.lower())
        # The link still works after all those GETs.
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.verified(), 1)

    def test_form_post_signs_in_through_nginx(self):
        self.start(nginx=True)
        self.register()
        token, = self.links()
        c = harness.Client(self.nginx.port)
        html = {'Accept': 'text/html'}
        page = c.get('/auth/verify?token=' + token, headers=html)
        self.assertEqual(page.status, 200, page)
        self.assertIn('default-src \'none\'',
                      page.header('content-security-policy'))
        csrf = harness.html_field(page.text, 'csrf')
        r = c.post('/auth/verify', headers=html, form={
            'csrf': csrf, 'token': harness.html_field(page.text, 'token'),
            'password': PASSWORD})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), self.ag.base_url + '/')
        value, attrs = self.session_of(r)
        self.assertIn('httponly', attrs)
        self.assertEqual(attrs.get('samesite'), 'Lax')
        self.assertEqual(attrs.get('path'), '/')
        self.assertEqual(self.ag.check(value).status, 200)
        self.assertEqual(c.get('/auth/session').json()['user']['email'],
                         EMAIL)
        self.assertEqual(self.verified(), 1)
        # Spent: the link is gone for GET and POST alike.
        self.assertEqual(c.get('/auth/verify?token=' + token,
                               headers=html).status, 410)

    def test_json_post_signs_in(self):
        self.start()
        self.register()
        token, = self.links()
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body['user']['email'], EMAIL)
        self.assertIs(body['user']['verified'], True)
        self.assertEqual(body['user']['role'], 'user')
        self.assertIn('expires', body['session'])
        value, _ = self.session_of(r)
        r = self.ag.check(value)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), EMAIL)
        self.assertEqual(self.login(EMAIL, PASSWORD), 200)

    def test_form_post_without_csrf_is_403(self):
        self.start()
        self.register()
        token, = self.links()
        before = self.state()
        body = urllib.parse.urlencode({'token': token,
                                       'password': PASSWORD}).encode()
        r = self.ag.fcgi('/auth/verify', 'POST', body=body, headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'text/html'})
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.verify(token, PASSWORD).status, 200)

    def test_wrong_password_is_401_and_the_link_survives(self):
        self.start()
        self.register()
        token, = self.links()
        r = self.verify(token, 'not my password')
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(self.ag.cookie_name, r.set_cookies())
        self.assertEqual(self.verified(), 0)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM verify_tokens WHERE used = 0')[0][0], 1)
        # A failed login of the account: counted, and in the security log.
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM attempts WHERE kind = 1 AND key = ?',
            EMAIL)[0][0], 1)
        wait_for(lambda: 'event=login_failed' in self.ag.log() and
                 EMAIL in self.ag.log(), timeout=5, what='the log line')
        # A browser gets the form again, the token still in it.
        page = self.get(token)
        body = urllib.parse.urlencode({
            'token': token, 'password': 'still not it',
            'csrf': harness.html_field(page.text, 'csrf')}).encode()
        csrf_cookie = page.set_cookies()[self.ag.cookie_name + '_csrf'][0]
        r = self.ag.fcgi('/auth/verify', 'POST', body=body, headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'text/html',
            'Cookie': '%s_csrf=%s' % (self.ag.cookie_name, csrf_cookie)})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(harness.html_field(r.text, 'token'), token)
        self.assertIn('wrong password', r.text)
        # The right one still works, and clears the account's count.
        self.assertEqual(self.verify(token, PASSWORD).status, 200)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM attempts WHERE kind = 1')[0][0], 0)

    def test_wrong_passwords_are_rate_limited_as_logins(self):
        self.start(login_max_per_account=3)
        self.register()
        token, = self.links()
        for i in range(3):
            r = self.verify(token, 'wrong password %d' % i)
            self.assertEqual(r.status, 401, r)
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 429, r)
        self.assertGreaterEqual(int(r.header('retry-after')), 1)
        # The same counter as the login's, refused before any hashing.
        self.assertEqual(self.login(EMAIL, PASSWORD), 429)
        self.assertEqual(self.verified(), 0)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM verify_tokens WHERE used = 0')[0][0], 1)

    def test_busy_hashing_is_503_and_counts_nothing(self):
        self.start(hash_slots=1, hash_queue=0)
        self.register()
        token, = self.links()
        holder = HashSlotHolder(self.ag.conf['database'])
        self.addCleanup(holder.close)
        holder.hold(0)
        before = self.state()
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.header('retry-after'), '1')
        self.assertEqual(self.state(), before)
        holder.close()
        self.assertEqual(self.verify(token, PASSWORD).status, 200)

    def test_link_is_single_use(self):
        self.start()
        self.register()
        token, = self.links()
        self.assertEqual(self.verify(token, PASSWORD).status, 200)
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 410, r)
        self.assertNotIn(self.ag.cookie_name, r.set_cookies())
        self.assertEqual(self.get(token).status, 410)
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0],
                         1)

    def test_concurrent_posts_sign_in_once(self):
        # Two hashing slots for two workers' worth of POSTs (one worker
        # of the four always stays free for checks).
        self.start(workers=4, hash_slots=2, hash_queue=1)
        self.register()
        token, = self.links()
        out = []
        threads = [threading.Thread(target=lambda: out.append(
            self.verify(token, PASSWORD).status)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(out), [200, 410])
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0],
                         1)

    def test_expired_link_is_410(self):
        self.start(verify_token_ttl=1)
        self.register()
        token, = self.links()
        time.sleep(2.1)
        self.assertEqual(self.get(token).status, 410)
        before = self.state()
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 410, r)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.verified(), 0)

    def test_resend_link_needs_the_current_password(self):
        self.start()
        self.ag.add_user(EMAIL, PASSWORD, verified=False)
        r = self.post_json('/auth/verify/resend', {'email': EMAIL})
        self.assertEqual(r.status, 202, r)
        token, = self.links()
        self.assertEqual(self.ag.query(
            "SELECT pwhash FROM verify_tokens")[0][0], '')
        self.assertEqual(self.verify(token, OTHER).status, 401)
        self.assertEqual(self.verified(), 0)
        r = self.verify(token, PASSWORD)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ag.check(self.session_of(r)[0]).status, 200)
        self.assertEqual(self.login(EMAIL, PASSWORD), 200)

    def test_disabled_account_is_410_like_an_unknown_link(self):
        self.start()
        self.register()
        token, = self.links()
        self.assertEqual(self.ag.cli('user', 'disable', EMAIL).returncode, 0)
        before = self.state()
        unknown = self.verify('A' * 43, PASSWORD)
        self.assertEqual(self.get(token).status, 410)
        r = self.verify(token, PASSWORD)
        self.assertEqual((r.status, r.body), (unknown.status, unknown.body))
        self.assertEqual(self.state(), before)

    def test_scanner_cannot_pre_take_over_an_address(self):
        # The attacker registers the victim's address with the attacker's
        # password; the victim's mail scanner opens every link.
        self.start()
        self.register('victim@example.com', 'attacker password')
        attackers, = self.links()
        for headers in ({'Accept': 'text/html'}, {'Accept': '*/*'},
                        {'Accept': 'application/json'}):
            self.get(attackers, headers)
            self.assertEqual(self.verified('victim@example.com'), 0,
                             'a scanner verified the address')
        self.ag.fcgi('/auth/verify', 'HEAD', query='token=' + attackers)
        self.assertEqual(self.verified('victim@example.com'), 0)
        self.assertNotEqual(self.login('victim@example.com',
                                       'attacker password'), 200)
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0],
                         0)
        # The victim, opening the attacker's link, cannot complete it with
        # their own password.
        self.assertEqual(self.verify(attackers, 'victim password').status,
                         401)
        # The victim registers (the account is not verified: a new link
        # with the victim's password) and uses that link.
        self.register('victim@example.com', 'victim password')
        _, victims = self.links(2)
        self.assertEqual(self.get(victims).status, 200)
        r = self.verify(victims, 'victim password')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.login('victim@example.com', 'victim password'),
                         200)
        self.assertEqual(self.login('victim@example.com',
                                     'attacker password'), 401)
        # The attacker's link died with the verification, and no pending
        # password is left.
        self.assertEqual(self.verify(attackers, 'attacker password').status,
                         410)
        self.assertEqual(self.ag.query(
            "SELECT count(*) FROM verify_tokens WHERE pwhash != ''")[0][0], 0)

    def test_malformed_input_writes_nothing(self):
        self.start()
        self.register()
        token, = self.links()
        before = self.state()
        cases = [
            ({'password': PASSWORD}, 400),
            ({'token': '', 'password': PASSWORD}, 400),
            ({'token': token}, 400),
            ({'token': token, 'password': ''}, 400),
            ({'token': token, 'password': 'x' * 1025}, 400),
            ({'token': 'short', 'password': PASSWORD}, 410),
            ({'token': 'A' * 43, 'password': PASSWORD}, 410),
            ({'token': token + 'A', 'password': PASSWORD}, 410),
            ({'token': 'A' * 5000, 'password': PASSWORD}, 410),
            ({'token': token[:-1] + '\x00', 'password': PASSWORD}, 410),
            ({'token': token[:-1] + '\u00e9', 'password': PASSWORD}, 410),
            ({'token': 12345, 'password': PASSWORD}, 410),
        ]
        for body, status in cases:
            r = self.post_json('/auth/verify', body)
            self.assertEqual(r.status, status, (body, r))
        r = self.ag.fcgi('/auth/verify', 'POST', headers=JSON,
                         body=b'{"token": [1], "password": "x"}')
        self.assertEqual(r.status, 400, r)
        for q in ('', 'token=', 'token=short', 'token=%00', 'token=' + 'A' * 43,
                  'token=' + 'A' * 5000, 'token=' + token + '%0a'):
            self.assertEqual(self.ag.fcgi('/auth/verify', query=q).status,
                             410, q)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.verify(token, PASSWORD).status, 200)


if __name__ == '__main__':
    harness.run_modules()
