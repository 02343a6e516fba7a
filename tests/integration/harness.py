"""Integration test harness for authgw: real servers on loopback, in temp dirs.

Everything here is Python 3 standard library. Every server is started on
127.0.0.1 (or a unix socket) on a free port, in its own temporary directory,
with a generated configuration, and stopped by its PID (process group) in
tearDown or at exit, whether the test passed or not.

Environment:
  AUTHGW_BUILDDIR   top build directory (holds src/authgw)
  AUTHGW_SRCDIR     top source directory (holds www/, conf/)
  AUTHGW_KEEP_TMP   if set, temp dirs of failed tests are kept and printed

API used by the test modules (test_*.py here and the other web-server tests):
  free_port(), BUILD_DIR, SRC_DIR, AUTHGW_BIN, WWW_DIR, CONF_DIR
  Authgw(tmpdir, **conf), Nginx(tmpdir, authgw, prefix='/auth'),
  Memcached(tmpdir), Client(port, host='127.0.0.1'), Response,
  fcgi_request(addr, params, stdin=b'', role=1) -> (headers, body),
  fcgi(addr, params, stdin=b'', role=1) -> Response,
  cgi_request(env, stdin=b'', config=None) -> Response,
  find_program(name), TestCase (tmpdir + cleanup), run_modules().
Web-server front ends (test_lighttpd, test_apache, test_cgi_apache):
  ServerProcess (base of Nginx), make_docroot(root), parse_env_dump(text),
  WEB_EMAIL, WEB_PASSWORD, WEB_SECRET_TEXT, WebServerFlows (mixin),
  APACHE, ApacheServer, apache_module_path(name), apache_missing(modules),
  apache_run_as(), apache_chown_authgw_files(tmpdir).
"""

import atexit
import errno
import grp
import html.parser
import http.client
import json as jsonlib
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(HERE))

BUILD_DIR = os.path.abspath(os.environ.get('AUTHGW_BUILDDIR') or _REPO)
SRC_DIR = os.path.abspath(os.environ.get('AUTHGW_SRCDIR') or _REPO)
AUTHGW_BIN = os.path.join(BUILD_DIR, 'src', 'authgw')
WWW_DIR = os.path.join(SRC_DIR, 'www')
CONF_DIR = os.path.join(SRC_DIR, 'conf')
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0

# Small scrypt parameters so logins cost a millisecond, not 100.
SCRYPT_TEST = {'scrypt_log2n': 10, 'scrypt_r': 8, 'scrypt_p': 1}


# ---------------------------------------------------------------- processes

_live = []      # Popen objects we started and have not reaped


def _register(proc):
    _live.append(proc)
    return proc


def _kill_group(proc, sig=signal.SIGKILL):
    """Signal the process group led by proc (we start each server in its own
    session, so its pgid is its pid) and then proc itself."""
    if proc.poll() is not None:
        # The leader is gone; its children may still hold the group.
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass
        return
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        try:
            os.kill(proc.pid, sig)
        except OSError:
            pass


def _reap(proc, timeout=STOP_TIMEOUT):
    """Wait for proc; SIGKILL its group after timeout. Returns the exit code."""
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        rc = proc.wait(timeout=5)
    # Workers left behind by a dead master: kill what remains of the group.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    if proc in _live:
        _live.remove(proc)
    return rc


# Public names for other test modules starting their own servers.
register_process = _register
reap_process = _reap


@atexit.register
def _cleanup_all():
    for proc in list(_live):
        _kill_group(proc, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except Exception:
            pass
        _live.remove(proc)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def find_program(name, extra=('/usr/sbin', '/sbin', '/usr/bin', '/usr/local/sbin')):
    """Full path of a program, or None."""
    p = shutil.which(name)
    if p:
        return p
    for d in extra:
        c = os.path.join(d, name)
        if os.access(c, os.X_OK):
            return c
    return None


def require_program(name):
    """The path of name, or raise SkipTest with a clear reason."""
    p = find_program(name)
    if p is None:
        raise unittest.SkipTest('%s is not installed' % name)
    return p


def parse_addr(addr):
    """'/path' -> (AF_UNIX, '/path'); 'host:port' or (host, port) -> AF_INET."""
    if isinstance(addr, tuple):
        return socket.AF_INET, (addr[0], int(addr[1]))
    if addr.startswith('unix:'):
        addr = addr[5:]
    if addr.startswith('/'):
        return socket.AF_UNIX, addr
    host, _, port = addr.rpartition(':')
    host = host.strip('[]')
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    return fam, (host, int(port))


def wait_connectable(addr, timeout=START_TIMEOUT, proc=None):
    """Wait until addr accepts a connection. Raises RuntimeError on timeout or
    if proc exits first."""
    fam, a = parse_addr(addr)
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('process exited with %s before accepting on %s'
                               % (proc.returncode, addr))
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect(a)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError('nothing accepts on %s after %.0fs'
                                   % (addr, timeout))
            time.sleep(0.05)
        finally:
            s.close()


def children_of(pid):
    """PIDs of the direct children of pid (from /proc, else ps)."""
    kids = []
    task = '/proc/%d/task' % pid
    try:
        for t in os.listdir(task):
            try:
                with open(os.path.join(task, t, 'children')) as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
        if kids:
            return sorted(set(kids))
    except OSError:
        pass
    try:
        out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(pid)],
                             capture_output=True, text=True, timeout=10).stdout
        return sorted(int(x) for x in out.split())
    except (OSError, subprocess.SubprocessError):
        return []


