#!/usr/bin/env python3
"""Hostile input: several hundred malformed or hostile requests against the real mm32d.

Each request is sent on a raw socket, the way an attacker or a broken client would: broken
and deeply nested JSON, huge numbers, wrong types, negative and enormous orders, sizes and
pfns, unknown GFP names, addresses out of every range, wrong methods, path tricks,
oversized bodies, header floods. Every answer must be a 4xx; every answer that reached the
router must be application/problem+json with the status in its body (libmicrohttpd answers
what never reaches it, a header flood, with its own 4xx). Afterwards the daemon is alive,
each machine's state hash, journal and checker are as before: nothing hostile changed
anything or was journaled. In the sanitizer build the harness also fails the test on any
report in the daemon's log (mm32d.py).

Python 3 standard library only. Run by meson (suite e2e), or:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_hostile.py
"""

import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import ClassDaemon  # noqa: E402

M = '/v1/machines/h'      # 686, 256 MiB
P = '/v1/machines/hpae'   # PAE, 1 GiB, 2 CPUs


def bodies_broken():
    """Request bodies that are not JSON, or not the JSON they claim to be."""
    yield b'{'
    yield b'{"mem": '
    yield b'{"mem": "64M",}'
    yield b'{"mem": "64M"} trailing'
    yield b'{"mem": "64M"}{"mem": "64M"}'
    yield b"{'mem': '64M'}"
    yield b'{"mem": 64M}'
    yield b'{"mem": NaN}'
    yield b'{"mem": Infinity}'
    yield b'{"mem": -Infinity}'
    yield b'{"mem": "\xff\xfe"}'
    yield b'{"mem": "\\ud800"}'
    yield b'{"mem": "64M" /* comment */}'
    yield b'\x00\x01\x02'
    yield b'   '
    yield b'null'
    yield b'true'
    yield b'42'
    yield b'"a string"'
    yield b'[]'
    yield b'[[[[[[[[[['
    yield b'{"a":' * 50
    yield b'[' * 10000 + b']' * 10000
    yield b'{"x":' * 5000 + b'1' + b'}' * 5000
    yield b'{"mem": "64M", "mem": "128M", "cpus": 1, "cpus": 99}'
    yield b'{"": ""}'
    yield b'\xef\xbb\xbf{"mem": "64M"}'


NUMBERS = [-1, -2**31, -2**63 - 1, 2**31, 2**32, 2**53 + 1, 2**63, 2**64, 10**20, 10**400,
           1.5, -0.0, 1e308, '1e3', '0x10', '', ' 1', None, True, [], {}, [1], {'a': 1}]


def command_cases():
    """(method, path, body) of commands with every field wrong in turn."""
    for n in NUMBERS:
        yield 'POST', M + '/pages', {'gfp': 'GFP_KERNEL', 'order': n}
        yield 'POST', M + '/pages', {'gfp': 'GFP_KERNEL', 'cpu': n}
        yield 'POST', M + '/commands', {'op': 'free_pages', 'pfn': n}
        yield 'POST', M + '/commands', [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL',
                                         'order': n}]
    for order in (11, 12, 31, 32, 63, 64, 1000, -11):
        yield 'POST', P + '/pages', {'gfp': 'GFP_KERNEL', 'order': order}
    for gfp in ('', 'GFP_NOPE', 'GFP_KERNEL|', '|GFP_KERNEL', 'GFP_KERNEL||__GFP_ZERO',
                'gfp_kernel', 'GFP_KERNEL|__GFP_NOPE', '0x', '0xzz', 'GFP_KERNEL\t|x',
                'GFP_KERNEL\n', 'A' * 5000, 'GFP_KERNEL|' * 500, 42, None, ['GFP_KERNEL'],
                {'GFP_KERNEL': 1}, '\u00e9', 'GFP_KERNEL\u0000'):
        yield 'POST', M + '/pages', {'gfp': gfp}
    yield 'POST', M + '/pages', {}
    yield 'POST', M + '/pages', {'gfp': 'GFP_KERNEL', 'extra': 1}
    yield 'POST', M + '/pages', {'order': 0}
    for op in ('', 'nope', 'ALLOC_PAGES', None, 1, ['alloc_pages'], 'alloc_pages\u0000'):
        yield 'POST', M + '/commands', {'op': op, 'gfp': 'GFP_KERNEL'}
    yield 'POST', M + '/commands', {'gfp': 'GFP_KERNEL'}
    # (a batch stops at its first failure; the commands before it stay applied, as
    # documented: the hostile element comes first here)
    yield 'POST', M + '/commands', [5, {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}]
    yield 'POST', M + '/commands', [None]
    yield 'POST', M + '/commands', [[]]
    # frees of what is not allocated: free pages, reserved ones, beyond RAM, unaligned
    for pfn in (0, 1, 100, 5000, 65535, 65536, 10**6, 2**32 - 1):
        yield 'POST', M + '/commands', {'op': 'free_pages', 'pfn': pfn}
        yield 'DELETE', '%s/pages/%d' % (M, pfn), None
    for pfn in ('-1', 'abc', '0x10', '1e3', '99999999999999999999', '%20', '1.0'):
        yield 'DELETE', '%s/pages/%s' % (M, pfn), None
        yield 'GET', '%s/frames/%s' % (M, pfn), None
    yield 'DELETE', M + '/pages/', None
    for q in ('order=-1', 'order=11', 'order=abc', 'cpu=5', 'cpu=-1', 'cpu=99999999999',
              'order=1&order=2'):
        yield 'DELETE', '%s/pages/8192?%s' % (M, q), None


