"""authgw behind a real lighttpd, configured by the shipped conf/lighttpd.conf.

The example is rendered into a temp dir (placeholders replaced) with the
file it includes, conf/lighttpd-authgw.conf (the Debian package's
conf-available/20-authgw.conf, its socket pointed at the test's authgw),
and run as it is; the test only appends mod_cgi for a small CGI program
under /private/ that prints what authgw passed on (REMOTE_USER and
friends). Two variants: lighttpd connecting to an authgw that runs on its
own (unix socket), and lighttpd starting authgw itself ("bin-path", authgw
on an inherited fd 0).
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import WEB_EMAIL as EMAIL, WEB_PASSWORD as PASSWORD  # noqa: E402

LIGHTTPD = harness.find_program('lighttpd')


class Lighttpd(harness.ServerProcess):
    """lighttpd -D with conf/lighttpd.conf rendered into tmpdir/lighttpd.

    variant 'socket': authgw runs on its own; lighttpd connects to
    authgw.socket_path. variant 'bin-path': lighttpd starts authgw with
    the config file of `authgw` (which must have no listen)."""

    # stop(): an authgw started through bin-path lives in lighttpd's
    # process group and goes with it.
    LOG_FILES = ('stderr.log', 'lighttpd-error.log')
    LOG_LABEL = 'lighttpd log'

    def __init__(self, tmpdir, authgw, port, variant='socket'):
        self.dir = os.path.join(tmpdir, 'lighttpd')
        self.root = os.path.join(self.dir, 'root')
        os.makedirs(self.dir, exist_ok=True)
        harness.make_docroot(self.root)
        self.port = port
        self.config_path = os.path.join(self.dir, 'lighttpd.conf')
        harness.render_template(
            os.path.join(harness.CONF_DIR, 'lighttpd.conf'), self.config_path,
            {'PORT': port, 'DOCROOT': self.root, 'RUNDIR': self.dir,
             'AUTHGW_SOCKET': authgw.socket_path,
             'AUTHGW_BIN': harness.AUTHGW_BIN,
             'AUTHGW_CONFIG': authgw.config_path})
        harness.render_packaged(
            os.path.join(harness.CONF_DIR, 'lighttpd-authgw.conf'),
            os.path.join(self.dir, 'lighttpd-authgw.conf'),
            {harness.PACKAGED_SOCKET: authgw.socket_path})
        with open(self.config_path) as f:
            text = f.read()
        if variant == 'bin-path':
            text = self._switch_to_bin_path(text)
        # Test-only addition: CGI programs under /private/.
        text += ('\nserver.modules += ( "mod_cgi" )\n'
                 '$HTTP["url"] =~ "^/private/.*\\.cgi$" {\n'
                 '    cgi.assign = ( ".cgi" => "" )\n'
                 '}\n')
        with open(self.config_path, 'w') as f:
            f.write(text)
        self.proc = None

    @staticmethod
    def _switch_to_bin_path(text):
        """Comment out variant 1's include and uncomment variant 2's lines
        (its var.authgw and its fastcgi.server: two blocks ending ")")."""
        out, blocks = [], 0
        for line in text.split('\n'):
            if line == 'include "lighttpd-authgw.conf"':
                line = '#' + line
            elif line.startswith('#var.authgw = ('):
                blocks = 2
            if blocks:
                line = line[1:] if line.startswith('#') else line
                if line == ')':
                    blocks -= 1
            out.append(line)
        code = [ln for ln in out if not ln.startswith('#')]
        if ('include "lighttpd-authgw.conf"' in code or blocks or
                not any('"bin-path"' in ln for ln in code) or
                not any(ln.startswith('fastcgi.server') for ln in code)):
            raise AssertionError('could not switch lighttpd.conf to bin-path')
        return '\n'.join(out)

    def command(self):
        return [LIGHTTPD, '-D', '-f', self.config_path]

    def check_config(self):
        return subprocess.run([LIGHTTPD, '-tt', '-f', self.config_path],
                              capture_output=True, text=True, timeout=30)


@unittest.skipIf(LIGHTTPD is None, 'lighttpd is not installed')
class LighttpdCase(harness.WebServerFlows, harness.TestCase):
    variant = 'socket'

    def setUp(self):
        super().setUp()
        self.ag = self.authgw()
        self.port = self.ag.http_port
        self.ag.add_user(EMAIL, PASSWORD)
        if self.variant == 'socket':
            self.ag.start()
        web = Lighttpd(self.tmpdir, self.ag, self.port, self.variant)
        self.start_web_server(web, self.ag, web)

    def test_fails_closed_when_authgw_is_down(self):
        if self.variant != 'socket':
            self.skipTest('lighttpd restarts the authgw it started')
        self.check_fails_closed_when_authgw_is_down()


class LighttpdBinPathCase(LighttpdCase):
    """lighttpd starts authgw itself through "bin-path" (inherited fd 0)."""
    variant = 'bin-path'

    def test_authgw_runs_under_lighttpd(self):
        self.login()
        self.assertEqual(self.get_private().status, 200)
        # authgw was not started by the test: lighttpd spawned it.
        self.assertIsNone(self.ag.proc)
        self.assertEqual(self.client.post('/auth/logout', json={}).status,
                         200)
        self.assertEqual(self.get_private().status, 401)


@unittest.skipIf(LIGHTTPD is None, 'lighttpd is not installed')
class LighttpdConfigTest(unittest.TestCase):
    """The shipped example passes lighttpd's own check, both variants."""

    def test_config_syntax(self):
        with tempfile.TemporaryDirectory(prefix='authgw-lt-') as tmp:
            class _Ag:
                socket_path = os.path.join(tmp, 'authgw.sock')
                config_path = os.path.join(tmp, 'authgw.conf')
            for variant in ('socket', 'bin-path'):
                web = Lighttpd(os.path.join(tmp, variant), _Ag, 8080, variant)
                r = web.check_config()
                self.assertEqual(r.returncode, 0,
                                 '%s: %s%s' % (variant, r.stdout, r.stderr))


if __name__ == '__main__':
    unittest.main()