def wait_for(pred, timeout=10.0, interval=0.05, what='condition'):
    """Poll pred() until it is true; returns its value or raises."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(interval)


# ------------------------------------------------------------------- authgw

def _conf_value(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    return str(v)


class Authgw:
    """One authgw instance with its config in tmpdir.

    Authgw(tmpdir, **conf): conf overrides the test defaults; a value of None
    removes a key. If base_url is not given, a free port is reserved as
    .http_port and base_url is http://127.0.0.1:<http_port> (pass this
    Authgw to Nginx(...) and nginx listens there).
    """

    def __init__(self, tmpdir, **conf):
        self.tmpdir = tmpdir
        self.config_path = os.path.join(tmpdir, 'authgw.conf')
        self.log_path = os.path.join(tmpdir, 'authgw.log')
        self.db_path = os.path.join(tmpdir, 'authgw.db')
        self.socket_path = os.path.join(tmpdir, 'authgw.sock')
        self.http_port = None
        if 'base_url' not in conf:
            self.http_port = free_port()
        self.conf = {
            'database': self.db_path,
            'www_dir': WWW_DIR,
            'cookie_secure': False,
            'base_url': 'http://127.0.0.1:%d' % (self.http_port or 0),
            'log_level': 'debug',
            'maintenance_interval': 1,
            'workers': 2,
            'socket_mode': '0666',
            'mail_command': self._write_mailer(),
        }
        self.conf.update(SCRYPT_TEST)
        self.conf.update(conf)
        self.listen = self.socket_path
        self.proc = None
        self.write_config()

    def _write_mailer(self):
        """A mail_command that appends each message to tmpdir/mail.out."""
        path = os.path.join(self.tmpdir, 'sendmail.sh')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\ncat >> "%s"\necho >> "%s"\n'
                    % (os.path.join(self.tmpdir, 'mail.out'),
                       os.path.join(self.tmpdir, 'mail.out')))
        os.chmod(path, 0o755)
        return path

    # -- config
    def write_config(self, path=None, **changes):
        """(Re)write the config file with changes applied."""
        self.conf.update(changes)
        lines = ['# generated by tests/integration/harness.py']
        for k, v in self.conf.items():
            if v is not None:
                lines.append('%s = %s' % (k, _conf_value(v)))
        data = '\n'.join(lines) + '\n'
        path = path or self.config_path
        with open(path + '.tmp', 'w') as f:
            f.write(data)
        os.replace(path + '.tmp', path)
        return path

    @property
    def cookie_name(self):
        return self.conf.get('cookie_name', 'authgw_sid')

    @property
    def base_url(self):
        return self.conf['base_url']

    # -- processes
    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _logfile(self):
        return open(self.log_path, 'ab')

    def start(self, listen=None, wait=True, env=None):
        """Start `authgw -c FILE` listening on listen (default: the unix
        socket tmpdir/authgw.sock) and wait until it accepts."""
        if not os.access(AUTHGW_BIN, os.X_OK):
            raise RuntimeError('authgw is not built: %s' % AUTHGW_BIN)
        self.listen = listen or self.socket_path
        self.conf['listen'] = self.listen
        self.write_config()
        with self._logfile() as log:
            self.proc = _register(subprocess.Popen(
                [AUTHGW_BIN, '-c', self.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.tmpdir, start_new_session=True,
                env=self._env(env)))
        if wait:
            try:
                wait_connectable(self.listen, proc=self.proc)
            except RuntimeError as e:
                raise RuntimeError('%s\n--- authgw.log:\n%s' % (e, self.log()))
        return self

    def _env(self, extra=None):
        env = dict(os.environ)
        for k in ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES',
                  'GATEWAY_INTERFACE', 'AUTHGW_CONFIG'):
            env.pop(k, None)
        if extra:
            env.update(extra)
        return env

    def popen(self, argv, **kw):
        """Start another process (spawn-fcgi, a CGI run, ...) in its own
        session, registered for cleanup, logging to authgw.log."""
        kw.setdefault('stdin', subprocess.DEVNULL)
        if 'stdout' not in kw or 'stderr' not in kw:
            log = self._logfile()
            kw.setdefault('stdout', log)
            kw.setdefault('stderr', log)
        kw.setdefault('cwd', self.tmpdir)
        kw['env'] = self._env(kw.get('env'))
        proc = _register(subprocess.Popen(argv, start_new_session=True, **kw))
        self.proc = proc
        return proc

    def send_signal(self, sig):
        os.kill(self.proc.pid, sig)

    def reload(self, **changes):
        """Rewrite the config with changes and send SIGHUP."""
        if changes:
            self.write_config(**changes)
        self.send_signal(signal.SIGHUP)

    def workers(self):
        return children_of(self.proc.pid) if self.proc else []

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=STOP_TIMEOUT):
        """Wait for the process to exit by itself; returns its exit code
        (SIGKILLs it and its group after timeout)."""
        return _reap(self.proc, timeout) if self.proc else None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the master and wait; returns its exit code (None if it
        was not started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except OSError:
                pass
        rc = _reap(self.proc, timeout)
        return rc

    # -- command line
    def cli(self, *args, input=None, config=True, timeout=60, env=None):
        argv = [AUTHGW_BIN]
        if config:
            argv += ['-c', self.config_path]
        argv += list(args)
        return subprocess.run(argv, input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.tmpdir,
                              env=self._env(env))

    def add_user(self, email, password, admin=False, verified=True):
        args = ['user', 'add', email]
        if admin:
            args.append('--admin')
        if verified:
            args.append('--verified')
        r = self.cli(*args, input=password + '\n')
        if r.returncode != 0:
            raise RuntimeError('user add %s failed (%d): %s%s'
                               % (email, r.returncode, r.stdout, r.stderr))
        return r

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    # -- database
    def db(self):
        """A read-mostly sqlite3 connection to the database."""
        c = sqlite3.connect(self.db_path, timeout=10)
        c.execute('PRAGMA busy_timeout = 10000')
        return c

    def query(self, sql, *args):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    # -- talking to it without a web server
    def fcgi(self, path, method='GET', query='', headers=None, body=b'',
             role=1, extra=None, addr=None, timeout=30.0):
        """One RESPONDER (or role) request straight over FastCGI."""
        return fcgi(addr or self.listen,
                    make_params(method, path, query, headers, body,
                                extra=extra),
                    body, role=role, timeout=timeout)


    def login_cookie(self, email, password, addr=None):
        """Log in with a JSON POST over FastCGI; returns the session
        token (the cookie's value). Raises if the login fails."""
        body = jsonlib.dumps({'email': email, 'password': password}).encode()
        r = self.fcgi(self.conf.get('prefix', '/auth') + '/login', 'POST',
                      headers={'Content-Type': 'application/json',
                               'Accept': 'application/json'},
                      body=body, addr=addr)
        if r.status != 200:
            raise AssertionError('login %s: %r' % (email, r))
        c = r.set_cookies().get(self.cookie_name)
        if not c or not c[0]:
            raise AssertionError('login %s set no %s cookie: %r'
                                 % (email, self.cookie_name, r))
        return c[0]

    def check(self, token=None, addr=None, query='', headers=None):
        """GET prefix/check over FastCGI with the session cookie."""
        h = dict(headers or {})
        if token is not None:
            h['Cookie'] = '%s=%s' % (self.cookie_name, token)
        return self.fcgi(self.conf.get('prefix', '/auth') + '/check',
                         query=query, headers=h, addr=addr)


# -------------------------------------------------------------------- nginx

def render_template(src, dst, subst):
    with open(src) as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace('@%s@' % k, str(v))
    left = re.findall(r'@[A-Z_]+@', text)
    if left:
        raise RuntimeError('unsubstituted placeholders in %s: %s' % (src, left))
    with open(dst, 'w') as f:
        f.write(text)
    return dst


# The address the shipped files that are installed as they are (the nginx
# snippet, lighttpd's and Apache's conf-available files) name for authgw:
# the socket of conf/authgw.socket. The tests point it at their own.
PACKAGED_SOCKET = '/run/authgw/authgw.sock'


def render_packaged(src, dst, replace):
    """Copy src to dst with each literal key of replace replaced by its
    value; every key must occur in src (a file that stops naming what the
    tests replace must fail them, not run against something else)."""
    with open(src) as f:
        text = f.read()
    for old, new in replace.items():
        if old not in text:
            raise RuntimeError('%s no longer contains %r' % (src, old))
        text = text.replace(old, str(new))
    with open(dst, 'w') as f:
        f.write(text)
    return dst


def current_user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


class ServerProcess:
    """A server run in the foreground, in its own process group, from its
    own directory; the base of Nginx and the web servers of test_lighttpd,
    test_apache and test_cgi_apache.

    A subclass sets self.dir (working directory, holds stderr.log and the
    LOG_FILES), self.port (127.0.0.1 port it listens on) and self.proc =
    None, and defines command() (the argv). start() waits until the port
    accepts connections; stop() sends SIGTERM and reaps the whole process
    group (children, and FastCGI programs the server started).
    """

    LOG_FILES = ('stderr.log',)  # read by log(), in self.dir
    LOG_NAMED = False            # log(): a '[name]' line before each file
    LOG_LABEL = 'server log'     # names log() in start()'s error

    def command(self):
        raise NotImplementedError

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        with open(os.path.join(self.dir, 'stderr.log'), 'ab') as log:
            self.proc = _register(subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, cwd=self.dir, start_new_session=True))
        try:
            wait_connectable(('127.0.0.1', self.port), proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError('%s\n--- %s:\n%s'
                               % (e, self.LOG_LABEL, self.log()))
        return self

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        # _reap also kills what is left of the process group.
        return _reap(self.proc)

    def log(self):
        out = ''
        for name in self.LOG_FILES:
            try:
                with open(os.path.join(self.dir, name), errors='replace') as f:
                    text = f.read()
            except OSError:
                continue
            out += '[%s]\n%s' % (name, text) if self.LOG_NAMED else text
        return out


def nginx_conf_file(nginx_bin, name):
    """A file nginx (Debian's) installs beside its nginx.conf (its
    --conf-path): fastcgi_params, fastcgi.conf, snippets/fastcgi-php.conf,
    as they are: the tests use the stock files."""
    conf_dir = '/etc/nginx'
    try:
        out = subprocess.run([nginx_bin, '-V'], capture_output=True,
                             text=True, timeout=10).stderr
        m = re.search(r'--conf-path=(\S+)', out)
        if m:
            conf_dir = os.path.dirname(m.group(1))
    except (OSError, subprocess.SubprocessError):
        pass
    path = os.path.join(conf_dir, name)
    if not os.path.exists(path):
        raise unittest.SkipTest('nginx has no stock %s (%s)' % (name, path))
    return path


def nginx_fastcgi_params(nginx_bin):
    return nginx_conf_file(nginx_bin, 'fastcgi_params')


# PHP-FPM's socket as the shipped nginx files name it (Debian's php-fpm
# alternative); the tests point it at FcgiEcho.
PACKAGED_PHP_SOCKET = '/run/php/php-fpm.sock'

# Locations a Debian site commonly has beside the protected ones (the
# default site's PHP block, a static-files rule); regex locations, which
# nginx prefers to a plain prefix location.
SITE_REGEX_LOCATIONS = r"""
		location ~ \.php$ {
			include snippets/fastcgi-php.conf;
			fastcgi_pass %(php)s;
		}
		location ~* \.(png|jpg|css|js)$ {
			expires 7d;
		}
"""


class FcgiEcho:
    """tests/integration/fcgi_echo.py, a stand-in for PHP-FPM, on a unix
    socket: answers 200 with REMOTE_USER=... lines."""

    def __init__(self, path):
        self.path = path
        self.proc = None

    def start(self):
        self.proc = _register(subprocess.Popen(
            [sys.executable, os.path.join(TESTS_DIR, 'fcgi_echo.py'),
             self.path], stdin=subprocess.DEVNULL, start_new_session=True))
        wait_connectable(self.path, proc=self.proc)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return _reap(self.proc) if self.proc else None


class Nginx(ServerProcess):
    """nginx running the shipped conf/nginx.conf, rendered into tmpdir,
    with the snippet it includes (conf/nginx-snippet.conf, as
    tmpdir/nginx/snippets/authgw.conf).

    Nginx(tmpdir, authgw, prefix='/auth', port=None, micro_cache=False):
    authgw is an Authgw (its listen address and http_port are used) or an
    address: a unix socket path or 'host:port'. micro_cache turns on the
    shipped micro-cache recipe (the "#cache " lines). Static files: tmpdir/nginx/root with
    index.html (public), private/index.html (any session) and
    staff/index.html (role admin).
    """

    PRIVATE_TEXT = 'private page for signed-in users'
    STAFF_TEXT = 'staff page for admins'

    def __init__(self, tmpdir, authgw_socket_or_addr, prefix='/auth',
                 port=None, template=None, micro_cache=False,
                 site_regex=False):
        self.bin = require_program('nginx')
        self.dir = os.path.join(tmpdir, 'nginx')
        os.makedirs(self.dir, exist_ok=True)
        ag = authgw_socket_or_addr
        if isinstance(ag, Authgw):
            self.authgw = ag
            addr = ag.listen
            if port is None:
                port = ag.http_port
        else:
            self.authgw = None
            addr = ag
        self.port = port or free_port()
        if addr.startswith('/'):
            addr = 'unix:' + addr
        self.upstream = addr
        self.prefix = prefix
        self.root = os.path.join(self.dir, 'root')
        for sub, text in (('', 'public page'),
                          ('private', self.PRIVATE_TEXT),
                          ('staff', self.STAFF_TEXT)):
            d = os.path.join(self.root, sub)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'index.html'), 'w') as f:
                f.write('<!doctype html><title>%s</title><p>%s</p>\n'
                        % (text, text))
        self.template = template or os.path.join(CONF_DIR, 'nginx.conf')
        self.snippet = os.path.join(self.dir, 'snippets', 'authgw.conf')
        self.micro_cache = micro_cache
        self.site_regex = site_regex
        # PHP-FPM of the shipped files: start an FcgiEcho here to answer.
        self.php_socket = os.path.join(self.dir, 'php-fpm.sock')
        self.cache_dir = os.path.join(self.dir, 'check-cache')
        self.config_path = os.path.join(self.dir, 'nginx.conf')
        self.error_log = os.path.join(self.dir, 'error.log')
        self.proc = None
        self.render()

    def render(self):
        # The shipped config includes nginx's stock fastcgi_params from its
        # own directory, as it would in /etc/nginx.
        shutil.copy(nginx_fastcgi_params(self.bin),
                    os.path.join(self.dir, 'fastcgi_params'))
        # And, for PHP under /private/, Debian's PHP snippet and the
        # fastcgi.conf it includes.
        os.makedirs(os.path.join(self.dir, 'snippets'), exist_ok=True)
        for name in ('fastcgi.conf', 'snippets/fastcgi-php.conf'):
            shutil.copy(nginx_conf_file(self.bin, name),
                        os.path.join(self.dir, name))
        text_subst = {
            'PORT': '127.0.0.1:%d' % self.port,
            'AUTHGW': self.upstream,
            'ROOT': self.root,
            'TMP': self.dir,
            'USER': current_user(),
            'CACHE': self.cache_dir,
        }
        render_template(self.template, self.config_path, text_subst)
        php = 'unix:' + self.php_socket
        with open(self.config_path) as f:
            text = f.read()
        text = text.replace('unix:' + PACKAGED_PHP_SOCKET, php)
        if self.site_regex:
            anchor = '\t\tinclude snippets/authgw.conf;\n'
            if anchor not in text:
                raise RuntimeError('no %r in %s' % (anchor, self.template))
            text = text.replace(anchor, anchor + SITE_REGEX_LOCATIONS
                                % {'php': php})
        with open(self.config_path, 'w') as f:
            f.write(text)
        # The snippet nginx.conf includes (the file the Debian package
        # installs as /etc/nginx/snippets/authgw.conf), pointed at this
        # test's authgw.
        os.makedirs(os.path.dirname(self.snippet), exist_ok=True)
        render_packaged(os.path.join(CONF_DIR, 'nginx-snippet.conf'),
                        self.snippet,
                        {'unix:' + PACKAGED_SOCKET: self.upstream})
        if self.micro_cache:
            # The shipped recipe, turned on as its comments say.
            for path in (self.config_path, self.snippet):
                with open(path) as f:
                    text = f.read()
                text, n = re.subn(r'(?m)^(\s*)#cache ', r'\1', text)
                if n == 0:
                    raise RuntimeError('no "#cache " lines in %s' % path)
                with open(path, 'w') as f:
                    f.write(text)
        if self.prefix != '/auth':
            for path in (self.config_path, self.snippet):
                with open(path) as f:
                    text = f.read()
                text = text.replace('/auth/', self.prefix.rstrip('/') + '/')
                with open(path, 'w') as f:
                    f.write(text)

    LOG_FILES = ('stderr.log', 'error.log')
    LOG_LABEL = 'nginx error log'

    def command(self):
        return [self.bin, '-p', self.dir + '/', '-c', self.config_path,
                '-e', self.error_log, '-g', 'daemon off;']


