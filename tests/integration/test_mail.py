"""Registration, verification and the durable mail outbox (SPEC sections
4-5, issue 5), through nginx where a browser would go, with capturing mail
commands and a real MTA client (msmtp) talking to a local SMTP sink."""

import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.parse

import harness
from harness import Nginx, wait_for

PASSWORD = 'correct horse battery'
LINK_RE = re.compile(r'(?m)^(http://\S+/auth/verify\?token=([A-Za-z0-9_-]+))\r?$')


def write_script(path, text):
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + text)
    os.chmod(path, 0o755)
    return path


class SmtpSink:
    """A minimal SMTP server on loopback that keeps each message."""

    def __init__(self):
        self.messages = []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.session(conn.makefile('rwb'))

    def session(self, f):
        def say(line):
            f.write(line.encode() + b'\r\n')
            f.flush()
        say('220 sink ESMTP')
        data = None
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode('latin-1').strip()
            if data is not None:
                if cmd == '.':
                    self.messages.append(b''.join(data).decode('utf-8'))
                    data = None
                    say('250 queued')
                else:
                    data.append(line[1:] if line.startswith(b'..') else line)
                continue
            verb = cmd.split(' ', 1)[0].upper()
            if verb in ('EHLO', 'HELO'):
                say('250 sink')
            elif verb == 'DATA':
                data = []
                say('354 go on')
            elif verb == 'QUIT':
                say('221 bye')
                return
            else:
                say('250 ok')

    def stop(self):
        self.stopping = True
        self.sock.close()


