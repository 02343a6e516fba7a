"""The admin routes and the statistics (SPEC sections 4 and 6, issue 6)
behind a real nginx: access control, each action's effect, escaping of
hostile values on the page, figures moving as requests are made, the
Prometheus exposition checked by a strict parser following promtool's
rules, the user's own sessions, and the page rendered in headless
Chromium (skipped when it is not installed)."""

import json
import math
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import harness
from harness import Client, Nginx, wait_for

USER = 'user@example.com'
ADMIN = 'admin@example.com'
ODD = "o'neil&co@example.com"       # valid, with HTML specials
PASSWORD = 'S3cret-Passw0rd-xyzzy'
HOSTILE_UA = 'Mozilla/5.0 "><script>alert(1)</script><b>ua</b>'
HOSTILE_Q = '"><script>alert(2)</script>'
HTML = {'Accept': 'text/html,application/xhtml+xml,*/*;q=0.8'}

SPEC_KEYS = ('checks', 'cache_hits', 'cache_misses', 'cache_hit_rate',
             'cache_errors', 'logins_ok', 'logins_failed',
             'logins_rate_limited', 'sessions_active', 'sessions_created',
             'sessions_extended', 'sessions_expired', 'logouts',
             'mails_queued', 'mails_sent', 'mails_failed', 'outbox',
             'memcached', 'sqlite', 'uptime', 'workers', 'latency',
             'history')


class AdminCase(harness.TestCase):
    """authgw (unix socket) + nginx; self.up(**conf)."""

    CONF = {'login_max_per_ip': 1000, 'login_max_per_account': 1000}

    def up(self, **conf):
        c = dict(self.CONF)
        c.update(conf)
        self.ag = self.authgw(**c)
        self.ag.add_user(USER, PASSWORD)
        self.ag.add_user(ADMIN, PASSWORD, admin=True)
        self.ag.start()
        self.nginx = self.track(Nginx(self.tmpdir, self.ag))
        self.dump_logs_on_failure(self.ag, self.nginx)
        self.nginx.start()

    def client(self):
        return Client(self.nginx.port)

    def req(self, c, method, path, **kw):
        r = c.request(method, path, **kw)
        self.assertIn('no-store', r.header('cache-control', ''), r)
        self.assertLess(r.status, 500, '%s %s: %r' % (method, path, r))
        return r

    def logged_in(self, email=USER, ua=None):
        c = self.client()
        hdrs = {'User-Agent': ua} if ua else None
        r = c.login(email, PASSWORD, headers=hdrs)
        self.assertEqual(r.status, 303, r)
        c.ua = ua
        return c

    def check(self, c):
        return self.req(c, 'GET', '/auth/check')

    def stats(self, admin):
        r = self.req(admin, 'GET', '/auth/admin/stats.json')
        self.assertEqual(r.status, 200, r)
        return r.json()

    def page(self, admin, query=''):
        r = self.req(admin, 'GET', '/auth/admin' + query, headers=HTML)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header('content-type').startswith('text/html'), r)
        return r

    def admin_csrf(self, admin):
        token = harness.html_field(self.page(admin).text, 'csrf')
        self.assertTrue(token, 'no csrf field on the admin page')
        return token

    def own_sessions(self, c):
        r = self.req(c, 'GET', '/auth/sessions')
        self.assertEqual(r.status, 200, r)
        return r.json()['sessions']

    def assert_back_to_page(self, r):
        self.assertEqual(r.status, 303, r)
        loc = urllib.parse.urlsplit(r.header('location'))
        self.assertEqual(loc.path, '/auth/admin', r)


