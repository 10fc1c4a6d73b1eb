#!/usr/bin/env python3
"""End-to-end tests of kvmalloc/kvzalloc/kvfree over HTTP: the choice on both sides of each
branch of 6.1's kvmalloc_node() (a page, a page and a byte, a size kmalloc serves, fragmented
memory where only vmalloc can, above KMALLOC_MAX_SIZE, above INT_MAX, GFP_ATOMIC and GFP_NOWAIT
never falling back), what __GFP_NORETRY changes in /proc/vmstat and dmesg, bad frees of each
kind (problem+json naming the reason, nothing changed, nothing journaled), and the journal's
replay after a restart. 686 and PAE.

Python 3 standard library only. Run by meson (suite 'e2e', one test() per class), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_kvmalloc.py [-v] [Class[.test]]
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import Daemon  # noqa: E402
from test_e2e import Base  # noqa: E402

# slab_nomerge: a cache created by a test is a cache of its own
MACHINES = (('kv', {'mem': '256M', 'cpus': 2, 'cmdline': 'slab_nomerge'}),
            ('kvp', {'mem': '256M', 'pae': True, 'cpus': 2, 'cmdline': 'slab_nomerge'}))
TAKE = 'GFP_KERNEL|__GFP_MEMALLOC|__GFP_NOWARN'


class KvmallocTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, body in MACHINES:
            r = cls.daemon.post('/v1/machines', dict(body, name=name))
            if r.status != 201:
                raise AssertionError('cannot create the test machine: %r' % r)

    def url(self, mid, path):
        return '/v1/machines/%s/%s' % (mid, path)

    def text(self, mid, path):
        r = self.daemon.get(self.url(mid, path))
        self.assertEqual(r.status, 200, r)
        return r.text

    def journal_len(self, mid):
        return len(self.daemon.journal(mid))

    def kvmalloc(self, mid, size, gfp='GFP_KERNEL', **kw):
        r = self.daemon.post(self.url(mid, 'kvmalloc'), dict(kw, size=size, gfp=gfp))
        a = self.assertJson(r, 201)
        self.assertEqual(r.headers.get('Location'),
                         '/v1/machines/%s/kvmalloc/%s' % (mid, a['address']))
        self.assertEqual(a['size'], size)
        return a

    def kvfree(self, mid, a):
        f = self.assertJson(self.daemon.delete(self.url(mid, 'kvmalloc/' + a['address'])))
        self.assertEqual(f, {'address': a['address'], 'kind': a['kind'], 'freed': True})

    def allocstall(self, mid):
        return sum(int(line.split()[1]) for line in self.text(mid, 'proc/vmstat').splitlines()
                   if line.startswith('allocstall_'))

    def test_choice_by_size(self):
        for mid, _ in MACHINES:
            with self.subTest(mid=mid):
                a = self.kvmalloc(mid, 4096)
                self.assertEqual((a['kind'], a['cache'], a['kmalloc_gfp']),
                                 ('kmalloc', 'kmalloc-4k', 'GFP_KERNEL'))
                self.kvfree(mid, a)
                a = self.kvmalloc(mid, 4097)
                self.assertEqual((a['kind'], a['cache'], a['kmalloc_gfp']),
                                 ('kmalloc', 'kmalloc-8k',
                                  'GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY'))
                self.kvfree(mid, a)
                a = self.kvmalloc(mid, 65536, 'GFP_KERNEL|__GFP_RETRY_MAYFAIL')
                self.assertEqual((a['kind'], a['large'], a['order']), ('kmalloc', True, 4))
                self.assertEqual(a['kmalloc_gfp'], 'GFP_KERNEL|__GFP_NOWARN|__GFP_RETRY_MAYFAIL')
                self.kvfree(mid, a)
                # above KMALLOC_MAX_SIZE: vmalloc, kvzalloc named in vmallocinfo
                a = self.kvmalloc(mid, (4 << 20) + 1, zero=True)
                self.assertEqual(a['kind'], 'vmalloc')
                self.assertEqual(a['gfp'], 'GFP_KERNEL|__GFP_ZERO')
                self.assertIn('KMALLOC_MAX_SIZE', a['kmalloc_error'])
                self.assertEqual(len(a['pages']), 1025)
                self.assertEqual(a['area_size'], 1026 * 4096)
                start = int(a['address'], 16)
                self.assertIn('0x%08x-0x%08x %7d kvzalloc pages=1025 vmalloc vpages\n'
                              % (start, start + 1026 * 4096, 1026 * 4096),
                              self.text(mid, 'proc/vmallocinfo'))
                areas = self.assertJson(self.daemon.get(self.url(mid, 'vmalloc')))['busy']
                mine = [x for x in areas if x['va_start'] == a['address']]
                self.assertEqual(mine[0]['flags'], ['VM_ALLOC', 'VM_ALLOW_HUGE_VMAP'])
                self.kvfree(mid, a)
                # refused, nothing journaled
                n = self.journal_len(mid)
                for body, detail in (({'size': 5 << 20, 'gfp': 'GFP_ATOMIC'},
                                      'do not allow blocking'),
                                     ({'size': 1 << 31, 'gfp': 'GFP_KERNEL'}, 'INT_MAX'),
                                     ({'size': 64, 'gfp': 'GFP_KERNEL', 'cpu': 2},
                                      "field 'cpu' must be 0..1")):
                    p = self.assertProblem(self.daemon.post(self.url(mid, 'kvmalloc'), body),
                                           422)
                    self.assertIn(detail, p['detail'])
                self.assertEqual(self.journal_len(mid), n)

    def fragment(self, mid):
        """Take every page (past the watermarks), give back the even ones, take what merged."""
        frames = []
        while True:
            r = self.daemon.post(self.url(mid, 'commands'),
                                 [{'op': 'alloc_pages', 'gfp': TAKE, 'order': 0}] * 8000)
            if r.status == 200:
                frames += [x['result']['pfn'] for x in r.json()['results']]
                continue
            p = self.assertProblem(r, 409, 'guest-out-of-memory')
            frames += [x['result']['pfn'] for x in p['results']]
            break
        even = [f for f in frames if not f & 1]
        for i in range(0, len(even), 8000):
            r = self.daemon.post(self.url(mid, 'commands'),
                                 [{'op': 'free_pages', 'pfn': f} for f in even[i:i + 8000]])
            self.assertEqual(r.status, 200, r)
        for order in range(10, 0, -1):
            while self.daemon.post(self.url(mid, 'commands'),
                                   [{'op': 'alloc_pages', 'gfp': TAKE, 'order': order}] * 64
                                   ).status == 200:
                pass
        self.assertGreater(len(even), 5000)

    def test_fallback_when_fragmented(self):
        for pae in (False, True):
            mid = 'frag%d' % pae
            self.assertEqual(self.daemon.post('/v1/machines', {'name': mid, 'mem': '96M',
                                                               'pae': pae}).status, 201)
            self.addCleanup(self.daemon.delete, '/v1/machines/' + mid)
            with self.subTest(mid=mid):
                self.fragment(mid)
                # a page: kmalloc-4k from a single page
                a = self.kvmalloc(mid, 4096)
                self.assertEqual(a['kind'], 'kmalloc')
                self.kvfree(mid, a)
                # plain kmalloc of 64 KiB fails: one direct reclaim, the report, journaled
                stall, log, n = self.allocstall(mid), self.text(mid, 'dmesg'), self.journal_len(mid)
                self.assertProblem(self.daemon.post(self.url(mid, 'kmalloc'),
                                                    {'size': 65536, 'gfp': 'GFP_KERNEL'}),
                                   409, 'guest-out-of-memory')
                self.assertEqual(self.allocstall(mid), stall + 1)
                self.assertEqual(self.text(mid, 'dmesg').count('page allocation failure'),
                                 log.count('page allocation failure') + 1)
                self.assertEqual(self.journal_len(mid), n + 1)
                # kvmalloc: __GFP_NORETRY gives up before reclaim, silently; vmalloc serves it
                stall, log = self.allocstall(mid), self.text(mid, 'dmesg')
                a = self.kvmalloc(mid, 65536)
                self.assertEqual(a['kind'], 'vmalloc')
                self.assertIn('page allocation failure', a['kmalloc_error'])
                self.assertEqual(len(a['pages']), 16)
                self.assertEqual(self.allocstall(mid), stall)
                self.assertEqual(self.text(mid, 'dmesg'), log)
                self.kvfree(mid, a)
                # __GFP_RETRY_MAYFAIL: one reclaim first
                a = self.kvmalloc(mid, 65536, 'GFP_KERNEL|__GFP_RETRY_MAYFAIL')
                self.assertEqual(a['kind'], 'vmalloc')
                self.assertEqual(self.allocstall(mid), stall + 1)
                self.kvfree(mid, a)
                # a page and a byte: kmalloc-8k cannot, vmalloc can; GFP_NOFS falls back too
                a = self.kvmalloc(mid, 4097)
                self.assertEqual((a['kind'], len(a['pages'])), ('vmalloc', 2))
                self.kvfree(mid, a)
                a = self.kvmalloc(mid, 65536, 'GFP_NOFS', zero=True)
                self.assertEqual(a['kind'], 'vmalloc')
                self.kvfree(mid, a)
                # GFP_ATOMIC and GFP_NOWAIT never fall back: 409, journaled (counters moved)
                for gfp in ('GFP_ATOMIC', 'GFP_NOWAIT'):
                    n = self.journal_len(mid)
                    p = self.assertProblem(self.daemon.post(self.url(mid, 'kvmalloc'),
                                                            {'size': 65536, 'gfp': gfp}),
                                           409, 'guest-out-of-memory')
                    self.assertIn('do not allow blocking', p['detail'])
                    self.assertEqual(self.journal_len(mid), n + 1)
                self.assertTrue(self.assertJson(self.daemon.get(self.url(mid, 'check')))['ok'])

    def test_bad_frees(self):
        for mid, _ in MACHINES:
            with self.subTest(mid=mid):
                lay = self.assertJson(self.daemon.get(self.url(mid, 'layout')))
                k = self.kvmalloc(mid, 64)
                v = self.kvmalloc(mid, 5 << 20)
                page = self.assertJson(self.daemon.post(self.url(mid, 'pages'),
                                                        {'gfp': 'GFP_KERNEL'}), 201)
                self.assertJson(self.daemon.post(self.url(mid, 'slab/caches'),
                                                 {'name': 'gone', 'size': 300}), 201)
                o = self.assertJson(self.daemon.post(self.url(mid, 'slab/caches/gone/objects'),
                                                     {}), 201)
                self.assertJson(self.daemon.delete(self.url(
                    mid, 'slab/caches/gone/objects/' + o['address'])))
                self.assertJson(self.daemon.delete(self.url(mid, 'slab/caches/gone')))
                before = (self.text(mid, 'proc/slabinfo'), self.text(mid, 'proc/vmallocinfo'),
                          self.assertJson(self.daemon.get(self.url(mid, 'state-hash'))),
                          self.journal_len(mid))
                kaddr = int(k['address'], 16)
                vaddr = int(v['address'], 16)
                cases = (
                    ('vmalloc/' + k['address'], 422,
                     'is a kmalloc object of cache kmalloc-64, not a vmalloc area; use kfree'),
                    ('vmalloc/' + page['address'], 422, 'not a vmalloc address'),
                    ('kmalloc/' + v['address'], 422, 'vfree'),
                    ('kvmalloc/' + hex(kaddr + 8), 422, 'not the start of an object'),
                    ('kvmalloc/' + hex(vaddr + 4096), 422, 'inside the area'),
                    ('kvmalloc/' + page['address'], 422, 'neither a slab'),
                    ('kvmalloc/' + hex(int(lay['VMALLOC_END'], 16) - 4096), 404,
                     'nonexistent vm area'),
                    ('kvmalloc/' + o['address'], 409, 'kmem_cache_destroy'),
                    ('kvmalloc/0x1000', 422, 'direct map'),
                    ('slab/caches/gone/objects/' + o['address'], 404, 'gone'),
                )
                for path, status, detail in cases:
                    p = self.assertProblem(self.daemon.delete(self.url(mid, path)), status)
                    self.assertIn(detail, p['detail'], path)
                after = (self.text(mid, 'proc/slabinfo'), self.text(mid, 'proc/vmallocinfo'),
                         self.assertJson(self.daemon.get(self.url(mid, 'state-hash'))),
                         self.journal_len(mid))
                self.assertEqual(after, before)
                # double frees, after the good ones
                self.kvfree(mid, k)
                p = self.assertProblem(self.daemon.delete(self.url(mid, 'kvmalloc/'
                                                                   + k['address'])), 409)
                self.assertIn('kvfree calls kfree: kfree: double free', p['detail'])
                self.kvfree(mid, v)
                p = self.assertProblem(self.daemon.delete(self.url(mid, 'kvmalloc/'
                                                                   + v['address'])), 404)
                self.assertIn('kvfree calls vfree', p['detail'])
                self.assertIn('lazy purge', p['detail'])
                self.assertTrue(self.assertJson(self.daemon.get(self.url(mid, 'check')))['ok'])


class RestartKvmallocTest(unittest.TestCase):
    """kvmalloc'd objects and areas come back the same after a restart (journal replay)."""

    def view(self, d, m):
        return {'slab': d.get(m + '/proc/slabinfo').text,
                'info': d.get(m + '/proc/vmallocinfo').text,
                'meminfo': d.get(m + '/proc/meminfo').text,
                'hash': d.get(m + '/state-hash').json()}

    def test_restart_replays_kvmalloc(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        for mid, body in MACHINES:
            m = '/v1/machines/' + mid
            self.assertEqual(d.post('/v1/machines', dict(body, name=mid)).status, 201)
            got = [d.post(m + '/kvmalloc', {'size': s, 'gfp': 'GFP_KERNEL', 'zero': z}).json()
                   for s, z in ((100, False), (30000, True), (5 << 20, False), (9 << 20, True))]
            self.assertEqual([g['kind'] for g in got], ['kmalloc', 'kmalloc', 'vmalloc',
                                                        'vmalloc'])
            self.assertEqual(d.delete(m + '/kvmalloc/' + got[2]['address']).status, 200)
            self.assertEqual(d.delete(m + '/kvmalloc/' + got[0]['address'] + '?cpu=1').status,
                             200)
        before = [self.view(d, '/v1/machines/' + mid) for mid, _ in MACHINES]
        self.assertEqual(d.stop(), 0, d.log())
        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        after = [self.view(d2, '/v1/machines/' + mid) for mid, _ in MACHINES]
        self.assertEqual(after, before)
        for mid, _ in MACHINES:
            self.assertEqual(d2.get('/v1/machines/%s/check' % mid).json()['ok'], True)
        self.assertEqual(d2.stop(), 0, d2.log())


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
