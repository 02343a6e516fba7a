"""Modes of running (SPEC section 2): prefork on a unix socket and on TCP,
worker restarts, signals, an inherited socket (spawn-fcgi), systemd socket
activation, plain CGI, the FastCGI authorizer roles, and config errors at
start. Spoken in FastCGI directly, without a web server."""

import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time
import unittest
import urllib.parse

import harness
from harness import (AUTHGW_BIN, Authgw, FCGI_AUTHORIZER, cgi_request, fcgi,
                     fcgi_raw, make_params, parse_cgi_response, wait_for)

USER = 'user@example.com'
ADMIN = 'admin@example.com'
PASSWORD = 'correct horse battery'


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except OSError:
        return False


class ModeTest(harness.TestCase):

    def start(self, listen=None, users=True, **conf):
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        if users:
            ag.add_user(USER, PASSWORD)
            ag.add_user(ADMIN, PASSWORD, admin=True)
        ag.start(listen=listen)
        return ag

    def assert_serves(self, ag, addr=None):
        r = ag.fcgi('/auth/healthz', addr=addr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json().get('sqlite'), 'ok', r)
        self.assertEqual(r.header('cache-control'), 'no-store', r)
        tok = ag.login_cookie(USER, PASSWORD, addr=addr)
        r = ag.check(tok, addr=addr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), USER, r)
        self.assertEqual(r.header('remote-user'), USER, r)
        self.assertEqual(r.header('x-auth-role'), 'user', r)
        return tok