class AccessTest(AdminCase):

    def test_admin_routes_need_the_admin_role(self):
        self.up()
        anon, user, admin = self.client(), self.logged_in(), \
            self.logged_in(ADMIN)
        for path in ('/auth/admin', '/auth/admin/stats.json'):
            self.assertEqual(self.req(anon, 'GET', path).status, 401, path)
            self.assertEqual(self.req(user, 'GET', path).status, 403, path)
            self.assertEqual(self.req(admin, 'GET', path).status, 200, path)
        for path in ('/auth/admin/cache/clear', '/auth/admin/stats/reset',
                     '/auth/admin/sessions/revoke'):
            body = {'user': ADMIN}
            self.assertEqual(self.req(anon, 'POST', path, json=body).status,
                             401, path)
            self.assertEqual(self.req(user, 'POST', path, json=body).status,
                             403, path)
        self.assertEqual(self.check(admin).status, 200, 'admin revoked')

    def test_browser_without_session_goes_to_login(self):
        self.up()
        r = self.req(self.client(), 'GET', '/auth/admin', headers=HTML)
        self.assertIn(r.status, (302, 303), r)
        loc = urllib.parse.urlsplit(r.header('location'))
        self.assertEqual(loc.path, '/auth/login', r)
        self.assertEqual(urllib.parse.parse_qs(loc.query).get('next'),
                         ['/auth/admin'], r)
        # A browser with a user session is refused, not redirected.
        r = self.req(self.logged_in(), 'GET', '/auth/admin', headers=HTML)
        self.assertEqual(r.status, 403, r)

    def test_page_headers(self):
        self.up()
        r = self.page(self.logged_in(ADMIN))
        csp = r.header('content-security-policy', '')
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn('script-src', csp)
        self.assertNotIn('<script', r.text.lower())
        self.assertIn('<svg', r.text)

    def test_forms_need_csrf(self):
        self.up()
        admin = self.logged_in(ADMIN)
        for path, form in (('/auth/admin/stats/reset', {}),
                           ('/auth/admin/cache/clear', {}),
                           ('/auth/admin/sessions/revoke', {'user': USER})):
            r = self.req(admin, 'POST', path, form=form)
            self.assertEqual(r.status, 403, path)
            r = self.req(admin, 'POST', path,
                         form=dict(form, csrf='A' * 43))
            self.assertEqual(r.status, 403, path)


class MetricsAccessTest(AdminCase):

    def fcgi_metrics(self, addr, cookie=None):
        h = {'Cookie': 'authgw_sid=%s' % cookie} if cookie else None
        return self.ag.fcgi('/auth/metrics', headers=h,
                            extra={'REMOTE_ADDR': addr})

    def test_allow_list_addresses(self):
        self.up(metrics_allow='127.0.0.1, ::1,192.0.2.7')
        for addr, status in (('127.0.0.1', 200), ('::1', 200),
                             ('0:0:0:0:0:0:0:1', 200),
                             ('0000:0000::0001', 200),
                             ('::ffff:127.0.0.1', 200),
                             ('192.0.2.7', 200),
                             ('127.0.0.2', 403), ('::2', 403),
                             ('192.0.2.70', 403), ('localhost', 403),
                             ('', 403), ('127.0.0.1 ', 403),
                             ('127.000.0.1', 403)):
            r = self.fcgi_metrics(addr)
            self.assertEqual(r.status, status, '%r: %r' % (addr, r))

    def test_outside_list_needs_admin_session(self):
        self.up(metrics_allow='192.0.2.1')
        anon, user, admin = self.client(), self.logged_in(), \
            self.logged_in(ADMIN)
        self.assertEqual(self.req(anon, 'GET', '/auth/metrics').status, 403)
        self.assertEqual(self.req(user, 'GET', '/auth/metrics').status, 403)
        r = self.req(admin, 'GET', '/auth/metrics')
        self.assertEqual(r.status, 200, r)

    def test_malformed_list_is_a_config_error(self):
        # Refused at start (exit 78, file:line), not found per request.
        ag = self.authgw(metrics_allow='127.0.0.1,,localhost')
        r = ag.cli('check-config')
        self.assertEqual(r.returncode, 78, r)
        self.assertRegex(r.stderr, r'authgw\.conf:\d+: metrics_allow')

    def test_empty_list(self):
        self.up(metrics_allow='')
        self.assertEqual(self.fcgi_metrics('127.0.0.1').status, 403)