# ---------------------------------------------------------------- PostgreSQL

class PostgreSQL:
    """A throw-away PostgreSQL server (tests/pgtest.sh: initdb as the
    postgres user into tmpdir/pg, fsync off, a unix socket only); .uri is
    authgw's database value. Skipped where PostgreSQL is not installed,
    except under CI=true (CI installs it: a missing server fails)."""

    def __init__(self, tmpdir):
        self.script = os.path.join(SRC_DIR, 'tests', 'pgtest.sh')
        self.dir = os.path.join(tmpdir, 'pg')
        self.uri = None
        if subprocess.run(['sh', self.script, 'bindir'],
                          capture_output=True).returncode != 0:
            if os.environ.get('CI') == 'true':
                raise AssertionError('PostgreSQL is not installed')
            raise unittest.SkipTest('PostgreSQL is not installed')

    @property
    def pid(self):
        try:
            with open(os.path.join(self.dir, 'data', 'postmaster.pid')) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def start(self):
        if self.uri is None:
            r = subprocess.run(['sh', self.script, 'start', self.dir],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise AssertionError('PostgreSQL did not start: ' + r.stderr)
            self.uri = r.stdout.strip()
        else:
            # Again, on the same data directory (after stop()).
            bindir = subprocess.run(['sh', self.script, 'bindir'],
                                    capture_output=True, text=True,
                                    check=True).stdout.strip()
            # The options tests/pgtest.sh starts it with.
            opts = ("-c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c listen_addresses='' "
                    "-c unix_socket_directories='%s' -c max_connections=50"
                    % self.dir)
            argv = [os.path.join(bindir, 'pg_ctl'), '-D',
                    os.path.join(self.dir, 'data'), '-l',
                    os.path.join(self.dir, 'server.log'), '-w', '-o', opts,
                    'start']
            if os.geteuid() == 0:
                argv = ['runuser', '-u', 'postgres', '--'] + argv
            subprocess.run(argv, check=True, capture_output=True, timeout=60)
        return self

    def psql(self, sql):
        """Run sql; returns the rows as lists of strings."""
        r = subprocess.run(['psql', '-X', '-q', '-A', '-t', '-F', '\t',
                            '-v', 'ON_ERROR_STOP=1', self.uri, '-c', sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError('psql: %s' % r.stderr)
        return [line.split('\t') for line in r.stdout.splitlines() if line]

    def stop(self):
        if self.uri is None:
            return None
        subprocess.run(['sh', self.script, 'stop', self.dir],
                       capture_output=True, timeout=60)
        return 0


# ---------------------------------------------------------------- memcached

class Memcached:
    """memcached -l 127.0.0.1 -p PORT -U 0; .addr is 'host:port'."""

    def __init__(self, tmpdir, port=None):
        self.bin = require_program('memcached')
        self.tmpdir = tmpdir
        self.port = port or free_port()
        self.addr = '127.0.0.1:%d' % self.port
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        argv = [self.bin, '-l', '127.0.0.1', '-p', str(self.port), '-U', '0',
                '-m', '16', '-c', '256']
        if os.geteuid() == 0:
            argv += ['-u', 'root']
        with open(os.path.join(self.tmpdir, 'memcached.log'), 'ab') as log:
            self.proc = _register(subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True))
        wait_connectable(self.addr, proc=self.proc)
        return self

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def command(self, line, timeout=5.0):
        """Send one text-protocol command; returns the raw answer."""
        with socket.create_connection(('127.0.0.1', self.port), timeout) as s:
            s.sendall(line.encode() + b'\r\n')
            data = b''
            while not re.search(rb'(END|OK|ERROR|STORED|DELETED|NOT_FOUND'
                                rb'|\d+)\r\n$', data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data.decode('latin-1')

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        return _reap(self.proc)


# ------------------------------------------------------------------ clients

class Response:
    """status (int), headers (dict, lowercase names; a list when repeated),
    body (bytes); .json(), .text, .header(name), .get_all(name)."""

    def __init__(self, status, header_pairs, body, reason=''):
        self.status = status
        self.reason = reason
        self.header_pairs = list(header_pairs)
        self.headers = {}
        for k, v in self.header_pairs:
            k = k.lower()
            if k in self.headers:
                old = self.headers[k]
                self.headers[k] = (old if isinstance(old, list) else [old]) + [v]
            else:
                self.headers[k] = v
        self.body = body

    def get_all(self, name):
        v = self.headers.get(name.lower())
        if v is None:
            return []
        return v if isinstance(v, list) else [v]

    def header(self, name, default=None):
        v = self.get_all(name)
        return v[0] if v else default

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return jsonlib.loads(self.body.decode('utf-8'))

    def set_cookies(self):
        """{name: (value, {attr_lower: value_or_True})} of Set-Cookie."""
        out = {}
        for sc in self.get_all('set-cookie'):
            name, value, attrs = parse_set_cookie(sc)
            out[name] = (value, attrs)
        return out

    def __repr__(self):
        body = self.body[:300]
        return '<Response %d %r %r>' % (self.status, self.header_pairs, body)


def parse_set_cookie(sc):
    parts = [p.strip() for p in sc.split(';')]
    name, _, value = parts[0].partition('=')
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition('=')
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


class _FieldFinder(html.parser.HTMLParser):
    def __init__(self, name):
        super().__init__()
        self.name = name
        self.value = None

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag == 'input' and d.get('name') == self.name and self.value is None:
            self.value = d.get('value', '')


def html_field(text, name):
    """The value of <input name=NAME> in an HTML page, or None."""
    f = _FieldFinder(name)
    f.feed(text)
    return f.value


class Client:
    """An HTTP client with a cookie jar (name -> value, no domain logic)."""

    def __init__(self, port, host='127.0.0.1', prefix='/auth', timeout=30):
        self.port = port
        self.host = host
        self.prefix = prefix
        self.timeout = timeout
        self.cookies = {}

    def cookie_header(self):
        return '; '.join('%s=%s' % kv for kv in self.cookies.items())

    def _store_cookies(self, resp):
        for sc in resp.get_all('set-cookie'):
            name, value, attrs = parse_set_cookie(sc)
            dead = attrs.get('max-age') in ('0', '-1') or value == ''
            exp = attrs.get('expires')
            if isinstance(exp, str) and re.search(r'19[0-9][0-9]|1970', exp):
                dead = True
            if dead:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method, path, body=None, headers=None, json=None,
                form=None, cookies=True):
        hdrs = {}
        if json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs['Content-Type'] = 'application/json'
            hdrs['Accept'] = 'application/json'
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs['Content-Type'] = 'application/x-www-form-urlencoded'
        if isinstance(body, str):
            body = body.encode()
        if cookies and self.cookies:
            hdrs['Cookie'] = self.cookie_header()
        if headers:
            for k, v in headers.items():
                # A header given as None is removed.
                for existing in list(hdrs):
                    if existing.lower() == k.lower():
                        del hdrs[existing]
                if v is not None:
                    hdrs[k] = v
        if body is not None and method in ('GET', 'HEAD') and not body:
            body = None
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data, r.reason)
        finally:
            conn.close()
        self._store_cookies(resp)
        return resp

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, **kw):
        return self.request('POST', path, **kw)

    def csrf(self):
        """GET the login page; returns the csrf field (the csrf cookie is
        kept in the jar)."""
        r = self.get(self.prefix + '/login')
        if r.status != 200:
            raise AssertionError('GET login: %r' % r)
        token = html_field(r.text, 'csrf')
        if token is None:
            raise AssertionError('no csrf field in the login page')
        return token

    def login(self, email, password, next=None, json=False, headers=None):
        """Log in through the form (GET login, csrf, POST) or JSON; returns
        the POST's Response."""
        if json:
            body = {'email': email, 'password': password}
            if next is not None:
                body['next'] = next
            return self.post(self.prefix + '/login', json=body,
                             headers=headers)
        form = {'email': email, 'password': password,
                'csrf': self.csrf()}
        if next is not None:
            form['next'] = next
        return self.post(self.prefix + '/login', form=form, headers=headers)

    def session_cookie(self, name='authgw_sid'):
        return self.cookies.get(name)


