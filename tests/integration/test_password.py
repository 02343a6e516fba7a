"""Account recovery and password change (SPEC 4, issue 13): POST
/password/forgot answers 202 alike for every address and queues a link
only for an enabled account; GET /password/reset shows a form and changes
nothing; POST /password/reset sets the password (single use, 410 for a
used, unknown, expired or stale link), verifies the address and ends every
session in every tier; POST /password/change needs the current password
(a wrong one is a failed login) and ends every other session. Notices go
through the outbox; notify_login mails a login from a new place."""

import json
import os
import re
import time
import urllib.parse

import harness
from harness import Memcached, Nginx, wait_for

PASSWORD = 'correct horse battery'
NEW = 'a brand new passphrase'
EMAIL = 'user@example.com'
DISABLED = 'gone@example.com'
UNKNOWN = 'nobody@example.com'
LINK_RE = re.compile(
    r'(?m)^(http://\S+/auth/password/reset\?token=([A-Za-z0-9_-]+))\r?$')
JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
HTML = {'Accept': 'text/html'}


class PasswordCase(harness.TestCase):

    def start(self, nginx=False, memcached=False, **conf):
        conf.setdefault('login_max_per_ip', 100)
        if memcached:
            self.mc = self.track(Memcached(self.tmpdir).start())
            conf.setdefault('memcached', self.mc.addr)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.add_user(EMAIL, PASSWORD)
        self.ag.add_user(DISABLED, PASSWORD)
        self.assertEqual(self.ag.cli('user', 'disable', DISABLED).returncode,
                         0)
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

    def messages(self):
        """The mails sent so far, each as (To, Subject, body)."""
        out = []
        for m in re.split(r'(?m)^(?=Date: )', self.mails()):
            to = re.search(r'(?m)^To: (.*?)\r?$', m)
            subj = re.search(r'(?m)^Subject: (.*?)\r?$', m)
            if to and subj:
                out.append((to.group(1), subj.group(1), m))
        return out

    def wait_outbox_empty(self):
        wait_for(lambda: self.ag.query(
            'SELECT count(*) FROM outbox WHERE sent = 0')[0][0] == 0,
            timeout=15, what='the outbox sent')

    def post_json(self, path, body, cookie=None, addr='127.0.0.1',
                  headers=None):
        h = dict(JSON)
        if cookie is not None:
            h['Cookie'] = '%s=%s' % (self.ag.cookie_name, cookie)
        h.update(headers or {})
        return self.ag.fcgi(path, 'POST', headers=h,
                            body=json.dumps(body).encode(),
                            extra={'REMOTE_ADDR': addr})

    def forgot(self, email=EMAIL, addr='127.0.0.1'):
        return self.post_json('/auth/password/forgot', {'email': email},
                              addr=addr)

    def links(self, n=1):
        text = wait_for(lambda: len(LINK_RE.findall(self.mails())) >= n and
                        self.mails(), timeout=15, what='%d link(s)' % n)
        return [t for _, t in LINK_RE.findall(text)]

    def reset(self, token, password=NEW):
        return self.post_json('/auth/password/reset',
                              {'token': token, 'password': password})

    def login(self, email=EMAIL, password=PASSWORD, **kw):
        return self.post_json('/auth/login', {'email': email,
                                              'password': password}, **kw)

    def cookie(self, r):
        c = r.set_cookies().get(self.ag.cookie_name)
        self.assertTrue(c and c[0], 'no session cookie: %r' % r)
        return c[0]

    def state(self):
        """Everything these routes may write."""
        q = self.ag.query
        return (q('SELECT id, email, pwhash, verified, disabled, gen '
                  'FROM users ORDER BY id'),
                q('SELECT id, used FROM reset_tokens ORDER BY id'),
                q('SELECT id, token_hash FROM sessions ORDER BY id'),
                q('SELECT count(*) FROM outbox'))