class MailTest(harness.TestCase):

    def start(self, nginx=False, **conf):
        conf.setdefault('mail_retry', 1)
        conf.setdefault('mail_timeout', 2)
        self.ag = self.authgw(**conf)
        self.dump_logs_on_failure(self.ag)
        self.ag.start()
        if nginx:
            self.nginx = self.track(Nginx(self.tmpdir, self.ag).start())
        return self.ag

    def mails(self):
        try:
            with open(os.path.join(self.tmpdir, 'mail.out')) as f:
                return f.read()
        except OSError:
            return ''

    def post(self, path, body):
        return self.ag.fcgi(path, 'POST', headers={
            'Content-Type': 'application/json',
            'Accept': 'application/json'}, body=json.dumps(body).encode())

    def register(self, email, password=PASSWORD):
        return self.post('/auth/register', {'email': email,
                                            'password': password})

    def outbox(self):
        return self.ag.query('SELECT id, attempts, sent, length(message) '
                             'FROM outbox ORDER BY id')

    def test_journey_through_nginx(self):
        self.start(nginx=True)
        c = harness.Client(self.nginx.port)
        r = c.request('POST', '/auth/register',
                      json={'email': 'New@Example.COM', 'password': PASSWORD})
        self.assertEqual(r.status, 202, r)
        # Stored normalised (domain lower-cased).
        self.assertEqual(self.ag.query('SELECT email, verified FROM users'),
                         [('New@example.com', 0)])
        # Unverified: 403, and the page offers a new link.
        page = c.request('GET', '/auth/login')
        csrf = harness.html_field(page.text, 'csrf')
        r = c.request('POST', '/auth/login', form={
            'email': 'new@example.com', 'password': PASSWORD, 'csrf': csrf},
            headers={'Accept': 'text/html'})
        self.assertEqual(r.status, 403, r)
        self.assertIn('/auth/verify/resend', r.text)
        text = wait_for(self.mails, timeout=10, what='the mail')
        for h in ('Date: ', 'From: ', 'To: New@example.com', 'Subject: ',
                  'Message-ID: <', 'Content-Type: text/plain; charset=UTF-8'):
            self.assertIn(h, text)
        link, token = LINK_RE.search(text).groups()
        u = urllib.parse.urlsplit(link)
        self.assertEqual(u.scheme + '://' + u.netloc, self.ag.base_url)
        # Opening the link shows a form and changes nothing (a mail
        # scanner may open it first); the password chosen at registration,
        # posted with the form, verifies the address and signs in.
        page = c.request('GET', u.path + '?' + u.query,
                         headers={'Accept': 'text/html'})
        self.assertEqual(page.status, 200, page)
        self.assertEqual(c.request('GET', u.path + '?' + u.query).status, 200)
        self.assertEqual(self.ag.query('SELECT verified FROM users'), [(0,)])
        r = c.request('POST', '/auth/verify', headers={'Accept': 'text/html'},
                      form={'token': harness.html_field(page.text, 'token'),
                            'password': PASSWORD,
                            'csrf': harness.html_field(page.text, 'csrf')})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header('location'), self.ag.base_url + '/')
        self.assertEqual(c.request('GET', '/auth/session').status, 200)
        self.assertEqual(c.request('GET', u.path + '?' + u.query).status, 410)
        r = c.request('POST', '/auth/login', json={
            'email': 'new@example.com', 'password': PASSWORD})
        self.assertEqual(r.status, 200, r)
        # The token is stored only hashed; the sent body is scrubbed.
        wait_for(lambda: self.outbox() and self.outbox()[0][3] == 0,
                 timeout=5, what='scrubbed body')
        self.assertEqual(self.ag.query(
            'SELECT count(*) FROM outbox WHERE message LIKE ?',
            '%' + token + '%')[0][0], 0)

    def test_sign_up_form_in_a_browser(self):
        self.start(nginx=True)
        c = harness.Client(self.nginx.port)
        html = {'Accept': 'text/html'}
        login = c.request('GET', '/auth/login', headers=html)
        self.assertIn('href="/auth/register"', login.text)
        page = c.request('GET', '/auth/register', headers=html)
        self.assertEqual(page.status, 200, page)
        csrf = harness.html_field(page.text, 'csrf')
        self.assertTrue(csrf)
        r = c.request('POST', '/auth/register', headers=html, form={
            'email': 'form@example.com', 'password': 'short', 'csrf': csrf})
        self.assertEqual(r.status, 400, r)
        self.assertIn('8 to 1024', r.text)
        self.assertIn('value="form@example.com"', r.text)
        r = c.request('POST', '/auth/register', headers=html, form={
            'email': 'form@example.com', 'password': PASSWORD})
        self.assertEqual(r.status, 403, 'no CSRF token: %r' % r)
        r = c.request('POST', '/auth/register', headers=html, form={
            'email': 'form@example.com', 'password': PASSWORD, 'csrf': csrf})
        self.assertEqual(r.status, 202, r)
        self.assertIn('Check your mail', r.text)
        wait_for(lambda: 'To: form@example.com' in self.mails(), timeout=10)

    def test_sign_up_closed(self):
        self.start(registration=False)
        r = self.ag.fcgi('/auth/register', headers={'Accept': 'text/html'})
        self.assertEqual(r.status, 403, r)
        login = self.ag.fcgi('/auth/login', headers={'Accept': 'text/html'})
        self.assertIn('href=""', login.text)
        self.assertNotIn('/auth/register"', login.text)

    def test_register_is_enumeration_resistant(self):
        # A hash that costs tens of milliseconds, so that a path skipping
        # it would show against the test's own reference below.
        self.start(scrypt_log2n=14, scrypt_r=8, scrypt_p=1)
        self.ag.add_user('taken@example.com', PASSWORD)
        r0 = time.time()
        self.post('/auth/login', {'email': 'taken@example.com',
                                  'password': 'a wrong password'})
        hash_cost = time.time() - r0     # one scrypt and a round trip
        t0 = time.time()
        r1 = self.register('taken@example.com')
        t1 = time.time()
        r2 = self.register('free@example.com')
        t2 = time.time()
        self.assertEqual((r1.status, r1.body), (r2.status, r2.body))
        self.assertEqual(r1.status, 202)
        # Comparable cost: both hash the password (within a factor).
        self.assertLess(abs((t1 - t0) - (t2 - t1)), 0.5)
        self.assertGreater(t1 - t0, 0.3 * hash_cost, 'existing: no hash?')
        self.assertGreater(t2 - t1, 0.3 * hash_cost, 'new: no hash?')
        text = wait_for(lambda: self.mails().count('Date:') >= 2 and
                        self.mails(), timeout=10, what='two mails')
        self.assertIn('already has an account', text)
        self.assertEqual(self.ag.query(
            "SELECT count(*) FROM users WHERE email = 'taken@example.com'")
            [0][0], 1)

    def test_no_pre_takeover_by_a_first_registrant(self):
        # An attacker registers the victim's address first; the victim
        # registers too and uses the link from their own registration.
        self.start()
        self.assertEqual(self.register('victim@example.com',
                                       'attacker password').status, 202)
        wait_for(lambda: self.mails().count('Date:') >= 1, timeout=10)
        self.assertEqual(self.register('victim@example.com',
                                       'victim password').status, 202)
        text = wait_for(lambda: self.mails().count('Date:') >= 2 and
                        self.mails(), timeout=10, what='two mails')
        victims_link, victims_token = LINK_RE.findall(text)[-1]
        u = urllib.parse.urlsplit(victims_link)
        self.assertEqual(self.ag.fcgi(u.path, query=u.query).status, 200)
        self.assertEqual(self.post('/auth/verify', {
            'token': victims_token, 'password': 'victim password'}).status,
            200)
        login = lambda pw: self.post('/auth/login', {
            'email': 'victim@example.com', 'password': pw}).status
        self.assertEqual(login('victim password'), 200)
        self.assertEqual(login('attacker password'), 401)
        # The attacker's link died with the verification.
        first = urllib.parse.urlsplit(LINK_RE.findall(text)[0][0])
        self.assertEqual(self.ag.fcgi(first.path, query=first.query).status,
                         410)
        self.assertEqual(login('victim password'), 200)
        self.assertEqual(self.ag.query(
            "SELECT count(*) FROM verify_tokens WHERE pwhash != ''")[0][0], 0)

    def test_link_expires(self):
        self.start(verify_token_ttl=1)
        self.register('late@example.com')
        link, token = LINK_RE.search(wait_for(self.mails,
                                              timeout=10)).groups()
        time.sleep(2.1)
        u = urllib.parse.urlsplit(link)
        r = self.ag.fcgi(u.path, query=u.query)
        self.assertEqual(r.status, 410, r)
        r = self.post('/auth/verify', {'token': token, 'password': PASSWORD})
        self.assertEqual(r.status, 410, r)
        self.assertEqual(self.ag.query('SELECT verified FROM users'), [(0,)])

    def test_bad_tokens_are_410_and_write_nothing(self):
        self.start()
        for q in ('token=' + 'A' * 43, 'token=short', 'token=%00', ''):
            self.assertEqual(self.ag.fcgi('/auth/verify', query=q).status,
                             410, q)
        self.assertEqual(self.ag.query('SELECT count(*) FROM verify_tokens')
                         [0][0], 0)

    def test_resend_and_rate_limits(self):
        self.start(login_max_per_account=2, login_max_per_ip=50)
        self.register('slow@example.com')
        r = self.post('/auth/verify/resend', {'email': 'slow@example.com'})
        self.assertEqual(r.status, 202, r)
        r = self.post('/auth/verify/resend', {'email': 'slow@example.com'})
        self.assertEqual(r.status, 429, r)
        self.assertTrue(int(r.header('retry-after')) >= 1)
        # Counters of their own: logins are not affected.
        self.ag.add_user('ok@example.com', PASSWORD)
        r = self.post('/auth/login', {'email': 'ok@example.com',
                                      'password': PASSWORD})
        self.assertEqual(r.status, 200, r)

    def test_failing_command_retried_then_delivered_once(self):
        count = os.path.join(self.tmpdir, 'count')
        out = os.path.join(self.tmpdir, 'mail.out')
        cmd = write_script(os.path.join(self.tmpdir, 'flaky.sh'), (
            'n=$(cat %s 2>/dev/null || echo 0); n=$((n + 1)); echo $n > %s\n'
            '[ $n -le 3 ] && exit 75\ncat >> %s\n') % (count, count, out))
        self.start(mail_command=cmd)
        self.register('retry@example.com')
        wait_for(lambda: 'retry@example.com' in self.mails(), timeout=20,
                 what='delivery after three failures')
        time.sleep(2)
        self.assertEqual(self.mails().count('To: retry@example.com'), 1)
        with open(count) as f:
            self.assertEqual(f.read().strip(), '4')
        (mid, attempts, sent, length), = self.outbox()
        self.assertEqual((attempts, length), (3, 0))
        self.assertGreater(sent, 0)

    def test_hanging_command_killed_and_retried(self):
        count = os.path.join(self.tmpdir, 'count')
        out = os.path.join(self.tmpdir, 'mail.out')
        cmd = write_script(os.path.join(self.tmpdir, 'hang.sh'), (
            'n=$(cat %s 2>/dev/null || echo 0); n=$((n + 1)); echo $n > %s\n'
            '[ $n -eq 1 ] && exec sleep 60\ncat >> %s\n') % (count, count, out))
        self.start(mail_command=cmd, mail_timeout=1)
        self.register('hang@example.com')
        wait_for(lambda: 'hang@example.com' in self.mails(), timeout=20,
                 what='delivery after a time-out')
        self.assertIn('timed out', self.ag.log())

    def test_restart_with_queued_mail(self):
        failing = write_script(os.path.join(self.tmpdir, 'fail.sh'),
                               'exit 1\n')
        self.start(mail_command=failing, mail_retry=1)
        self.register('queued@example.com')
        wait_for(lambda: self.outbox() and self.outbox()[0][1] >= 1,
                 timeout=10, what='a failed try')
        self.assertEqual(self.ag.stop(), 0)
        self.ag.write_config(mail_command=self.ag._write_mailer())
        self.ag.start()
        wait_for(lambda: 'queued@example.com' in self.mails(), timeout=20,
                 what='delivery after the restart')

    def test_cgi_mail_sent_by_the_maintenance_command(self):
        # Plain CGI: no master; cron runs `authgw maintenance`.
        ag = self.authgw(mail_retry=1, mail_timeout=2)
        body = json.dumps({'email': 'cgi@example.com',
                           'password': PASSWORD}).encode()
        r = harness.cgi_request({
            'REQUEST_METHOD': 'POST', 'REQUEST_URI': '/auth/register',
            'CONTENT_TYPE': 'application/json', 'HTTP_ACCEPT':
            'application/json', 'CONTENT_LENGTH': str(len(body)),
            'REMOTE_ADDR': '127.0.0.1'}, body, config=ag.config_path)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.mails(), '')
        r = ag.cli('maintenance')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('To: cgi@example.com', self.mails())
        self.assertEqual(ag.cli('maintenance', 'x').returncode, 64)

    def test_real_mta_client(self):
        msmtp = shutil.which('msmtp')
        if msmtp is None:
            self.skipTest('msmtp is not installed')
        sink = SmtpSink()
        self.addCleanup(sink.stop)
        rc = os.path.join(self.tmpdir, 'msmtprc')
        with open(rc, 'w') as f:
            f.write('account default\nhost 127.0.0.1\nport %d\n'
                    'from authgw@example.org\nauth off\ntls off\n'
                    % sink.port)
        os.chmod(rc, 0o600)
        self.start(mail_command='%s -C %s -t' % (msmtp, rc),
                   mail_from='authgw@example.org')
        self.register('smtp@example.com')
        wait_for(lambda: sink.messages, timeout=15, what='an SMTP delivery')
        msg = sink.messages[0]
        self.assertIn('To: smtp@example.com', msg)
        self.assertTrue(LINK_RE.search(msg.replace('\r\n', '\n')), msg)


if __name__ == '__main__':
    harness.run_modules()
