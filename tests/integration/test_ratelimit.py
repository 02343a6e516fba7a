"""Sliding-window login rate limiting (SPEC section 5, issue 4), spoken in
FastCGI to a real prefork authgw. Small windows (seconds) keep it quick."""

import json
import threading
import time

import harness
from harness import fcgi, make_params

USER = 'user@example.com'
OTHER = 'other@example.com'
PASSWORD = 'correct horse battery'


class RateLimitTest(harness.TestCase):

    def start(self, **conf):
        conf.setdefault('login_window', 4)
        conf.setdefault('login_max_per_account', 3)
        conf.setdefault('login_max_per_ip', 100)
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.add_user(OTHER, PASSWORD)
        ag.start()
        return ag

    def login(self, ag, email, password, addr='127.0.0.1'):
        body = json.dumps({'email': email, 'password': password}).encode()
        params = make_params('POST', '/auth/login',
                             headers={'Content-Type': 'application/json',
                                      'Accept': 'application/json'},
                             body=body, remote_addr=addr)
        return fcgi(ag.listen, params, body)

    def statuses(self, ag, n, email=USER, password='wrong password',
                 addr='127.0.0.1'):
        return [self.login(ag, email, password, addr).status
                for _ in range(n)]

    def test_account_limit_then_429_with_retry_after(self):
        ag = self.start()
        self.assertEqual(self.statuses(ag, 3), [401, 401, 401])
        r = self.login(ag, USER, 'wrong password')
        self.assertEqual(r.status, 429, r)
        retry = int(r.header('retry-after'))
        self.assertTrue(1 <= retry <= 4, retry)
        # Locked: the right password is refused too, before any hashing.
        self.assertEqual(self.login(ag, USER, PASSWORD).status, 429)
        # The account limit applies whatever the address.
        self.assertEqual(self.login(ag, USER, PASSWORD, '10.9.8.7').status,
                         429)
        # Another account from the same address is not affected.
        self.assertEqual(self.login(ag, OTHER, PASSWORD).status, 200)

    def test_refused_attempts_do_not_count(self):
        ag = self.start()
        self.statuses(ag, 3)
        self.statuses(ag, 5)            # all 429, none recorded
        n = ag.query('SELECT count(*) FROM attempts WHERE kind = 1')[0][0]
        self.assertEqual(n, 3)

    def test_address_limit_whatever_the_account(self):
        ag = self.start(login_max_per_account=100, login_max_per_ip=3)
        got = [self.login(ag, e, 'wrong password', '192.0.2.7').status
               for e in (USER, OTHER, 'nobody@example.com', USER)]
        self.assertEqual(got, [401, 401, 401, 429])
        # Another address still gets through.
        self.assertEqual(self.login(ag, USER, PASSWORD, '192.0.2.8').status,
                         200)

    def test_ipv6_counted_per_64(self):
        ag = self.start(login_max_per_account=100, login_max_per_ip=2)
        self.assertEqual(
            self.login(ag, USER, 'bad password', '2001:db8:1:2::1').status, 401)
        self.assertEqual(
            self.login(ag, OTHER, 'bad password', '2001:db8:1:2::ffff').status,
            401)
        # Same /64: over the limit.
        self.assertEqual(
            self.login(ag, USER, 'bad password', '2001:db8:1:2:aa::9').status,
            429)
        # Another /64 is another client.
        self.assertEqual(
            self.login(ag, USER, PASSWORD, '2001:db8:1:3::1').status, 200)

    def test_window_slides(self):
        ag = self.start(login_window=3, login_max_per_account=2)
        t0 = time.time()
        self.assertEqual(self.login(ag, USER, 'wrong one').status, 401)
        time.sleep(1.5)
        self.assertEqual(self.login(ag, USER, 'wrong two').status, 401)
        self.assertEqual(self.login(ag, USER, 'wrong three').status, 429)
        # When the first attempt leaves the window, exactly one more fits.
        first = ag.query('SELECT min(at) FROM attempts WHERE kind = 1')[0][0]
        delay = first + 3 + 0.2 - time.time()
        if delay > 0:
            time.sleep(delay)
        self.assertLess(time.time() - t0, 6)
        self.assertEqual(self.login(ag, USER, 'wrong four').status, 401)
        self.assertEqual(self.login(ag, USER, 'wrong five').status, 429)

    def test_success_clears_the_account(self):
        ag = self.start()
        self.statuses(ag, 2)
        self.assertEqual(self.login(ag, USER, PASSWORD).status, 200)
        n = ag.query('SELECT count(*) FROM attempts WHERE kind = 1')[0][0]
        self.assertEqual(n, 0)
        self.assertEqual(self.statuses(ag, 3), [401, 401, 401])

    def test_survives_restart(self):
        ag = self.start(login_window=30)
        self.statuses(ag, 3)
        self.assertEqual(ag.stop(), 0)
        ag.start()
        self.assertEqual(self.login(ag, USER, PASSWORD).status, 429)

    def test_parallel_attempts_check_at_most_the_limit(self):
        ag = self.start(login_window=30, login_max_per_account=5,
                        login_max_per_ip=1000, workers=4)
        results = []
        lock = threading.Lock()

        def attempt(i):
            # A 503 (no hashing slot free: the bound has tests of its
            # own) is no attempt: the client tries again, as Retry-After
            # asks.
            for _ in range(200):
                st = self.login(ag, USER, 'wrong %d' % i,
                                '198.51.100.%d' % (i + 1)).status
                if st != 503:
                    break
                time.sleep(0.02)
            with lock:
                results.append(st)

        threads = [threading.Thread(target=attempt, args=(i,))
                   for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 50)
        # A 401 is a password check; a 429 was refused before hashing.
        self.assertLessEqual(results.count(401), 5, results)
        self.assertEqual(results.count(401) + results.count(429), 50,
                         results)
        n = ag.query('SELECT count(*) FROM attempts WHERE kind = 1')[0][0]
        self.assertEqual(n, results.count(401))

    def test_maintenance_purges_old_records(self):
        ag = self.start(login_window=1, maintenance_interval=1)
        self.statuses(ag, 2)
        harness.wait_for(
            lambda: ag.query('SELECT count(*) FROM attempts')[0][0] == 0,
            timeout=8, what='attempt records purged')


if __name__ == '__main__':
    harness.run_modules()
