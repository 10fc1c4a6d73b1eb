#!/usr/bin/env python3
"""End-to-end tests of the API a dashboard needs (issue 17): Server-Sent Events (one event per
journaled command, Last-Event-ID replay, heartbeats, the deleted event, the bounds on streams, a
prompt shutdown), CORS (allowed and refused origins, preflights), conditional requests (ETag,
If-None-Match, 304) and q-value negotiation, paging (?after=&limit=, Link, next), the machine
summary of GET /v1/machines, ?diff=zones on command routes, and GET /openapi.yaml.

Python 3 standard library only. Run by meson (suite 'e2e', one test() per class), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_dashboard.py [-v] [Class[.test]]
"""

import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import SOURCE_ROOT, ClassDaemon, Daemon  # noqa: E402


class Stream:
    """One event stream read as it comes, on a raw socket: events are parsed as the HTML
    standard's EventSource parses them (fields, blank line ends an event, ':' comments)."""

    def __init__(self, daemon, path, headers=(), timeout=10):
        self.sock = socket.create_connection(('127.0.0.1', daemon.port), timeout=timeout)
        head = ['GET %s HTTP/1.1' % path, 'Host: 127.0.0.1:%d' % daemon.port,
                'Accept: text/event-stream'] + ['%s: %s' % h for h in headers]
        self.sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode())
        self.buf = b''
        self.body = b''
        self.ended = False
        self.status, self.headers = self._head()

    def _recv(self):
        try:
            c = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError('the stream sent nothing in time; so far: %r' % self.body)
        if not c:
            self.ended = True
        self.buf += c
        return c

    def _head(self):
        while b'\r\n\r\n' not in self.buf:
            if not self._recv():
                raise AssertionError('no HTTP head: %r' % self.buf)
        head, _, self.buf = self.buf.partition(b'\r\n\r\n')
        lines = head.decode('iso-8859-1').split('\r\n')
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            hdrs[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), hdrs

    def _dechunk(self):
        """Move whole chunks from buf to body; True once the last chunk came."""
        while True:
            if b'\r\n' not in self.buf:
                return False
            size_line, _, rest = self.buf.partition(b'\r\n')
            n = int(size_line.split(b';')[0], 16)
            if n == 0:
                return True
            if len(rest) < n + 2:
                return False
            self.body += rest[:n]
            self.buf = rest[n + 2:]

    def read_until(self, pred, what):
        """Read until pred(text so far) holds, or the stream ends."""
        while True:
            if self._dechunk():
                self.ended = True
            if pred(self.body.decode()) or self.ended or not self._recv():
                break
        text = self.body.decode()
        if not pred(text):
            raise AssertionError('%s: the stream ended first; it sent %r' % (what, text))
        return text

    def read_to_end(self):
        while not self.ended:
            if self._dechunk():
                self.ended = True
                break
            self._recv()
        return self.body.decode()

    def events(self):
        """The events so far: [(event, id, data)]; comments as ('comment', None, text)."""
        out = []
        for block in self.body.decode().split('\n\n'):
            ev, eid, data = 'message', None, []
            comment = None
            for line in block.split('\n'):
                if not line:
                    continue
                if line.startswith(':'):
                    comment = line[1:].strip()
                    continue
                k, _, v = line.partition(':')
                v = v[1:] if v.startswith(' ') else v
                if k == 'event':
                    ev = v
                elif k == 'id':
                    eid = v
                elif k == 'data':
                    data.append(v)
            if comment is not None and not data:
                out.append(('comment', None, comment))
            elif data:
                out.append((ev, eid, '\n'.join(data)))
        return out

    def commands(self):
        return [json.loads(d) for e, _, d in self.events() if e == 'command']

    def close(self):
        self.sock.close()


def count(text, what):
    return text.count(what)


class Base(ClassDaemon, unittest.TestCase):
    def assertJson(self, r, status=200):
        self.assertEqual(r.status, status, r)
        return r.json()

    def problem(self, r, status, slug):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        self.assertEqual(r.json()['type'], 'https://mm32.dev/problems/' + slug, r)
        return r.json()

    def machine(self, name, mem='128M'):
        r = self.daemon.post('/v1/machines', {'name': name, 'mem': mem})
        self.assertEqual(r.status, 201, r)
        self.addCleanup(self.daemon.delete, '/v1/machines/' + name)

    def sysctl(self, m, value):
        r = self.daemon.put('/v1/machines/%s/sysctl/vm/watermark_scale_factor' % m,
                            {'value': value})
        self.assertEqual(r.status, 200, r)

    def stream(self, path, headers=()):
        s = Stream(self.daemon, path, headers)
        self.addCleanup(s.close)
        return s