class ActionsTest(AdminCase):

    def test_cache_clear(self):
        self.up()
        admin = self.logged_in(ADMIN)
        r = self.req(admin, 'POST', '/auth/admin/cache/clear', json={})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'cleared': True})
        r = self.req(admin, 'POST', '/auth/admin/cache/clear',
                     form={'csrf': self.admin_csrf(admin)})
        self.assert_back_to_page(r)
        self.assertEqual(self.check(admin).status, 200)

    def test_stats_reset(self):
        self.up()
        admin = self.logged_in(ADMIN)
        for _ in range(5):
            self.assertEqual(self.check(admin).status, 200)
        before = self.stats(admin)
        self.assertGreaterEqual(before['checks'], 5)
        self.assertGreaterEqual(before['latency']['count'], 5)
        r = self.req(admin, 'POST', '/auth/admin/stats/reset', json={})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'reset': True})
        after = self.stats(admin)
        self.assertEqual(after['checks'], 0)
        self.assertEqual(after['logins_ok'], 0)
        self.assertEqual(after['latency']['count'], 0)
        self.assertEqual(after['latency']['sum_usec'], 0)
        self.assertGreaterEqual(after['uptime'], before['uptime'])
        self.assertEqual([w['restarts'] for w in after['workers']],
                         [w['restarts'] for w in before['workers']])
        # The form, from the page, goes back to the page.
        r = self.req(admin, 'POST', '/auth/admin/stats/reset',
                     form={'csrf': self.admin_csrf(admin)})
        self.assert_back_to_page(r)

    def test_revoke_one_session_by_id(self):
        self.up()
        admin = self.logged_in(ADMIN)
        u1, u2 = self.logged_in(), self.logged_in()
        ids = [s['id'] for s in self.own_sessions(u1)]
        self.assertEqual(len(ids), 2)
        cur = [s['id'] for s in self.own_sessions(u2) if s['current']][0]
        # The search lists both, each with its own revoke form.
        text = self.page(admin, '?email=' + USER).text
        for i in ids:
            self.assertIn('value="%s"' % i, text)
        r = self.req(admin, 'POST', '/auth/admin/sessions/revoke',
                     form={'csrf': self.admin_csrf(admin), 'id': cur})
        self.assert_back_to_page(r)
        self.assertEqual(self.check(u2).status, 401)
        self.assertEqual(self.check(u1).status, 200)
        r = self.req(admin, 'POST', '/auth/admin/sessions/revoke',
                     json={'id': cur})
        self.assertEqual(r.status, 404, 'revoked twice: %r' % r)
        r = self.req(admin, 'POST', '/auth/admin/sessions/revoke',
                     json={'id': 'x' * 5000})
        self.assertEqual(r.status, 404, r)

    def test_revoke_every_session_of_a_user(self):
        self.up()
        admin = self.logged_in(ADMIN)
        u1, u2 = self.logged_in(), self.logged_in()
        r = self.req(admin, 'POST', '/auth/admin/sessions/revoke',
                     json={'user': USER})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'revoked': True})
        self.assertEqual((self.check(u1).status, self.check(u2).status),
                         (401, 401))
        self.assertEqual(self.check(admin).status, 200)
        u3 = self.logged_in()
        r = self.req(admin, 'POST', '/auth/admin/sessions/revoke',
                     form={'csrf': self.admin_csrf(admin), 'user': USER})
        self.assert_back_to_page(r)
        self.assertEqual(self.check(u3).status, 401)

    def test_revoke_bad_requests(self):
        self.up()
        admin = self.logged_in(ADMIN)
        u = self.logged_in()
        path = '/auth/admin/sessions/revoke'
        self.assertEqual(self.req(admin, 'POST', path, json={}).status, 400)
        self.assertEqual(self.req(admin, 'POST', path, json={
            'id': '', 'user': ''}).status, 400)
        self.assertEqual(self.req(admin, 'POST', path, json={
            'user': 'nobody@example.com'}).status, 404)
        self.assertEqual(self.req(admin, 'POST', path, json={
            'id': 'A' * 22}).status, 404)
        self.assertEqual(self.req(admin, 'POST', path, json={
            'user': 'not an address'}).status, 400)
        self.assertEqual(self.check(u).status, 200, 'a bad request revoked')