class ForgotTest(PasswordCase):

    def mails_queued(self):
        r = self.ag.fcgi('/auth/metrics', extra={'REMOTE_ADDR': '127.0.0.1'})
        m = re.search(r'^authgw_mails_queued_total (\d+)$', r.text, re.M)
        self.assertIsNotNone(m, r.text)
        return int(m.group(1))

    def test_same_answer_for_every_address(self):
        self.start()
        answers = []
        for e in (EMAIL, UNKNOWN, DISABLED):
            # /metrics counts a mail queued for each alike (the review
            # found it counted the real account's only).
            before = self.mails_queued()
            answers.append(self.forgot(e))
            self.assertEqual(self.mails_queued() - before, 1, e)
        for r in answers:
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.body, answers[0].body)
            self.assertEqual(sorted(r.headers), sorted(answers[0].headers))
        html = [self.ag.fcgi('/auth/password/forgot', 'POST', headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'text/html', 'Origin': self.ag.base_url},
            body=urllib.parse.urlencode({'email': e}).encode())
            for e in (EMAIL, UNKNOWN, DISABLED)]
        for r in html:
            self.assertEqual(r.status, 202, r)
        # The pages differ only in their CSRF nonce (none here: no form).
        self.assertEqual(html[0].body, html[1].body)
        self.assertEqual(html[0].body, html[2].body)
        # Queued for the real account only: two links, both to it.
        self.wait_outbox_empty()
        self.assertEqual(self.ag.query('SELECT count(*) FROM outbox')[0][0],
                         2)
        self.assertEqual(self.ag.query(
            'SELECT DISTINCT recipient FROM outbox'), [(EMAIL,)])
        self.assertEqual(self.ag.query(
            'SELECT count(*), count(DISTINCT user_id) FROM reset_tokens')[0],
            (2, 1))
        msgs = self.messages()
        self.assertEqual([m[0] for m in msgs], [EMAIL, EMAIL])
        self.assertEqual(len(self.links(2)), 2)
        # Stored hashed only: no link token in the database.
        for t in self.links(2):
            self.assertFalse(self.ag.query(
                'SELECT count(*) FROM reset_tokens WHERE token_hash = ?',
                t.encode())[0][0])
        # Each request has its security log line, with no token in it.
        log = self.ag.log()
        self.assertEqual(log.count('event=reset_requested'), 6)
        for t in self.links(2):
            self.assertNotIn(t, log)

    def test_bad_email_is_400_and_writes_nothing(self):
        self.start()
        before = self.state()
        for body in ({}, {'email': ''}, {'email': 'no-at-sign'},
                     {'email': 'a@' + 'b' * 300}, {'email': 5}):
            r = self.post_json('/auth/password/forgot', body)
            self.assertEqual(r.status, 400, (body, r))
        self.assertEqual(self.state(), before)
        self.assertEqual(self.ag.query('SELECT count(*) FROM attempts')[0][0],
                         0)

    def test_rate_limited_on_counters_of_its_own(self):
        self.start(login_max_per_account=2)
        for _ in range(2):
            self.assertEqual(self.forgot().status, 202)
        r = self.forgot()
        self.assertEqual(r.status, 429, r)
        self.assertGreaterEqual(int(r.header('retry-after')), 1)
        # An unknown address is limited alike (no enumeration by 429).
        for _ in range(2):
            self.assertEqual(self.forgot(UNKNOWN).status, 202)
        self.assertEqual(self.forgot(UNKNOWN).status, 429)
        # Logins, registration and resend keep their own counters.
        self.assertEqual(self.login().status, 200)
        r = self.post_json('/auth/verify/resend', {'email': EMAIL})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM attempts WHERE kind IN (5, 6)')[0][0], 8)

    def test_rate_limited_per_client_address(self):
        self.start(login_max_per_ip=3)
        for i in range(3):
            self.assertEqual(self.forgot('u%d@example.com' % i,
                                         addr='192.0.2.9').status, 202)
        r = self.forgot(addr='192.0.2.9')
        self.assertEqual(r.status, 429, r)
        self.assertIn('retry-after', dict(r.headers))
        self.assertEqual(self.forgot(addr='192.0.2.10').status, 202)

    def test_login_page_links_to_the_forgot_form(self):
        self.start()
        page = self.ag.fcgi('/auth/login', headers=HTML)
        self.assertIn('href="/auth/password/forgot"', page.text)
        form = self.ag.fcgi('/auth/password/forgot', headers=HTML)
        self.assertEqual(form.status, 200, form)
        self.assertIn('action="/auth/password/forgot"', form.text)
        self.assertTrue(harness.html_field(form.text, 'csrf'))
        self.assertNotIn('<script', form.text.lower())


