#!/usr/bin/env python3
"""End-to-end tests of what the dashboard needs of mm32d: the page and its files served at /
and /web/{file} (Content-Type, ETag and 304, the Content-Security-Policy, nothing but the
embedded files), and GET /v1/machines/{id}/memmap, one byte a frame, held equal to the page
descriptors of /frames frame by frame, with every kind the map draws made on purpose (buddy,
per-CPU lists, alloc_pages, slab, kmalloc_large, page table, kmap, reserved), on 686 and PAE.

Python 3 standard library only. Run by meson (suite 'e2e'), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_web.py [-v] [Class[.test]]
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import ClassDaemon  # noqa: E402

PROBLEM_PREFIX = 'https://mm32.dev/problems/'
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'web')

# the byte's kinds (api/memmap.c, openapi.yaml)
(ABSENT, RESERVED, BUDDY, PCP, ALLOCATED, SLAB, PAGE_TABLE, KMALLOC_LARGE, KMAPPED,
 KERNEL_OWN) = range(10)


def expected_kind(f, head):
    """The kind of a frame from its page descriptor (and its block head's), as openapi.yaml
    says: written here from the documentation, not from api/memmap.c."""
    state = f['state']
    if state == 'absent':
        return ABSENT
    if state == 'reserved':
        return RESERVED
    if state in ('buddy', 'buddy_tail'):
        return BUDDY
    if state in ('pcp', 'pcp_tail'):
        return PCP
    if f['zone'] == 'HighMem' and f['address'] is not None:
        return KMAPPED
    h = head or f
    if h['slab'] is not None:
        return SLAB
    if h['page_type']['name'] == 'table':
        return PAGE_TABLE
    if h['kmalloc_large']:
        return KMALLOC_LARGE
    if h['kernel_own']:
        return KERNEL_OWN
    return ALLOCATED


class Base(ClassDaemon, unittest.TestCase):
    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r)
        return r.json() if r.body else None

    def problem(self, r, status, slug):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        self.assertEqual(r.json()['type'], PROBLEM_PREFIX + slug, r)


class WebTest(Base):
    def test_index(self):
        d = self.daemon
        r = d.get('/')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get('Content-Type'), 'text/html; charset=utf-8')
        with open(os.path.join(WEB, 'index.html'), 'rb') as f:
            self.assertEqual(r.body, f.read())
        self.assertEqual(r.headers.get('Content-Security-Policy'), CSP)
        self.assertEqual(r.headers.get('Cache-Control'), 'no-cache')
        self.assertEqual(r.headers.get('X-Content-Type-Options'), 'nosniff')
        etag = r.headers.get('ETag')
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        self.assertEqual(d.get('/', headers={'If-None-Match': etag}).status, 304)
        r = d.get('/', headers={'If-None-Match': '"0000000000000000", ' + etag})
        self.assertEqual((r.status, r.body, r.headers.get('ETag')), (304, b'', etag))
        self.assertEqual(d.get('/', headers={'If-None-Match': '*'}).status, 304)
        self.assertEqual(d.get('/', headers={'If-None-Match': '"0000000000000000"'}).status, 200)
        self.assertEqual(d.request('HEAD', '/').status, 200)
        self.assertEqual(d.post('/', {}).status, 405)

    def test_files(self):
        d = self.daemon
        types = {'.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
                 '.svg': 'image/svg+xml', '.html': 'text/html; charset=utf-8'}
        names = sorted(n for n in os.listdir(WEB) if os.path.splitext(n)[1] in types)
        etags = set()
        for n in names:
            r = d.get('/web/' + n)
            self.assertEqual(r.status, 200, n)
            self.assertEqual(r.headers.get('Content-Type'), types[os.path.splitext(n)[1]], n)
            with open(os.path.join(WEB, n), 'rb') as f:
                self.assertEqual(r.body, f.read(), n)
            self.assertEqual(r.headers.get('Content-Security-Policy'), CSP, n)
            etags.add(r.headers.get('ETag'))
            self.assertEqual(d.get('/web/' + n, headers={'If-None-Match': r.headers.get('ETag')})
                             .status, 304, n)
        self.assertEqual(len(etags), len(names), 'one ETag per content')
        views = self.ok(d.get('/web/views.json'))
        self.assertEqual(sorted(views), sorted(n for n in names if n.startswith('view-')))
        self.assertIn('view-memmap.js', views)

    def test_nothing_else(self):
        d = self.daemon
        for path in ('/web/nope.js', '/web/embed.c', '/web/web.h', '/web/meson.build',
                     '/web/..%2Fmeson.build', '/web/../meson.build', '/web', '/web/a/b.js',
                     '/index.html'):
            r = d.get(path)
            self.assertIn(r.status, (404,), (path, r))
            self.assertIsNone(r.headers.get('ETag'), path)


class MemmapTest(Base):
    def check_range(self, name, start, count):
        """Every byte of /memmap against the frame's page descriptor from /frames."""
        r = self.daemon.get('/v1/machines/%s/memmap?start=%d&count=%d' % (name, start, count))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, 'application/octet-stream')
        got = r.body
        frames = []
        for s in range(start, start + len(got), 4096):
            frames += self.ok(self.daemon.get('/v1/machines/%s/frames?start=%d&count=%d' % (
                name, s, min(4096, start + len(got) - s))))['frames']
        self.assertEqual(len(frames), len(got))
        heads = {}
        for f, b in zip(frames, got):
            head = None
            if f['state'] == 'allocated_tail' and f['block'] is not None:
                hp = f['block']['pfn']
                if hp not in heads:
                    heads[hp] = self.ok(self.daemon.get('/v1/machines/%s/frames/%d' % (name, hp)))
                head = heads[hp]
            order = f['block']['order'] if f['block'] is not None else 15
            self.assertEqual((b >> 4, b & 15), (expected_kind(f, head), order), f)
        return got

    def run_flavour(self, name, pae):
        d = self.daemon
        d.delete('/v1/machines/' + name)
        self.ok(d.post('/v1/machines', {'name': name, 'mem': '1G', 'pae': pae, 'cpus': 2}), 201)
        m = '/v1/machines/' + name
        layout = self.ok(d.get(m + '/layout'))
        max_pfn = layout['max_pfn']
        # the default count is the whole of a machine of at most 4 GiB
        whole = d.get(m + '/memmap').body
        self.assertEqual(len(whole), max_pfn)
        a = self.ok(d.post(m + '/pages', {'gfp': 'GFP_KERNEL', 'order': 2}), 201)
        self.ok(d.post(m + '/pages', {'gfp': 'GFP_KERNEL', 'order': 0, 'cpu': 1}), 201)
        hi = self.ok(d.post(m + '/pages', {'gfp': 'GFP_HIGHUSER', 'order': 1}), 201)
        k = self.ok(d.post(m + '/kmap', {'pfn': hi['pfn']}))
        km = self.ok(d.post(m + '/kmalloc', {'size': 100, 'gfp': 'GFP_KERNEL'}), 201)
        big = self.ok(d.post(m + '/kmalloc', {'size': 40000, 'gfp': 'GFP_KERNEL'}), 201)
        vm = self.ok(d.post(m + '/vmalloc', {'size': 3 << 22}), 201)  # new PTE pages
        got = d.get(m + '/memmap').body
        self.assertEqual(len(got), max_pfn)
        self.assertNotEqual(got, whole)
        self.assertEqual(got[a['pfn']:a['pfn'] + 4], bytes([ALLOCATED << 4 | 2]) * 4)
        self.assertEqual(got[hi['pfn']], KMAPPED << 4 | 1, k)
        self.assertEqual(got[hi['pfn'] + 1], ALLOCATED << 4 | 1)
        self.assertEqual(got[km['pfn']] >> 4, SLAB)
        self.assertEqual(got[big['pfn']], KMALLOC_LARGE << 4 | big['order'])
        self.assertEqual(got[0] >> 4, ABSENT)  # no struct page: the zones start at pfn 1
        text = int(layout['kernel_image']['_text'], 16) >> 12
        self.assertEqual(got[text], RESERVED << 4 | 15)  # the kernel image
        kinds = {b >> 4 for b in got}
        self.assertEqual(got[vm['pages'][0]], KERNEL_OWN << 4 | 0)
        # no page is PageTable yet: 6.1's kernel page tables have no constructor
        # (pte_alloc_one_kernel()), and user page tables are not modelled
        self.assertEqual({ABSENT, RESERVED, BUDDY, PCP, ALLOCATED, SLAB, KMALLOC_LARGE, KMAPPED,
                          KERNEL_OWN}, kinds)
        # byte for byte what /frames says, around every thing made above and at the edges
        for start, count in ((0, 2048), (a['pfn'] - 100, 300), (km['pfn'] - 64, 128),
                             (big['pfn'] - 16, 64), (hi['pfn'] - 512, 1024),
                             (layout['highstart_pfn'] - 100, 200), (max_pfn - 1000, 5000)):
            part = self.check_range(name, start, count)
            self.assertEqual(part, got[start:start + count])
        own = [t for t in range(len(got)) if got[t] >> 4 == KERNEL_OWN]
        self.assertGreaterEqual(len(own), 3 << 10)  # the vmalloc'd pages, and PTE pages
        for t in own[::max(1, len(own) // 8)]:
            self.check_range(name, t - 8, 16)

    def test_686(self):
        self.run_flavour('d686', False)

    def test_pae(self):
        self.run_flavour('dpae', True)

    def test_bad_input(self):
        d = self.daemon
        d.delete('/v1/machines/bad')
        self.ok(d.post('/v1/machines', {'name': 'bad', 'mem': '128M'}), 201)
        m = '/v1/machines/bad/memmap'
        max_pfn = self.ok(d.get('/v1/machines/bad/layout'))['max_pfn']
        for q in ('count=0', 'count=1048577', 'start=%d' % max_pfn, 'start=-1', 'count=x',
                  'start=0x10', 'nope=1', 'count=1&count=2', 'count='):
            self.problem(d.get(m + '?' + q), 422, 'invalid-argument')
        self.assertEqual(len(d.get(m + '?start=%d&count=10' % (max_pfn - 3)).body), 3)
        self.assertEqual(len(d.get(m + '?count=1048576').body), max_pfn)
        self.problem(d.get('/v1/machines/nope/memmap'), 404, 'not-found')
        self.ok(d.post('/v1/machines', {'name': 'early', 'mem': '128M',
                                        'boot': {'stop_after': 'memblock'}}), 201)
        self.problem(d.get('/v1/machines/early/memmap'), 409, 'boot-phase')


if __name__ == '__main__':
    unittest.main()