class PreforkTest(ModeTest):

    def test_unix_socket(self):
        ag = self.start(workers=3)
        self.assert_serves(ag)
        mode = stat.S_IMODE(os.stat(ag.socket_path).st_mode)
        self.assertEqual(mode, 0o666, 'socket_mode 0666 not applied: %o' % mode)
        wait_for(lambda: len(ag.workers()) == 3, what='3 workers')
        self.assertEqual(ag.stop(), 0)

    def test_socket_mode_default_0660(self):
        ag = self.start(socket_mode=None)
        mode = stat.S_IMODE(os.stat(ag.socket_path).st_mode)
        self.assertEqual(mode, 0o660, '%o' % mode)

    def test_tcp(self):
        port = harness.free_port()
        ag = self.start(listen='127.0.0.1:%d' % port)
        self.assert_serves(ag)
        self.assertEqual(ag.stop(), 0)

    def test_ipv6(self):
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.bind(('::1', 0))
                port = s6.getsockname()[1]
        except OSError:
            raise unittest.SkipTest('no IPv6 loopback')
        ag = self.start(listen='[::1]:%d' % port)
        self.assert_serves(ag)
        self.assertEqual(ag.stop(), 0)

    def test_next_is_encoded_in_location(self):
        ag = self.start(workers=1)
        for uri, expect in (('/a b?x=1&y=%2F', '/a b?x=1&y=%2F'),
                            ('/x\r\nSet-Cookie: a=b', None),
                            ('/p"><script>', '/p"><script>')):
            r = ag.check(headers={'X-Original-URI': uri})
            self.assertEqual(r.status, 401, r)
            loc = r.header('location')
            self.assertTrue(loc.startswith(ag.base_url + '/auth/login'), loc)
            self.assertNotRegex(loc, r'[\x00-\x20"<>]', loc)
            self.assertNotIn('set-cookie', r.headers)
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
            if expect is not None:
                self.assertEqual(q.get('next'), [expect], loc)

    def test_second_instance_does_not_steal_the_socket(self):
        # Starting authgw again on the same unix socket (by mistake, or a
        # service manager overlapping a restart) must not unlink the live
        # socket of the running instance.
        ag = self.start(workers=1)
        second = subprocess.Popen([AUTHGW_BIN, '-c', ag.config_path],
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  start_new_session=True)
        harness.register_process(second)
        try:
            rc = second.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        out = b''
        if rc is None:
            os.kill(second.pid, signal.SIGTERM)
            harness.reap_process(second)
        out = second.stdout.read().decode('utf-8', 'replace')
        second.stdout.close()
        try:
            r = ag.fcgi('/auth/healthz')
        except OSError as e:
            self.fail('the running instance is unreachable after a second '
                      'one started on its socket (second: rc %s, %r): %s'
                      % (rc, out.strip(), e))
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(rc, 'a second instance took over the socket '
                             'of a running one: %s' % out)
        self.assertNotEqual(rc, 0, out)

    def test_killed_worker_is_restarted(self):
        ag = self.start(workers=2)
        before = wait_for(lambda: (lambda w: w if len(w) == 2 else None)(
            ag.workers()), what='2 workers')
        time.sleep(1.2)     # let them live past the back-off threshold
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        # Wait until it is really dead: a connection the kernel hands to a
        # dying process is lost whatever the server does.
        wait_for(lambda: not _alive(victim), what='the worker to die')
        # Service goes on while the master replaces it.
        for _ in range(10):
            self.assertEqual(ag.fcgi('/auth/healthz').status, 200)
        after = wait_for(lambda: (lambda w: w if len(w) == 2 and victim not in w
                                  else None)(ag.workers()),
                         timeout=15, what='a replacement worker')
        self.assertNotIn(victim, after)
        self.assertTrue(ag.running())
        self.assert_serves(ag)
        self.assertEqual(ag.stop(), 0)

    def test_malformed_fastcgi_does_not_kill_workers(self):
        ag = self.start(workers=1)
        w = wait_for(lambda: ag.workers(), what='a worker')
        junk = [
            b'GET / HTTP/1.0\r\n\r\n',
            b'\x01\x01\x00\x01\x00\x08\x00\x00',        # truncated BEGIN
            b'\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00'
            b'\x01\x04\x00\x01\xff\xff\x00\x00' + b'\xff' * 64,  # huge params
            b'\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00'
            b'\x01\x04\x00\x01\x00\x08\x00\x00\x7f\xff\xff\xff\x01\x02\x03\x04',
            os.urandom(4096),
        ]
        for j in junk:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            s.connect(ag.socket_path)
            try:
                s.sendall(j)
                s.shutdown(socket.SHUT_WR)
                s.recv(65536)
            except OSError:
                pass
            s.close()
        # Odd but well-formed parameters.
        r = ag.fcgi('/auth/check', extra={'REQUEST_METHOD': None,
                                          'REQUEST_URI': None,
                                          'SCRIPT_NAME': None})
        self.assertLess(r.status, 500, r)
        r = ag.fcgi('/auth/check', headers={'Cookie': '\x00\xff' * 2000})
        self.assertEqual(r.status, 401, r)
        self.assert_serves(ag)
        self.assertEqual(ag.workers(), w, 'a worker died on malformed input')

    def test_debug_log_escapes_the_method(self):
        """The request line of the debug log escapes the client's method
        as it does the path: a method with a line break cannot forge a
        log line."""
        ag = self.start(log_level='debug')
        r = ag.fcgi('/auth/nowhere', method='GET\nauthgw: FORGED line')
        self.assertEqual(r.status, 404, r)
        wait_for(lambda: '/nowhere -> 404' in ag.log(),
                 what='the request logged')
        for line in ag.log().splitlines():
            self.assertFalse(line.startswith('authgw: FORGED'), line)
        self.assertIn('GET\\x0aauthgw: FORGED line /nowhere -> 404',
                      ag.log())