class ResetTest(PasswordCase):

    def test_html_flow_through_nginx(self):
        self.start(nginx=True)
        c = harness.Client(self.nginx.port)
        page = c.get('/auth/password/forgot', headers=HTML)
        self.assertEqual(page.status, 200, page)
        r = c.post('/auth/password/forgot', headers=HTML, form={
            'csrf': harness.html_field(page.text, 'csrf'), 'email': EMAIL})
        self.assertEqual(r.status, 202, r)
        link, token = LINK_RE.findall(wait_for(
            lambda: LINK_RE.search(self.mails()) and self.mails(),
            timeout=15, what='the link'))[0]
        self.assertTrue(link.startswith(self.ag.base_url +
                                        '/auth/password/reset?token='))
        other = self.ag.login_cookie(EMAIL, PASSWORD)
        before = self.state()
        # A scanner opening the link (GET, HEAD, JSON) changes nothing.
        for h in (HTML, {'Accept': '*/*'}, {'Accept': 'application/json'}):
            self.assertEqual(c.get('/auth/password/reset?token=' + token,
                                   headers=h).status, 200)
        self.assertEqual(c.request('HEAD', '/auth/password/reset?token=' +
                                   token).status, 200)
        self.assertEqual(self.state(), before)
        page = c.get('/auth/password/reset?token=' + token, headers=HTML)
        self.assertEqual(harness.html_field(page.text, 'token'), token)
        self.assertIn('action="/auth/password/reset"', page.text)
        self.assertIn(EMAIL, page.text)
        self.assertNotIn('<script', page.text.lower())
        # Too short: the form again, nothing changed.
        csrf = harness.html_field(page.text, 'csrf')
        r = c.post('/auth/password/reset', headers=HTML, form={
            'csrf': csrf, 'token': token, 'password': 'short'})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(harness.html_field(r.text, 'token'), token)
        self.assertEqual(self.state(), before)
        r = c.post('/auth/password/reset', headers=HTML, form={
            'csrf': csrf, 'token': token, 'password': NEW})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), '/auth/login')
        self.assertEqual(self.ag.check(other).status, 401)
        self.assertEqual(self.login().status, 401)
        self.assertEqual(self.login(password=NEW).status, 200)
        self.assertEqual(c.get('/auth/password/reset?token=' + token,
                               headers=HTML).status, 410)
        # The shipped nginx.conf keeps the link out of its access log
        # (which logged other requests of this test).
        with open(os.path.join(self.nginx.dir, 'access.log')) as f:
            log = f.read()
        self.assertIn('/auth/password/forgot', log)
        self.assertNotIn(token, log)
        self.assertNotIn('token=', log)

    def test_json_flow_verifies_and_notifies(self):
        self.start()
        self.ag.add_user('new@example.com', PASSWORD, verified=False)
        self.assertEqual(self.forgot('new@example.com').status, 202)
        token, = self.links()
        r = self.ag.fcgi('/auth/password/reset', query='token=' + token,
                         headers={'Accept': 'application/json'})
        self.assertEqual((r.status, r.json()), (200, {'valid': True}))
        r = self.reset(token)
        self.assertEqual((r.status, r.json()), (200, {'ok': True}), r)
        self.assertNotIn(self.ag.cookie_name, r.set_cookies())
        self.assertEqual(self.ag.query(
            'SELECT verified FROM users WHERE email = ?',
            'new@example.com')[0][0], 1)
        self.assertEqual(self.login('new@example.com', NEW).status, 200)
        wait_for(lambda: any(s == 'Your password was changed'
                             for _, s, _ in self.messages()),
                 timeout=15, what='the notice')
        stats = self.ag.fcgi('/auth/metrics',
                             extra={'REMOTE_ADDR': '127.0.0.1'}).text
        self.assertIn('authgw_password_resets_total 1', stats)
        log = self.ag.log()
        self.assertIn('event=reset_done', log)
        self.assertNotIn(token, log)

    def test_used_twice_is_410(self):
        self.start()
        self.forgot()
        token, = self.links()
        self.assertEqual(self.reset(token).status, 200)
        before = self.state()
        r = self.reset(token, 'yet another password')
        self.assertEqual(r.status, 410, r)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.login(password=NEW).status, 200)

    def test_one_reset_spends_every_other_link(self):
        self.start()
        self.forgot()
        self.forgot()
        first, second = self.links(2)
        self.assertEqual(self.reset(second).status, 200)
        self.assertEqual(self.reset(first, 'another password').status, 410)

    def test_expired_is_410(self):
        self.start(reset_token_ttl=1)
        self.forgot()
        token, = self.links()
        time.sleep(2.1)
        before = self.state()
        self.assertEqual(self.ag.fcgi('/auth/password/reset',
                                      query='token=' + token,
                                      headers=HTML).status, 410)
        self.assertEqual(self.reset(token).status, 410)
        self.assertEqual(self.state(), before)

    def test_link_dies_when_the_account_is_disabled(self):
        self.start()
        self.forgot()
        token, = self.links()
        self.assertEqual(self.ag.cli('user', 'disable', EMAIL).returncode, 0)
        self.assertEqual(self.reset(token).status, 410)
        # Enabled again: the link made before stays dead.
        self.assertEqual(self.ag.cli('user', 'enable', EMAIL).returncode, 0)
        before = self.state()
        self.assertEqual(self.reset(token).status, 410)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.login().status, 200)

    def test_reset_ends_sessions_in_every_tier(self):
        self.start(nginx=True, memcached=True, cache_local_ttl=1)
        tokens = [self.ag.login_cookie(EMAIL, PASSWORD) for _ in range(3)]
        c = harness.Client(self.nginx.port)
        for t in tokens:
            self.assertEqual(self.ag.check(t).status, 200)
            c.cookies[self.ag.cookie_name] = t
            # Past the check (no file there: 404, not the login's 302).
            self.assertEqual(c.get('/private/secret.txt').status, 404)
        time.sleep(1.2)     # out of the host table: memcached answers
        for t in tokens:
            r = self.ag.check(t)
            self.assertEqual(r.header('x-auth-source'), 'cache')
        keys = self.mc.command('lru_crawler metadump all')
        self.assertIn('key=', keys)
        self.forgot()
        link, = self.links()
        self.assertEqual(self.reset(link).status, 200)
        for t in tokens:
            c.cookies[self.ag.cookie_name] = t
            r = c.get('/private/secret.txt')
            # The shipped nginx config sends a refused check to the login.
            self.assertEqual(r.status, 302, r)
            self.assertIn('/auth/login', r.header('location'))
            self.assertEqual(self.ag.check(t).status, 401)
        self.assertEqual(self.ag.query('SELECT count(*) FROM sessions')[0][0],
                         0)

    def test_bad_input_changes_nothing(self):
        self.start()
        self.forgot()
        token, = self.links()
        before = self.state()
        cases = [
            ({'password': NEW}, 400),
            ({'token': '', 'password': NEW}, 400),
            ({'token': token}, 400),
            ({'token': token, 'password': ''}, 400),
            ({'token': token, 'password': 'x' * 7}, 400),
            ({'token': token, 'password': 'x' * 1025}, 400),
            ({'token': 'short', 'password': NEW}, 410),
            ({'token': 'A' * 43, 'password': NEW}, 410),
            ({'token': token + 'A', 'password': NEW}, 410),
            ({'token': 'A' * 5000, 'password': NEW}, 410),
            ({'token': token[:-1] + '\x00', 'password': NEW}, 410),
            ({'token': token[:-1] + '\u00e9', 'password': NEW}, 410),
            ({'token': 12345, 'password': NEW}, 410),
        ]
        for body, status in cases:
            r = self.post_json('/auth/password/reset', body)
            self.assertEqual(r.status, status, (body, r))
        for q in ('', 'token=', 'token=short', 'token=%00',
                  'token=' + 'A' * 43, 'token=' + token + '%0a'):
            self.assertEqual(self.ag.fcgi('/auth/password/reset',
                                          query=q).status, 410, q)
        # A form without CSRF token or Origin: 403.
        r = self.ag.fcgi('/auth/password/reset', 'POST', headers={
            'Content-Type': 'application/x-www-form-urlencoded'},
            body=urllib.parse.urlencode({'token': token,
                                         'password': NEW}).encode())
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.reset(token).status, 200)


