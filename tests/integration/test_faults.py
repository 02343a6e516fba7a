"""Regression tests for what the fault bench (bench/faultbench.py, `make
faultbench`) found, each named after what it guards."""

import os
import signal
import socket
import struct
import subprocess

import harness

USER = 'full@example.com'
PASSWORD = 'full disk password'


def fill(path):
    """Write a file in path until the file system has no byte left."""
    fd = os.open(os.path.join(path, 'filler'), os.O_WRONLY | os.O_CREAT,
                 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b'\0' * size) > 0:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


class FullFileSystemTest(harness.TestCase):
    """The database on a small tmpfs that fills up (needs root to mount
    it; CI runs as root)."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('mounting a tmpfs needs root')
        self.mnt = os.path.join(self.tmpdir, 'dbfs')
        os.mkdir(self.mnt)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o',
                            'size=32m,mode=0755', 'tmpfs', self.mnt],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.skipTest('cannot mount a tmpfs: %s' % r.stderr.strip())
        # Runs after the servers tracked below are stopped.
        self.addCleanup(self.unmount)

    def unmount(self):
        if subprocess.run(['umount', self.mnt], timeout=30).returncode:
            subprocess.run(['umount', '-l', self.mnt], timeout=30)

    def test_full_file_system_kills_no_worker(self):
        """The host session table was a sparse file: on a full file
        system, the first touch of one of its pages (a check caching a
        session whose slot had never been used) killed the worker with
        SIGBUS. Now its blocks are allocated when it is made: checks go
        on (200), logins answer 503, and no worker dies."""
        db = os.path.join(self.mnt, 'authgw.db')
        ag = self.authgw(database=db, log_level='warn')
        ag.db_path = db
        ag.add_user(USER, PASSWORD)
        ag.start()
        # Sessions never checked: their slots in the table are untouched.
        tokens = [ag.login_cookie(USER, PASSWORD) for _ in range(40)]
        # The table exists before the disk fills (a check makes it).
        self.assertEqual(ag.check(tokens[0]).status, 200)
        fill(self.mnt)
        for t in tokens:
            r = ag.check(t)
            self.assertEqual(r.status, 200, r)
        r = ag.fcgi('/auth/login', 'POST', headers={
            'Content-Type': 'application/json',
            'Accept': 'application/json'},
            body=b'{"email": "%s", "password": "%s"}'
            % (USER.encode(), PASSWORD.encode()))
        self.assertEqual(r.status, 503, r)
        self.assertNotIn('killed by signal', ag.log())
        os.unlink(os.path.join(self.mnt, 'filler'))
        self.assertTrue(ag.login_cookie(USER, PASSWORD))
        self.assertEqual(ag.query('PRAGMA integrity_check'), [('ok',)])


def fcgi_head(params):
    """BEGIN_REQUEST and every PARAMS record of a request on id 1."""
    rec = harness._fcgi_record
    return (rec(harness.FCGI_BEGIN_REQUEST, 1, struct.pack('!HB5x', 1, 0)) +
            rec(harness.FCGI_PARAMS, 1, harness.fcgi_encode_params(params)) +
            rec(harness.FCGI_PARAMS, 1, b''))


def answered(sock):
    """True if the connection got an END_REQUEST before it closed."""
    data = b''
    sock.settimeout(10)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    while len(data) >= 8:
        _v, rtype, _id, clen, plen = struct.unpack('!BBHHBx', data[:8])
        if rtype == harness.FCGI_END_REQUEST:
            return True
        data = data[8 + clen + plen:]
    return False


def sigterm_pending(pid):
    """SIGTERM is pending (blocked) in process pid."""
    mask = 0
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(('SigPnd:', 'ShdPnd:')):
                mask |= int(line.split()[1], 16)
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def in_read(pid):
    """pid is blocked in read(2) (syscall 0 on x86-64 and others)."""
    with open('/proc/%d/syscall' % pid) as f:
        return f.read().split()[0] == '0'


class StopUnderLoadTest(harness.TestCase):
    """A stop signal must end accepting even when a connection is always
    ready. epoll_pwait and ppoll return a ready connection before they
    deliver a pending signal, and the stop signals are blocked outside
    the wait: a SIGTERM (or the SIGTERM of a SIGHUP's drain) that came
    during a request stayed pending while the load lasted, the worker
    went on accepting with the old configuration, and the master's
    SIGKILL after 30 s cut the request in hand (make faultbench, sighup:
    old workers served up to ~3 s after the reload under wrk)."""

    def test_stop_signal_ends_accepting_under_steady_load(self):
        ag = self.authgw(workers=1, log_level='warn')
        ag.start()
        worker = harness.wait_for(ag.workers, what='the worker')[0]
        body = b'{"email": "a@example.com", "password": "12345678"}'
        # In flight: the request's body is not complete, the worker waits
        # for it in read(2), the stop signals blocked.
        a = socket.socket(socket.AF_UNIX)
        a.connect(ag.listen)
        a.sendall(fcgi_head(harness.make_params(
            'POST', '/auth/login', body=body,
            headers={'Content-Type': 'application/json',
                     'Accept': 'application/json'})) +
            harness._fcgi_record(harness.FCGI_STDIN, 1, body[:10]))
        harness.wait_for(lambda: in_read(worker), what='worker in read')
        # Connections ready behind it, each with a whole request.
        queued = []
        for _ in range(20):
            q = socket.socket(socket.AF_UNIX)
            q.connect(ag.listen)
            q.sendall(fcgi_head(harness.make_params('GET', '/auth/healthz'))
                      + harness._fcgi_record(harness.FCGI_STDIN, 1, b''))
            queued.append(q)
        ag.send_signal(signal.SIGTERM)
        harness.wait_for(lambda: sigterm_pending(worker),
                         what='SIGTERM pending in the worker')
        a.sendall(harness._fcgi_record(harness.FCGI_STDIN, 1, body[10:]) +
                  harness._fcgi_record(harness.FCGI_STDIN, 1, b''))
        # The request in hand finishes; nothing more is accepted. (Each
        # connection is closed once read: libfcgi waits for that.)
        self.assertTrue(answered(a))
        a.close()
        served = 0
        for q in queued:
            served += answered(q)
            q.close()
        self.assertEqual(ag.wait(), 0)
        self.assertEqual(served, 0, '%d connections accepted after '
                         'SIGTERM' % served)


if __name__ == '__main__':
    import unittest
    unittest.main()