class SignalTest(ModeTest):

    def test_sigterm_graceful(self):
        ag = self.start(workers=2)
        tok = ag.login_cookie(USER, PASSWORD)
        results = []
        stop = threading.Event()
        sent = {}

        def stream():
            while not stop.is_set():
                t = time.monotonic()
                try:
                    r = ag.check(tok, )
                    results.append((t, r.status, None))
                except (ConnectionRefusedError, FileNotFoundError) as e:
                    results.append((t, None, e))
                    if 'term' in sent:
                        return
                except Exception as e:
                    results.append((t, None, e))
                    if 'term' in sent and not ag.running():
                        return
                time.sleep(0.05)

        th = threading.Thread(target=stream, daemon=True)
        th.start()
        time.sleep(1.0)
        # An in-flight request: parameters sent, body still coming.
        body = json.dumps({'email': USER, 'password': PASSWORD}).encode()
        params = make_params('POST', '/auth/login', headers={
            'Content-Type': 'application/json', 'Accept': 'application/json'},
            body=body)
        slow = socket.socket(socket.AF_UNIX)
        slow.settimeout(10)
        slow.connect(ag.socket_path)
        rec = harness._fcgi_record
        slow.sendall(rec(1, 1, b'\x00\x01\x00\x00\x00\x00\x00\x00') +
                     rec(4, 1, harness.fcgi_encode_params(params)) +
                     rec(4, 1, b'') + rec(5, 1, body[:5]))
        time.sleep(0.3)
        sent['term'] = time.monotonic()
        ag.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        slow.sendall(rec(5, 1, body[5:]) + rec(5, 1, b''))
        out = b''
        try:
            while True:
                c = slow.recv(65536)
                if not c:
                    break
                out += c
        except OSError as e:
            self.fail('in-flight request cut at SIGTERM: %s' % e)
        slow.close()
        stdout = b''
        while len(out) >= 8:
            clen = int.from_bytes(out[4:6], 'big')
            plen = out[6]
            if out[1] == 6:
                stdout += out[8:8 + clen]
            out = out[8 + clen + plen:]
        hdrs, _ = parse_cgi_response(stdout)
        self.assertTrue(stdout, 'no answer to the in-flight request')
        self.assertEqual(harness.status_of(hdrs), 200, stdout[:300])

        rc = ag.wait(timeout=15)
        stop.set()
        th.join(10)
        self.assertEqual(rc, 0, 'exit status after SIGTERM')
        before = [r for r in results if r[0] < sent['term']]
        self.assertTrue(before, 'no requests before SIGTERM')
        bad = [r for r in before if r[1] != 200]
        self.assertFalse(bad, 'failures before SIGTERM: %r' % bad)
        answered = [r for r in results if r[1] is not None]
        self.assertTrue(all(r[1] == 200 for r in answered),
                        'bad answers: %r' % [r for r in answered if r[1] != 200])

    def test_sigint_exits_0(self):
        ag = self.start(users=False)
        self.assertEqual(ag.stop(sig=signal.SIGINT), 0)

    def _loop(self, ag, stop, results):
        while not stop.is_set():
            try:
                r = ag.fcgi('/auth/healthz', timeout=10)
                results.append(r.status)
            except Exception as e:
                results.append(repr(e))
            time.sleep(0.01)

    def test_sighup_reload(self):
        ag = self.start(workers=2, cookie_name='first_sid')
        self.assertEqual(ag.cookie_name, 'first_sid')
        ag.login_cookie(USER, PASSWORD)
        old_workers = set(ag.workers())
        master = ag.pid
        stop, results = threading.Event(), []
        th = threading.Thread(target=self._loop, args=(ag, stop, results),
                              daemon=True)
        th.start()
        time.sleep(0.3)
        ag.reload(cookie_name='second_sid')   # ag.cookie_name follows

        def new_cookie():
            try:
                ag.login_cookie(USER, PASSWORD)
                return True
            except AssertionError:
                return False
        wait_for(new_cookie, timeout=10, interval=0.2,
                 what='the new cookie_name after SIGHUP')
        time.sleep(0.5)
        stop.set()
        th.join(10)
        self.assertTrue(results)
        self.assertEqual([x for x in results if x != 200], [],
                         'requests failed across SIGHUP')
        self.assertEqual(ag.pid, master)
        self.assertTrue(ag.running())
        new_workers = set(wait_for(lambda: ag.workers(), what='workers'))
        self.assertFalse(old_workers & new_workers,
                         'workers were not replaced at SIGHUP')
        self.assertEqual(ag.stop(), 0)

    def test_sighup_changes_workers(self):
        ag = self.start(workers=2, users=False)
        wait_for(lambda: len(ag.workers()) == 2, what='2 workers')
        ag.reload(workers=3)
        wait_for(lambda: len(ag.workers()) == 3, timeout=10,
                 what='3 workers after SIGHUP')
        self.assertEqual(ag.fcgi('/auth/healthz').status, 200)
        self.assertEqual(ag.stop(), 0)

    def test_sighup_bad_config_keeps_old(self):
        ag = self.start(workers=2, cookie_name='kept_sid')
        logsize = len(ag.log())
        with open(ag.config_path, 'a') as f:
            f.write('no_such_key = 1\n')
        nlines = sum(1 for _ in open(ag.config_path))
        ag.send_signal(signal.SIGHUP)
        wait_for(lambda: 'no_such_key' in ag.log()[logsize:] or
                 ('authgw.conf:%d' % nlines) in ag.log()[logsize:],
                 timeout=10, what='the SIGHUP config error in the log')
        time.sleep(0.5)
        self.assertTrue(ag.running())
        self.assertIn('authgw.conf:%d' % nlines, ag.log()[logsize:],
                      'log does not name file:line')
        tok = ag.login_cookie(USER, PASSWORD)   # still cookie kept_sid
        self.assertEqual(ag.check(tok).status, 200)
        self.assertEqual(ag.stop(), 0)