class ChangeTest(PasswordCase):

    def change(self, cookie, current=PASSWORD, password=NEW, addr='127.0.0.1'):
        return self.post_json('/auth/password/change',
                              {'current': current, 'password': password},
                              cookie=cookie, addr=addr)

    def test_change_ends_other_sessions_only(self):
        self.start(memcached=True)
        mine = self.ag.login_cookie(EMAIL, PASSWORD)
        others = [self.ag.login_cookie(EMAIL, PASSWORD) for _ in range(2)]
        for t in [mine] + others:
            self.assertEqual(self.ag.check(t).status, 200)
        r = self.change(mine)
        self.assertEqual((r.status, r.json()), (200, {'ok': True}), r)
        self.assertEqual(self.ag.check(mine).status, 200)
        for t in others:
            self.assertEqual(self.ag.check(t).status, 401)
        self.assertEqual(self.login().status, 401)
        self.assertEqual(self.login(password=NEW).status, 200)
        wait_for(lambda: [m for m in self.messages()
                          if m[1] == 'Your password was changed'],
                 timeout=15, what='the notice')
        self.assertIn('event=password_changed', self.ag.log())

    def test_wrong_current_is_401_and_counted(self):
        self.start(login_max_per_account=2)
        mine = self.ag.login_cookie(EMAIL, PASSWORD)
        before = self.state()
        r = self.change(mine, current='not my password')
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM attempts WHERE kind = 1 AND key = ?',
            EMAIL)[0][0], 1)
        wait_for(lambda: 'event=login_failed' in self.ag.log(), timeout=5,
                 what='the log line')
        self.assertEqual(self.change(mine, current='wrong again').status, 401)
        r = self.change(mine)
        self.assertEqual(r.status, 429, r)
        self.assertGreaterEqual(int(r.header('retry-after')), 1)
        self.assertEqual(self.login().status, 429)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.ag.check(mine).status, 200)

    def test_without_a_session_is_401(self):
        self.start()
        before = self.state()
        self.assertEqual(self.change(None).status, 401)
        self.assertEqual(self.change('A' * 43).status, 401)
        r = self.ag.fcgi('/auth/password/change', headers=HTML)
        self.assertEqual(r.status, 303, r)
        self.assertIn('/auth/login?next=', r.header('location'))
        self.assertEqual(self.state(), before)

    def test_bad_input_changes_nothing(self):
        self.start()
        mine = self.ag.login_cookie(EMAIL, PASSWORD)
        before = self.state()
        for body in ({}, {'current': PASSWORD}, {'password': NEW},
                     {'current': '', 'password': NEW},
                     {'current': PASSWORD, 'password': 'short'},
                     {'current': PASSWORD, 'password': 'x' * 1025},
                     {'current': 'x' * 1025, 'password': NEW},
                     {'current': PASSWORD, 'password': ['x']}):
            r = self.post_json('/auth/password/change', body, cookie=mine)
            self.assertEqual(r.status, 400, (body, r))
        self.assertEqual(self.state(), before)
        self.assertEqual(self.ag.query('SELECT count(*) FROM attempts')[0][0],
                         0)

    def test_html_form_through_nginx(self):
        self.start(nginx=True)
        c = harness.Client(self.nginx.port)
        self.assertEqual(c.login(EMAIL, PASSWORD).status, 303)
        other = self.ag.login_cookie(EMAIL, PASSWORD)
        page = c.get('/auth/password/change', headers=HTML)
        self.assertEqual(page.status, 200, page)
        self.assertIn('action="/auth/password/change"', page.text)
        self.assertNotIn('<script', page.text.lower())
        csrf = harness.html_field(page.text, 'csrf')
        # Without the CSRF token: 403, nothing changed.
        r = c.post('/auth/password/change', headers=HTML, form={
            'current': PASSWORD, 'password': NEW})
        self.assertEqual(r.status, 403, r)
        r = c.post('/auth/password/change', headers=HTML, form={
            'csrf': csrf, 'current': 'wrong password', 'password': NEW})
        self.assertEqual(r.status, 401, r)
        self.assertIn('wrong current password', r.text)
        r = c.post('/auth/password/change', headers=HTML, form={
            'csrf': csrf, 'current': PASSWORD, 'password': NEW})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), '/auth/password/change?done=1')
        done = c.get(r.header('location'), headers=HTML)
        self.assertIn('Your password was changed', done.text)
        self.assertEqual(c.get('/auth/session').status, 200)
        self.assertEqual(self.ag.check(other).status, 401)


