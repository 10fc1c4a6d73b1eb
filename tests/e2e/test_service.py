#!/usr/bin/env python3
"""mm32d as a service: configuration, systemd (notify, watchdog, socket activation, the
journal), signals, access control, limits and /metrics, against the real daemon.

Python 3 standard library, Debian's python3-prometheus-client (the /metrics parser) and the
system's tools where a test needs them (systemd-socket-activate, curl, unshare); a missing tool
fails the test under `make test` and in CI, and skips it only when run by hand.
Every daemon listens on loopback or on a UNIX socket in a temporary directory, and dies with
the test process (see mm32d.py). Run by meson (suite 'service', one test() per class), or:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_service.py [-v] [Class[.test]]
"""

import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import (Response, _pdeathsig, _running, free_port, mm32d_path, need,  # noqa: E402
                   scan_sanitizer_log, tools_required)

TOKEN = 'e2e-token-0123456789abcdef'
TOKEN2 = 'e2e-other-token-ABCDEFGHIJ'


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__('localhost', timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Service:
    """One mm32d process: argv of our choosing, its own environment, its log in a file."""

    def __init__(self, args=(), env=None, prefix=(), port=None, unix=None, tmp=None,
                 watchdog=120):
        self.tmp = tmp or tempfile.mkdtemp(prefix='mm32-svc-')
        self.port = port if port is not None else free_port()
        self.unix = unix
        self.db = os.path.join(self.tmp, 'mm32.db')
        self.log_path = os.path.join(self.tmp, 'mm32d-%d.log' % self.port)
        argv = list(prefix) + [mm32d_path(), '--config=', '--db', self.db,
                               '--listen', '127.0.0.1:%d' % self.port]
        self.argv = argv + list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.watchdog_s = watchdog

    def start(self, wait=True, stderr=None):
        # over an existing database the machines come back in the background: wait_ready()
        # waits for them too (GET /v1/machines lists none "restoring")
        self.restart = os.path.exists(self.db) and not any(
            a.startswith('--rate-limit') for a in self.argv)
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=stderr or log, env=self.env,
                                     preexec_fn=_pdeathsig)
        log.close()
        _running.add(self)
        self._timer = threading.Timer(self.watchdog_s, self.kill)
        self._timer.daemon = True
        self._timer.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('mm32d exited with %s:\n%s' % (self.proc.returncode,
                                                                   self.log()))
            try:
                if self.request('GET', '/v1/health', timeout=1).status == 200:
                    while getattr(self, 'restart', False) and time.monotonic() < deadline:
                        r = self.request('GET', '/v1/machines', timeout=5)
                        if r.status != 200 or b'"restoring"' not in r.body:
                            break
                        time.sleep(0.02)
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError('mm32d did not serve /v1/health:\n' + self.log())

    def wait_exit(self, timeout=15):
        try:
            return self.proc.wait(timeout)
        finally:
            self._forget()

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def _forget(self):
        if getattr(self, '_timer', None):
            self._timer.cancel()
        if self in _running:
            scan_sanitizer_log(self.log_path)
        _running.discard(self)

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def wait_log(self, pattern, timeout=10, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log()[start:])
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError('%r not in the log:\n%s' % (pattern, self.log()))

    def connection(self, timeout=30, unix=False):
        if unix:
            return UnixHTTPConnection(self.unix, timeout)
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=None, unix=False,
                timeout=30, conn=None):
        hdrs = dict(headers or {})
        if token:
            hdrs['Authorization'] = 'Bearer ' + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs.setdefault('Content-Type', 'application/json')
        own = conn is None
        if own:
            conn = self.connection(timeout, unix)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            if own:
                conn.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='mm32-svc-')
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def service(self, *args, start=True, **kw):
        s = Service(args, tmp=self.tmp, **kw)
        self.addCleanup(s.kill)
        if start:
            s.start()
        return s

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run_mm32d(self, *args, timeout=10):
        return subprocess.run([mm32d_path()] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, text=True)

    def assertProblem(self, r, status, slug):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        p = r.json()
        self.assertEqual(p['type'], 'https://mm32.dev/problems/' + slug, p)
        self.assertEqual(p['status'], status, p)
        return p


# ---- configuration -------------------------------------------------------------------------

class ConfigTest(Base):
    """The ini file, the command line over it, --check-config, the access rule at start."""

    def test_check_config_prints_effective_configuration(self):
        conf = self.write('mm32d.conf', '[mm32d]\nthreads = 3\nmax-body = 64K\n'
                          'log-level = warn\ntoken = %s\n' % TOKEN)
        p = self.run_mm32d('--config', conf, '--check-config', '--threads', '5')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('threads = 5\n', p.stdout)        # the command line wins
        self.assertIn('max-body = 65536\n', p.stdout)   # the file
        self.assertIn('log-level = warn\n', p.stdout)
        self.assertIn('# tokens: 1\n', p.stdout)
        self.assertNotIn(TOKEN, p.stdout + p.stderr)    # never shown
        self.assertIn('# configuration OK', p.stdout)

    def test_check_config_refuses_bad_files(self):
        conf = self.write('bad.conf', '[mm32d]\nthreads = 2\nlisten = 127.0.0.1:8032\n'
                          'max-conections = 4\n')
        p = self.run_mm32d('--config', conf, '--check-config')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("bad.conf:4: unknown key 'max-conections'", p.stderr)
        p = self.run_mm32d('--config', os.path.join(self.tmp, 'absent.conf'), '--check-config')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn('cannot read the configuration file', p.stderr)
        # tokens in a file every user may read are no secret
        conf = self.write('open.conf', 'token = %s\n' % TOKEN, mode=0o644)
        p = self.run_mm32d('--config', conf, '--check-config')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn('every user may read it', p.stderr)

    def test_every_option_is_a_key(self):
        help_text = self.run_mm32d('--help').stdout
        options = set(re.findall(r'^  --([a-z-]+)', help_text, re.M))
        options -= {'config', 'check-config', 'help', 'version'}
        self.assertGreaterEqual(len(options), 14, help_text)
        printed = self.run_mm32d('--config=', '--check-config').stdout
        keys = set(re.findall(r'^([a-z-]+) = ', printed, re.M))
        self.assertEqual(options, keys)
        # and each of them is accepted in a file
        lines = ''.join('%s = %s\n' % (k, v) for k, v in re.findall(
            r'^([a-z-]+) = (.*)$', printed, re.M))
        conf = self.write('all.conf', '[mm32d]\n' + lines.replace('unix-socket = \n', '')
                          .replace('db = \n', '').replace('token-file = \n', ''))
        p = self.run_mm32d('--config', conf, '--check-config')
        self.assertEqual(p.returncode, 0, p)

    def test_file_applies_and_command_line_wins(self):
        conf = self.write('mm32d.conf', '[mm32d]\nmax-body = 100\nno-default-machine = true\n')
        s = self.service('--config', conf, '--max-body', '1000')
        self.assertEqual(s.request('GET', '/v1/machines').json(), {'machines': [], 'next': None})
        body = json.dumps({'mem': '64M', 'cmdline': 'x' * 400})
        self.assertEqual(s.request('POST', '/v1/machines', body,
                                   {'Content-Type': 'application/json'}).status, 201)
        body = json.dumps({'mem': '64M', 'cmdline': 'x' * 1200})
        self.assertProblem(s.request('POST', '/v1/machines', body,
                                     {'Content-Type': 'application/json'}),
                           413, 'payload-too-large')
        self.assertEqual(s.stop(), 0)

    def test_non_loopback_needs_a_token(self):
        # refused before anything is bound
        p = self.run_mm32d('--config=', '--listen', '0.0.0.0:%d' % free_port(),
                           '--db', os.path.join(self.tmp, 'x.db'), '--no-default-machine')
        self.assertEqual(p.returncode, 2, p)
        self.assertIn('non-loopback address without bearer tokens', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'x.db')))
        for addr in ('0.0.0.0:8032', '[::]:8032', '192.0.2.1:8032'):
            p = self.run_mm32d('--config=', '--check-config', '--listen', addr)
            self.assertEqual(p.returncode, 1, (addr, p))
        tokens = self.write('tokens', TOKEN + '\n')
        p = self.run_mm32d('--config=', '--check-config', '--listen', '0.0.0.0:8032',
                           '--token-file', tokens)
        self.assertEqual(p.returncode, 0, p)
        p = self.run_mm32d('--config=', '--check-config', '--listen', '0.0.0.0:8032',
                           '--insecure')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('--insecure', p.stderr)
        for addr in ('127.0.0.1:8032', '127.1.2.3:8032', '[::1]:8032', 'localhost:8032'):
            p = self.run_mm32d('--config=', '--check-config', '--listen', addr)
            self.assertEqual(p.returncode, 0, (addr, p))

    def test_tokens_stay_off_the_command_line(self):
        p = self.run_mm32d('--config=', '--check-config', '--token', TOKEN)
        self.assertEqual(p.returncode, 2, p)
        self.assertNotIn(TOKEN, p.stdout + p.stderr)