class OwnSessionsTest(AdminCase):

    def test_list_and_revoke(self):
        self.up()
        a1 = self.logged_in(ua='agent-one')
        a2 = self.logged_in(ua='agent-two')
        b = self.logged_in(ADMIN)
        lst = self.own_sessions(a1)
        self.assertEqual(len(lst), 2, lst)
        for s in lst:
            self.assertEqual(set(s), {'id', 'created', 'last_seen',
                                      'expires', 'ip', 'user_agent',
                                      'current'})
            self.assertIsInstance(s['id'], str)
            self.assertEqual(s['ip'], '127.0.0.1')
            self.assertLessEqual(s['created'], s['last_seen'])
            self.assertLess(s['last_seen'], s['expires'])
        cur = [s for s in lst if s['current']]
        self.assertEqual(len(cur), 1, lst)
        self.assertEqual(cur[0]['user_agent'], 'agent-one')
        other = [s['id'] for s in lst if not s['current']][0]
        bid = self.own_sessions(b)[0]['id']
        r = self.req(a1, 'POST', '/auth/sessions/revoke', json={'id': bid})
        self.assertEqual(r.status, 404, r)
        self.assertEqual(self.check(b).status, 200, 'revoked another user')
        r = self.req(a1, 'POST', '/auth/sessions/revoke', json={'id': other})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'revoked': True})
        self.assertEqual(self.check(a2).status, 401)
        self.assertEqual(len(self.own_sessions(a1)), 1)
        r = self.req(a1, 'POST', '/auth/sessions/revoke', json={})
        self.assertEqual(r.status, 400, r)

    def test_without_session(self):
        self.up()
        anon = self.client()
        self.assertEqual(self.req(anon, 'GET', '/auth/sessions').status, 401)
        r = self.req(anon, 'POST', '/auth/sessions/revoke', json={'id': 'x'})
        self.assertEqual(r.status, 401, r)


class EscapingTest(AdminCase):

    def test_hostile_user_agent_is_escaped(self):
        self.up()
        self.logged_in(ua=HOSTILE_UA)
        admin = self.logged_in(ADMIN)
        text = self.page(admin, '?email=' + urllib.parse.quote(USER)).text
        self.assertNotIn('<script', text)
        self.assertNotIn('<b>ua', text)
        self.assertIn('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
                      '&lt;b&gt;ua&lt;/b&gt;', text)

    def test_hostile_query_is_escaped(self):
        self.up()
        admin = self.logged_in(ADMIN)
        text = self.page(admin, '?email=' + urllib.parse.quote(HOSTILE_Q)
                         ).text
        self.assertNotIn('<script', text)
        self.assertIn('value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script'
                      '&gt;"', text)
        self.assertIn('not a valid email address', text)

    def test_email_with_html_specials(self):
        self.up()
        self.ag.add_user(ODD, PASSWORD)
        self.logged_in(ODD)
        admin = self.logged_in(ADMIN)
        text = self.page(admin, '?email=' + urllib.parse.quote(ODD)).text
        self.assertIn('o&#39;neil&amp;co@example.com', text)
        self.assertNotIn("o'neil&co", text)
        self.assertIn('1 live session of', text)


class FiguresTest(AdminCase):

    def test_stats_json_has_every_figure(self):
        self.up()
        admin = self.logged_in(ADMIN)
        s = self.stats(admin)
        for k in SPEC_KEYS:
            self.assertIn(k, s, k)
        self.assertEqual(s['memcached'], 'off')
        self.assertEqual(s['sqlite'], 'ok')
        self.assertEqual(s['outbox'], 0)
        self.assertGreaterEqual(s['sessions_active'], 1)
        self.assertTrue(0.0 <= s['cache_hit_rate'] <= 1.0, s)
        self.assertEqual(len(s['workers']), 2)
        pids = set(self.ag.workers())
        for w in s['workers']:
            self.assertEqual(set(w), {'worker', 'pid', 'requests',
                                      'restarts'})
            self.assertIn(w['pid'], pids)
        b = s['latency']['buckets']
        self.assertEqual(len(b), 13)
        self.assertIsNone(b[-1]['le_usec'])
        les = [x['le_usec'] for x in b[:-1]]
        self.assertEqual(les, sorted(les))
        self.assertEqual(sum(x['count'] for x in b), s['latency']['count'])

    def test_figures_move(self):
        self.up()
        admin = self.logged_in(ADMIN)
        s0 = self.stats(admin)
        for _ in range(7):
            self.assertEqual(self.check(admin).status, 200)
        r = self.client().login(USER, 'wrong password')
        self.assertEqual(r.status, 401, r)
        self.logged_in()
        s1 = self.stats(admin)
        self.assertGreaterEqual(s1['checks'] - s0['checks'], 7)
        self.assertEqual(s1['logins_failed'] - s0['logins_failed'], 1)
        self.assertEqual(s1['logins_ok'] - s0['logins_ok'], 1)
        self.assertEqual(s1['sessions_active'] - s0['sessions_active'], 1)
        self.assertGreaterEqual(s1['cache_hits'] + s1['cache_misses'],
                                s0['cache_hits'] + s0['cache_misses'] + 7)
        self.assertGreaterEqual(s1['latency']['count'],
                                s0['latency']['count'] + 7)
        self.assertGreater(sum(w['requests'] for w in s1['workers']),
                           sum(w['requests'] for w in s0['workers']))
        # The minute in progress of the history counts them too.
        now = s1['history'][-1]
        self.assertTrue(now['partial'], s1['history'])
        self.assertGreaterEqual(sum(h['checks'] for h in s1['history']),
                                s1['checks'])
        self.assertGreater(s1['checks_per_second'], 0)
        # The page shows the same figures.
        text = self.page(admin).text
        self.assertRegex(text, r'Logins failed</span>\s*<span class="value">'
                         r'%d<' % s1['logins_failed'])
        self.assertIn('%d checks' % self.stats(admin)['checks'], text)

    def test_logout_and_rate_limit_counted(self):
        self.up(login_max_per_account=2)
        admin = self.logged_in(ADMIN)
        for _ in range(3):
            self.client().login(USER, 'wrong password')
        s = self.stats(admin)
        self.assertEqual(s['logins_failed'], 2)
        self.assertEqual(s['logins_rate_limited'], 1)
        u = self.logged_in(ADMIN)
        r = self.req(u, 'POST', '/auth/logout', json={})
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(self.stats(admin)['logouts'], 1)


