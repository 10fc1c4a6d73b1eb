"""Drive a real mm32d process from end-to-end tests (Python 3 standard library only).

Daemon() starts build/daemon/mm32d on a free loopback port with a temporary database, waits
for GET /v1/health, and makes sure the process never outlives the test:
  - stop() (SIGTERM, then SIGKILL) runs from the tests' cleanups, also on failure;
  - a watchdog timer SIGKILLs the daemon after `watchdog` seconds whatever happens;
  - on Linux the daemon gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the test process even if
    that one is killed by meson's timeout;
  - atexit and a SIGTERM handler in the test process stop every daemon still running.
"""

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))


# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print in a -Db_sanitize
# build. A report fails the test process even when every HTTP answer was right: each
# daemon's log is read when its process has ended (scan_sanitizer_log()), and the process
# exits 1 at the end if any report was seen.
SANITIZER_MARKS = (b'runtime error:', b'ERROR: AddressSanitizer', b'ERROR: LeakSanitizer',
                   b'SUMMARY: UndefinedBehaviorSanitizer', b'SUMMARY: AddressSanitizer')
_sanitizer_reports = []


def scan_sanitizer_log(path):
    """Record the sanitizer reports of the log of an mm32d that has ended."""
    try:
        with open(path, 'rb') as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        if any(m in line for m in SANITIZER_MARKS):
            _sanitizer_reports.append('%s: %s' % (path, line.decode('utf-8', 'replace')))


def _exit_on_sanitizer_reports():
    if _sanitizer_reports:
        sys.stderr.write('e2e: mm32d printed sanitizer reports; failing:\n%s\n'
                         % '\n'.join(_sanitizer_reports[:50]))
        sys.stderr.flush()
        os._exit(1)


# registered first, so that it runs last: after every daemon was stopped and its log read
atexit.register(_exit_on_sanitizer_reports)


def tools_required():
    """Under `make test` (MM32_REQUIRE_TOOLS=1) and in CI (CI=true) a missing test tool is an
    error, never a skip: a suite that skipped would pass without testing anything."""
    return os.environ.get('MM32_REQUIRE_TOOLS') == '1' or os.environ.get('CI') == 'true'


def need(tool):
    """The path of @tool; when it is missing, the test fails (tools_required()) or skips."""
    path = shutil.which(tool)
    if path:
        return path
    msg = '%s is not installed (`make deps` installs it)' % tool
    if tools_required():
        raise AssertionError(msg)
    raise unittest.SkipTest(msg)


def mm32d_path():
    """The daemon under test: $MM32D (set by meson), else build/daemon/mm32d in the tree."""
    exe = os.environ.get('MM32D')
    if exe:
        return exe
    return os.path.join(SOURCE_ROOT, 'build', 'daemon', 'mm32d')


_running = set()


def _stop_all():
    for d in list(_running):
        d.kill()


atexit.register(_stop_all)


def _on_sigterm(signum, frame):
    _stop_all()
    sys.stderr.write('e2e: terminated by signal %d, daemons killed\n' % signum)
    os._exit(128 + signum)


signal.signal(signal.SIGTERM, _on_sigterm)