def address_cases():
    """Translations and memory accesses outside every range."""
    for va in ('0x100000000', '-1', '0x', 'zz', '', '0xffffffffffffffffff', '1e9',
               '99999999999999999999', '0x-1', ' 0x1000'):
        yield 'GET', '%s/translate?va=%s' % (M, va), None
    for q in ('va=0xc0000000&cpu=1', 'va=0xc0000000&cpu=-1', 'va=0xc0000000&space=nope',
              'va=0xc0000000&access=nope', 'va=0xc0000000&cpu=4294967296'):
        yield 'GET', '%s/translate?%s' % (M, q), None
    for q in ('addr=0x20000000&len=0', 'addr=0x20000000&len=-1', 'addr=0x20000000&len=99999999',
              'addr=0x100000000&len=4&space=phys', 'addr=0xfffffffc&len=8&space=phys',
              'addr=0x7ffffffc&len=16', 'addr=&len=4', 'len=4', 'addr=0x1000',
              'addr=0x1000&len=4&space=user', 'addr=0x1000&len=4&cpu=7',
              'addr=0x10000000&len=4&space=phys'):
        yield 'GET', '%s/memory?%s' % (M, q), None
    for body in ({'addr': '0x100000000', 'data': '00', 'space': 'phys'},
                 {'addr': '0x20000000', 'data': '0', 'space': 'phys'},
                 {'addr': '0x20000000', 'data': 'zz', 'space': 'phys'},
                 {'addr': '0x20000000', 'data': '', 'space': 'phys'},
                 {'addr': '0x20000000', 'data': 5, 'space': 'phys'},
                 {'addr': '0x20000000', 'data': '00', 'space': 'nope'},
                 {'addr': '0x20000000', 'data': '00', 'space': 'phys', 'cpu': 9},
                 {'addr': [12], 'data': '00', 'space': 'phys'},
                 {'data': '00', 'space': 'phys'},
                 {'addr': '0xffffffff', 'data': '0000', 'space': 'phys'},
                 {'addr': '0x0', 'data': '00', 'space': 'kernel'},
                 {'addr': '0xc0000000', 'data': '00'},   # kernel text is read-only
                 {'addr': '0x20000000', 'data': '00', 'space': 'phys', 'extra': True}):
        yield 'PUT', M + '/memory', body
    for cpu in ('2', '-1', 'x', '99999999999', '1.0'):
        yield 'GET', '%s/cpus/%s/tlb' % (P, cpu), None
        yield 'POST', '%s/cpus/%s/tlb/flush' % (P, cpu), None
    yield 'POST', P + '/cpus/0/tlb/flush?keep_global=maybe', None
    for start, count in (('-1', '1'), ('0', '-1'), ('0', '100000000'), ('x', '1'),
                         ('99999999999', '1'), ('0', '')):
        yield 'GET', '%s/frames?start=%s&count=%s' % (M, start, count), None