# ------------------------------------------------------------ Prometheus

METRIC_NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def parse_value(s):
    """A sample value as Go's strconv.ParseFloat reads it."""
    if s in ('+Inf', 'Inf'):
        return math.inf
    if s == '-Inf':
        return -math.inf
    if s == 'NaN':
        return math.nan
    if not re.match(r'^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$', s):
        raise ValueError('bad value %r' % s)
    return float(s)


def parse_labels(s):
    """'a="x",b="y"' (the text between the braces) -> dict."""
    out, i = {}, 0
    while i < len(s):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise ValueError('bad label at %r' % s[i:])
        name = m.group(1)
        if name.startswith('__'):
            raise ValueError('reserved label name %r' % name)
        i += m.end()
        val = ''
        while True:
            if i >= len(s):
                raise ValueError('unterminated label value')
            c = s[i]
            if c == '\\':
                nxt = s[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    raise ValueError('bad escape in label value')
                val += {'\\': '\\', '"': '"', 'n': '\n'}[nxt]
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == '\n':
                raise ValueError('newline in label value')
            val += c
            i += 1
        if name in out:
            raise ValueError('label %r twice' % name)
        out[name] = val
        if i < len(s):
            if s[i] != ',':
                raise ValueError('expected , at %r' % s[i:])
            i += 1
    return out


def family_of(name, types):
    for suffix in ('_bucket', '_sum', '_count'):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ('histogram', 'summary'):
            return base
    return name


def parse_prometheus(text):
    """Parse the text exposition format 0.0.4 strictly, as promtool
    does: returns {family: {'type', 'help', 'samples': [(name, labels,
    value)]}}; raises ValueError on any violation."""
    if not text.endswith('\n'):
        raise ValueError('does not end with a newline')
    fams, types, done, current = {}, {}, set(), None
    for lineno, line in enumerate(text.split('\n')[:-1], 1):
        where = 'line %d: %r' % (lineno, line)
        if line.strip() == '':
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not METRIC_NAME.match(name):
                    raise ValueError('bad metric name: ' + where)
                f = fams.setdefault(name, {'type': None, 'help': None,
                                           'samples': []})
                if name in done or f['samples']:
                    raise ValueError('%s after samples: %s'
                                     % (parts[1], where))
                key = parts[1].lower()
                if f[key] is not None:
                    raise ValueError('second %s: %s' % (parts[1], where))
                arg = parts[3] if len(parts) > 3 else ''
                if key == 'type':
                    if arg not in TYPES:
                        raise ValueError('bad type: ' + where)
                    types[name] = arg
                f[key] = arg
                if current is not None and current != name:
                    done.add(current)
                current = name
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)'
                     r'( -?\d+)?$', line)
        if not m:
            raise ValueError('bad sample line: ' + where)
        name, labels = m.group(1), parse_labels(m.group(3) or '')
        value = parse_value(m.group(4))
        fam = family_of(name, types)
        if fam in done:
            raise ValueError('family %s not contiguous: %s' % (fam, where))
        if current is not None and current != fam:
            done.add(current)
        current = fam
        f = fams.setdefault(fam, {'type': None, 'help': None,
                                  'samples': []})
        key = (name, tuple(sorted(labels.items())))
        if any((n, tuple(sorted(lb.items()))) == key
               for n, lb, _v in f['samples']):
            raise ValueError('duplicate sample: ' + where)
        f['samples'].append((name, labels, value))
    for fam, f in fams.items():
        if f['type'] == 'histogram':
            check_histogram(fam, f['samples'])
        elif f['type'] == 'counter':
            for n, _lb, v in f['samples']:
                if v < 0 or not n.endswith('_total'):
                    raise ValueError('bad counter sample %s' % n)
    return fams