class NotifyLoginTest(PasswordCase):

    def new_login_mails(self):
        self.wait_outbox_empty()
        return [m for m in self.messages()
                if m[1] == 'New sign-in to your account']

    def test_off_by_default(self):
        self.start()
        self.login(addr='192.0.2.1')
        self.login(addr='192.0.2.2')
        self.assertEqual(self.new_login_mails(), [])
        self.assertEqual(self.ag.query('SELECT count(*) FROM login_seen')[0][0],
                         0)

    def test_new_address_or_agent_is_mailed(self):
        self.start(notify_login=True)
        ua = {'User-Agent': 'Browser/1'}
        self.assertEqual(self.login(addr='192.0.2.1', headers=ua).status, 200)
        self.assertEqual(self.new_login_mails(), [])   # the first: recorded
        self.login(addr='192.0.2.1', headers=ua)
        self.assertEqual(self.new_login_mails(), [])   # seen
        self.login(addr='192.0.2.2', headers=ua)
        mails = self.new_login_mails()
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails[0][0], EMAIL)
        self.assertIn('192.0.2.2', mails[0][2])
        self.assertIn('Browser/1', mails[0][2])
        self.login(addr='192.0.2.2', headers={'User-Agent': 'Other/2'})
        self.assertEqual(len(self.new_login_mails()), 2)
        # Seen long ago: mailed again; the newest row of a user stays.
        with self.ag.db() as db:
            db.execute('UPDATE login_seen SET last_seen = last_seen - ?',
                       (91 * 86400,))
        self.login(addr='192.0.2.1', headers=ua)
        self.assertEqual(len(self.new_login_mails()), 3)
        self.assertFalse(self.ag.query(
            "SELECT count(*) FROM login_seen WHERE length(ua_hash) != 32"
        )[0][0])


if __name__ == '__main__':
    harness.run_modules()