def machine_cases():
    """Machine specs out of range or of the wrong shape."""
    specs = [{}, {'mem': 0}, {'mem': '0'}, {'mem': '1K'}, {'mem': '65G'}, {'mem': '65G', 'pae': True},
             {'mem': -1}, {'mem': 'lots'}, {'mem': '64X'}, {'mem': 10**30}, {'mem': None},
             {'mem': '64M', 'cpus': 0}, {'mem': '64M', 'cpus': 33}, {'mem': '64M', 'cpus': -1},
             {'mem': '64M', 'cpus': '2'}, {'mem': '64M', 'pae': 'yes'},
             {'mem': '64M', 'name': ''}, {'mem': '64M', 'name': 'a/b'},
             {'mem': '64M', 'name': '../x'}, {'mem': '64M', 'name': 'x' * 65},
             {'mem': '64M', 'name': 'sp ace'}, {'mem': '64M', 'name': 'h'},
             {'mem': '64M', 'name': 5}, {'mem': '64M', 'cmdline': 5},
             {'mem': '64M', 'cmdline': 'mem=0'}, {'mem': '64M', 'cmdline': 'x' * 5000},
             {'mem': '64M', 'initrd': -1}, {'mem': '64M', 'initrd': 2**40},
             {'mem': '64M', 'e820': [5]}, {'mem': '64M', 'e820': 'no'},
             {'mem': '64M', 'e820': [{'addr': 0, 'size': 0, 'type': 'usable'}]},
             {'mem': '64M', 'e820': [{'addr': -1, 'size': 1, 'type': 'usable'}]},
             {'mem': '64M', 'e820': [{'addr': 0, 'size': '0x1000', 'type': 'nope'}]},
             {'mem': '64M', 'e820': [{'addr': 0}] * 200},
             {'mem': '64M', 'boot': {'stop_after': 'nope'}}, {'mem': '64M', 'boot': 5},
             {'mem': '64M', 'tlb_entries': 0}, {'mem': '64M', 'tlb_entries': 10**9},
             {'mem': '64M', 'unknown': 1}, {'from_snapshot': 999999},
             {'from_snapshot': -1}, {'from_snapshot': 'x'}, []]
    for spec in specs:
        yield 'POST', '/v1/machines', spec
    for name, value in (('min_free_kbytes', -1), ('min_free_kbytes', 2**40),
                        ('min_free_kbytes', 'x'), ('watermark_scale_factor', 0),
                        ('watermark_scale_factor', 100000), ('lowmem_reserve_ratio', [1]),
                        ('lowmem_reserve_ratio', [1, 2, 3, 'x']), ('nope', 1),
                        ('percpu_pagelist_high_fraction', 1), ('min_free_kbytes', None)):
        yield 'PUT', '%s/sysctl/vm/%s' % (M, name), {'value': value}
    yield 'PUT', M + '/sysctl/vm/min_free_kbytes', {'value': 1024, 'extra': 1}
    yield 'PUT', M + '/sysctl/vm/min_free_kbytes', {}
    yield 'POST', M + '/boot/continue', {'until': 'nope'}
    yield 'POST', M + '/snapshots', {'label': 'x' * 200}
    yield 'POST', M + '/snapshots', {'async': 'yes'}
    for sid in ('0', '-1', 'x', '99999999', '1.5'):
        yield 'GET', '%s/snapshots/%s' % (M, sid), None
        yield 'DELETE', '%s/snapshots/%s' % (M, sid), None
        yield 'POST', '%s/snapshots/%s/restore' % (M, sid), None
    yield 'POST', '/v1/sessions/h/replay', {'until_seq': -1}
    yield 'POST', '/v1/sessions/h/replay', {'verify': 'yes'}
    yield 'POST', '/v1/sessions/nope/replay', None
    yield 'GET', '/v1/jobs/999999', None
    yield 'GET', '/v1/jobs/x', None


def method_and_path_cases():
    """Wrong methods and path tricks."""
    for method in ('PATCH', 'PUT', 'TRACE', 'FOO'):
        yield method, '/v1/machines', None
        yield method, M + '/pages', None
    # OPTIONS answers 204 on a path that exists (CORS: test_dashboard.py), 404 elsewhere
    yield 'OPTIONS', '/v1/machinez', None
    yield 'OPTIONS', M + '/pagez', None
    yield 'DELETE', '/v1/machines', None
    yield 'POST', M + '/zones', {}
    yield 'DELETE', M + '/proc/zoneinfo', None
    yield 'POST', '/v1/health', {}
    for path in ('/web', '/web/../meson.build', '/web/%2e%2e%2fmeson.build', '/web/a/b.js',
                 '/web/embed.c', '/web/' + 'x' * 4000, '/v1', '/v2/machines', '/v1/machine',
                 '/v1/machines/nope',
                 '/v1/machines/nope/pages', '/v1/machines/h/nope', '/v1/machines/h/proc/nope',
                 '/v1/machines/h/proc/../zones', '/v1/machines/h%2fzones', '/v1/machines/h%00',
                 '/v1/machines/h/proc/zoneinfo%00', '//v1//machines', '/v1/machines/' + 'x' * 4000,
                 '/v1/machines/%ff%fe', '/v1/machines/\u00e9'.encode().decode('latin-1'),
                 '/v1/machines/h/frames/1/2', '/v1/machines/h/pages/1/2', '/v1/machines/h/framesx',
                 '/v1/machines/h/sysctl/vm/../../zones', '/v1/machines/h/cpus/0/tlb/x'):
        yield 'GET', path, None