# ------------------------------------------------------------------ FastCGI

FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_DATA = 8
FCGI_RESPONDER = 1
FCGI_AUTHORIZER = 2
FCGI_FILTER = 3


def _fcgi_record(rtype, req_id, content):
    out = b''
    # A record holds at most 65535 bytes; an empty one ends a stream.
    chunks = [content[i:i + 65535] for i in range(0, len(content), 65535)]
    if not chunks:
        chunks = [b'']
    for c in chunks:
        pad = (8 - len(c) % 8) % 8
        out += struct.pack('!BBHHBx', 1, rtype, req_id, len(c), pad) + c + b'\0' * pad
    return out


def _fcgi_len(n):
    return struct.pack('!B', n) if n < 128 else struct.pack('!I', n | 0x80000000)


def fcgi_encode_params(params):
    out = b''
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v
    return out


def parse_cgi_response(data):
    """Split a CGI response into (headers dict, body). The dict has
    lowercase names, a list for repeats, and always a 'status' entry
    ('200 OK' when the program sent no Status line)."""
    sep = data.find(b'\r\n\r\n')
    seplen = 4
    alt = data.find(b'\n\n')
    if alt != -1 and (sep == -1 or alt < sep):
        sep, seplen = alt, 2
    if sep == -1:
        head, body = data, b''
    else:
        head, body = data[:sep], data[sep + seplen:]
    pairs = []
    for line in re.split(rb'\r?\n', head):
        if not line:
            continue
        k, _, v = line.decode('latin-1').partition(':')
        pairs.append((k.strip(), v.strip()))
    headers = Response(0, pairs, b'').headers
    headers.setdefault('status', '200 OK')
    return headers, body