def check_histogram(fam, samples):
    groups = {}
    for name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != 'le'))
        g = groups.setdefault(rest, {'buckets': [], 'sum': None,
                                     'count': None})
        if name == fam + '_bucket':
            if 'le' not in labels:
                raise ValueError('bucket without le')
            g['buckets'].append((parse_value(labels['le']), value))
        elif name == fam + '_sum':
            g['sum'] = value
        elif name == fam + '_count':
            g['count'] = value
        else:
            raise ValueError('stray sample %s in histogram %s' % (name, fam))
    for g in groups.values():
        b = g['buckets']
        if not b or b[-1][0] != math.inf:
            raise ValueError('%s: buckets do not end with +Inf' % fam)
        les = [x[0] for x in b]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ValueError('%s: le not ascending' % fam)
        counts = [x[1] for x in b]
        if counts != sorted(counts):
            raise ValueError('%s: buckets not cumulative' % fam)
        if g['count'] is None or g['sum'] is None:
            raise ValueError('%s: _sum or _count missing' % fam)
        if g['count'] != b[-1][1]:
            raise ValueError('%s: _count != +Inf bucket' % fam)


class PrometheusParserTest(harness.TestCase):
    """The parser itself refuses what promtool refuses."""

    GOOD = ('# HELP a_total A.\n# TYPE a_total counter\na_total 1\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\n'
            'h_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n')

    def test_good(self):
        f = parse_prometheus(self.GOOD)
        self.assertEqual(f['h']['type'], 'histogram')

    def test_bad(self):
        bad = [
            self.GOOD.replace('h_count 2', 'h_count 3'),
            self.GOOD.replace('le="+Inf"} 2', 'le="+Inf"} 0'),
            self.GOOD.replace('h_bucket{le="+Inf"} 2\n', ''),
            self.GOOD + '# HELP a_total again\n',
            self.GOOD + 'a_total{x="1"} 2\n',
            self.GOOD.replace('a_total 1', 'a_total 1\n# TYPE a_total counter'),
            self.GOOD.replace('a_total 1', 'a-b 1'),
            self.GOOD.replace('a_total 1', 'a_total{1x="a"} 1'),
            self.GOOD.replace('a_total 1', 'a_total{x="a} 1'),
            self.GOOD.replace('a_total 1', 'a_total one'),
            self.GOOD.rstrip('\n'),
        ]
        for text in bad:
            with self.assertRaises(ValueError, msg=text):
                parse_prometheus(text)


class MetricsTest(AdminCase):

    def metrics(self, c):
        r = self.req(c, 'GET', '/auth/metrics')
        self.assertEqual(r.status, 200, r)
        ct = r.header('content-type')
        self.assertTrue(ct.startswith('text/plain'), ct)
        self.assertIn('version=0.0.4', ct)
        return r.text

    def test_exposition_is_valid_and_complete(self):
        self.up()
        admin = self.logged_in(ADMIN)
        for _ in range(4):
            self.check(admin)
        fams = parse_prometheus(self.metrics(self.client()))
        for name in ('checks', 'cache_hits', 'cache_misses', 'cache_errors',
                     'logins_ok', 'logins_failed', 'logins_rate_limited',
                     'sessions_created', 'sessions_extended',
                     'sessions_expired', 'logouts', 'mails_queued',
                     'mails_sent', 'mails_failed'):
            f = fams.get('authgw_%s_total' % name)
            self.assertIsNotNone(f, name)
            self.assertEqual(f['type'], 'counter')
            self.assertTrue(f['help'])
        for name in ('sessions_active', 'uptime_seconds', 'outbox',
                     'cache_hit_rate'):
            self.assertEqual(fams['authgw_' + name]['type'], 'gauge', name)
        self.assertNotIn('authgw_memcached_up', fams)   # memcached off
        for name in ('authgw_worker_requests_total',
                     'authgw_worker_restarts_total'):
            workers = sorted(lb['worker'] for _n, lb, _v
                             in fams[name]['samples'])
            self.assertEqual(workers, ['0', '1'], name)
        h = fams['authgw_check_duration_seconds']
        self.assertEqual(h['type'], 'histogram')
        count = [v for n, _lb, v in h['samples'] if n.endswith('_count')][0]
        checks = fams['authgw_checks_total']['samples'][0][2]
        self.assertGreaterEqual(count, 4)
        self.assertEqual(count, checks)
        self.assertEqual(fams['authgw_logins_ok_total']['samples'][0][2], 1)
        self.assertGreaterEqual(
            fams['authgw_sessions_active']['samples'][0][2], 1)

    def test_with_memcached(self):
        mc = self.track(harness.Memcached(self.tmpdir).start())
        self.up(memcached=mc.addr)
        admin = self.logged_in(ADMIN)
        fams = parse_prometheus(self.metrics(admin))
        self.assertEqual(fams['authgw_memcached_up']['samples'][0][2], 1)
        self.assertEqual(self.stats(admin)['memcached'], 'ok')