class HostileTest(ClassDaemon, unittest.TestCase):
    daemon_args = ('--max-body', '1M')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for spec in ({'name': 'h', 'mem': '256M'},
                     {'name': 'hpae', 'mem': '1G', 'pae': True, 'cpus': 2}):
            r = cls.daemon.request('POST', '/v1/machines', body=spec)
            assert r.status == 201, r

    def raw(self, data, timeout=20):
        """Send @data on a new connection; the status and the whole answer (b'' if closed)."""
        s = socket.create_connection(('127.0.0.1', self.daemon.port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b''
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        if not out:
            return 0, b''
        return int(out.split(b' ', 2)[1]), out

    def send(self, method, path, body, ctype=b'application/json'):
        if isinstance(body, str):
            body = body.encode()
        head = '%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' % (method, path)
        head = head.encode('latin-1')
        if body is not None:
            head += b'Content-Type: ' + ctype + b'\r\nContent-Length: %d\r\n' % len(body)
        return self.raw(head + b'\r\n' + (body or b''))

    def snapshot_state(self):
        out = {}
        for m in ('h', 'hpae'):
            h = self.daemon.request('GET', '/v1/machines/%s/state-hash' % m).json()
            out[m] = (h['hash'], h['seq'])
        out['machines'] = sorted(x['id'] for x in
                                 self.daemon.request('GET', '/v1/machines').json()['machines'])
        return out

    def expect_problem(self, case, status, out):
        self.assertTrue(400 <= status < 500, '%r answered %d: %r' % (case, status, out[:400]))
        head, _, body = out.partition(b'\r\n\r\n')
        self.assertIn(b'content-type: application/problem+json', head.lower(), (case, out[:400]))
        problem = json.loads(body)
        self.assertEqual(problem['status'], status, case)
        self.assertTrue(problem['type'].startswith('https://mm32.dev/problems/'), case)
        self.assertTrue(problem['detail'], case)

    def test_hostile_requests(self):
        before = self.snapshot_state()
        n = 0
        for gen in (command_cases, address_cases, machine_cases, method_and_path_cases):
            for method, path, body in gen():
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                with self.subTest(method=method, path=path[:120], body=(body or b'')[:120]):
                    status, out = self.send(method, path, body)
                    self.expect_problem((method, path), status, out)
                n += 1
        for body in bodies_broken():
            for path in ('/v1/machines', M + '/pages', M + '/commands'):
                if body == b'[]' and path.endswith('/commands'):
                    continue  # an empty batch is a batch: 200 {"results": []}
                with self.subTest(path=path, body=body[:80]):
                    status, out = self.send('POST', path, body)
                    self.expect_problem(('POST', path, body[:80]), status, out)
                n += 1
        # the wrong media types
        for ctype in (b'text/plain', b'application/xml', b'', b'application/json; charset=latin1x',
                      b'multipart/form-data'):
            with self.subTest(ctype=ctype):
                status, out = self.send('POST', '/v1/machines', b'{"mem":"64M"}', ctype=ctype)
                if ctype.startswith(b'application/json'):
                    self.assertIn(status, (201, 415), out[:300])
                    if status == 201:
                        name = json.loads(out.partition(b'\r\n\r\n')[2])['id']
                        self.daemon.request('DELETE', '/v1/machines/' + name)
                else:
                    self.expect_problem(ctype, status, out)
            n += 1
        # an oversized body: 413, whatever it holds
        status, out = self.send('POST', M + '/commands', b'[' + b'{"op":"x"},' * 200000 + b'{}]')
        self.expect_problem('oversized', status, out)
        self.assertEqual(status, 413)
        n += 1
        # header floods: libmicrohttpd refuses them (a 4xx of its own, or the connection closed)
        for data in (b'GET /v1/health HTTP/1.1\r\nHost: x\r\n' + b'X-A: b\r\n' * 20000 + b'\r\n',
                     b'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 200000 + b'\r\n\r\n',
                     b'GET /' + b'a' * 200000 + b' HTTP/1.1\r\nHost: x\r\n\r\n',
                     b'GARBAGE\r\n\r\n', b'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
                     b'\r\n\r\n\r\n', b'GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5'
                     b'\r\n\r\n', b'POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Length: '
                     b'99999999999999999999\r\n\r\n{}'):
            with self.subTest(flood=data[:60]):
                status, out = self.raw(data)
                # 505 HTTP Version Not Supported is the one right answer to HTTP/9.9
                self.assertTrue(status == 0 or 400 <= status < 500 or
                                (status == 505 and b'HTTP/9.9' in data),
                                '%r answered %d' % (data[:60], status))
            n += 1
        self.assertGreaterEqual(n, 300)
        # alive, and nothing hostile changed anything
        self.assertEqual(self.daemon.request('GET', '/v1/health').status, 200)
        self.assertEqual(self.snapshot_state(), before)
        for m in ('h', 'hpae'):
            r = self.daemon.request('GET', '/v1/machines/%s/check' % m)
            self.assertEqual(r.status, 200, r)
        sys.stderr.write('hostile: %d requests, every one a 4xx, nothing changed\n' % n)


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