def status_of(headers):
    """The numeric status of a parsed CGI header dict."""
    st = headers.get('status', '200')
    if isinstance(st, list):
        st = st[0]
    return int(st.split()[0])


def fcgi_raw(addr, params, stdin=b'', role=FCGI_RESPONDER, timeout=30.0,
             req_id=1, keep_conn=False):
    """One FastCGI request. Returns (stdout bytes, stderr bytes,
    app_status, protocol_status)."""
    fam, a = parse_addr(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(a)
        msg = _fcgi_record(FCGI_BEGIN_REQUEST, req_id,
                           struct.pack('!HB5x', role, 1 if keep_conn else 0))
        p = fcgi_encode_params(params)
        if p:
            msg += _fcgi_record(FCGI_PARAMS, req_id, p)
        msg += _fcgi_record(FCGI_PARAMS, req_id, b'')
        if stdin:
            msg += _fcgi_record(FCGI_STDIN, req_id, stdin)
        msg += _fcgi_record(FCGI_STDIN, req_id, b'')
        s.sendall(msg)
        out, err = b'', b''
        buf = b''
        while True:
            while len(buf) < 8:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError('FastCGI connection closed before '
                                          'END_REQUEST (stdout so far: %r)'
                                          % out[:200])
                buf += chunk
            _v, rtype, _rid, clen, plen = struct.unpack('!BBHHBx', buf[:8])
            while len(buf) < 8 + clen + plen:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError('FastCGI connection closed mid-record')
                buf += chunk
            content = buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if rtype == FCGI_STDOUT:
                out += content
            elif rtype == FCGI_STDERR:
                err += content
            elif rtype == FCGI_END_REQUEST:
                app_status, proto = struct.unpack('!IB3x', content[:8])
                return out, err, app_status, proto
    finally:
        s.close()


def fcgi_request(addr, params, stdin=b'', role=FCGI_RESPONDER, timeout=30.0):
    """One FastCGI request to addr (unix path, 'host:port' or (host, port)).
    Returns (headers, body): headers as parse_cgi_response gives them
    (lowercase names, 'status' always present)."""
    out, _err, _app, _proto = fcgi_raw(addr, params, stdin, role, timeout)
    return parse_cgi_response(out)


def fcgi(addr, params, stdin=b'', role=FCGI_RESPONDER, timeout=30.0):
    """Like fcgi_request, as a Response."""
    headers, body = fcgi_request(addr, params, stdin, role, timeout)
    pairs = []
    for k, v in headers.items():
        for x in (v if isinstance(v, list) else [v]):
            if k != 'status':
                pairs.append((k, x))
    return Response(status_of(headers), pairs, body)


def make_params(method, path, query='', headers=None, body=b'', extra=None,
                remote_addr='127.0.0.1', host='127.0.0.1'):
    """CGI/FastCGI parameters of a request as nginx would send them."""
    uri = path + ('?' + query if query else '')
    p = {
        'GATEWAY_INTERFACE': 'CGI/1.1',
        'SERVER_SOFTWARE': 'authgw-tests',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'SERVER_NAME': host,
        'SERVER_ADDR': '127.0.0.1',
        'SERVER_PORT': '80',
        'REQUEST_SCHEME': 'http',
        'REQUEST_METHOD': method,
        'REQUEST_URI': uri,
        'SCRIPT_NAME': path,
        'DOCUMENT_URI': path,
        'QUERY_STRING': query,
        'REMOTE_ADDR': remote_addr,
        'REMOTE_PORT': '40000',
        'HTTP_HOST': host,
        'CONTENT_LENGTH': str(len(body)) if body else '',
        'CONTENT_TYPE': '',
    }
    for k, v in (headers or {}).items():
        kk = k.upper().replace('-', '_')
        if kk == 'CONTENT_TYPE':
            p['CONTENT_TYPE'] = v
        else:
            p['HTTP_' + kk] = v
    if extra:
        for k, v in extra.items():
            if v is None:
                p.pop(k, None)
            else:
                p[k] = v
    return p


def cgi_request(env, stdin=b'', config=None, timeout=30.0):
    """Run authgw as a plain CGI program with env (CGI variables) and
    stdin; config sets AUTHGW_CONFIG. Returns a Response; .returncode and
    .stderr are added."""
    e = {k: v for k, v in os.environ.items()
         if k not in ('LISTEN_FDS', 'LISTEN_PID', 'AUTHGW_CONFIG')}
    e.update(env)
    e.setdefault('GATEWAY_INTERFACE', 'CGI/1.1')
    if config:
        e['AUTHGW_CONFIG'] = config
    # Its own session, so that a run that turns out to be a server (a
    # config with listen) is killed whole on time-out.
    proc = _register(subprocess.Popen(
        [AUTHGW_BIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=e, start_new_session=True))
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        proc.communicate()
        _reap(proc, 5)
        raise
    _reap(proc, 5)
    r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    headers, body = parse_cgi_response(r.stdout)
    pairs = [(k, x) for k, v in headers.items() if k != 'status'
             for x in (v if isinstance(v, list) else [v])]
    resp = Response(status_of(headers), pairs, body)
    resp.returncode = r.returncode
    resp.stderr = r.stderr.decode('utf-8', 'replace')
    resp.raw = r.stdout
    return resp


# ----------------------------------------------------------------- TestCase

class TestCase(unittest.TestCase):
    """A temp dir per test, removed at the end (kept with AUTHGW_KEEP_TMP
    on failure); servers registered with self.track() are stopped first."""

    def setUp(self):
        if not os.access(AUTHGW_BIN, os.X_OK):
            self.fail('authgw is not built: %s (set AUTHGW_BUILDDIR)'
                      % AUTHGW_BIN)
        self.tmpdir = tempfile.mkdtemp(prefix='authgw-it-')
        os.chmod(self.tmpdir, 0o755)
        self._servers = []
        self.addCleanup(self._cleanup_tmp)

    def track(self, server):
        """Stop server (anything with .stop()) at the end of the test."""
        self._servers.append(server)
        self.addCleanup(self._stop_quietly, server)
        return server

    @staticmethod
    def _stop_quietly(server):
        try:
            server.stop()
        except Exception as e:  # cleanup must go on
            sys.stderr.write('cleanup: %s\n' % e)

    def _failed(self):
        outcome = getattr(self, '_outcome', None)
        if outcome is None:
            return False
        res = getattr(outcome, 'result', None)
        if res is not None:
            for _t, _e in list(res.failures) + list(res.errors):
                if _t is self:
                    return True
        return not getattr(outcome, 'success', True)

    def _cleanup_tmp(self):
        if os.environ.get('AUTHGW_KEEP_TMP') and self._failed():
            sys.stderr.write('kept %s\n' % self.tmpdir)
            return
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def authgw(self, **conf):
        """A tracked Authgw in self.tmpdir (not started). After it is
        stopped, its log must hold no sanitizer report."""
        ag = Authgw(self.tmpdir, **conf)
        self.addCleanup(self.assert_no_sanitizer_reports, ag)
        return self.track(ag)

    SANITIZER_RE = re.compile(r'(AddressSanitizer|LeakSanitizer|'
                              r'UndefinedBehaviorSanitizer|runtime error:)')

    def assert_no_sanitizer_reports(self, ag):
        m = self.SANITIZER_RE.search(ag.log())
        if m:
            raise AssertionError('sanitizer report in authgw.log:\n%s'
                                 % ag.log()[max(0, m.start() - 200):][:4000])

    def dump_logs_on_failure(self, *servers):
        """Print server logs if the test fails (register early)."""
        def dump():
            if self._failed():
                for s in servers:
                    try:
                        sys.stderr.write('\n--- %s log:\n%s\n'
                                         % (type(s).__name__, s.log()[-6000:]))
                    except Exception:
                        pass
        self.addCleanup(dump)

    def start_web_server(self, web, *logs):
        """Track web (a ServerProcess listening on self.port), dump the logs
        of `logs` if the test fails, start web and set self.client to a
        Client of it."""
        self.web = self.track(web)
        self.dump_logs_on_failure(*logs)
        self.web.start()
        self.client = Client(self.port)


# ------------------------------------------------------------- web servers
#
# Shared by test_lighttpd.py, test_apache.py and test_cgi_apache.py: the
# document root, Apache's generated httpd.conf, and the flows every web
# server front end must pass.

WEB_EMAIL = 'lighty@example.org'
WEB_PASSWORD = 'lighty password 1'
WEB_SECRET_TEXT = 'secret text for signed-in users\n'

# A CGI program under /private/: what the web server passed on after the
# authorizer let the request through, and the request body it still got.
WHOAMI_CGI = r"""#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
for v in REMOTE_USER AUTH_USER AUTH_USER_ID AUTH_ROLE AUTH_METHOD REQUEST_METHOD; do
    eval "printf '%s=%s\n' $v \"\$$v\""
done
if [ -n "$CONTENT_LENGTH" ] && [ "$CONTENT_LENGTH" -gt 0 ]; then
    printf 'BODY='
    head -c "$CONTENT_LENGTH"
    printf '\n'
fi
"""


def make_docroot(root):
    """A public index.html, and under private/ a static file holding
    WEB_SECRET_TEXT and the CGI WHOAMI_CGI (whoami.cgi)."""
    priv = os.path.join(root, 'private')
    os.makedirs(priv, exist_ok=True)
    with open(os.path.join(root, 'index.html'), 'w') as f:
        f.write('<!doctype html><title>public</title><p>public page</p>\n')
    with open(os.path.join(priv, 'secret.txt'), 'w') as f:
        f.write(WEB_SECRET_TEXT)
    cgi = os.path.join(priv, 'whoami.cgi')
    with open(cgi, 'w') as f:
        f.write(WHOAMI_CGI)
    os.chmod(cgi, 0o755)


def parse_env_dump(text):
    """WHOAMI_CGI's output (NAME=value lines) as a dict."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep:
            out[k] = v
    return out


APACHE = find_program('apache2') or find_program('httpd')
APACHE_MODULE_DIRS = ('/usr/lib/apache2/modules', '/usr/lib64/httpd/modules',
                      '/usr/lib/httpd/modules', '/usr/libexec/apache2')


def apache_module_path(name):
    """Path of Apache's mod_NAME.so, or None if it is not installed."""
    for d in APACHE_MODULE_DIRS:
        p = os.path.join(d, 'mod_%s.so' % name)
        if os.path.exists(p):
            return p
    return None


def apache_missing(modules):
    """Why Apache with `modules` cannot run here, or None."""
    if APACHE is None:
        return 'Apache httpd (apache2) is not installed'
    lacking = [m for m in modules if apache_module_path(m) is None]
    if lacking:
        return 'Apache modules not installed: %s' % ', '.join(lacking)
    return None


def apache_run_as():
    """User and group Apache's children run as: root is refused, so nobody
    when we are root, else ourselves (Apache cannot switch anyway)."""
    if os.geteuid() == 0:
        user = 'nobody'
        try:
            group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        except KeyError:
            group = 'nogroup'
        return user, group
    return (pwd.getpwuid(os.geteuid()).pw_name,
            grp.getgrgid(os.getegid()).gr_name)


def apache_authgw_conf():
    """authgw.conf keys for an authgw that Apache runs as its own user in a
    directory that user can write: when we are root, user = that user, so
    the tests' command line (run as root) works as it; root without `user`
    refuses a directory others can write."""
    if os.geteuid() == 0:
        return {'user': apache_run_as()[0]}
    return {}


def apache_chown_authgw_files(tmpdir):
    """Give tmpdir's authgw.* files (config, database...) to apache_run_as(),
    for an authgw that Apache runs as its own user."""
    user, group = apache_run_as()
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    for name in os.listdir(tmpdir):
        if name.startswith('authgw.'):
            os.chown(os.path.join(tmpdir, name), uid, gid)


APACHE_BASE_CONF = """\
# generated by tests/integration/harness.py
ServerRoot "{dir}"
DefaultRuntimeDir "{dir}"
PidFile "{dir}/httpd.pid"
ErrorLog "{dir}/error.log"
LogLevel warn
LogFormat "%h %u \\"%r\\" %>s" short
CustomLog "{dir}/access.log" short
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
User {user}
Group {group}
{load_modules}
StartServers 1
MinSpareServers 1
MaxSpareServers 4
MaxRequestWorkers 16
Timeout 30
TypesConfig /dev/null
AddType text/html .html
AddType text/plain .txt
AddHandler cgi-script .cgi
DocumentRoot "{root}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{root}">
    Options +ExecCGI
    Require all granted
</Directory>
{extra}
Include "{site}"
"""


class ApacheServer(ServerProcess):
    """apache2 -DFOREGROUND in tmpdir/apache with a generated httpd.conf
    (APACHE_BASE_CONF): DocumentRoot tmpdir/apache/root (make_docroot),
    children as apache_run_as(), and an Include of self.site. A subclass
    writes self.site, then calls write_config(modules, extra)."""

    LOG_FILES = ('stderr.log', 'error.log', 'access.log')
    LOG_NAMED = True
    LOG_LABEL = 'apache log'

    def __init__(self, tmpdir, port):
        self.dir = os.path.join(tmpdir, 'apache')
        self.root = os.path.join(self.dir, 'root')
        os.makedirs(self.dir, exist_ok=True)
        make_docroot(self.root)
        self.port = port
        self.site = os.path.join(self.dir, 'site.conf')
        self.config_path = os.path.join(self.dir, 'httpd.conf')
        self.proc = None

    def write_config(self, modules, extra=''):
        """Write httpd.conf loading `modules` (names without mod_), with
        `extra` directives before the Include of self.site."""
        user, group = apache_run_as()
        load = '\n'.join('LoadModule %s_module "%s"'
                         % (m, apache_module_path(m)) for m in modules)
        with open(self.config_path, 'w') as f:
            f.write(APACHE_BASE_CONF.format(
                dir=self.dir, port=self.port, user=user, group=group,
                load_modules=load, root=self.root, extra=extra,
                site=self.site))

    def command(self):
        return [APACHE, '-f', self.config_path, '-DFOREGROUND']

    def check_config(self):
        """`apache2 -t` on the generated config (a CompletedProcess)."""
        return subprocess.run([APACHE, '-t', '-f', self.config_path],
                              capture_output=True, text=True, timeout=30)


class WebServerFlows:
    """The flows every web server front end must pass; mixed into a
    TestCase whose setUp sets self.ag (an Authgw with user WEB_EMAIL),
    self.port (the web server's, serving a make_docroot() root) and
    self.client (see TestCase.start_web_server)."""

    # What a browser without a session gets: authgw's 302 to the login page
    # (lighttpd, mod_authnz_fcgi). mod_fcgid overrides this.
    def assert_browser_denied(self, r, next_uri):
        self.assert_login_redirect(r, next_uri)

    # -- helpers
    def get_private(self, client=None, path='/private/secret.txt',
                    accept='application/json', headers=None):
        h = {'Accept': accept}
        h.update(headers or {})
        return (client or self.client).get(path, headers=h)

    def login(self, client=None, next_path='/private/secret.txt'):
        c = client or self.client
        r = c.login(WEB_EMAIL, WEB_PASSWORD, next=next_path)
        self.assertEqual(r.status, 303, r)
        self.assertEqual(urllib.parse.urlsplit(r.header('location')).path,
                         next_path, r)
        self.assertTrue(c.session_cookie(self.ag.cookie_name), r)
        return r

    def assert_login_redirect(self, r, next_uri):
        self.assertEqual(r.status, 302, r)
        loc = urllib.parse.urlsplit(r.header('location', ''))
        login = urllib.parse.urlsplit(self.ag.base_url + '/auth/login')
        self.assertEqual((loc.scheme, loc.netloc, loc.path),
                         (login.scheme, login.netloc, login.path), r)
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual(q.get('next'), [next_uri], r)

    def check_fails_closed_when_authgw_is_down(self):
        """Signed in, then authgw stops: the private file is refused with
        a 5xx, not served. For the front ends where the test runs authgw."""
        self.login()
        self.assertEqual(self.get_private().status, 200)
        self.assertEqual(self.ag.stop(), 0)
        r = self.get_private()
        self.assertGreaterEqual(r.status, 500, r)
        self.assertNotIn(WEB_SECRET_TEXT.strip(), r.text)

    # -- the flows
    def test_public_page_needs_no_session(self):
        r = self.client.get('/index.html')
        self.assertEqual(r.status, 200, r)
        self.assertIn('public page', r.text)

    def test_no_session_json_client_gets_401(self):
        r = self.get_private()
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(WEB_SECRET_TEXT.strip(), r.text)

    def test_no_session_browser_is_sent_to_login(self):
        r = self.get_private(accept='text/html,application/xhtml+xml,*/*;q=0.8')
        self.assert_browser_denied(r, '/private/secret.txt')
        self.assertNotIn(WEB_SECRET_TEXT.strip(), r.text)

    def test_login_page_through_web_server(self):
        r = self.client.get('/auth/login', headers={'Accept': 'text/html'})
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(html_field(r.text, 'csrf'), r)
        self.assertIn('no-store', r.header('cache-control', ''), r)

    def test_login_then_protected_file_then_logout(self):
        self.login()
        sid = self.client.session_cookie(self.ag.cookie_name)
        r = self.get_private()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text, WEB_SECRET_TEXT)
        for name in r.headers:
            self.assertFalse(name.startswith('variable-'), r)

        r = self.client.get('/auth/session',
                            headers={'Accept': 'application/json'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user']['email'], WEB_EMAIL)

        r = self.client.post('/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(self.client.session_cookie(self.ag.cookie_name))
        r = self.get_private()
        self.assertEqual(r.status, 401, r)
        # The old cookie, replayed, is dead on the server side too.
        r = self.get_private(client=Client(self.port), headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, sid)})
        self.assertEqual(r.status, 401, r)

    def test_backend_sees_the_user(self):
        self.login()
        r = self.client.get('/private/whoami.cgi')
        self.assertEqual(r.status, 200, r)
        env = parse_env_dump(r.text)
        self.assertEqual(env.get('REMOTE_USER'), WEB_EMAIL, r)
        self.assertEqual(env.get('AUTH_USER'), WEB_EMAIL, r)
        self.assertEqual(env.get('AUTH_ROLE'), 'user', r)
        self.assertRegex(env.get('AUTH_USER_ID', ''), r'^[0-9]+$', r)

    def test_role_change_reaches_backend_at_once(self):
        self.login()
        env = parse_env_dump(self.client.get('/private/whoami.cgi').text)
        self.assertEqual(env.get('AUTH_ROLE'), 'user')
        r = self.ag.cli('user', 'role', WEB_EMAIL, 'admin')
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.client.get('/private/whoami.cgi')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(parse_env_dump(r.text).get('AUTH_ROLE'), 'admin', r)

    def test_disabled_user_is_refused_at_once(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        r = self.ag.cli('user', 'disable', WEB_EMAIL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.get_private().status, 401)

    def test_request_body_reaches_backend_after_authorizer(self):
        self.login()
        r = self.client.post('/private/whoami.cgi', body=b'hello=world',
                             headers={'Content-Type':
                                      'application/x-www-form-urlencoded'})
        self.assertEqual(r.status, 200, r)
        env = parse_env_dump(r.text)
        self.assertEqual(env.get('REQUEST_METHOD'), 'POST', r)
        self.assertEqual(env.get('REMOTE_USER'), WEB_EMAIL, r)
        self.assertEqual(env.get('BODY'), 'hello=world', r)

    def test_forged_cookie_is_refused(self):
        r = self.get_private(headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, 'A' * 43)})
        self.assertEqual(r.status, 401, r)
        r = self.get_private(headers={
            'Cookie': '%s=%s' % (self.ag.cookie_name, 'not a token')})
        self.assertEqual(r.status, 401, r)

    def test_wrong_password_is_refused(self):
        r = self.client.login(WEB_EMAIL, 'not the password')
        self.assertEqual(r.status, 401, r)
        self.assertIsNone(self.client.session_cookie(self.ag.cookie_name))
        self.assertEqual(self.get_private().status, 401)

    def test_next_keeps_the_query(self):
        r = self.get_private(path='/private/secret.txt?page=2&sort=name',
                             accept='text/html')
        self.assert_browser_denied(r, '/private/secret.txt?page=2&sort=name')

    # -- API tokens (SPEC 5): the web server must hand authgw the
    # Authorization header (Apache: CGIPassAuth On in the shipped configs).
    def add_token(self, name='web'):
        r = self.ag.cli('token', 'add', WEB_EMAIL, name)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    @staticmethod
    def basic(user, password):
        import base64
        return 'Basic ' + base64.b64encode(
            ('%s:%s' % (user, password)).encode()).decode()

    def assert_token_refused(self, r):
        """401 asking for Basic, never a redirect, nothing served."""
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header('www-authenticate'), 'Basic realm="authgw"',
                         r)
        self.assertIsNone(r.header('location'), r)
        self.assertNotIn(WEB_SECRET_TEXT.strip(), r.text)

    def test_api_token_bearer_and_basic(self):
        tok = self.add_token()
        for auth in ('Bearer ' + tok, self.basic(WEB_EMAIL, tok)):
            r = self.get_private(client=Client(self.port),
                                 headers={'Authorization': auth})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.text, WEB_SECRET_TEXT)
        r = Client(self.port).get('/private/whoami.cgi', headers={
            'Authorization': 'Bearer ' + tok})
        self.assertEqual(r.status, 200, r)
        env = parse_env_dump(r.text)
        self.assertEqual(env.get('REMOTE_USER'), WEB_EMAIL, r)
        self.assertEqual(env.get('AUTH_METHOD'), 'token', r)

    def test_api_token_refused_with_basic_challenge(self):
        tok = self.add_token()
        # A browser too gets the challenge: a script's credentials are
        # never answered with a login page.
        for accept in ('application/json', 'text/html'):
            for auth in (self.basic(WEB_EMAIL, WEB_PASSWORD),
                         self.basic('other@example.org', tok),
                         'Bearer agw_' + 'A' * 43, 'Basic !!!'):
                self.assert_token_refused(self.get_private(
                    client=Client(self.port), accept=accept,
                    headers={'Authorization': auth}))

    def test_api_token_revoked_at_once(self):
        tok = self.add_token()
        h = {'Authorization': 'Bearer ' + tok}
        self.assertEqual(self.get_private(headers=h).status, 200)
        self.assertEqual(self.get_private(headers=h).status, 200)  # cached
        tid = self.ag.cli('token', 'list', WEB_EMAIL).stdout.split('\t')[0]
        r = self.ag.cli('token', 'revoke', tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_token_refused(self.get_private(headers=h))

    def test_application_bearer_is_ignored(self):
        """An Authorization authgw does not know is the application's: the
        usual answer without a session, not a Basic challenge."""
        r = self.get_private(headers={'Authorization': 'Bearer app-token'})
        self.assertEqual(r.status, 401, r)
        self.assertNotEqual(r.header('www-authenticate'),
                            'Basic realm="authgw"', r)


# ------------------------------------------------------------------- runner

def run_module(name, counts_path=None, verbosity=2):
    """Run one test module (file name or dotted name) or test id; append
    'passed failed skipped' to counts_path. Returns 0 if all passed."""
    sys.path.insert(0, HERE)
    if name.endswith('.py'):
        name = os.path.basename(name)[:-3]
    loader = unittest.TestLoader()
    try:
        suite = loader.loadTestsFromName(name)
    except Exception as e:
        sys.stderr.write('cannot load %s: %s\n' % (name, e))
        if counts_path:
            with open(counts_path, 'a') as f:
                f.write('0 1 0\n')
        return 1
    runner = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout)
    t0 = time.monotonic()
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    sys.stdout.write('%s: %d passed, %d failed, %d skipped in %.1fs\n'
                     % (name, passed, failed, skipped, time.monotonic() - t0))
    if counts_path:
        with open(counts_path, 'a') as f:
            f.write('%d %d %d\n' % (passed, failed, skipped))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == '--run':
        counts = None
        args = sys.argv[2:]
        if len(args) >= 2 and args[0] == '--counts':
            counts, args = args[1], args[2:]
        rc = 0
        for m in args:
            rc |= run_module(m, counts)
        sys.exit(rc)
    sys.stderr.write('usage: harness.py --run [--counts FILE] MODULE...\n')
    sys.exit(64)
