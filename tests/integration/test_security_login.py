"""Password hashing is bounded per host (SPEC 5, issue 10 item 1): at most
hash_slots scrypt computations at once and hash_queue more waiting, for
every process using the database; anything beyond answers 503 with
Retry-After: 1 at once and counts no attempt; so a flood of logins of any
kind never holds every worker and /check keeps answering. A login refused
403 because the address is unverified counts as a failed attempt."""

import fcntl
import json
import os
import struct
import threading
import time

import harness
from harness import wait_for

USER = 'user@example.com'
UNVERIFIED = 'new@example.com'
PASSWORD = 'correct horse battery'

# struct flock on Linux x86_64/arm64: l_type, l_whence, l_start, l_len,
# l_pid (0 for open file description locks).
FLOCK = 'hhxxxxqqixxxx'


def json_login(ag, email, password, addr='127.0.0.1', timeout=30.0):
    body = json.dumps({'email': email, 'password': password}).encode()
    return ag.fcgi('/auth/login', 'POST', headers={
        'Content-Type': 'application/json', 'Accept': 'application/json'},
        body=body, extra={'REMOTE_ADDR': addr}, timeout=timeout)


class HashSlotHolder:
    """Holds password-hashing slot bytes of a database's lock file the way
    another authgw process would (an open file description lock)."""

    def __init__(self, database):
        self.path = database + '-hash.lock'
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                          0o600)

    def hold(self, byte):
        fcntl.fcntl(self.fd, fcntl.F_OFD_SETLK,
                    struct.pack(FLOCK, fcntl.F_WRLCK, os.SEEK_SET, byte, 1,
                                0))

    def close(self):
        if self.fd != -1:
            os.close(self.fd)
            self.fd = -1


class UnverifiedCountsTest(harness.TestCase):

    def test_unverified_right_password_counts_as_failed(self):
        ag = self.authgw(login_max_per_account=3, login_max_per_ip=100)
        self.dump_logs_on_failure(ag)
        ag.add_user(UNVERIFIED, PASSWORD, verified=False)
        ag.start()
        for _ in range(3):
            self.assertEqual(json_login(ag, UNVERIFIED, PASSWORD).status,
                             403)
        r = json_login(ag, UNVERIFIED, PASSWORD)
        self.assertEqual(r.status, 429, r)
        self.assertTrue(r.header('Retry-After'))


class HashBoundTest(harness.TestCase):

    def start(self, **conf):
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.start()
        return ag

    def test_busy_is_503_at_once_and_counts_nothing(self):
        ag = self.start(hash_slots=1, hash_queue=0, login_max_per_account=1,
                        login_max_per_ip=1)
        holder = HashSlotHolder(ag.conf['database'])
        self.addCleanup(holder.close)
        holder.hold(0)
        for _ in range(3):
            t0 = time.monotonic()
            r = json_login(ag, USER, 'wrong password 1')
            took = time.monotonic() - t0
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.header('Retry-After'), '1')
            self.assertLess(took, 1.0, 'a busy refusal must not wait')
        # Registration hashes too.
        r = ag.fcgi('/auth/register', 'POST', headers={
            'Content-Type': 'application/json',
            'Accept': 'application/json'},
            body=json.dumps({'email': 'x@example.com',
                             'password': PASSWORD}).encode())
        self.assertEqual(r.status, 503, r)
        metrics = ag.fcgi('/auth/metrics').body.decode()
        self.assertIn('authgw_hash_busy_total 4', metrics)
        holder.close()
        # None of the refusals counted: one failure is still allowed.
        self.assertEqual(json_login(ag, USER, 'wrong password 2').status,
                         401)
        self.assertEqual(json_login(ag, USER, 'wrong password 3').status,
                         429)

    def test_command_line_shares_the_bound(self):
        ag = self.start(hash_slots=1, hash_queue=0)
        holder = HashSlotHolder(ag.conf['database'])
        self.addCleanup(holder.close)
        holder.hold(0)
        r = ag.cli('user', 'passwd', USER, input='another password\n')
        self.assertEqual(r.returncode, 1, r)
        self.assertIn('busy', r.stderr)
        holder.close()

    def test_login_flood_does_not_starve_checks(self):
        """Logins of every kind at many times the hashing capacity, at the
        default scrypt cost, while a live session is checked: every check
        answers 200 within a second, every login is answered 200, 401,
        403, 429 or 503 (with Retry-After) and none hangs."""
        # 2 slots and 2 waiting: what a 4-CPU host gets by default. With
        # 4 workers that would be every worker; one is kept for checks.
        ag = self.start(workers=4, hash_slots=2, hash_queue=2,
                        scrypt_log2n=15, scrypt_r=8, scrypt_p=3,
                        login_max_per_account=1000, login_max_per_ip=1000)
        ag.add_user(UNVERIFIED, PASSWORD, verified=False)
        token = ag.login_cookie(USER, PASSWORD)
        self.assertEqual(ag.check(token).status, 200)
        stop = threading.Event()
        bad = []
        statuses = {}
        lock = threading.Lock()

        def flood(n):
            i = 0
            while not stop.is_set():
                kind = (n + i) % 4
                addr = '10.%d.%d.%d' % (n, i // 250 % 250, i % 250 + 1)
                email, pw = [('nobody%d@example.com' % i, PASSWORD),
                             (USER, 'wrong password'),
                             (USER, PASSWORD),
                             (UNVERIFIED, PASSWORD)][kind]
                t0 = time.monotonic()
                try:
                    r = json_login(ag, email, pw, addr=addr, timeout=15)
                except Exception as e:  # a hang or a broken answer
                    with lock:
                        bad.append('login raised %r' % e)
                    i += 1
                    continue
                took = time.monotonic() - t0
                with lock:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status not in (200, 401, 403, 429, 503):
                        bad.append('login %d' % r.status)
                    if r.status == 503 and r.header('Retry-After') != '1':
                        bad.append('503 without Retry-After: 1')
                    if took > 10:
                        bad.append('login took %.1f s' % took)
                i += 1

        threads = [threading.Thread(target=flood, args=(n,), daemon=True)
                   for n in range(12)]
        for t in threads:
            t.start()
        worst = 0.0
        checks = 0
        deadline = time.monotonic() + 6
        try:
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                r = ag.check(token)
                took = time.monotonic() - t0
                worst = max(worst, took)
                checks += 1
                self.assertEqual(r.status, 200, r)
                self.assertLess(took, 1.0, 'a check waited %.2f s' % took)
                time.sleep(0.02)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(bad, [])
        self.assertGreater(statuses.get(503, 0), 0,
                           'the flood never reached the bound: %r' % statuses)
        self.assertGreater(checks, 50)
        print('flood: %r; %d checks, worst %.3f s' % (statuses, checks, worst))
