#!/usr/bin/env python3
"""End-to-end tests of vmalloc over HTTP: the boot's areas against the captures, vmalloc and
vfree with guard pages and the lazy purge, bytes through vmalloc'd addresses, vmap, ioremap,
set_memory and the direct-map split, bad input (problem+json, nothing changed, nothing
journaled) and the journal's replay after a restart. 686 and PAE.

Python 3 standard library only. Run by meson (suite 'e2e', one test() per class), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_vmalloc.py [-v] [Class[.test]]
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import SOURCE_ROOT, Daemon  # noqa: E402
from test_e2e import Base  # noqa: E402

ORACLE = os.environ.get('MM32_ORACLE_DIR') or os.path.join(SOURCE_ROOT, 'tests', 'oracle')
# (machine, body, capture folder)
MACHINES = (('s', {'mem': '128M'}, '686-128M'),
            ('k', {'mem': '1G', 'cpus': 2}, None),
            ('kp', {'mem': '1G', 'pae': True}, '686-pae-1024M'))


def meminfo(text, key):
    for line in text.splitlines():
        if line.startswith(key + ':'):
            return int(line.split()[1])
    raise KeyError(key)


class VmallocTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, body, _ in MACHINES:
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
        return len(self.assertJson(self.daemon.get(self.url(mid, 'journal')))['entries'])

    def vmalloc(self, mid, size, **kw):
        r = self.daemon.post(self.url(mid, 'vmalloc'), dict(kw, size=size))
        a = self.assertJson(r, 201)
        self.assertEqual(r.headers.get('Location'),
                         '/v1/machines/%s/vmalloc/%s' % (mid, a['address']))
        return a

    def translate(self, mid, va, access='read'):
        return self.assertJson(self.daemon.get(self.url(mid, 'translate?va=%s&access=%s'
                                                        % (va, access))))

    def test_boot_areas_equal_the_captures(self):
        for name, body, folder in MACHINES:
            if folder is None:
                continue
            mid = 'fresh-' + name  # the class's machines are changed by the other tests
            self.assertEqual(self.daemon.post('/v1/machines', dict(body, name=mid)).status, 201)
            self.addCleanup(self.daemon.delete, '/v1/machines/' + mid)
            with self.subTest(mid=mid):
                with open(os.path.join(ORACLE, folder, 'vmallocinfo')) as f:
                    self.assertEqual(self.text(mid, 'proc/vmallocinfo'), f.read())
                with open(os.path.join(ORACLE, folder, 'meminfo')) as f:
                    real = f.read()
                mine = self.text(mid, 'proc/meminfo')
                for key in ('VmallocTotal', 'VmallocUsed', 'VmallocChunk', 'DirectMap4k'):
                    self.assertEqual(meminfo(mine, key), meminfo(real, key), key)
        # two CPUs: the crypto buffers are per CPU
        self.assertEqual(self.daemon.post('/v1/machines', {'name': 'fresh-2', 'mem': '1G',
                                                           'cpus': 2}).status, 201)
        self.addCleanup(self.daemon.delete, '/v1/machines/fresh-2')
        self.assertEqual(self.text('fresh-2', 'proc/vmallocinfo').count('crypto_scomp_init_tfm'),
                         4)
        v = self.assertJson(self.daemon.get(self.url('fresh-2', 'vmalloc')))
        self.assertEqual(v['lazy_max_pages'], 16384)
        self.assertEqual(v['vmalloc_used_pages'], 1 + 4 * 32 + 3)
        self.assertTrue(all(a['kernel'] for a in v['busy']))

    def test_boot_model(self):
        # boot_model 2..4 (4 the default) make the boot's areas; 1 boots as every machine made
        # before the field did, its vmalloc range empty; the stored config names it
        for model, areas in ((None, True), (4, True), (3, True), (2, True), (1, False)):
            body = {'name': 'bm%s' % model, 'mem': '128M'}
            if model:
                body['boot_model'] = model
            r = self.daemon.post('/v1/machines', body)
            m = self.assertJson(r, 201)
            self.addCleanup(self.daemon.delete, '/v1/machines/' + body['name'])
            with self.subTest(model=model):
                self.assertEqual(m['config']['boot_model'], model or 4)
                info = self.text(body['name'], 'proc/vmallocinfo')
                self.assertEqual(bool(info), areas)
                v = self.assertJson(self.daemon.get(self.url(body['name'], 'vmalloc')))
                self.assertEqual(v['vmalloc_used_pages'], 1 + 2 * 32 + 3 if areas else 0)
        for bad in (0, 5, '2', True):
            p = self.assertProblem(self.daemon.post('/v1/machines', {'mem': '128M',
                                                                     'boot_model': bad}), 422)
            self.assertIn("'boot_model' must be an integer 1..4", p['detail'])

    def test_vmalloc_vfree_guard_and_frames(self):
        for mid in ('k', 'kp'):
            with self.subTest(mid=mid):
                lay = self.assertJson(self.daemon.get(self.url(mid, 'layout')))
                a = self.vmalloc(mid, 3 * 4096)
                self.assertEqual(a['size'], 3 * 4096)
                self.assertEqual(a['area_size'], 4 * 4096)
                self.assertEqual(len(a['pages']), 3)
                start = int(a['address'], 16)
                self.assertGreaterEqual(start, int(lay['VMALLOC_START'], 16))
                # bytes written through the address reach the frames
                va = hex(start + 4096 + 8)
                r = self.daemon.put(self.url(mid, 'memory'),
                                    {'addr': va, 'data': 'c0ffee', 'space': 'kernel'})
                self.assertEqual(r.status, 200, r)
                phys = hex(a['pages'][1] * 4096 + 8)
                m = self.assertJson(self.daemon.get(self.url(
                    mid, 'memory?addr=%s&len=3&space=phys' % phys)))
                self.assertEqual(m['data'], 'c0ffee')
                self.assertEqual(self.translate(mid, va)['phys'], phys)
                # the guard page faults
                t = self.translate(mid, hex(start + 3 * 4096))
                self.assertFalse(t['ok'])
                self.assertIn('not-present page', t['fault']['oops'])
                line = '0x%08x-0x%08x   16384 vmalloc pages=3 vmalloc\n' % (start,
                                                                             start + 16384)
                self.assertIn(line, self.text(mid, 'proc/vmallocinfo'))
                # vfree: lazily; the TLB keeps a stale entry until the purge
                f = self.assertJson(self.daemon.delete(self.url(mid, 'vmalloc/' + a['address'])))
                self.assertEqual(f['vmap_lazy_nr'], 4)
                self.assertIn('0x%08x-0x%08x   16384 unpurged vm_area\n' % (start, start + 16384),
                              self.text(mid, 'proc/vmallocinfo'))
                t = self.translate(mid, va)
                self.assertTrue(t['tlb_hit'] and t['ok'])  # stale: a lesson, not a bug
                # the lazily freed addresses are not reused before the purge
                b = self.vmalloc(mid, 4096)
                self.assertNotEqual(b['address'], a['address'])
                self.assertEqual(self.daemon.delete(self.url(mid, 'vmalloc/' + b['address'])).status,
                                 200)

    def test_page_arrays(self):
        # __vmalloc_area_node(): the array of page pointers (4 bytes a page) kmalloc'd up to a
        # page, vmalloc'd beyond ("vpages", under the same caller); kfree refuses it, vfree
        # frees it (machines of their own: the frees leave lazy areas)
        for mid, pae in (('pa', False), ('pap', True)):
            self.assertEqual(self.daemon.post('/v1/machines', {'name': mid, 'mem': '1G',
                                                               'pae': pae}).status, 201)
            self.addCleanup(self.daemon.delete, '/v1/machines/' + mid)
            with self.subTest(mid=mid):
                a = self.vmalloc(mid, 2 * 4096)
                v = self.assertJson(self.daemon.get(self.url(mid, 'vmalloc')))
                area = next(x for x in v['busy'] if x['va_start'] == a['address'])
                self.assertNotIn('pages_area', area)
                arr = area['pages_kmalloc']
                page = self.assertJson(self.daemon.get(self.url(
                    mid, 'frames/%d' % ((int(arr, 16) - 0xc0000000) >> 12))))
                self.assertEqual(page['slab']['cache'], 'kmalloc-8')
                n = self.journal_len(mid)
                p = self.assertProblem(self.daemon.delete(self.url(mid, 'kmalloc/' + arr)), 409)
                self.assertIn('page array of the vmalloc area at %s' % a['address'],
                              p['detail'])
                self.assertEqual(self.journal_len(mid), n)
                b = self.vmalloc(mid, 1025 * 4096)
                v = self.assertJson(self.daemon.get(self.url(mid, 'vmalloc')))
                area = next(x for x in v['busy'] if x['va_start'] == b['address'])
                inner = next(x for x in v['busy'] if x['va_start'] == area['pages_area'])
                self.assertEqual(inner['nr_pages'], 2)
                self.assertEqual(inner['caller'], area['caller'])
                self.assertIn('pages_kmalloc', inner)
                info = self.text(mid, 'proc/vmallocinfo')
                self.assertIn(' 4202496 vmalloc pages=1025 vmalloc vpages\n', info)
                self.assertIn('   12288 vmalloc pages=2 vmalloc\n', info)
                for x in (a, b):
                    self.assertEqual(self.daemon.delete(
                        self.url(mid, 'vmalloc/' + x['address'])).status, 200)
                p = self.assertProblem(self.daemon.delete(self.url(mid, 'kmalloc/' + arr)), 409)
                self.assertIn('free already', p['detail'])

    def test_lazy_purge_one_flush(self):
        for mid in ('k', 'kp'):
            with self.subTest(mid=mid):
                v0 = self.assertJson(self.daemon.get(self.url(mid, 'vmalloc')))
                # areas of 6000 pages (and their vmalloc'd page arrays: 6 pages and a guard)
                n = (v0['lazy_max_pages'] - v0['vmap_lazy_nr']) // (6001 + 7) + 1
                before = self.assertJson(self.daemon.get(self.url(mid, 'cpus/0/tlb')))['counters']
                areas = [self.vmalloc(mid, 6000 * 4096) for _ in range(n)]
                for a in areas[:-1]:
                    f = self.assertJson(self.daemon.delete(self.url(mid, 'vmalloc/' +
                                                                    a['address'])))
                    self.assertEqual(f['purges'], v0['purges'])
                self.assertEqual(f['vmap_lazy_nr'], v0['vmap_lazy_nr'] + (n - 1) * (6001 + 7))
                # the free that crosses lazy_max_pages(): one purge, one flush per CPU
                f = self.assertJson(self.daemon.delete(self.url(mid, 'vmalloc/' +
                                                                areas[-1]['address'])))
                self.assertEqual(f['purges'], v0['purges'] + 1)
                self.assertEqual(f['vmap_lazy_nr'], 0)
                after = self.assertJson(self.daemon.get(self.url(mid, 'cpus/0/tlb')))['counters']
                self.assertEqual(after['flushes_all'] - before['flushes_all'], 1)
                self.assertEqual(self.assertJson(self.daemon.get(self.url(mid, 'vmalloc')))['lazy'],
                                 [])

    def test_set_memory_and_the_direct_map(self):
        # 128 MiB, no HighMem: vmalloc's pages are lowmem, set_memory_ro splits their alias
        mid = 's'
        k4 = meminfo(self.text(mid, 'proc/meminfo'), 'DirectMap4k')
        for _ in range(4096):
            a = self.vmalloc(mid, 4096)
            alias = hex(0xc0000000 + a['pages'][0] * 4096)
            if self.translate(mid, alias)['page_size'] != 4096:
                break
        r = self.daemon.post(self.url(mid, 'set-memory'), {'address': a['address'], 'attr': 'ro'})
        self.assertEqual(self.assertJson(r), {'address': a['address'], 'pages': 1, 'attr': 'ro'})
        self.assertFalse(self.translate(mid, a['address'], 'write')['ok'])
        t = self.translate(mid, alias, 'write')
        self.assertFalse(t['ok'])
        self.assertEqual(t['page_size'], 4096)
        self.assertEqual(meminfo(self.text(mid, 'proc/meminfo'), 'DirectMap4k'), k4 + 4096)
        # HighMem pages (kp) have no alias: DirectMap stays
        k4p = meminfo(self.text('kp', 'proc/meminfo'), 'DirectMap4k')
        b = self.vmalloc('kp', 2 * 4096)
        r = self.daemon.post(self.url('kp', 'set-memory'),
                             {'address': b['address'], 'pages': 2, 'attr': 'ro'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(meminfo(self.text('kp', 'proc/meminfo'), 'DirectMap4k'), k4p)
        r = self.daemon.post(self.url('kp', 'set-memory'), {'address': b['address'], 'attr': 'x'})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(self.translate('kp', b['address'])['effective']['nx'])
        self.assertEqual(self.assertJson(self.daemon.get(self.url('s', 'check')))['ok'], True)

    def test_vmap_and_ioremap(self):
        for mid in ('k', 'kp'):
            with self.subTest(mid=mid):
                p = self.assertJson(self.daemon.post(self.url(mid, 'pages'),
                                                     {'gfp': 'GFP_KERNEL'}), 201)
                r = self.daemon.post(self.url(mid, 'vmap'), {'pfns': [p['pfn']]})
                v = self.assertJson(r, 201)
                self.assertEqual(v['pages'], [p['pfn']])
                self.assertEqual(self.translate(mid, v['address'])['phys'], p['phys'])
                self.assertIn('%s-0x%08x    8192 vmap vmap\n' % (
                    '0x%08x' % int(v['address'], 16), int(v['address'], 16) + 8192),
                    self.text(mid, 'proc/vmallocinfo'))
                r = self.daemon.delete(self.url(mid, 'vmap/' + v['address']))
                self.assertEqual(r.status, 200, r)
                i = self.assertJson(self.daemon.post(self.url(mid, 'ioremap'),
                                                     {'phys': '0xfebf0010', 'size': 3 * 4096}),
                                    201)
                self.assertEqual(int(i['address'], 16) & 0xfff, 0x10)
                self.assertEqual((int(i['address'], 16) & ~0xfff) % 16384, 0)  # 4 pages: 16K
                t = self.translate(mid, i['address'])
                self.assertEqual(t['phys'], '0xfebf0010')
                self.assertTrue(t['levels'][-1]['flags']['pcd'])
                r = self.daemon.delete(self.url(mid, 'ioremap/' + i['address']))
                self.assertEqual(r.status, 200, r)

    def test_bad_input_changes_nothing(self):
        mid = 'kp'
        a = self.vmalloc(mid, 2 * 4096)
        io = self.assertJson(self.daemon.post(self.url(mid, 'ioremap'),
                                              {'phys': '0xfebf0000', 'size': 4096}), 201)
        lay = self.assertJson(self.daemon.get(self.url(mid, 'layout')))
        vstart = int(lay['VMALLOC_START'], 16)
        info, n = self.text(mid, 'proc/vmallocinfo'), self.journal_len(mid)
        inside = hex(int(a['address'], 16) + 4096)
        # the page table that maps the area (the last level's entry is in it)
        table = int(self.translate(mid, a['address'])['levels'][-1]['entry_addr'], 16) >> 12
        cases = (
            # a vmalloc'd page and the range's page table are the kernel's own (PGS_KERNEL)
            ('DELETE', 'pages/%d' % a['pages'][1], None, 409, 'page 1 of the vmalloc area'),
            ('DELETE', 'pages/%d' % table, None, 409, 'the page table of the vmalloc range'),
            ('PUT', 'memory', {'addr': hex(a['pages'][0] * 4096), 'data': '00', 'space': 'phys'},
             409, 'page 0 of the vmalloc area'),
            ('DELETE', 'vmalloc/' + inside, None, 422, 'inside the area'),
            ('DELETE', 'vmalloc/' + hex(int(a['address'], 16) + 1), None, 422, 'not page aligned'),
            ('DELETE', 'ioremap/' + a['address'], None, 422, 'vmalloc area'),
            ('DELETE', 'vmalloc/' + io['address'], None, 422, 'ioremap area'),
            ('DELETE', 'vmap/' + a['address'], None, 422, 'vmalloc area'),
            ('DELETE', 'vmalloc/' + hex(vstart + 0x7000), None, 409, 'in use'),
            ('DELETE', 'vmalloc/0xfe000000', None, 404, 'nonexistent vm area'),
            ('DELETE', 'vmalloc/zz', None, 422, 'must be an address'),
            ('POST', 'vmalloc', {'size': 0}, 422, 'size 0'),
            ('POST', 'vmalloc', {'size': '1G'}, 422, 'beyond the vmalloc range'),
            ('POST', 'vmalloc', {'size': 4096, 'cpu': 7}, 422, 'cpu'),
            ('POST', 'vmalloc', {'size': -1}, 422, 'negative'),
            ('POST', 'vmalloc', {'size': 4096, 'gfp': 'GFP_KERNEL'}, 422, "unknown field 'gfp'"),
            ('POST', 'vmap', {'pfns': []}, 422, 'pfns'),
            ('POST', 'ioremap', {'phys': '0x8000000', 'size': 4096}, 422, 'ioremap on RAM'),
            ('POST', 'ioremap', {'phys': '0xfebf0000', 'size': 0}, 422, 'size 0'),
            ('POST', 'set-memory', {'address': a['address'], 'pages': 3, 'attr': 'ro'}, 422,
             'guard page'),
            ('POST', 'set-memory', {'address': a['address'], 'attr': 'exec'}, 422, 'attr'),
        )
        for method, path, body, status, words in cases:
            with self.subTest(method=method, path=path, body=body):
                r = self.daemon.request(method, self.url(mid, path), body)
                p = self.assertProblem(r, status)
                self.assertIn(words, p['detail'])
        self.assertEqual(self.text(mid, 'proc/vmallocinfo'), info)
        self.assertEqual(self.journal_len(mid), n)
        # a double vfree: the second names the lazy purge
        self.assertEqual(self.daemon.delete(self.url(mid, 'vmalloc/' + a['address'])).status, 200)
        p = self.assertProblem(self.daemon.delete(self.url(mid, 'vmalloc/' + a['address'])), 404)
        self.assertIn('lazy purge', p['detail'])


class RestartVmallocTest(unittest.TestCase):
    """The journal replays vmalloc, vfree, vmap, ioremap and set_memory to the same areas."""

    def view(self, d):
        m = '/v1/machines/va'
        return {'info': d.get(m + '/proc/vmallocinfo').text,
                'meminfo': d.get(m + '/proc/meminfo').text,
                'vmalloc': d.get(m + '/vmalloc').json(),
                'tables': d.get(m + '/page-tables/kernel').text,
                'hash': d.get(m + '/state-hash').json()}

    def test_restart_replays_areas(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        m = '/v1/machines/va'
        self.assertEqual(d.post('/v1/machines', {'name': 'va', 'mem': '256M', 'pae': True,
                                                 'cpus': 2}).status, 201)
        addrs = [d.post(m + '/vmalloc', {'size': s}).json()['address']
                 for s in (4096, 5 * 4096, 1025 * 4096, 8192)]
        self.assertEqual(d.delete(m + '/vmalloc/' + addrs[1]).status, 200)
        self.assertEqual(d.post(m + '/set-memory', {'address': addrs[3], 'attr': 'ro'}).status,
                         200)
        self.assertEqual(d.post(m + '/ioremap', {'phys': '0xfebf0000', 'size': 100}).status, 201)
        p = d.post(m + '/pages', {'gfp': 'GFP_KERNEL'}).json()
        self.assertEqual(d.post(m + '/vmap', {'pfns': [p['pfn'], p['pfn']]}).status, 201)
        self.assertEqual(d.delete(m + '/vmalloc/' + addrs[2]).status, 200)
        before = self.view(d)
        self.assertEqual(d.stop(), 0, d.log())
        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        after = self.view(d2)
        self.assertEqual(after, before)
        self.assertEqual(d2.get(m + '/check').json()['ok'], True)
        self.assertEqual(d2.stop(), 0, d2.log())


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