def _pdeathsig():
    """In the child before exec: die with SIGKILL when the parent (the test) dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux: the watchdog and the cleanups still apply
        pass


def free_port():
    """A loopback port nobody listens on right now (the kernel picks it for bind(port 0))."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body

    @property
    def content_type(self):
        return (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()

    @property
    def text(self):
        return self.body.decode('utf-8')

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return 'Response(%d, %s, %r)' % (self.status, self.content_type, self.body[:400])


class Daemon:
    def __init__(self, args=(), db=None, default_machine=False, watchdog=120):
        self.tmp = tempfile.mkdtemp(prefix='mm32-e2e-')
        # the database and logs go when the test process ends (a restart test reuses the
        # database of a stopped daemon until then); E2E_KEEP=1 keeps them for a post-mortem
        if not os.environ.get('E2E_KEEP'):
            atexit.register(self._remove)
        self.db = db or os.path.join(self.tmp, 'mm32.db')
        self.args = list(args)
        self.default_machine = default_machine
        self.watchdog_s = watchdog
        self.proc = None
        self.port = None
        self.log_path = None
        self._timer = None

    # -- process -------------------------------------------------------------------------
    def start(self, timeout=15, restored=True):
        """Start mm32d and wait for /v1/health. Over an existing database the machines come
        back in the background: with @restored (the default) wait until GET /v1/machines lists
        none "restoring" too, as the tests that look at them right away expect."""
        last = None
        restart = restored and os.path.exists(self.db) and not any(
            a.startswith('--rate-limit') for a in self.args)
        for attempt in range(3):  # another process may take the port between probe and bind
            self.port = free_port()
            # --config=: no configuration file, whatever the host has in /etc
            argv = [mm32d_path(), '--config=', '--listen', '127.0.0.1:%d' % self.port,
                    '--db', self.db]
            if not self.default_machine:
                argv.append('--no-default-machine')
            argv += self.args
            self.log_path = os.path.join(self.tmp, 'mm32d-%d.log' % attempt)
            log = open(self.log_path, 'wb')
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
            log.close()
            _running.add(self)
            self._timer = threading.Timer(self.watchdog_s, self._watchdog)
            self._timer.daemon = True
            self._timer.start()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if self.request('GET', '/v1/health', timeout=1).status == 200:
                        if restart:
                            self.wait_restored(deadline)
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            last = 'mm32d %s did not serve /v1/health (exit code %s)\n%s' % (
                ' '.join(argv), self.proc.poll(), self.log())
            self.kill()
        raise AssertionError(last)

    def wait_restored(self, deadline):
        """Until GET /v1/machines lists no machine "restoring" (or it does not answer 200:
        tokens, say), at most until @deadline."""
        while time.monotonic() < deadline:
            r = self.request('GET', '/v1/machines', timeout=5)
            if r.status != 200 or b'"restoring"' not in r.body:
                return
            time.sleep(0.02)

    def _remove(self):
        self.kill()  # a daemon still running: stopped, and its log read, before it goes
        shutil.rmtree(self.tmp, True)

    def _watchdog(self):
        if self.proc and self.proc.poll() is None:
            sys.stderr.write('e2e: watchdog: mm32d still running after %ds, killed\n'
                             % self.watchdog_s)
            self.proc.kill()

    def _forget(self):
        if self._timer:
            self._timer.cancel()
        if self in _running and self.log_path:
            scan_sanitizer_log(self.log_path)
        _running.discard(self)

    def stop(self, timeout=10):
        """SIGTERM, wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._forget()
                raise AssertionError('mm32d did not stop within %ds of SIGTERM' % timeout)
        self._forget()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')[-6000:]
        except (OSError, TypeError):
            return ''

    # -- HTTP ----------------------------------------------------------------------------
    def connection(self, timeout=30):
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=30):
        """One request. body: bytes/str sent as is, anything else as JSON."""
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs.setdefault('Content-Type', 'application/json')
        if isinstance(body, str):
            body = body.encode('utf-8')
        own = conn is None
        if own:
            conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request('PUT', path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)

    def journal(self, mid):
        """Machine @mid's whole journal: GET .../journal a page at a time (its `next`)."""
        entries, after = [], 0
        while after is not None:
            r = self.get('/v1/machines/%s/journal?after=%d&limit=1000' % (mid, after))
            if r.status != 200:
                raise AssertionError('GET the journal of %s: %r' % (mid, r))
            doc = r.json()
            entries += doc['entries']
            after = doc['next']
        return entries

    def raw_request(self, method, path, body, headers=(), timeout=30):
        """Send a body that the server may refuse before reading it all (413): write with a
        raw socket, tolerate the server closing early, and parse whatever it answered."""
        head = ['%s %s HTTP/1.1' % (method, path), 'Host: 127.0.0.1:%d' % self.port,
                'Content-Type: application/json', 'Content-Length: %d' % len(body),
                'Connection: close']
        head += ['%s: %s' % h for h in headers]
        data = ('\r\n'.join(head) + '\r\n\r\n').encode() + body
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                chunks.append(c)
        finally:
            s.close()
        raw = b''.join(chunks)
        if not raw:
            raise AssertionError('no HTTP response to %s %s with a %d-byte body'
                                 % (method, path, len(body)))
        head_b, _, rest = raw.partition(b'\r\n\r\n')
        lines = head_b.decode('iso-8859-1').split('\r\n')
        status = int(lines[0].split()[1])
        msg = http.client.HTTPMessage()
        for line in lines[1:]:
            k, _, v = line.partition(':')
            msg[k.strip()] = v.strip()
        if msg.get('Transfer-Encoding', '').lower() == 'chunked':
            rest = _dechunk(rest)
        elif msg.get('Content-Length'):
            rest = rest[:int(msg['Content-Length'])]
        return Response(status, msg, rest)



class ClassDaemon:
    """A unittest mixin: one mm32d for the whole test class, started in setUpClass with
    cls.daemon_args (and cls.default_machine), stopped afterwards; its log goes to stderr and
    an exit other than 0 after SIGTERM fails the class."""
    daemon = None
    daemon_args = ()
    default_machine = False

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(args=cls.daemon_args, default_machine=cls.default_machine)
        cls.addClassCleanup(cls._stop_daemon)
        cls.daemon.start()

    @classmethod
    def _stop_daemon(cls):
        d = cls.daemon
        if d is None:
            return
        try:
            code = d.stop()
        finally:
            sys.stderr.write('--- mm32d log (%s) ---\n%s\n--- end of log ---\n'
                             % (cls.__name__, d.log()))
        if code != 0:
            raise AssertionError('mm32d exited with %s after SIGTERM' % code)


def _dechunk(b):
    out = b''
    while b:
        size_line, _, b = b.partition(b'\r\n')
        n = int(size_line.split(b';')[0] or b'0', 16)
        if n == 0:
            break
        out += b[:n]
        b = b[n + 2:]
    return out