class InheritedSocketTest(ModeTest):

    def _config_without_listen(self, **conf):
        ag = self.authgw(**conf)
        self.dump_logs_on_failure(ag)
        ag.add_user(USER, PASSWORD)
        ag.conf.pop('listen', None)
        ag.write_config()
        return ag

    def _spawn_fcgi(self, workers, use_env):
        spawn = harness.require_program('spawn-fcgi')
        ag = self._config_without_listen(workers=workers)
        sock = os.path.join(self.tmpdir, 'spawn.sock')
        argv = [spawn, '-n', '-s', sock, '-M', '0666', '--', AUTHGW_BIN]
        env = None
        if use_env:
            env = {'AUTHGW_CONFIG': ag.config_path}
        else:
            argv += ['-c', ag.config_path]
        proc = ag.popen(argv, env=env)
        harness.wait_connectable(sock, proc=proc)
        ag.listen = sock
        self.assert_serves(ag, addr=sock)
        if workers > 1:
            wait_for(lambda: len(ag.workers()) == workers, what='workers')
        self.assertEqual(ag.stop(), 0)

    def test_spawn_fcgi_one_worker_config_option(self):
        self._spawn_fcgi(1, use_env=False)

    def test_spawn_fcgi_prefork_config_env(self):
        self._spawn_fcgi(2, use_env=True)

    def test_systemd_socket_activation(self):
        ag = self._config_without_listen(workers=2)
        path = os.path.join(self.tmpdir, 'sd.sock')
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        fd = ls.fileno()
        # The child's shell moves the socket to fd 3 (unless it is there
        # already) and sets LISTEN_PID to its own pid, which exec keeps.
        redirect = '' if fd == 3 else '3<&%d %d<&-' % (fd, fd)
        script = ('LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=authgw; '
                  'export LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; '
                  'exec "$0" -c "$1" ' + redirect)
        proc = ag.popen(['/bin/sh', '-c', script, AUTHGW_BIN, ag.config_path],
                        pass_fds=(fd,))
        ls.close()
        time.sleep(0.2)
        self.assertIsNone(proc.poll(), 'authgw exited: %s' % ag.log())
        self.assert_serves(ag, addr=path)
        self.assertEqual(ag.stop(), 0)

    def test_no_listen_no_socket_is_config_error(self):
        ag = self._config_without_listen()
        r = subprocess.run([AUTHGW_BIN, '-c', ag.config_path],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20, env=ag._env())
        self.assertEqual(r.returncode, 78, r)
        self.assertTrue(r.stderr.strip(), 'no reason on stderr')