class SseTest(Base):
    daemon_args = ('--event-heartbeat', '1', '--max-event-streams', '6',
                   '--max-client-event-streams', '4')

    def test_one_event_per_command_after_the_commit(self):
        self.machine('s1')
        s = self.stream('/v1/machines/s1/events')
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers['content-type'], 'text/event-stream')
        self.assertEqual(s.headers['cache-control'], 'no-store')
        s.read_until(lambda t: 'retry: 2000' in t, 'the retry field')
        self.sysctl('s1', 11)
        # a batch: one event per command, each its own seq
        r = self.daemon.post('/v1/machines/s1/commands', [
            {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 12},
            {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 1}])
        self.assertEqual(r.status, 200, r)
        # a failing command that changed nothing is not journaled: no event
        r = self.daemon.put('/v1/machines/s1/sysctl/vm/watermark_scale_factor', {'value': 0})
        self.assertEqual(r.status, 422, r)
        self.sysctl('s1', 13)
        s.read_until(lambda t: t.count('event: command') >= 4, 'four commands')
        cmds = s.commands()
        self.assertEqual([c['seq'] for c in cmds], [1, 2, 3, 4])
        self.assertEqual([e[1] for e in s.events() if e[0] == 'command'], ['1', '2', '3', '4'])
        self.assertEqual(cmds[0]['command'],
                         {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 11})
        self.assertEqual(cmds[2]['command']['op'], 'alloc_pages')
        self.assertEqual(cmds[2]['result']['order'], 1)
        self.assertEqual(cmds[3]['result'], {'name': 'watermark_scale_factor', 'value': 13})
        # what the journal says, byte for byte the same members (time included)
        journal = self.assertJson(self.daemon.get('/v1/machines/s1/journal'))['entries']
        self.assertEqual(cmds, journal)

    def test_last_event_id_replays_then_goes_live(self):
        self.machine('s2')
        for v in range(20, 25):
            self.sysctl('s2', v)
        s = self.stream('/v1/machines/s2/events', [('Last-Event-ID', '2')])
        s.read_until(lambda t: t.count('event: command') >= 3, 'the replay')
        self.sysctl('s2', 99)
        s.read_until(lambda t: t.count('event: command') >= 4, 'the live event')
        self.assertEqual([c['seq'] for c in s.commands()], [3, 4, 5, 6])
        self.assertEqual(s.commands()[-1]['result']['value'], 99)
        # ?after= for clients that cannot set headers; the header wins over it
        s2 = self.stream('/v1/machines/s2/events?after=5')
        s2.read_until(lambda t: 'event: command' in t, 'the replay of ?after=')
        self.assertEqual([c['seq'] for c in s2.commands()], [6])
        s3 = self.stream('/v1/machines/s2/events?after=0', [('Last-Event-ID', '6')])
        s3.read_until(lambda t: 'retry:' in t, 'the head')
        self.sysctl('s2', 100)
        s3.read_until(lambda t: 'event: command' in t, 'the live event')
        self.assertEqual([c['seq'] for c in s3.commands()], [7])

    def test_a_long_replay_ends_after_1000_and_resumes(self):
        self.machine('s3')
        cmd = {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 10}
        r = self.daemon.post('/v1/machines/s3/commands', [cmd] * 1500)
        self.assertEqual(r.status, 200, r)
        s = self.stream('/v1/machines/s3/events?after=0')
        s.read_to_end()
        seqs = [c['seq'] for c in s.commands()]
        self.assertEqual(seqs, list(range(1, 1001)))
        s = self.stream('/v1/machines/s3/events', [('Last-Event-ID', '1000')])
        s.read_until(lambda t: t.count('event: command') >= 500, 'the rest')
        self.assertEqual([c['seq'] for c in s.commands()], list(range(1001, 1501)))

    def test_heartbeat(self):
        self.machine('s4')
        s = self.stream('/v1/machines/s4/events')
        t0 = time.monotonic()
        s.read_until(lambda t: t.count(': ping') >= 2, 'two heartbeats')
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual([e for e in s.events() if e[0] == 'command'], [])

    def test_deleted_ends_the_stream(self):
        r = self.daemon.post('/v1/machines', {'name': 's5', 'mem': '128M'})
        self.assertEqual(r.status, 201, r)
        s = self.stream('/v1/machines/s5/events')
        s.read_until(lambda t: 'retry:' in t, 'the head')
        self.assertEqual(self.daemon.delete('/v1/machines/s5').status, 204)
        text = s.read_to_end()
        self.assertTrue(s.ended)
        self.assertIn('event: deleted\ndata: {"machine":"s5"}\n\n', text)
        # a new machine of the same name is another machine: its stream starts afresh
        self.machine('s5')
        self.sysctl('s5', 15)
        s = self.stream('/v1/machines/s5/events?after=0')
        s.read_until(lambda t: 'event: command' in t, 'the new machine')
        self.assertEqual([c['seq'] for c in s.commands()], [1])

    def test_bad_input(self):
        self.machine('s6')
        for h in (('Last-Event-ID', 'x'), ('Last-Event-ID', '-1'), ('Last-Event-ID', '')):
            r = self.daemon.get('/v1/machines/s6/events', headers=dict([h]))
            self.problem(r, 422, 'invalid-argument')
        self.problem(self.daemon.get('/v1/machines/s6/events?after=1x'), 422,
                     'invalid-argument')
        self.problem(self.daemon.get('/v1/machines/s6/events?limit=3'), 422, 'invalid-argument')
        self.problem(self.daemon.get('/v1/machines/nope/events'), 404, 'not-found')
        self.problem(self.daemon.post('/v1/machines/s6/events', {}), 405, 'method-not-allowed')

    def test_bounds(self):
        self.machine('s7')
        held = [self.stream('/v1/machines/s7/events') for _ in range(4)]
        for s in held:
            s.read_until(lambda t: 'retry:' in t, 'the head')
        # the client's fifth: 429
        r = self.daemon.get('/v1/machines/s7/events')
        self.problem(r, 429, 'too-many-event-streams')
        # closing one gives its slot back (noticed at the next heartbeat at the latest)
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            s = Stream(self.daemon, '/v1/machines/s7/events')
            self.addCleanup(s.close)
            if s.status == 200 or time.monotonic() > deadline:
                break
            s.close()
            time.sleep(0.2)
        self.assertEqual(s.status, 200)
        # other requests are answered while streams are held (no thread is held)
        t0 = time.monotonic()
        for _ in range(20):
            self.assertEqual(self.daemon.get('/v1/health').status, 200)
        self.assertLess(time.monotonic() - t0, 5)

    def test_server_bound(self):
        d = Daemon(args=['--max-event-streams', '1'])
        self.addCleanup(d.kill)
        d.start()
        self.assertEqual(d.post('/v1/machines', {'name': 'b', 'mem': '128M'}).status, 201)
        s = Stream(d, '/v1/machines/b/events')
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        r = d.get('/v1/machines/b/events')
        self.problem(r, 503, 'event-streams-full')

    def test_sigterm_closes_streams_promptly(self):
        d = Daemon(args=['--shutdown-timeout', '30'])
        self.addCleanup(d.kill)
        d.start()
        self.assertEqual(d.post('/v1/machines', {'name': 't', 'mem': '128M'}).status, 201)
        streams = [Stream(d, '/v1/machines/t/events') for _ in range(3)]
        for s in streams:
            self.addCleanup(s.close)
            s.read_until(lambda t: 'retry:' in t, 'the head')
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)
        for s in streams:
            s.read_to_end()
            self.assertTrue(s.ended)