# ---- systemd ----------------------------------------------------------------------------------

class NotifySocket:
    """What systemd's NOTIFY_SOCKET is: an AF_UNIX datagram socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        msg = self.sock.recv(65536).decode()
        fields = dict(line.split('=', 1) for line in msg.split('\n') if '=' in line)
        self.messages.append(fields)
        return fields

    def wait_for(self, key, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(deadline - time.monotonic())
            if m and key in m:
                return m
        raise AssertionError('no %s in %r' % (key, self.messages))

    def close(self):
        self.sock.close()


class NotifyTest(Base):
    """sd_notify: READY=1 once bound with the database open, STATUS=, WATCHDOG=1 at half
    WATCHDOG_USEC, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM."""

    def test_notify_and_watchdog(self):
        sock = NotifySocket(os.path.join(self.tmp, 'notify'))
        self.addCleanup(sock.close)
        s = self.service('--unix-socket', os.path.join(self.tmp, 'mm32d.sock'), start=False,
                         env={'NOTIFY_SOCKET': sock.path, 'WATCHDOG_USEC': '400000'})
        s.start(wait=False)
        ready = sock.wait_for('READY', timeout=20)
        self.assertEqual(ready['READY'], '1')
        # at READY the listeners are bound and the database is open: no retry needed
        self.assertEqual(s.request('GET', '/v1/health').status, 200)
        self.assertTrue(os.path.exists(s.db))
        self.assertRegex(ready.get('STATUS', ''),
                         r'^Serving 1 machine on 127\.0\.0\.1:%d, unix:%s' %
                         (s.port, re.escape(os.path.join(self.tmp, 'mm32d.sock'))))
        # pings every 200 ms (half of 400 ms)
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 1.5:
            m = sock.recv(0.5)
            if m and m.get('WATCHDOG') == '1':
                pings += 1
        self.assertGreaterEqual(pings, 5, sock.messages)
        self.assertLessEqual(pings, 12, sock.messages)
        # SIGHUP: RELOADING=1 (with the monotonic time), then READY=1
        s.proc.send_signal(signal.SIGHUP)
        m = sock.wait_for('RELOADING')
        self.assertEqual(m['RELOADING'], '1')
        self.assertRegex(m.get('MONOTONIC_USEC', ''), r'^\d+$')
        self.assertEqual(sock.wait_for('READY')['READY'], '1')
        # SIGTERM: STOPPING=1, exit 0
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(sock.wait_for('STOPPING')['STOPPING'], '1')
        self.assertEqual(s.wait_exit(), 0)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'mm32d.sock')))

    def test_no_watchdog_without_watchdog_usec(self):
        sock = NotifySocket(os.path.join(self.tmp, 'notify'))
        self.addCleanup(sock.close)
        env = {'NOTIFY_SOCKET': sock.path}
        s = self.service(start=False, env=env)
        s.env.pop('WATCHDOG_USEC', None)
        s.start(wait=False)
        sock.wait_for('READY', timeout=20)
        while True:
            m = sock.recv(1.0)
            if m is None:
                break
            self.assertNotIn('WATCHDOG', m)
        self.assertEqual(s.stop(), 0)


class SocketActivationTest(Base):
    """systemd-socket-activate hands mm32d a TCP and a UNIX socket (LISTEN_FDS): --listen is
    ignored, both serve, tokens apply to TCP and not to the UNIX socket."""

    def test_tcp_and_unix(self):
        tool = need('systemd-socket-activate')
        port, path = free_port(), os.path.join(self.tmp, 'act.sock')
        tokens = self.write('tokens', TOKEN + '\n')
        s = self.service('--no-default-machine', '--token-file', tokens, start=False,
                         port=port, prefix=[tool, '-l', '127.0.0.1:%d' % port, '-l', path])
        # the --listen that Service adds is another port: it must be ignored
        s.argv[s.argv.index('--listen') + 1] = '127.0.0.1:%d' % free_port()
        s.unix = path
        s.start(wait=False)
        # systemd-socket-activate starts mm32d at the first connection, as systemd would
        s.wait_ready()
        s.wait_log(r'listening on unix:%s \(socket activation\)' % re.escape(path))
        self.assertIn('listening on 127.0.0.1:%d (socket activation)' % port, s.log())
        self.assertEqual(s.request('GET', '/v1/health').status, 200)
        self.assertProblem(s.request('GET', '/v1/machines'), 401, 'unauthorized')
        self.assertEqual(s.request('GET', '/v1/machines', token=TOKEN).status, 200)
        r = s.request('POST', '/v1/machines', {'name': 'u', 'mem': '64M'}, unix=True)
        self.assertEqual(r.status, 201, r)
        if need('curl'):
            out = subprocess.run(['curl', '-s', '--unix-socket', path,
                                  'http://localhost/v1/machines'], capture_output=True,
                                 timeout=10, text=True).stdout
            self.assertEqual([m['id'] for m in json.loads(out)['machines']], ['u'])
        self.assertEqual(s.stop(), 0)
        self.assertIn('stopped', s.log())


# ---- signals ----------------------------------------------------------------------------------

class SignalTest(Base):
    """SIGTERM finishes the requests in flight, flushes the journal and exits 0; SIGHUP
    reloads log level, limits and tokens."""

    def _begin_request(self, s, body):
        """A POST whose headers and half of its body are sent: a request in flight."""
        c = socket.create_connection(('127.0.0.1', s.port), timeout=20)
        head = ('POST /v1/machines/default/commands HTTP/1.1\r\nHost: x\r\n'
                'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body))
        c.sendall(head.encode() + body[:len(body) // 2])
        return c

    def test_sigterm_finishes_requests_in_flight(self):
        s = self.service()
        self.assertEqual(s.request('GET', '/v1/machines/default').status, 200)
        body = json.dumps({'op': 'set_sysctl', 'name': 'min_free_kbytes',
                           'value': 8192}).encode()
        c = self._begin_request(s, body)
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGTERM)
        s.wait_log(r'signal 15 \(Terminated\): shutting down')
        time.sleep(0.5)
        self.assertIsNone(s.proc.poll(), 'mm32d did not wait for the request in flight')
        c.sendall(body[len(body) // 2:])
        raw = b''
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            raw += chunk
        c.close()
        head, _, payload = raw.partition(b'\r\n\r\n')
        self.assertTrue(head.startswith(b'HTTP/1.1 200'), raw)
        self.assertIn(b'\r\nConnection: close', head)
        self.assertEqual(json.loads(payload)['seq'], 1)
        self.assertEqual(s.wait_exit(), 0)
        self.assertIn('stopped', s.log())
        # flushed: the write-ahead log was checkpointed into the database and removed
        self.assertFalse(os.path.exists(s.db + '-wal'))
        # and the command is in the journal on the next start
        s2 = self.service('--no-default-machine')
        j = s2.request('GET', '/v1/machines/default/journal').json()
        self.assertEqual([e['command']['value'] for e in j['entries']], [8192])
        self.assertEqual(s2.request('GET', '/v1/machines/default/sysctl/vm/min_free_kbytes')
                         .json()['value'], 8192)
        self.assertEqual(s2.stop(), 0)

    def test_sigterm_gives_up_after_shutdown_timeout(self):
        s = self.service('--shutdown-timeout', '1')
        c = self._begin_request(s, b'{"op": "set_sysctl", "name": "min_free_kbytes"}')
        self.addCleanup(c.close)
        time.sleep(0.3)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.wait_exit(), 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn('1 request(s) still running after 1s were cut', s.log())

    def test_sigint_and_idle_keep_alive(self):
        s = self.service()
        conn = s.connection()
        self.assertEqual(s.request('GET', '/v1/health', conn=conn).status, 200)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGINT)
        self.assertEqual(s.wait_exit(), 0)     # an idle keep-alive connection does not hold it
        self.assertLess(time.monotonic() - t0, 5)
        conn.close()

    def test_sighup_reloads(self):
        conf = self.write('mm32d.conf', '[mm32d]\nlog-level = info\ntoken = %s\n' % TOKEN,
                          mode=0o640)
        s = self.service('--config', conf)  # the last --config counts
        self.assertEqual(s.request('GET', '/v1/machines', token=TOKEN).status, 200)
        self.assertProblem(s.request('GET', '/v1/machines', token=TOKEN2), 401,
                           'unauthorized')
        self.assertRegex(s.log(), r'info: GET /v1/machines 200 ')
        self.write('mm32d.conf', '[mm32d]\nlog-level = warn\nmax-body = 200\nthreads = 5\n'
                   'token = %s\n' % TOKEN2, mode=0o640)
        mark = len(s.log())
        s.proc.send_signal(signal.SIGHUP)
        s.wait_log(r'configuration reloaded from .*mm32d\.conf: log-level warn, '
                   r'max-body 200, .* 1 token\(s\)', start=mark)
        self.assertIn('threads changed, which takes effect at the next start', s.log())
        self.assertProblem(s.request('GET', '/v1/machines', token=TOKEN), 401, 'unauthorized')
        self.assertEqual(s.request('GET', '/v1/machines', token=TOKEN2).status, 200)
        r = s.request('POST', '/v1/machines', {'mem': '64M', 'cmdline': 'x' * 300},
                      token=TOKEN2)
        self.assertProblem(r, 413, 'payload-too-large')
        mark = len(s.log())
        s.request('GET', '/v1/machines', token=TOKEN2)
        time.sleep(0.2)
        self.assertNotIn('GET /v1/machines', s.log()[mark:])  # info lines are off
        # a bad file is refused; what runs stays
        self.write('mm32d.conf', '[mm32d]\nmax-body = lots\n', mode=0o640)
        s.proc.send_signal(signal.SIGHUP)
        s.wait_log(r'reload: .*max-body: must be .*; the running configuration stays',
                   start=mark)
        self.assertEqual(s.request('GET', '/v1/machines', token=TOKEN2).status, 200)
        self.assertEqual(s.stop(), 0)


# ---- access ----------------------------------------------------------------------------------

class AccessTest(Base):
    """Bearer tokens, the UNIX socket and its permissions, the connection limit, the
    per-client rate limit, the body cap, paths that try to leave the routes."""

    def test_tokens(self):
        tokens = self.write('tokens', '# two tokens\n%s\n%s\n' % (TOKEN, TOKEN2))
        s = self.service('--token-file', tokens)
        r = s.request('GET', '/v1/machines')
        p = self.assertProblem(r, 401, 'unauthorized')
        self.assertEqual(r.headers['WWW-Authenticate'], 'Bearer realm="mm32d"')
        self.assertIn('Authorization: Bearer', p['detail'])
        r = s.request('GET', '/v1/machines', token='not-the-token-0123456789')
        self.assertProblem(r, 401, 'unauthorized')
        self.assertEqual(r.headers['WWW-Authenticate'],
                         'Bearer realm="mm32d", error="invalid_token"')
        r = s.request('GET', '/v1/machines', headers={'Authorization': 'Basic dXNlcjpwYXNz'})
        self.assertEqual(r.headers['WWW-Authenticate'],
                         'Bearer realm="mm32d", error="invalid_request"')
        r = s.request('GET', '/v1/machines', token=TOKEN[:-1])  # a prefix is not the token
        self.assertEqual(r.status, 401)
        r = s.request('GET', '/v1/machines', token=TOKEN + 'x')
        self.assertEqual(r.status, 401)
        for t in (TOKEN, TOKEN2):
            self.assertEqual(s.request('GET', '/v1/machines', token=t).status, 200)
        self.assertEqual(s.request('GET', '/v1/machines',
                                   headers={'Authorization': 'bearer  ' + TOKEN}).status, 200)
        # liveness stays open; everything else needs the token, /metrics included
        self.assertEqual(s.request('GET', '/v1/health').status, 200)
        self.assertEqual(s.request('HEAD', '/v1/health').status, 200)
        self.assertEqual(s.request('GET', '/metrics').status, 401)
        self.assertEqual(s.request('POST', '/v1/machines', {'mem': '64M'}).status, 401)
        # a refused body is read and dropped: the connection stays usable
        conn = s.connection()
        self.assertEqual(s.request('POST', '/v1/machines', {'mem': '64M'}, conn=conn).status,
                         401)
        self.assertEqual(s.request('GET', '/v1/machines', token=TOKEN, conn=conn).status, 200)
        conn.close()
        self.assertEqual(s.stop(), 0)

    def test_unix_socket_permissions_are_the_access_control(self):
        path = os.path.join(self.tmp, 'mm32d.sock')
        tokens = self.write('tokens', TOKEN + '\n')
        s = self.service('--unix-socket', path, '--token-file', tokens, unix=path)
        st = os.stat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        # no token on the socket: whoever may connect may use it
        self.assertEqual(s.request('GET', '/v1/machines', unix=True).status, 200)
        self.assertEqual(s.request('GET', '/metrics', unix=True).status, 200)
        curl = need('curl')
        if curl:
            p = subprocess.run([curl, '-s', '--unix-socket', path,
                                'http://localhost/v1/machines/default'],
                               capture_output=True, timeout=10, text=True)
            self.assertEqual(json.loads(p.stdout)['id'], 'default', p)
        if os.geteuid() == 0 and os.access('/usr/bin/python3', os.X_OK):
            os.chmod(self.tmp, 0o755)
            probe = ('import socket,sys\ns=socket.socket(socket.AF_UNIX)\n'
                     'try:\n  s.connect(sys.argv[1]); print("connected")\n'
                     'except PermissionError: print("refused")\n')

            def as_nobody():
                def drop():
                    os.setgid(65534)
                    os.setuid(65534)
                # the system's python: one under /root would not be nobody's to run
                return subprocess.run(['/usr/bin/python3', '-c', probe, path], preexec_fn=drop,
                                      capture_output=True, text=True, timeout=10).stdout.strip()
            self.assertEqual(as_nobody(), 'refused')     # 0660 root:root: not for nobody
            os.chmod(path, 0o666)
            self.assertEqual(as_nobody(), 'connected')   # the mode decides
        self.assertEqual(s.stop(), 0)
        self.assertFalse(os.path.exists(path))           # removed on the way out

    def test_unix_socket_mode_and_stale_files(self):
        path = os.path.join(self.tmp, 'mm32d.sock')
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()                                    # a socket file nobody listens on
        s = self.service('--unix-socket', path, '--unix-socket-mode', '0600', unix=path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        # a second daemon on the same, live socket refuses to start
        s2 = Service(['--unix-socket', path], tmp=tempfile.mkdtemp(dir=self.tmp))
        self.addCleanup(s2.kill)
        s2.start(wait=False)
        self.assertEqual(s2.wait_exit(), 1)
        self.assertIn('another process listens there', s2.log())
        self.assertEqual(s.request('GET', '/v1/health', unix=True).status, 200)
        self.assertEqual(s.stop(), 0)
        with open(path + '.txt', 'w'):
            pass
        p = self.run_mm32d('--config=', '--listen', '127.0.0.1:%d' % free_port(), '--db',
                           os.path.join(self.tmp, 'y.db'), '--unix-socket', path + '.txt')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn('exists and is not a socket', p.stderr)

    def test_connection_limit(self):
        s = self.service('--max-connections', '2')
        ping = b'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'

        def served(c):
            try:
                c.sendall(ping)
                return c.recv(65536).startswith(b'HTTP/1.1 200')
            except (ConnectionResetError, BrokenPipeError):
                return False

        held = []
        self.addCleanup(lambda: [c.close() for c in held])
        deadline = time.monotonic() + 10
        while len(held) < 2 and time.monotonic() < deadline:
            # the connections of start() may still be closing on mm32d's side: retry
            c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
            if served(c):
                held.append(c)  # accepted, counted, and kept open (keep-alive)
            else:
                c.close()
                time.sleep(0.1)
        self.assertEqual(len(held), 2)
        extra = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        self.assertFalse(served(extra), 'a connection over the limit was served')
        extra.close()
        # the two held connections still work; once one closes, a new one is served
        self.assertTrue(served(held[0]))
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
            ok = served(c)
            c.close()
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(ok)
        held.pop().close()
        time.sleep(0.3)
        r = s.request('GET', '/metrics')
        self.assertEqual(r.status, 200)
        m = re.search(r'^mm32_http_connections_refused_total (\d+)$', r.text, re.M)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertEqual(s.stop(), 0)

    def test_rate_limit(self):
        path = os.path.join(self.tmp, 'mm32d.sock')
        s = self.service('--rate-limit', '2', '--rate-burst', '4', '--unix-socket', path,
                         unix=path)
        time.sleep(1.0)  # the health checks of start() took one: the burst is whole again
        t0 = time.monotonic()
        statuses = [s.request('GET', '/v1/machines').status for _ in range(4)]
        self.assertEqual(statuses, [200] * 4)
        r = s.request('GET', '/v1/machines')
        self.assertLess(time.monotonic() - t0, 0.5, 'too slow for this test to mean anything')
        p = self.assertProblem(r, 429, 'too-many-requests')
        self.assertIn('requests per second', p['detail'])
        retry = int(r.headers['Retry-After'])
        self.assertEqual(retry, 1)
        # another client (here: the UNIX socket's uid) has a bucket of its own
        self.assertEqual(s.request('GET', '/v1/machines', unix=True).status, 200)
        time.sleep(retry)
        self.assertEqual(s.request('GET', '/v1/machines').status, 200)
        m = re.search(r'^mm32_http_requests_total\{route="other",method="GET",code="429"\} '
                      r'(\d+)$', s.request('GET', '/metrics', unix=True).text, re.M)
        self.assertEqual(int(m.group(1)), 1)
        self.assertEqual(s.stop(), 0)

    def test_body_cap(self):
        path = os.path.join(self.tmp, 'mm32d.sock')
        s = self.service('--max-body', '256', '--unix-socket', path, unix=path)
        big = {'mem': '64M', 'cmdline': 'x' * 300}
        self.assertProblem(s.request('POST', '/v1/machines', big), 413, 'payload-too-large')
        self.assertProblem(s.request('POST', '/v1/machines', big, unix=True), 413,
                           'payload-too-large')
        self.assertEqual(s.request('POST', '/v1/machines', {'mem': '64M'}).status, 201)
        self.assertEqual(s.stop(), 0)

    def test_paths_cannot_leave_the_routes(self):
        # mm32d serves no files (there is no static route): whatever the path, the answer
        # comes from the route table, and ../ in any spelling matches no route
        secret = self.write('secret.txt', 'root:x:0:0:SECRET\n', mode=0o644)
        s = self.service()
        rel = os.path.relpath(secret, '/')
        paths = ['/../../../../../../%s' % rel, '/v1/../../../../../%s' % rel,
                 '/%2e%2e/%2e%2e/%2e%2e/' + rel, '/v1/machines/..%2f..%2f..%2f' + rel,
                 '/%252e%252e/%252e%252e/' + rel, '/..%5c..%5c' + rel,
                 '/v1/health/../../etc/passwd', '/./v1/health', '/v1//health',
                 '/v1/machines/default/proc/..%2f..%2f..%2fetc%2fpasswd',
                 '/v1/machines/default/proc/../../../../etc/passwd', '/etc/passwd',
                 '/index.html', '/web/../etc/passwd', '/%00', '/v1/health%00.html']
        for path in paths:
            with self.subTest(path=path):
                c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
                c.sendall(('GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
                           % path).encode())
                raw = b''
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    raw += chunk
                c.close()
                status = int(raw.split(b' ', 2)[1])
                self.assertIn(status, (400, 404), raw)
                self.assertNotIn(b'SECRET', raw)
                self.assertNotIn(b'root:x:0', raw)
        self.assertEqual(s.stop(), 0)


# ---- hostile clients ----------------------------------------------------------------------

def read_all(c, limit=5.0):
    """Every byte until the peer closes (or @limit seconds pass); the time it took."""
    t0 = time.monotonic()
    c.settimeout(limit)
    raw = b''
    try:
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            raw += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return raw, time.monotonic() - t0


class ClientLimitsTest(Base):
    """What one client cannot do to everyone else: hold every connection, trickle headers or
    a body forever (slowloris), smuggle a second request through ambiguous framing, or reach
    another route through an encoded '/'."""

    @staticmethod
    def request_again(s, method, path, timeout=5.0):
        """A request on a new connection, again while mm32d has not yet seen one of this
        client's earlier connections close (it refuses one more beyond the client's limit)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return s.request(method, path)
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def closed_total(self, s, reason):
        text = self.request_again(s, 'GET', '/metrics').text
        m = re.search(r'^mm32_http_connections_closed_total\{reason="%s"\} (\d+)$' % reason,
                      text, re.M)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def test_connections_per_client(self):
        s = self.service('--max-client-connections', '3')
        ping = b'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'
        held = []
        self.addCleanup(lambda: [c.close() for c in held])
        deadline = time.monotonic() + 10
        while len(held) < 3 and time.monotonic() < deadline:
            # served: accepted and counted on mm32d's side (the connections of start() may
            # still be closing there: retry)
            c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
            try:
                c.sendall(ping)
                if c.recv(65536).startswith(b'HTTP/1.1 200'):
                    held.append(c)
                    continue
            except (ConnectionResetError, BrokenPipeError):
                pass
            c.close()
            time.sleep(0.1)
        self.assertEqual(len(held), 3)
        extra = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        try:
            extra.sendall(ping)
        except (ConnectionResetError, BrokenPipeError):
            pass
        raw, took = read_all(extra, limit=5.0)
        extra.close()
        self.assertEqual(raw, b'', 'a 4th connection of one client was served')
        self.assertLess(took, 4.0, 'a 4th connection of one client was kept open')
        # the held ones are served; once one closes, a new one is too
        held[0].sendall(ping)
        self.assertTrue(held[0].recv(65536).startswith(b'HTTP/1.1 200'))
        held.pop().close()
        self.assertEqual(self.request_again(s, 'GET', '/v1/health').status, 200)
        self.assertGreaterEqual(self.closed_total(s, 'max-client-connections'), 1)

    @staticmethod
    def trickle(s, head, byte, limit=6.0):
        """Send @head, then @byte every 0.2 s until mm32d closes the connection (or @limit
        seconds pass); whether it closed, and after how long."""
        c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        c.sendall(head)
        t0 = time.monotonic()
        closed = False
        while not closed and time.monotonic() - t0 < limit:
            try:
                c.sendall(byte)
                c.settimeout(0.2)
                closed = c.recv(65536) == b''
            except socket.timeout:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        c.close()
        return closed, time.monotonic() - t0

    def test_trickled_headers_and_body_are_cut(self):
        s = self.service('--request-timeout', '1')
        # headers: a byte every 0.2 s renews no deadline
        closed, took = self.trickle(s, b'GET /v1/health HTTP/1.1\r\n', b'X')
        self.assertTrue(closed, 'a trickled header kept its connection for 6 s')
        self.assertLess(took, 3.0)
        # a body: the headers in time, then a byte every 0.2 s
        closed, took = self.trickle(s, b'POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Type: '
                                    b'application/json\r\nContent-Length: 100\r\n\r\n{', b' ')
        self.assertTrue(closed, 'a trickled body kept its connection for 6 s')
        self.assertLess(took, 3.0)
        self.assertGreaterEqual(self.closed_total(s, 'request-timeout'), 2)
        # an ordinary client is not hurt: keep-alive requests, each in time
        c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        for _ in range(3):
            c.sendall(b'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n')
            self.assertTrue(c.recv(65536).startswith(b'HTTP/1.1 200'))
            time.sleep(0.4)
        c.close()
        self.assertEqual(s.request('GET', '/v1/machines').json()['machines'][0]['id'],
                         'default')

    def test_ambiguous_framing_is_refused(self):
        s = self.service()
        body = b'{"name": "smuggled", "mem": "64M"}'
        chunked = b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body)  # a valid chunked body
        cases = [
            (b'Content-Length: %d\r\nContent-Length: 5\r\n' % len(body), body),
            (b'Content-Length: %d\r\nTransfer-Encoding: chunked\r\n' % len(chunked), chunked),
            (b'Transfer-Encoding: chunked\r\nContent-Length: %d\r\n' % len(body), chunked),
        ]
        for head, payload in cases:
            with self.subTest(head=head):
                c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
                c.sendall(b'POST /v1/machines HTTP/1.1\r\nHost: x\r\n'
                          b'Content-Type: application/json\r\n' + head + b'\r\n' + payload)
                raw, _ = read_all(c)
                c.close()
                self.assertTrue(raw.startswith(b'HTTP/1.1 400'), raw)
                self.assertIn(b'\r\nConnection: close\r\n', raw)
                self.assertIn(b'problems/bad-request', raw)
                self.assertIn(b'RFC 9112', raw)
        ids = [m['id'] for m in s.request('GET', '/v1/machines').json()['machines']]
        self.assertNotIn('smuggled', ids)
        # one Content-Length, or the same one twice, is fine
        c = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        c.sendall(b'POST /v1/machines HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                  b'Content-Type: application/json\r\nContent-Length: %d\r\n'
                  b'Content-Length: %d\r\n\r\n' % (len(body), len(body)) + body)
        raw, _ = read_all(c)
        c.close()
        self.assertTrue(raw.startswith(b'HTTP/1.1 201'), raw)

    def test_encoded_slash_is_no_separator(self):
        s = self.service()
        for path in ('/v1/machines/default%2fcheck', '/v1/machines/default%2Fcheck',
                     '/v1/machines/default%2fproc%2fzoneinfo'):
            with self.subTest(path=path):
                r = s.request('GET', path)
                self.assertProblem(r, 404, 'not-found')
                self.assertIn('%2', r.json()['detail'] + r.json()['instance'])
        self.assertEqual(s.request('GET', '/v1/machines/default/check').status, 200)
        # other escapes are still decoded
        self.assertEqual(s.request('GET', '/v1/machines/%64efault').status, 200)