class CgiTest(ModeTest):

    def setUp(self):
        super().setUp()
        self.ag = self.authgw()
        self.ag.add_user(USER, PASSWORD)
        self.ag.conf.pop('listen', None)
        self.ag.write_config()

    def cgi(self, method, uri, body=b'', headers=None, split=None,
            prefix='/auth'):
        path, _, query = uri.partition('?')
        env = {
            'GATEWAY_INTERFACE': 'CGI/1.1',
            'SERVER_PROTOCOL': 'HTTP/1.1',
            'SERVER_NAME': '127.0.0.1',
            'SERVER_PORT': '80',
            'REQUEST_METHOD': method,
            'QUERY_STRING': query,
            'REMOTE_ADDR': '127.0.0.1',
            'HTTP_HOST': '127.0.0.1',
        }
        if split:
            env['SCRIPT_NAME'], env['PATH_INFO'] = split
        else:
            env['REQUEST_URI'] = uri
            env['SCRIPT_NAME'] = path
        if body:
            env['CONTENT_LENGTH'] = str(len(body))
        for k, v in (headers or {}).items():
            kk = k.upper().replace('-', '_')
            env[kk if kk == 'CONTENT_TYPE' else 'HTTP_' + kk] = v
        return cgi_request(env, body, config=self.ag.config_path)

    def test_cgi_healthz_and_login_page(self):
        r = self.cgi('GET', '/auth/healthz')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.raw.startswith(b'Status:') or b'\nStatus:' in r.raw
                        or b'Content-Type' in r.raw[:200], r.raw[:200])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'sqlite': 'ok', 'memcached': 'off'})
        r = self.cgi('GET', '/auth/login')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(harness.html_field(r.text, 'csrf'))
        self.assertEqual(r.header('cache-control'), 'no-store')

    def test_cgi_login_and_check(self):
        body = json.dumps({'email': USER, 'password': PASSWORD}).encode()
        r = self.cgi('POST', '/auth/login', body=body, headers={
            'Content-Type': 'application/json'})
        self.assertEqual(r.status, 200, r)
        tok = r.set_cookies()['authgw_sid'][0]
        cookie = {'Cookie': 'authgw_sid=' + tok}
        r = self.cgi('GET', '/auth/check', headers=cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-auth-user'), USER)
        r = self.cgi('GET', '/auth/check?role=admin', headers=cookie)
        self.assertEqual(r.status, 403, r)
        r = self.cgi('GET', '/auth/check', headers={'Cookie': 'authgw_sid=x'})
        self.assertEqual(r.status, 401, r)
        self.assertTrue(r.header('location', '').startswith(
            self.ag.base_url + '/auth/login'), r)

    def test_cgi_script_name_path_info(self):
        self.ag.write_config(prefix='/cgi-bin/authgw')
        r = self.cgi('GET', '', split=('/cgi-bin/authgw', '/healthz'))
        self.assertEqual(r.status, 200, r)
        r = self.cgi('GET', '/cgi-bin/authgw/healthz?x=1')
        self.assertEqual(r.status, 200, r)
        r = self.cgi('GET', '', split=('/cgi-bin/authgw', '/nope'))
        self.assertEqual(r.status, 404, r)

    def test_cgi_post_body_limits(self):
        r = self.cgi('POST', '/auth/login', body=b'a' * (65 * 1024),
                     headers={'Content-Type':
                              'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 413, r)
        r = self.cgi('PUT', '/auth/login')
        self.assertEqual(r.status, 405, r)


class AuthorizerTest(ModeTest):

    def setUp(self):
        super().setUp()
        self.ag = self.start(workers=1)
        self.tok = self.ag.login_cookie(USER, PASSWORD)

    def authz(self, token=None, accept=None, apache_role=None,
              uri='/private/page?a=1&b=2'):
        headers = {}
        if token:
            headers['Cookie'] = 'other=1; authgw_sid=%s' % token
        if accept:
            headers['Accept'] = accept
        path, _, query = uri.partition('?')
        extra = {}
        if apache_role:
            extra['FCGI_APACHE_ROLE'] = apache_role
        params = make_params('GET', path, query, headers, extra=extra)
        return fcgi(self.ag.listen, params, b'', role=FCGI_AUTHORIZER)

    def assert_allowed(self, r):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('variable-remote_user'), USER, r)
        self.assertEqual(r.header('variable-auth_user'), USER, r)
        self.assertEqual(r.header('variable-auth_role'), 'user', r)
        uid = self.ag.query('SELECT id FROM users WHERE email = ?', USER)[0][0]
        self.assertEqual(r.header('variable-auth_user_id'), str(uid), r)

    def test_authorizer_allows_session(self):
        self.assert_allowed(self.authz(self.tok))

    def test_authorizer_browser_redirect(self):
        r = self.authz(None, accept='text/html,application/xhtml+xml,*/*;q=0.8')
        self.assertEqual(r.status, 302, r)
        loc = r.header('location')
        self.assertTrue(loc.startswith(self.ag.base_url + '/auth/login?'), loc)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
        self.assertEqual(q.get('next'), ['/private/page?a=1&b=2'], loc)

    def test_authorizer_non_browser_401(self):
        self.assertEqual(self.authz(None).status, 401)
        self.assertEqual(self.authz('A' * 43, accept='application/json')
                         .status, 401)

    def test_authorizer_any_path(self):
        self.assert_allowed(self.authz(self.tok, uri='/auth/login'))
        self.assert_allowed(self.authz(self.tok, uri='/'))

    def test_apache_authenticator_and_access_checker(self):
        for role in ('AUTHENTICATOR', 'ACCESS_CHECKER', 'AUTHORIZER'):
            self.assert_allowed(self.authz(self.tok, apache_role=role))
            r = self.authz(None, apache_role=role)
            self.assertEqual(r.status, 401, (role, r))
            r = self.authz(None, apache_role=role, accept='text/html')
            self.assertEqual(r.status, 302, (role, r))

    def test_authorizer_revoked_session(self):
        r = self.ag.fcgi('/auth/logout', 'POST', headers={
            'Cookie': 'authgw_sid=' + self.tok,
            'Content-Type': 'application/json', 'Accept': 'application/json'},
            body=b'{}')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.authz(self.tok).status, 401)


class ConfigErrorTest(harness.TestCase):

    def run_with(self, text):
        path = os.path.join(self.tmpdir, 'bad.conf')
        with open(path, 'w') as f:
            f.write(text)
        return subprocess.run([AUTHGW_BIN, '-c', path],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=20)

    def base(self):
        return ('# test\ndatabase = %s/a.db\nlisten = %s/a.sock\n'
                % (self.tmpdir, self.tmpdir))

    def test_bad_value_exit_78_with_file_line(self):
        r = self.run_with(self.base() + 'workers = banana\n')
        self.assertEqual(r.returncode, 78, r)
        self.assertIn('bad.conf:4', r.stderr)

    def test_unknown_key_exit_78(self):
        r = self.run_with(self.base() + '\n\nfrobnicate = 1\n')
        self.assertEqual(r.returncode, 78, r)
        self.assertIn('bad.conf:6', r.stderr)
        self.assertIn('frobnicate', r.stderr)

    def test_missing_file_exit_78(self):
        r = subprocess.run([AUTHGW_BIN, '-c', self.tmpdir + '/none.conf'],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 78, r)
        self.assertTrue(r.stderr.strip())

    def test_line_without_equals_exit_78(self):
        r = self.run_with(self.base() + 'workers 4\n')
        self.assertEqual(r.returncode, 78, r)
        self.assertIn('bad.conf:4', r.stderr)

    def test_comments_and_spaces_accepted(self):
        path = os.path.join(self.tmpdir, 'ok.conf')
        with open(path, 'w') as f:
            f.write('# comment\n\n   workers   =   3   \n'
                    'database=%s/a.db\n\t# indented comment\n' % self.tmpdir)
        r = subprocess.run([AUTHGW_BIN, '-c', path, 'check-config'],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r'(?m)^workers\s*=\s*3\s*$')


if __name__ == '__main__':
    unittest.main()