class CorsTest(Base):
    daemon_args = ('--cors-origin', 'https://course.example.org', '--cors-origin',
                   'http://localhost:5173')
    ORIGIN = 'https://course.example.org'

    def test_allowed_origin(self):
        r = self.daemon.get('/v1/health', headers={'Origin': self.ORIGIN})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers['Access-Control-Allow-Origin'], self.ORIGIN)
        self.assertEqual(r.headers['Vary'], 'Origin')
        self.assertEqual(r.headers['Access-Control-Expose-Headers'],
                         'ETag, Link, Location, Retry-After')
        # problems too: a page can read why it failed
        r = self.daemon.get('/v1/machines/nope', headers={'Origin': 'http://localhost:5173'})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.headers['Access-Control-Allow-Origin'], 'http://localhost:5173')

    def test_other_origin_gets_no_cors_header(self):
        for origin in ('https://evil.example', 'https://course.example.org.evil', 'null'):
            r = self.daemon.get('/v1/health', headers={'Origin': origin})
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.headers.get('Access-Control-Allow-Origin'), origin)
            self.assertEqual(r.headers['Vary'], 'Origin')
        r = self.daemon.get('/v1/health')
        self.assertIsNone(r.headers.get('Access-Control-Allow-Origin'))

    def test_preflight(self):
        r = self.daemon.request('OPTIONS', '/v1/machines/x/sysctl/vm/min_free_kbytes', headers={
            'Origin': self.ORIGIN, 'Access-Control-Request-Method': 'PUT',
            'Access-Control-Request-Headers': 'content-type'})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.headers['Access-Control-Allow-Origin'], self.ORIGIN)
        self.assertEqual(r.headers['Access-Control-Allow-Methods'], 'GET, HEAD, PUT, OPTIONS')
        self.assertIn('Content-Type', r.headers['Access-Control-Allow-Headers'])
        self.assertIn('Last-Event-ID', r.headers['Access-Control-Allow-Headers'])
        self.assertEqual(r.headers['Access-Control-Max-Age'], '600')
        self.assertEqual(r.headers['Allow'], 'GET, HEAD, PUT, OPTIONS')
        # a disallowed origin's preflight: 403 problem, no CORS header
        r = self.daemon.request('OPTIONS', '/v1/machines', headers={
            'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'POST'})
        self.problem(r, 403, 'origin-not-allowed')
        self.assertIsNone(r.headers.get('Access-Control-Allow-Origin'))
        # OPTIONS without CORS: the methods; an unknown path: 404
        r = self.daemon.request('OPTIONS', '/v1/machines')
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers['Allow'], 'GET, HEAD, POST, OPTIONS')
        self.assertIsNone(r.headers.get('Access-Control-Allow-Methods'))
        self.problem(self.daemon.request('OPTIONS', '/v1/nothing'), 404, 'not-found')

    def test_preflight_needs_no_token_but_the_request_does(self):
        d = Daemon(args=['--cors-origin', self.ORIGIN])
        self.addCleanup(d.kill)
        tokens = os.path.join(d.tmp, 'tokens')
        with open(tokens, 'w') as f:
            f.write('dashboard-token-0123456789\n')
        os.chmod(tokens, 0o600)
        d.args += ['--token-file', tokens]
        d.start()
        r = d.request('OPTIONS', '/v1/machines', headers={
            'Origin': self.ORIGIN, 'Access-Control-Request-Method': 'GET',
            'Access-Control-Request-Headers': 'authorization'})
        self.assertEqual(r.status, 204)
        self.assertIn('Authorization', r.headers['Access-Control-Allow-Headers'])
        r = d.get('/v1/machines', headers={'Origin': self.ORIGIN})
        self.problem(r, 401, 'unauthorized')
        self.assertEqual(r.headers['Access-Control-Allow-Origin'], self.ORIGIN)
        r = d.get('/v1/machines', headers={'Origin': self.ORIGIN,
                                           'Authorization': 'Bearer dashboard-token-0123456789'})
        self.assertEqual(r.status, 200)

    def test_none_by_default(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        r = d.get('/v1/health', headers={'Origin': self.ORIGIN})
        self.assertIsNone(r.headers.get('Access-Control-Allow-Origin'))
        self.assertIsNone(r.headers.get('Vary'))
        r = d.request('OPTIONS', '/v1/health', headers={
            'Origin': self.ORIGIN, 'Access-Control-Request-Method': 'GET'})
        self.problem(r, 403, 'origin-not-allowed')

    def test_config_file_and_bad_values(self):
        d = Daemon()
        self.addCleanup(d.kill)
        conf = os.path.join(d.tmp, 'mm32d.conf')
        with open(conf, 'w') as f:
            f.write('[mm32d]\ncors-origin = https://a.example\ncors-origin = https://b.example\n')
        d.args = ['--config', conf]
        d.start()
        for o in ('https://a.example', 'https://b.example'):
            r = d.get('/v1/health', headers={'Origin': o})
            self.assertEqual(r.headers.get('Access-Control-Allow-Origin'), o)
        d.stop()
        # the command line's replace the file's
        d.args = ['--config', conf, '--cors-origin', 'https://c.example']
        d.start()
        r = d.get('/v1/health', headers={'Origin': 'https://a.example'})
        self.assertIsNone(r.headers.get('Access-Control-Allow-Origin'))
        r = d.get('/v1/health', headers={'Origin': 'https://c.example'})
        self.assertEqual(r.headers.get('Access-Control-Allow-Origin'), 'https://c.example')
        d.stop()
        import subprocess
        from mm32d import mm32d_path
        for bad in ('course.example.org', 'https://a.example/path', 'ftp://a.example',
                    'https://', 'https://a.example?x'):
            p = subprocess.run([mm32d_path(), '--config=', '--check-config', '--cors-origin',
                                bad], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, (bad, p.stdout, p.stderr))
            self.assertIn('cors-origin', p.stderr, bad)


class ConditionalTest(Base):
    def test_etag_and_304(self):
        self.machine('c1')
        views = ('', '/zones', '/proc/buddyinfo', '/proc/zoneinfo', '/dmesg', '/layout',
                 '/frames/0', '/cpus/0/tlb', '/slab', '/vmalloc')
        tags = {}
        for v in views:
            r = self.daemon.get('/v1/machines/c1' + v)
            self.assertEqual(r.status, 200, (v, r))
            tag = r.headers['ETag']
            self.assertRegex(tag, r'^"[0-9a-f]+-[0-9]+-0-[jt]"$', v)
            tags[v] = tag
            for inm in (tag, 'W/' + tag, '"nope", ' + tag, '*'):
                r = self.daemon.get('/v1/machines/c1' + v, headers={'If-None-Match': inm})
                self.assertEqual(r.status, 304, (v, inm, r))
                self.assertEqual(r.body, b'')
                self.assertEqual(r.headers['ETag'], tag)
            r = self.daemon.get('/v1/machines/c1' + v, headers={'If-None-Match': '"nope"'})
            self.assertEqual(r.status, 200, (v, r))
        # text and JSON are other representations: other tags
        self.assertTrue(tags['/proc/buddyinfo'].endswith('-t"'))
        self.assertTrue(tags['/zones'].endswith('-j"'))
        # the machine summary tells the machine object's ETag
        listed = self.assertJson(self.daemon.get('/v1/machines'))['machines']
        self.assertEqual([m['etag'] for m in listed if m['id'] == 'c1'], [tags['']])
        # a command changes every view's tag: the old one no longer matches
        self.daemon.put('/v1/machines/c1/sysctl/vm/min_free_kbytes', {'value': 2048})
        for v in views:
            r = self.daemon.get('/v1/machines/c1' + v, headers={'If-None-Match': tags[v]})
            self.assertEqual(r.status, 200, (v, r))
            self.assertRegex(r.headers['ETag'], r'-1-[jt]"$')
        # a failing command journals nothing and changes no tag
        r = self.daemon.get('/v1/machines/c1/zones')
        tag = r.headers['ETag']
        self.daemon.put('/v1/machines/c1/sysctl/vm/min_free_kbytes', {'value': -1})
        r = self.daemon.get('/v1/machines/c1/zones', headers={'If-None-Match': tag})
        self.assertEqual(r.status, 304)

    def test_recreated_machine_gets_another_tag(self):
        self.assertEqual(self.daemon.post('/v1/machines', {'name': 'c2', 'mem': '128M'}).status,
                         201)
        tag = self.daemon.get('/v1/machines/c2/zones').headers['ETag']
        self.assertEqual(self.daemon.delete('/v1/machines/c2').status, 204)
        self.machine('c2')
        r = self.daemon.get('/v1/machines/c2/zones', headers={'If-None-Match': tag})
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.headers['ETag'], tag)

    def test_restart_and_restore_change_the_tag(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        self.assertEqual(d.post('/v1/machines', {'name': 'r', 'mem': '128M'}).status, 201)
        snap = d.post('/v1/machines/r/snapshots', {}).json()['id']
        tag = d.get('/v1/machines/r/zones').headers['ETag']
        r = d.post('/v1/machines/r/snapshots/%d/restore' % snap)
        self.assertEqual(r.status, 200, r)
        tag2 = d.get('/v1/machines/r/zones').headers['ETag']
        self.assertNotEqual(tag2, tag)
        d.stop()
        d.start()
        r = d.get('/v1/machines/r/zones', headers={'If-None-Match': tag2})
        self.assertEqual(r.status, 200)

    def test_volatile_views_have_no_tag(self):
        self.machine('c3')
        for v in ('/journal', '/kmap', '/snapshots'):
            r = self.daemon.get('/v1/machines/c3' + v)
            self.assertEqual(r.status, 200, (v, r))
            self.assertIsNone(r.headers.get('ETag'), v)
        for p in ('/v1/health', '/v1/machines', '/metrics'):
            self.assertIsNone(self.daemon.get(p).headers.get('ETag'), p)

    def test_q_values(self):
        self.machine('c4')
        url = '/v1/machines/c4/page-tables/kernel'
        cases = ((None, 'text/plain'),
                 ('text/plain;q=0.5, application/json', 'application/json'),
                 ('application/json;q=0.5, text/plain', 'text/plain'),
                 ('application/json, text/plain', 'text/plain'),  # a tie: the route's order
                 ('*/*', 'text/plain'),
                 ('application/*', 'application/json'),
                 ('text/*;q=0, */*', 'application/json'),
                 ('text/plain;q=0, application/json;q=0.001', 'application/json'),
                 ('application/json;q=1.0, text/plain;q=0.999', 'application/json'))
        for accept, want in cases:
            r = self.daemon.get(url, headers={'Accept': accept} if accept else {})
            self.assertEqual(r.status, 200, (accept, r))
            self.assertEqual(r.content_type, want, accept)
            self.assertEqual(r.headers['Vary'], 'Accept', accept)
        for accept in ('image/png', 'text/plain;q=0, application/json;q=0', 'text/*;q=0',
                       'application/json;q=0, text/plain;q=0.0'):
            self.problem(self.daemon.get(url, headers={'Accept': accept}), 406,
                         'not-acceptable')
        # the two representations have two tags: a JSON tag does not match the text
        tj = self.daemon.get(url, headers={'Accept': 'application/json'}).headers['ETag']
        r = self.daemon.get(url, headers={'Accept': 'text/plain', 'If-None-Match': tj})
        self.assertEqual(r.status, 200)
        r = self.daemon.get(url, headers={'Accept': 'application/json', 'If-None-Match': tj})
        self.assertEqual(r.status, 304)


class ListPagingTest(Base):
    def test_journal_pages(self):
        self.machine('p1')
        cmd = {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 10}
        self.assertEqual(self.daemon.post('/v1/machines/p1/commands', [cmd] * 250).status, 200)
        # the default page: 100
        r = self.daemon.get('/v1/machines/p1/journal')
        doc = self.assertJson(r)
        self.assertEqual([e['seq'] for e in doc['entries']], list(range(1, 101)))
        self.assertEqual(doc['next'], 100)
        self.assertEqual(r.headers['Link'],
                         '</v1/machines/p1/journal?after=100&limit=100>; rel="next"')
        # follow the links
        seqs, url = [], '/v1/machines/p1/journal?limit=70'
        while url:
            r = self.daemon.get(url)
            doc = self.assertJson(r)
            seqs += [e['seq'] for e in doc['entries']]
            link = r.headers.get('Link')
            self.assertEqual(link is None, doc['next'] is None)
            url = link[1:link.index('>')] if link else None
        self.assertEqual(seqs, list(range(1, 251)))
        doc = self.assertJson(self.daemon.get('/v1/machines/p1/journal?after=240&limit=1000'))
        self.assertEqual([e['seq'] for e in doc['entries']], list(range(241, 251)))
        self.assertIsNone(doc['next'])
        doc = self.assertJson(self.daemon.get('/v1/machines/p1/journal?after=250'))
        self.assertEqual((doc['entries'], doc['next']), ([], None))
        for q in ('limit=0', 'limit=1001', 'limit=x', 'after=-1', 'after=', 'after=1.5',
                  'limit=1&limit=2', 'page=2'):
            self.problem(self.daemon.get('/v1/machines/p1/journal?' + q), 422,
                         'invalid-argument')

    def test_machines_pages(self):
        names = ['m%02d' % i for i in range(7)]
        for n in names:
            self.machine(n)
        r = self.daemon.get('/v1/machines?limit=3')
        doc = self.assertJson(r)
        self.assertEqual([m['id'] for m in doc['machines']], names[:3])
        self.assertEqual(doc['next'], 'm02')
        self.assertEqual(r.headers['Link'], '</v1/machines?after=m02&limit=3>; rel="next"')
        doc = self.assertJson(self.daemon.get('/v1/machines?after=m02&limit=3'))
        self.assertEqual([m['id'] for m in doc['machines']], names[3:6])
        doc = self.assertJson(self.daemon.get('/v1/machines?after=m05&limit=3'))
        self.assertEqual(([m['id'] for m in doc['machines']], doc['next']), ([names[6]], None))
        self.assertIsNone(self.daemon.get('/v1/machines?after=m05&limit=3').headers.get('Link'))
        for q in ('limit=0', 'limit=1001', 'after=', 'x=1'):
            self.problem(self.daemon.get('/v1/machines?' + q), 422, 'invalid-argument')


    def test_snapshots_sessions_jobs_pages(self):
        self.machine('q1')
        ids = []
        for i in range(5):
            r = self.daemon.post('/v1/machines/q1/snapshots', {'label': 's%d' % i})
            ids.append(self.assertJson(r, 201)['id'])
        r = self.daemon.get('/v1/machines/q1/snapshots?limit=2')
        doc = self.assertJson(r)
        self.assertEqual([s['id'] for s in doc['snapshots']], ids[:2])
        self.assertEqual(doc['next'], ids[1])
        self.assertIn('storage', doc)
        self.assertEqual(r.headers['Link'], '</v1/machines/q1/snapshots?after=%d&limit=2>; '
                         'rel="next"' % ids[1])
        doc = self.assertJson(self.daemon.get('/v1/machines/q1/snapshots?after=%d' % ids[1]))
        self.assertEqual(([s['id'] for s in doc['snapshots']], doc['next']), (ids[2:], None))
        # sessions: every machine's journal, by id
        self.machine('q2')
        self.machine('q3')
        doc = self.assertJson(self.daemon.get('/v1/sessions?after=q1&limit=1'))
        self.assertEqual(([s['id'] for s in doc['sessions']], doc['next']), (['q2'], 'q2'))
        doc = self.assertJson(self.daemon.get('/v1/sessions?after=q2'))
        self.assertEqual([s['id'] for s in doc['sessions']], ['q3'])
        # jobs: an async snapshot makes one
        for _ in range(2):
            self.assertEqual(self.daemon.post('/v1/machines/q1/snapshots',
                                              {'async': True}).status, 202)
        jobs = self.assertJson(self.daemon.get('/v1/jobs'))['jobs']
        self.assertGreaterEqual(len(jobs), 2)
        doc = self.assertJson(self.daemon.get('/v1/jobs?limit=1'))
        self.assertEqual([j['id'] for j in doc['jobs']], [jobs[0]['id']])
        self.assertEqual(doc['next'], jobs[0]['id'])
        doc = self.assertJson(self.daemon.get('/v1/jobs?after=%d&limit=1000' % jobs[0]['id']))
        self.assertEqual([j['id'] for j in doc['jobs']], [j['id'] for j in jobs[1:]])
        for url in ('/v1/jobs?limit=0', '/v1/jobs?after=x', '/v1/sessions?limit=2000',
                    '/v1/machines/q1/snapshots?after=-2', '/v1/sessions?foo=1'):
            self.problem(self.daemon.get(url), 422, 'invalid-argument')


class SummaryDiffTest(Base):
    def test_summary_reads_the_counters(self):
        self.machine('d1', mem='1G')
        for _ in range(3):
            self.daemon.post('/v1/machines/d1/pages', {'gfp': 'GFP_KERNEL', 'order': 2})
        m = [x for x in self.assertJson(self.daemon.get('/v1/machines'))['machines']
             if x['id'] == 'd1'][0]
        meminfo = {l.split(':')[0]: int(l.split()[1]) for l in
                   self.daemon.get('/v1/machines/d1/proc/meminfo').text.splitlines()}
        self.assertEqual(m['mem_total_kb'], meminfo['MemTotal'])
        self.assertEqual(m['mem_free_kb'], meminfo['MemFree'])
        self.assertEqual(m['seq'], 3)
        self.assertEqual(m['etag'], self.daemon.get('/v1/machines/d1').headers['ETag'])
        zones = self.assertJson(self.daemon.get('/v1/machines/d1/zones'))['zones']
        want = [{'name': z['name'], 'free': z['free'], 'min': z['watermarks']['min'],
                 'low': z['watermarks']['low'], 'high': z['watermarks']['high'],
                 'managed': z['managed']} for z in zones if z['present']]
        self.assertEqual(m['zones'], want)
        self.assertEqual([z['name'] for z in m['zones']], ['DMA', 'Normal', 'HighMem'])
        self.assertIs(m['tainted'], False)
        self.assertEqual(m['config']['mem'], 1 << 30)

    def test_diff_of_a_sysctl(self):
        self.machine('d2', mem='1G')
        before = self.assertJson(self.daemon.get('/v1/machines/d2/zones'))['zones']
        r = self.daemon.put('/v1/machines/d2/sysctl/vm/min_free_kbytes?diff=zones',
                            {'value': 16384})
        doc = self.assertJson(r)
        after = self.assertJson(self.daemon.get('/v1/machines/d2/zones'))['zones']
        self.assertEqual(doc['value'], 16384)
        diff = doc['diff']['zones']
        self.assertEqual([z['name'] for z in diff], [z['name'] for z in before])
        for d, b, a in zip(diff, before, after):
            for side, z in (('before', b), ('after', a)):
                self.assertEqual(d[side]['free'], z['free'])
                self.assertEqual(d[side]['min'], z['watermarks']['min'])
                self.assertEqual(d[side]['low'], z['watermarks']['low'])
                self.assertEqual(d[side]['high'], z['watermarks']['high'])
                self.assertEqual(d[side]['managed'], z['managed'])
                self.assertEqual(d[side]['protection'], z['protection'])
        normal = [d for d in diff if d['name'] == 'Normal'][0]
        self.assertTrue(normal['changed'])
        self.assertNotEqual(normal['before']['min'], normal['after']['min'])

    def test_diff_of_an_allocation_and_a_batch(self):
        self.machine('d3', mem='1G')
        r = self.daemon.post('/v1/machines/d3/pages?diff=zones', {'gfp': 'GFP_KERNEL',
                                                                  'order': 3})
        doc = self.assertJson(r, 201)
        normal = [d for d in doc['diff']['zones'] if d['name'] == 'Normal'][0]
        # 8 pages left the buddy lists (some may go through the pcp lists: at least 8)
        self.assertTrue(normal['changed'])
        self.assertLessEqual(normal['after']['free'], normal['before']['free'] - 8)
        dma = [d for d in doc['diff']['zones'] if d['name'] == 'DMA'][0]
        self.assertFalse(dma['changed'])
        self.assertEqual(dma['before'], dma['after'])
        r = self.daemon.delete('/v1/machines/d3/pages/%d?order=3&diff=zones' % doc['pfn'])
        freed = self.assertJson(r)
        self.assertIn('diff', freed)
        r = self.daemon.post('/v1/machines/d3/commands?diff=zones', [
            {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 100}])
        batch = self.assertJson(r)
        self.assertIn('results', batch)
        self.assertTrue(any(z['changed'] for z in batch['diff']['zones']))
        r = self.daemon.post('/v1/machines/d3/commands?diff=zones',
                             {'op': 'set_sysctl', 'name': 'watermark_scale_factor',
                              'value': 100})
        one = self.assertJson(r)
        self.assertEqual(one['op'], 'set_sysctl')
        self.assertFalse(any(z['changed'] for z in one['diff']['zones']))

    def test_diff_bad_input_changes_nothing(self):
        self.machine('d4')
        for q in ('diff=zone', 'diff=', 'diff=zones,foo', 'diff=zones&diff=zones'):
            r = self.daemon.put('/v1/machines/d4/sysctl/vm/min_free_kbytes?' + q,
                                {'value': 4096})
            self.problem(r, 422, 'invalid-argument')
        self.assertEqual(self.assertJson(self.daemon.get('/v1/machines/d4/journal'))['entries'],
                         [])
        # not without ?diff: answers are as they were
        r = self.daemon.put('/v1/machines/d4/sysctl/vm/min_free_kbytes', {'value': 4096})
        self.assertNotIn('diff', self.assertJson(r))

    def test_diff_before_the_buddy_phase(self):
        r = self.daemon.post('/v1/machines', {'name': 'd5', 'mem': '128M',
                                              'boot': {'stop_after': 'final_page_tables'}})
        self.assertEqual(r.status, 201, r)
        self.addCleanup(self.daemon.delete, '/v1/machines/d5')
        r = self.daemon.post('/v1/machines/d5/boot/continue?diff=zones', {})
        doc = self.assertJson(r)
        self.assertEqual(doc['phase'], 'buddy')
        for z in doc['diff']['zones']:
            self.assertIsNone(z['before'])
            self.assertTrue(z['changed'])


class OpenapiTest(Base):
    def test_serves_the_contract(self):
        r = self.daemon.get('/openapi.yaml')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.content_type, 'application/yaml')
        with open(os.path.join(SOURCE_ROOT, 'openapi.yaml'), 'rb') as f:
            self.assertEqual(r.body, f.read())
        r = self.daemon.request('HEAD', '/openapi.yaml')
        self.assertEqual(r.status, 200)


if __name__ == '__main__':
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