# ---- caps ------------------------------------------------------------------------------------

class CapsTest(Base):
    """What clients can make the daemon hold is capped: machines, and the host memory they
    hold; a refusal is a 507 naming the cap; a restart with smaller caps starts cleanly."""

    def test_machine_and_memory_caps(self):
        s = self.service('--max-machines', '3', '--max-host-memory', '24M',
                         '--no-default-machine')
        for name in ('a', 'b'):
            r = s.request('POST', '/v1/machines', {'name': name, 'mem': '1G'})
            self.assertEqual(r.status, 201, r)
        # a third 1 GiB machine: 9.25 MiB of mem_map and bookkeeping each, over 24 MiB
        p = self.assertProblem(s.request('POST', '/v1/machines', {'name': 'c', 'mem': '1G'}),
                               507, 'over-capacity')
        self.assertIn('max-host-memory (24 MiB)', p['detail'])
        # a small one fits the memory; then the count is the cap
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'c', 'mem': '64M'}).status,
                         201)
        p = self.assertProblem(s.request('POST', '/v1/machines', {'name': 'd', 'mem': '64M'}),
                               507, 'over-capacity')
        self.assertIn('max-machines', p['detail'])
        ids = [m['id'] for m in s.request('GET', '/v1/machines').json()['machines']]
        self.assertEqual(ids, ['a', 'b', 'c'])
        # a deletion makes room
        self.assertEqual(s.request('DELETE', '/v1/machines/c').status, 204)
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'd', 'mem': '64M'}).status,
                         201)
        self.assertEqual(s.stop(), 0)
        # smaller caps at the next start: what fits comes back, the rest stays in the store,
        # listed as unloaded with the reason (not a crash loop)
        s2 = self.service('--max-machines', '2', '--no-default-machine')  # the same tmp: same db
        ms = s2.request('GET', '/v1/machines').json()['machines']
        self.assertEqual([(m['id'], m['state']) for m in ms],
                         [('a', 'ready'), ('b', 'ready'), ('d', 'unloaded')])
        self.assertRegex(ms[2]['reason'], r'this mm32d holds 2 machines, its max-machines')
        self.assertRegex(s2.log(), r'machine d left unloaded: it does not fit the caps: this '
                                   r'mm32d holds 2 machines, its max-machines')
        p = self.assertProblem(s2.request('GET', '/v1/machines/d'), 507, 'over-capacity')
        self.assertIn('is not loaded', p['detail'])
        self.assertEqual(s2.request('GET', '/v1/health').status, 200)
        # an unloaded machine is not counted by the caps, and can be deleted
        self.assertEqual(s2.request('DELETE', '/v1/machines/d').status, 204)
        self.assertEqual(s2.request('GET', '/v1/machines/d').status, 404)
        self.assertEqual(s2.stop(), 0)


    def test_database_cap(self):
        s = self.service('--max-db-size', '3M', '--no-default-machine')
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'a', 'mem': '256M'}).status,
                         201)
        # 32 KiB of random bytes a command, journaled as hex: the journal reaches 3 MiB
        rng = random.Random(7)
        refused = None
        for i in range(200):
            r = s.request('PUT', '/v1/machines/a/memory',
                          {'addr': hex(0x8000000 + i * 0x8000), 'space': 'phys',
                           'data': rng.randbytes(0x8000).hex()})
            if r.status != 200:
                refused = r
                break
        self.assertIsNotNone(refused, 'max-db-size 3M held 200 writes of 64 KiB of text')
        p = self.assertProblem(refused, 507, 'over-capacity')
        self.assertIn('max-db-size', p['detail'])
        self.assertIn('not journaled and are undone', p['detail'])
        # the machine is what its journal rebuilds; it still answers, and reads work
        self.assertEqual(s.request('GET', '/v1/machines/a/check').status, 200)
        n = len(s.request('GET', '/v1/machines/a/journal').json()['entries'])
        self.assertEqual(n, i)
        self.assertEqual(s.request('GET', '/v1/health').status, 200)
        self.assertEqual(s.stop(), 0)


    def test_snapshot_cap(self):
        s = self.service('--max-snapshots-per-machine', '2', '--no-default-machine')
        for name in ('a', 'b'):
            self.assertEqual(s.request('POST', '/v1/machines', {'name': name, 'mem': '64M'}).status,
                             201)
        ids = []
        for i in range(2):
            r = s.request('POST', '/v1/machines/a/snapshots', {})
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()['id'])
        p = self.assertProblem(s.request('POST', '/v1/machines/a/snapshots', {}), 507,
                               'over-capacity')
        self.assertIn("machine 'a' has 2 snapshots, its max-snapshots-per-machine (2)",
                      p['detail'])
        # per machine: b has room; a deletion makes room on a
        self.assertEqual(s.request('POST', '/v1/machines/b/snapshots', {}).status, 201)
        self.assertEqual(s.request('DELETE', '/v1/machines/a/snapshots/%d' % ids[0]).status, 200)
        self.assertEqual(s.request('POST', '/v1/machines/a/snapshots', {}).status, 201)
        self.assertEqual(s.stop(), 0)

    def test_session_cap(self):
        s = self.service('--max-session-commands', '3', '--no-default-machine')
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'a', 'mem': '64M'}).status,
                         201)
        cmd = {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 20}
        # a batch that would go over is refused whole, and undone
        p = self.assertProblem(s.request('POST', '/v1/machines/a/commands', [cmd] * 4), 507,
                               'over-capacity')
        self.assertIn('max-session-commands (3)', p['detail'])
        self.assertEqual(s.request('GET', '/v1/machines/a/journal').json()['entries'], [])
        for v in (11, 12, 13):
            r = s.request('POST', '/v1/machines/a/commands', dict(cmd, value=v))
            self.assertEqual(r.status, 200, r)
        # full: refused before it runs, the machine as its journal says
        p = self.assertProblem(s.request('POST', '/v1/machines/a/commands', dict(cmd, value=99)),
                               507, 'over-capacity')
        self.assertIn("machine 'a' has 3 commands in its journal", p['detail'])
        self.assertEqual(s.request('GET', '/v1/machines/a/sysctl/vm/watermark_scale_factor')
                         .json()['value'], 13)
        # an import longer than the cap is refused, naming it
        text = s.request('GET', '/v1/sessions/a/journal').text
        line = text.splitlines()[-1]
        longer = text + line.replace('"seq":3', '"seq":4') + '\n'
        r = s.request('POST', '/v1/sessions?name=b', body=longer.encode(),
                      headers={'Content-Type': 'application/x-ndjson'})
        p = self.assertProblem(r, 507, 'over-capacity')
        self.assertIn('line 5: the session holds more than 3 commands', p['detail'])
        r = s.request('POST', '/v1/sessions?name=b', body=text.encode(),
                      headers={'Content-Type': 'application/x-ndjson'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(s.stop(), 0)

    def test_import_checks_memory_cap_before_booting(self):
        s = self.service('--max-host-memory', '24M', '--no-default-machine')
        body = json.dumps({'mm32_session': 1, 'config': {'mem': '64G', 'pae': True}}) + '\n'
        r = s.request('POST', '/v1/sessions?name=big', body=body.encode(),
                      headers={'Content-Type': 'application/x-ndjson'})
        p = self.assertProblem(r, 507, 'over-capacity')
        self.assertIn('max-host-memory (24 MiB)', p['detail'])
        self.assertEqual(s.stop(), 0)


# ---- journal compaction ----------------------------------------------------------------------

class JournalCompactTest(Base):
    """POST /v1/machines/{id}/journal/compact {"snapshot": sid}: the entries up to the
    snapshot's seq are dropped in one transaction, the snapshot becomes the base restarts start
    from and cannot be deleted; a restart gives the same state; the disk stays bounded."""

    def write(self, s, i, rng, n=1, size=0x10000):
        for k in range(n):
            r = s.request('PUT', '/v1/machines/a/memory',
                          {'addr': hex(0x3000000 + ((i * n + k) % 16) * size), 'space': 'phys',
                           'data': rng.randbytes(size).hex()})
            self.assertEqual(r.status, 200, r)

    def test_compact_restart_and_pinned_base(self):
        s = self.service('--no-default-machine', '--max-session-commands', '12')
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'a', 'mem': '64M'}).status,
                         201)
        rng = random.Random(3)
        self.write(s, 0, rng, 4)
        r = s.request('POST', '/v1/machines/a/commands',
                      [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 2},
                       {'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 1500}])
        self.assertEqual(r.status, 200, r)
        snap = s.request('POST', '/v1/machines/a/snapshots', {}).json()
        self.assertEqual(snap['seq'], 6)
        self.write(s, 1, rng, 2)
        j = s.request('GET', '/v1/machines/a/journal').json()
        self.assertIsNone(j['compacted'])
        self.assertEqual([e['seq'] for e in j['entries']], list(range(1, 9)))
        # bad requests first
        for body in ({}, {'snapshot': 'x'}, {'snapshot': 0}, {'snapshot': 1, 'x': 1}, []):
            r = s.request('POST', '/v1/machines/a/journal/compact', body)
            self.assertIn(r.status, (400, 422), (body, r))
            self.assertEqual(r.content_type, 'application/problem+json')
            self.assertIn('{"snapshot": <id>}', r.json()['detail'])
        self.assertProblem(s.request('POST', '/v1/machines/a/journal/compact',
                                     {'snapshot': snap['id'] + 100}), 404, 'not-found')
        # the full journal (12 entries) can take 4 more
        r = s.request('POST', '/v1/machines/a/journal/compact', {'snapshot': snap['id']})
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['compacted'], {'snapshot': snap['id'], 'seq': 6})
        self.assertEqual(doc['dropped']['entries'], 6)
        self.assertEqual(doc['next_seq'], 9)
        self.assertGreater(doc['dropped']['bytes'], 4 * 0x10000)
        j = s.request('GET', '/v1/machines/a/journal').json()
        self.assertEqual(j['compacted'], {'snapshot': snap['id'], 'seq': 6})
        self.assertEqual([e['seq'] for e in j['entries']], [7, 8])
        # max-session-commands counts what the journal holds: 2 now, room for 10
        self.write(s, 2, rng, 10)
        self.assertProblem(s.request('PUT', '/v1/machines/a/memory',
                                     {'addr': '0x3800000', 'space': 'phys', 'data': '00'}),
                           507, 'over-capacity')
        h1 = s.request('GET', '/v1/machines/a/state-hash').json()
        self.assertEqual(h1['seq'], 18)
        # the base is pinned
        p = self.assertProblem(s.request('DELETE', '/v1/machines/a/snapshots/%d' % snap['id']),
                               409, 'conflict')
        self.assertIn("is the base of machine 'a''s journal, compacted behind it at seq 6",
                      p['detail'])
        # a compacted journal is no whole session: export says so; replay starts from the base
        self.assertProblem(s.request('GET', '/v1/sessions/a/journal'), 409, 'conflict')
        rp = s.request('POST', '/v1/sessions/a/replay', {'until_seq': 3})
        self.assertEqual(rp.status, 404, rp)
        rp = s.request('POST', '/v1/sessions/a/replay', {'name': 'b'})
        self.assertEqual(rp.status, 201, rp)
        self.assertEqual(rp.json()['state_hash']['hash'], h1['hash'])
        self.assertEqual(s.stop(), 0)
        # a restart rebuilds it from the base and the entries after it: the same state
        s2 = self.service('--no-default-machine', '--max-session-commands', '12')
        h2 = s2.request('GET', '/v1/machines/a/state-hash').json()
        self.assertEqual(h2, h1)
        self.assertEqual(s2.request('GET', '/v1/machines/a/check').status, 200)
        j = s2.request('GET', '/v1/machines/a/journal').json()
        self.assertEqual(j['compacted'], {'snapshot': snap['id'], 'seq': 6})
        self.assertEqual(len(j['entries']), 12)
        # deleting the machine unpins its base
        self.assertEqual(s2.request('DELETE', '/v1/machines/b').status, 204)
        self.assertEqual(s2.request('DELETE', '/v1/machines/a').status, 204)
        self.assertEqual(s2.stop(), 0)

    @staticmethod
    def live_bytes(path):
        """The bytes of the database's pages in use (committed, the WAL's included): what it
        holds, whatever the WAL's and the free list's sizes at the moment."""
        import sqlite3
        db = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
        try:
            size, pages, free = (db.execute('PRAGMA %s' % p).fetchone()[0]
                                 for p in ('page_size', 'page_count', 'freelist_count'))
            return size * (pages - free)
        finally:
            db.close()

    def test_compaction_bounds_the_disk(self):
        """16 writes of 64 KiB of random bytes a round, then a snapshot; with compaction behind
        it and the previous base deleted, the database stops growing; without, it grows by the
        journal and the snapshots every round."""
        sizes = {}
        for compact in (False, True):
            name = 'c%d' % compact
            s = self.service('--no-default-machine', '--sync', 'normal',
                             '--db', os.path.join(self.tmp, name + '.db'))
            self.assertEqual(s.request('POST', '/v1/machines', {'name': 'a', 'mem': '64M'})
                             .status, 201)
            rng = random.Random(9)
            prev = None
            grown = []
            for rnd in range(8):
                self.write(s, rnd, rng, 16)
                snap = s.request('POST', '/v1/machines/a/snapshots', {}).json()
                if compact:
                    r = s.request('POST', '/v1/machines/a/journal/compact',
                                  {'snapshot': snap['id']})
                    self.assertEqual(r.status, 200, r)
                if prev is not None:
                    self.assertEqual(s.request('DELETE', '/v1/machines/a/snapshots/%d' % prev)
                                     .status, 200)
                prev = snap['id']
                grown.append(self.live_bytes(os.path.join(self.tmp, name + '.db')))
            sizes[compact] = grown
            h = s.request('GET', '/v1/machines/a/state-hash').json()
            self.assertEqual(s.stop(), 0)
            s = self.service('--no-default-machine', '--db', os.path.join(self.tmp, name + '.db'))
            self.assertEqual(s.request('GET', '/v1/machines/a/state-hash').json(), h)
            self.assertEqual(s.stop(), 0)
        print('\ndatabase bytes in use after each round (16 x 64 KiB written): without '
              'compaction %s; with %s' % (sizes[False], sizes[True]), file=sys.stderr)
        # with compaction: the rounds after the first add nothing
        self.assertLess(sizes[True][-1] - sizes[True][3], 0x40000)
        # without: a round's 1 MiB of writes stays, journaled
        self.assertGreater(sizes[False][-1] - sizes[False][3], 4 * 0x100000)


# ---- metrics ---------------------------------------------------------------------------------

class MetricsTest(Base):
    """GET /metrics: the Prometheus text format, checked by python3-prometheus-client's parser; node_exporter's names
    per machine; request counters and histograms per route."""

    def test_metrics(self):
        s = self.service()
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'pae', 'mem': '2G',
                                                            'pae': True, 'cpus': 2}).status, 201)
        r = s.request('POST', '/v1/machines', {'name': 'early', 'mem': '64M',
                                               'boot': {'stop_after': 'memblock'}})
        self.assertEqual(r.status, 201, r)
        s.request('GET', '/v1/machines/nope')
        s.request('GET', '/no/such/route')
        s.request('POST', '/v1/machines/default/pages', {'gfp': 'GFP_KERNEL', 'order': 2})
        r = s.request('GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers['Content-Type'], 'text/plain; version=0.0.4; charset=utf-8')
        text = r.text
        self.assertTrue(text.endswith('\n'))

        # The exposition format, read by the Prometheus project's own parser (Debian's
        # python3-prometheus-client): every line parses, every sample belongs to a family
        # with a TYPE, and node_exporter's families are there with their types.
        from prometheus_client.parser import text_string_to_metric_families
        families = {f.name: f for f in text_string_to_metric_families(text)}
        for name, typ in (('node_zoneinfo_min_pages', 'gauge'),
                          ('node_buddyinfo_blocks', 'gauge'),
                          ('node_memory_MemTotal_bytes', 'gauge')):
            self.assertIn(name, families)
            self.assertEqual(families[name].type, typ, name)
        self.assertTrue(all(f.type != 'unknown' for f in families.values()),
                        [f.name for f in families.values() if f.type == 'unknown'])
        with self.assertRaises(ValueError):  # the parser is a real check
            list(text_string_to_metric_families('node_memory_MemTotal_bytes{machine="x} 1\n'))

        # node_exporter's names, with the machine label; equal to the /proc text
        zi = s.request('GET', '/v1/machines/pae/proc/zoneinfo').text
        mi = s.request('GET', '/v1/machines/pae/proc/meminfo').text
        bi = s.request('GET', '/v1/machines/pae/proc/buddyinfo').text
        normal_min = int(re.search(r'zone\s+Normal\n\s+pages free\s+\d+\n\s+boost\s+\d+\n'
                                   r'\s+min\s+(\d+)', zi).group(1))
        self.assertIn('node_zoneinfo_min_pages{machine="pae",node="0",zone="Normal"} %d\n'
                      % normal_min, text)
        mem_total = int(re.search(r'^MemTotal:\s+(\d+) kB', mi, re.M).group(1))
        self.assertIn('node_memory_MemTotal_bytes{machine="pae"} %d\n' % (mem_total * 1024),
                      text)
        high = re.search(r'zone\s+HighMem((?:\s+\d+){11})', bi).group(1).split()
        self.assertIn('node_buddyinfo_blocks{machine="pae",node="0",zone="HighMem",size="10"} '
                      '%s\n' % high[10], text)
        for name in ('node_zoneinfo_nr_free_pages', 'node_zoneinfo_high_pages',
                     'node_zoneinfo_low_pages', 'node_zoneinfo_managed_pages',
                     'node_zoneinfo_present_pages', 'node_zoneinfo_spanned_pages',
                     'node_zoneinfo_protection_0', 'node_zoneinfo_protection_3',
                     'node_memory_MemFree_bytes', 'node_memory_HighTotal_bytes'):
            self.assertRegex(text, r'(?m)^%s\{machine="default"' % name)
        # the machine stopped before the buddy allocator has no /proc yet: left out
        self.assertNotIn('machine="early"', text)
        self.assertIn('mm32_machines 3\n', text)
        # one HELP and one TYPE per family
        types = re.findall(r'^# TYPE (\S+) ', text, re.M)
        self.assertEqual(len(types), len(set(types)))

        # requests per route, method and code, and their latency
        self.assertRegex(text, r'(?m)^mm32_http_requests_total\{route="/v1/machines/\*",'
                         r'method="GET",code="404"\} 1$')
        self.assertRegex(text, r'(?m)^mm32_http_requests_total\{route="other",method="GET",'
                         r'code="404"\} 1$')
        self.assertRegex(text, r'(?m)^mm32_http_requests_total\{route="/v1/machines/\*/pages",'
                         r'method="POST",code="201"\} 1$')
        self.assertRegex(text, r'(?m)^mm32_http_request_duration_seconds_bucket\{route='
                         r'"/v1/machines",method="POST",le="\+Inf"\} 2$')
        self.assertRegex(text, r'(?m)^mm32_http_request_duration_seconds_count\{route='
                         r'"/v1/machines",method="POST"\} 2$')
        self.assertIn('mm32_http_requests_in_flight 1\n', text)  # this one

        self.assertEqual(s.request('HEAD', '/metrics').status, 200)
        r = s.request('POST', '/metrics', {})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers['Allow'], 'GET, HEAD')
        self.assertEqual(s.stop(), 0)


