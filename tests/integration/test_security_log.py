"""The security log (issue 10 item 13, authgw(8) "SECURITY LOG"): one line
per refused login, 429, 503 for want of a hashing slot, CSRF refusal and
use of a session that is gone, in a stable format with the client address
escaped; and the shipped fail2ban filter finds the addresses to ban in the
lines these requests produce (run with the real fail2ban-regex)."""

import json
import os
import re
import shutil
import subprocess
import time

import harness
from harness import CONF_DIR, wait_for

USER = 'user@example.com'
PASSWORD = 'correct horse battery'
FILTER = os.path.join(CONF_DIR, "fail2ban", "filter.d", "authgw.conf")
LINE = re.compile(r'authgw\[\d+\]: warn: security: event=(\w+) '
                  r'client="([^"]*)" user="([^"]*)" route="([^"]*)"'
                  r'(?: limit="(\w+)")?$')


def json_login(ag, email, password, addr):
    body = json.dumps({'email': email, 'password': password}).encode()
    return ag.fcgi('/auth/login', 'POST', headers={
        'Content-Type': 'application/json', 'Accept': 'application/json'},
        body=body, extra={'REMOTE_ADDR': addr})


class SecurityLogTest(harness.TestCase):

    def setUp(self):
        super().setUp()
        self.ag = self.authgw(login_max_per_account=2, login_max_per_ip=2)
        self.dump_logs_on_failure(self.ag)
        self.ag.add_user(USER, PASSWORD)
        self.ag.start()

    def events(self):
        out = []
        for line in self.ag.log().splitlines():
            m = LINE.search(line)
            if m:
                out.append(m.groups())
        return out

    def produce(self):
        """One of each event from its own address."""
        ag = self.ag
        self.assertEqual(json_login(ag, USER, 'wrong one', '192.0.2.1')
                         .status, 401)
        self.assertEqual(json_login(ag, 'nobody@example.com', 'whatever1',
                                    '192.0.2.2').status, 401)
        self.assertEqual(json_login(ag, USER, 'wrong two', '192.0.2.3')
                         .status, 401)
        self.assertEqual(json_login(ag, USER, 'wrong three', '192.0.2.4')
                         .status, 429)
        # An address's own counter full: the one 429 worth a ban.
        for i in (1, 2):
            self.assertEqual(json_login(ag, 'a%d@example.com' % i, 'wrong',
                                        '192.0.2.8').status, 401)
        self.assertEqual(json_login(ag, 'a3@example.com', 'wrong',
                                    '192.0.2.8').status, 429)
        r = ag.fcgi('/auth/logout', 'POST', headers={
            'Content-Type': 'application/x-www-form-urlencoded'},
            body=b'all=1', extra={'REMOTE_ADDR': '192.0.2.5'})
        self.assertEqual(r.status, 403)
        r = ag.fcgi('/auth/check', headers={
            'Cookie': '%s=%s' % (ag.cookie_name, 'A' * 43)},
            extra={'REMOTE_ADDR': '192.0.2.6'})
        self.assertEqual(r.status, 401)

    def test_one_line_per_event(self):
        self.produce()
        want = [('login_failed', '192.0.2.1', USER, '/login', None),
                ('login_failed', '192.0.2.2', 'nobody@example.com',
                 '/login', None),
                ('login_failed', '192.0.2.3', USER, '/login', None),
                ('rate_limited', '192.0.2.4', USER, '/login', 'account'),
                ('login_failed', '192.0.2.8', 'a1@example.com', '/login',
                 None),
                ('login_failed', '192.0.2.8', 'a2@example.com', '/login',
                 None),
                ('rate_limited', '192.0.2.8', 'a3@example.com', '/login',
                 'addr'),
                ('csrf_refused', '192.0.2.5', '-', '/logout', None),
                ('session_unknown', '192.0.2.6', '-', '/check', None)]
        wait_for(lambda: len(self.events()) >= len(want),
                 what='the security lines')
        self.assertEqual(self.events(), want)
        # No secret: neither password nor cookie value.
        log = self.ag.log()
        for secret in ('wrong one', 'whatever1', 'A' * 43):
            self.assertNotIn(secret, log)

    def test_client_address_is_escaped(self):
        hostile = '10.0.0.1" user="admin\nauthgw[1]: warn: security: x'
        self.assertEqual(json_login(self.ag, USER, 'wrong', hostile)
                         .status, 401)
        wait_for(lambda: self.events(), what='the line')
        (event, client, user, route, _), = self.events()
        self.assertEqual(event, 'login_failed')
        self.assertEqual(client, '10.0.0.1\\x22 user=\\x22admin\\x0a'
                         'authgw[1]: warn: security: x')
        self.assertEqual(user, USER)

    def test_fail2ban_filter_finds_the_addresses(self):
        regex = shutil.which('fail2ban-regex')
        if regex is None:
            self.skipTest('fail2ban-regex not installed')
        self.produce()
        wait_for(lambda: len(self.events()) >= 9, what='the lines')
        path = os.path.join(self.tmpdir, 'security.log')
        with open(path, 'w') as f:
            f.write(self.ag.log())
        r = subprocess.run([regex, '--print-all-matched', path, FILTER],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r'Lines: \d+ lines, 0 ignored, 7 matched')
        matched = r.stdout[r.stdout.index('Matched line(s):'):
                           r.stdout.index('Missed line(s):')]
        for addr in ('192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.5',
                     '192.0.2.8'):
            self.assertIn('client="%s"' % addr, matched)
        self.assertIn('event=rate_limited client="192.0.2.8"', matched)
        # An account's full counter is no evidence against the address
        # (it may be the account's owner); an unknown cookie is ordinary.
        self.assertNotIn('192.0.2.4', matched)
        self.assertNotIn('192.0.2.6', matched)

    def test_cheap_events_are_bounded(self):
        """A client sending cookies of no session cannot write unbounded
        lines: at most SECLOG_BURST (20) a second per process; a second
        that dropped some says how many when the next event comes."""
        sent = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.ag.fcgi('/auth/check', headers={
                'Cookie': '%s=%s' % (self.ag.cookie_name,
                                     ('%043d' % sent).replace('0', 'A'))},
                extra={'REMOTE_ADDR': '198.51.100.9'})
            sent += 1
            if sent > 100 and 'not written in one second' in self.ag.log():
                break
        self.assertIn('not written in one second', self.ag.log())
        n = len([e for e in self.events() if e[0] == 'session_unknown'])
        self.assertLess(n, sent)