# --------------------------------------------------------------- Chromium

class ChromiumTest(AdminCase):
    """The page as a browser shows it: a screenshot (kept in the test's
    temp dir, copied to $AUTHGW_ARTIFACTS if set) and the DOM's text."""

    def chromium(self):
        for name in ('chromium', 'chromium-browser', 'google-chrome'):
            p = harness.find_program(name)
            if p:
                return p
        self.skipTest('chromium is not installed')

    def run_chromium(self, *args):
        profile = os.path.join(self.tmpdir, 'chromium-profile')
        argv = [self.chromium(), '--headless', '--no-sandbox',
                '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--user-data-dir=' + profile] + list(args)
        r = subprocess.run(argv, capture_output=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        return r

    def busy_page(self):
        self.up()
        admin = self.logged_in(ADMIN)
        self.logged_in(ua=HOSTILE_UA)
        self.logged_in(ua='Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0')
        for _ in range(25):
            self.check(admin)
        self.client().login(USER, 'wrong password')
        r = self.page(admin, '?email=' + urllib.parse.quote(USER))
        path = os.path.join(self.tmpdir, 'admin.html')
        with open(path, 'wb') as f:
            f.write(r.body)
        return path

    def keep(self, path):
        dest = os.environ.get('AUTHGW_ARTIFACTS')
        if dest:
            os.makedirs(dest, exist_ok=True)
            shutil.copy(path, os.path.join(dest, os.path.basename(path)))

    def test_screenshot_and_text(self):
        self.chromium()
        html = self.busy_page()
        png = os.path.join(self.tmpdir, 'admin.png')
        r = self.run_chromium('--screenshot=' + png, '--window-size=1100,1400',
                              '--hide-scrollbars', 'file://' + html)
        self.assertTrue(os.path.exists(png), r.stderr[-2000:])
        with open(png, 'rb') as f:
            data = f.read()
        self.assertEqual(data[:8], b'\x89PNG\r\n\x1a\n')
        self.assertGreater(len(data), 20000, 'a blank screenshot?')
        self.keep(png)
        self.keep(html)
        r = self.run_chromium('--dump-dom', 'file://' + html)
        dom = r.stdout.decode('utf-8', 'replace')
        self.assertIn('authgw admin', dom, r.stderr[-2000:])
        for text in ('Checks per second', 'Cache hit rate', 'Active sessions',
                     'Mail outbox', 'Workers', 'latency',
                     'Clear the session cache', 'Reset the counters',
                     '2 live sessions of user@example.com'):
            self.assertIn(text, dom)
        # The hostile user agent is text in the DOM, not an element.
        self.assertIn('&lt;script&gt;alert(1)&lt;/script&gt;', dom)
        self.assertNotIn('<script>', dom)
        self.assertIn('<svg', dom)

    def test_phone_width(self):
        self.chromium()
        html = self.busy_page()
        png = os.path.join(self.tmpdir, 'admin-phone.png')
        self.run_chromium('--screenshot=' + png, '--window-size=390,2400',
                          '--hide-scrollbars', 'file://' + html)
        self.assertTrue(os.path.exists(png))
        self.keep(png)


if __name__ == '__main__':
    import unittest
    unittest.main()