# ---- the journal -----------------------------------------------------------------------------

JOURNAL_DIR = '/run/systemd/journal'


def journal_entries(data):
    """Fields of one datagram of journald's native protocol."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b'\n', i)
        line = data[i:nl]
        if b'=' in line:
            k, v = line.split(b'=', 1)
            i = nl + 1
        else:  # KEY\n<le64 size><value>\n
            k = line
            size = struct.unpack('<Q', data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[k.decode()] = v.decode()
    return fields


class JournalTest(Base):
    """Under journald (stderr is the stream $JOURNAL_STREAM names), messages go to the journal
    with fields. journald is replaced by a socket of the test's own, at its fixed path, in a
    mount namespace of the test's own (unshare): nothing of the host is touched."""

    @classmethod
    def setUpClass(cls):
        if os.environ.get('MM32_E2E_IN_NAMESPACE') != '1':
            raise unittest.SkipTest('runs inside unshare (see main)')

    def test_fields(self):
        jsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        jsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        jsock.bind(os.path.join(JOURNAL_DIR, 'socket'))
        self.addCleanup(jsock.close)
        # read as journald does, at once: a datagram socket's queue is short, and a full one
        # blocks the sender
        entries, done = [], threading.Event()

        def reader():
            while not done.is_set():
                if select.select([jsock], [], [], 0.1)[0]:
                    entries.append(journal_entries(jsock.recv(1 << 20)))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        err_path = os.path.join(self.tmp, 'stderr')
        err = open(err_path, 'wb')
        st = os.fstat(err.fileno())
        s = self.service(start=False, env={'JOURNAL_STREAM': '%d:%d' % (st.st_dev, st.st_ino)})
        s.start(stderr=err)
        err.close()
        self.assertEqual(s.request('GET', '/v1/machines/default').status, 200)
        self.assertEqual(s.request('POST', '/v1/machines', {'name': 'j', 'mem': '64M'}).status,
                         201)
        self.assertEqual(s.request('DELETE', '/v1/machines/j').status, 204)
        self.assertEqual(s.request('GET', '/v1/nothing').status, 404)
        self.assertEqual(s.stop(), 0)
        time.sleep(0.3)
        done.set()
        t.join()
        self.assertTrue(entries, 'nothing reached the journal; stderr:\n' + s.log())
        for e in entries:
            self.assertEqual(e['SYSLOG_IDENTIFIER'], 'mm32d', e)
            self.assertIn(e['PRIORITY'], ('3', '4', '6', '7'), e)
        by_msg = {e['MESSAGE']: e for e in entries}

        req = [e for e in entries if e['MESSAGE'].startswith('GET /v1/machines/default 200 ')]
        self.assertEqual(len(req), 1, entries)
        e = req[0]
        self.assertEqual(e['PRIORITY'], '6')
        self.assertEqual((e['MM32_METHOD'], e['MM32_PATH'], e['MM32_STATUS'], e['MM32_MACHINE']),
                         ('GET', '/v1/machines/default', '200', 'default'))
        self.assertRegex(e['MM32_DURATION_MS'], r'^\d+\.\d{3}$')
        e = [e for e in entries if e['MESSAGE'].startswith('GET /v1/nothing 404 ')][0]
        self.assertNotIn('MM32_MACHINE', e)
        self.assertEqual(by_msg['machine j deleted']['MM32_MACHINE'], 'j')
        created = [e for e in entries if e['MESSAGE'].startswith('machine j created')]
        self.assertEqual(created[0]['MM32_MACHINE'], 'j')
        self.assertIn('stopped', by_msg)
        # nothing went to stderr: the journal took every message
        with open(err_path, 'rb') as f:
            self.assertEqual(f.read(), b'')


def run_in_namespace():
    """Re-run JournalTest in a private mount namespace with a tmpfs on /run/systemd."""
    if os.geteuid() != 0:
        print('JournalTest: needs root (a mount namespace of its own): skipped')
        return 77
    if not shutil.which('unshare'):
        print('JournalTest: unshare (util-linux) is not installed')
        return 1 if tools_required() else 77
    script = ('mount -t tmpfs tmpfs /run/systemd 2>/dev/null || '
              '{ mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd; } || exit 77; '
              'mkdir -p %s && exec "$@"' % JOURNAL_DIR)
    env = dict(os.environ, MM32_E2E_IN_NAMESPACE='1')
    p = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script,
                        'sh', sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                       env=env)
    if p.returncode == 1 and not os.path.isdir('/run/systemd'):
        return 77
    return p.returncode


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    if sys.argv[1:2] == ['JournalTest'] and os.environ.get('MM32_E2E_IN_NAMESPACE') != '1':
        sys.exit(run_in_namespace())
    unittest.main(verbosity=2)
