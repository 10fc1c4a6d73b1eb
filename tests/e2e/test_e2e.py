#!/usr/bin/env python3
"""End-to-end tests: start the real mm32d and drive every route over HTTP, bad input included.

Python 3 standard library only. Run by meson (suite 'e2e', one test() per class below), or by
hand:  MM32D=build/daemon/mm32d python3 tests/e2e/test_e2e.py [-v] [Class[.test]]
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import ClassDaemon, Daemon, mm32d_path  # noqa: E402

GiB = 1 << 30
MiB = 1 << 20
PROBLEM_PREFIX = 'https://mm32.dev/problems/'
HEX = re.compile(r'^0x[0-9a-fA-F]+$')
SYSCTLS = ['min_free_kbytes', 'watermark_scale_factor', 'watermark_boost_factor',
           'lowmem_reserve_ratio', 'percpu_pagelist_high_fraction']
PROC_FILES = ['zoneinfo', 'buddyinfo', 'pagetypeinfo', 'meminfo', 'vmstat', 'vmallocinfo']

# Reference §1.4 (NR_CPUS = 32): the layout does not depend on the machine's cpus.
# FIXADDR_START = FIXADDR_TOP - (__end_of_permanent_fixed_addresses << 12) = 0xfffff000 - 583 pages
# (reference §1.2, and oracle/_kernel/*/constants.txt; §1.4's table says 0xffdb7000).
LAYOUT_1G = {
    False: {'PAGE_OFFSET': 0xc0000000, 'high_memory': 0xf6bfe000, 'VMALLOC_START': 0xf73fe000,
            'VMALLOC_END': 0xfebfe000, 'PKMAP_BASE': 0xfec00000, 'FIXADDR_START': 0xffdb8000},
    True: {'PAGE_OFFSET': 0xc0000000, 'high_memory': 0xf6ffe000, 'VMALLOC_START': 0xf77fe000,
           'VMALLOC_END': 0xfeffe000, 'PKMAP_BASE': 0xff000000, 'FIXADDR_START': 0xffdb8000},
}


def zoneinfo_field(text, field):
    """{zone name: int} of one per-zone line of /proc/zoneinfo ('min', 'low', 'managed'...)."""
    out, zone = {}, None
    for line in text.splitlines():
        m = re.match(r'^Node 0, zone\s+(\S+)$', line)
        if m:
            zone = m.group(1)
            continue
        m = re.match(r'^\s+%s\s+(\d+)$' % re.escape(field), line)
        if m and zone is not None and zone not in out:
            out[zone] = int(m.group(1))
    return out


def zoneinfo_protection(text):
    """{zone name: [4 ints]} of the 'protection: (a, b, c, d)' lines of /proc/zoneinfo."""
    out, zone = {}, None
    for line in text.splitlines():
        m = re.match(r'^Node 0, zone\s+(\S+)$', line)
        if m:
            zone = m.group(1)
        m = re.match(r'^\s+protection: \((.*)\)$', line)
        if m and zone is not None:
            out[zone] = [int(x) for x in m.group(1).split(',')]
    return out


class Base(ClassDaemon, unittest.TestCase):
    # -- helpers ---------------------------------------------------------------------------
    def assertJson(self, r, status=200):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/json', r)
        return r.json()

    def assertProblem(self, r, status, slug=None):
        """A problem+json answer with the RFC 9457 members, for this status."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        p = r.json()
        for k in ('type', 'title', 'status', 'detail'):
            self.assertIn(k, p, r)
        self.assertIsInstance(p['type'], str)
        self.assertTrue(p['type'].startswith(PROBLEM_PREFIX), p)
        if slug:
            self.assertEqual(p['type'], PROBLEM_PREFIX + slug, p)
        self.assertEqual(p['status'], status, p)
        self.assertIsInstance(p['title'], str)
        self.assertTrue(p['title'], p)
        self.assertIsInstance(p['detail'], str)
        self.assertTrue(p['detail'], p)
        if 'instance' in p:
            self.assertIsInstance(p['instance'], str)
        return p

    def create(self, body, status=201):
        r = self.daemon.post('/v1/machines', body)
        if status != 201:
            return self.assertProblem(r, status)
        m = self.assertJson(r, 201)
        self.assertEqual(r.headers.get('Location'), '/v1/machines/' + m['id'], r)
        return m

    def sysctl(self, mid, name):
        return self.assertJson(self.daemon.get('/v1/machines/%s/sysctl/vm/%s' % (mid, name)))


class CliTest(unittest.TestCase):
    """mm32d --help, --version, and a bad option."""

    def run_mm32d(self, *args):
        return subprocess.run([mm32d_path()] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=10)

    def test_help(self):
        p = self.run_mm32d('--help')
        self.assertEqual(p.returncode, 0, p)
        out = (p.stdout + p.stderr).decode()
        for opt in ('--listen', '--db', '--threads', '--max-body', '--no-default-machine',
                    '--log-level', '--help', '--version'):
            self.assertIn(opt, out)

    def test_version(self):
        p = self.run_mm32d('--version')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('0.1.0', (p.stdout + p.stderr).decode())

    def test_bogus_option(self):
        p = self.run_mm32d('--bogus')
        self.assertNotEqual(p.returncode, 0, p)
        self.assertTrue((p.stdout + p.stderr).strip(), 'says nothing about --bogus')

    def test_bad_option_values(self):
        for args in (('--listen', 'not-an-address'), ('--listen', '127.0.0.1:99999'),
                     ('--threads', '0'), ('--max-body', 'lots'), ('--log-level', 'loud'),
                     ('unexpected-argument',)):
            with self.subTest(args=args):
                with tempfile.TemporaryDirectory() as tmp:
                    # were the option accepted, mm32d would serve until the timeout
                    p = self.run_mm32d(*args, '--no-default-machine',
                                       '--db', os.path.join(tmp, 'x.db'))
                self.assertNotEqual(p.returncode, 0, p)


class DefaultMachineTest(Base):
    """Started without --no-default-machine, mm32d has "default": 1 GiB, 686, 1 CPU."""
    default_machine = True

    def test_default_machine(self):
        m = self.assertJson(self.daemon.get('/v1/machines/default'))
        self.assertEqual(m['id'], 'default')
        self.assertEqual(m['name'], 'default')
        self.assertEqual(m['config']['mem'], GiB)
        self.assertIs(m['config']['pae'], False)
        self.assertEqual(m['config']['cpus'], 1)
        self.assertIs(m['tainted'], False)
        self.assertNotIn('taint', m)
        ids = [x['id'] for x in self.assertJson(self.daemon.get('/v1/machines'))['machines']]
        self.assertIn('default', ids)

    def test_default_zoneinfo(self):
        r = self.daemon.get('/v1/machines/default/proc/zoneinfo')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, 'text/plain')
        self.assertTrue(r.text.startswith('Node 0, zone      DMA\n'), r.text[:200])


class RoutesTest(Base):
    """Every route with good input."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.daemon.post('/v1/machines', {'name': 'pc', 'mem': '1G'})
        if r.status != 201:
            raise AssertionError('cannot create the test machine: %r' % r)

    def test_health(self):
        self.assertEqual(self.assertJson(self.daemon.get('/v1/health')), {'status': 'ok'})

    def test_version(self):
        v = self.assertJson(self.daemon.get('/v1/version'))
        self.assertEqual((v['mm32'], v['kernel']), ('0.1.0', '6.1'))
        self.assertEqual(set(v), {'mm32', 'kernel', 'boot_revision'})
        self.assertIsInstance(v['boot_revision'], int)
        self.assertGreaterEqual(v['boot_revision'], 1)

    def test_create_get_list_delete(self):
        m = self.create({'name': 'life', 'mem': '512M', 'cpus': 2, 'pae': False, 'cmdline': ''})
        self.assertEqual(m['id'], 'life')
        self.assertEqual(m['name'], 'life')
        self.assertEqual(m['config']['mem'], 512 * MiB)
        self.assertEqual(m['config']['cpus'], 2)
        self.assertIs(m['config']['pae'], False)
        self.assertEqual(m['config']['cmdline'], '')
        for k in ('layout', 'zones', 'totals'):
            self.assertIn(k, m)
        self.assertEqual([z['name'] for z in m['zones']][:2], ['DMA', 'Normal'])

        got = self.assertJson(self.daemon.get('/v1/machines/life'))
        self.assertEqual(got['config'], m['config'])
        self.assertEqual(got['layout'], m['layout'])

        lst = self.assertJson(self.daemon.get('/v1/machines'))['machines']
        entry = [x for x in lst if x['id'] == 'life']
        self.assertEqual(len(entry), 1, lst)
        self.assertEqual(entry[0]['name'], 'life')
        self.assertEqual(entry[0]['config'], m['config'])

        r = self.daemon.delete('/v1/machines/life')
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b'')
        self.assertProblem(self.daemon.get('/v1/machines/life'), 404)
        self.assertProblem(self.daemon.delete('/v1/machines/life'), 404)
        self.assertProblem(self.daemon.get('/v1/machines/life/zones'), 404)
        ids = [x['id'] for x in self.assertJson(self.daemon.get('/v1/machines'))['machines']]
        self.assertNotIn('life', ids)

    def test_create_generated_name_and_bytes(self):
        m = self.create({'mem': 256 * MiB})
        self.assertRegex(m['id'], r'^m[0-9]+$')
        self.assertEqual(m['config']['mem'], 256 * MiB)
        self.assertEqual(m['config']['cpus'], 1)
        self.assertIs(m['config']['pae'], False)
        m2 = self.create({'mem': '256m'})
        self.assertRegex(m2['id'], r'^m[0-9]+$')
        self.assertNotEqual(m['id'], m2['id'])
        for x in (m, m2):
            self.assertEqual(self.daemon.delete('/v1/machines/' + x['id']).status, 204)

    def test_create_pae_cpus_cmdline(self):
        m = self.create({'name': 'pae4', 'mem': '1G', 'pae': True, 'cpus': 4,
                         'cmdline': 'vmalloc=256M'})
        self.assertIs(m['config']['pae'], True)
        self.assertEqual(m['config']['cpus'], 4)
        self.assertEqual(m['config']['cmdline'], 'vmalloc=256M')
        lay = self.assertJson(self.daemon.get('/v1/machines/pae4/layout'))
        self.assertEqual(lay['LAST_PKMAP'], 512)
        self.assertEqual(int(lay['PKMAP_BASE'], 16), 0xff000000)
        self.assertEqual(int(lay['VMALLOC_END'], 16), 0xfeffe000)
        # vmalloc=256M: the vmalloc area is exactly 256 MiB when lowmem is full (reference §1.2)
        self.assertEqual(int(lay['VMALLOC_END'], 16) - int(lay['VMALLOC_START'], 16), 256 * MiB)
        z = self.assertJson(self.daemon.get('/v1/machines/pae4/zones'))
        for zone in z['zones']:
            if zone['populated']:
                self.assertEqual([p['cpu'] for p in zone['pagesets']], [0, 1, 2, 3], zone['name'])
        self.assertEqual(self.daemon.delete('/v1/machines/pae4').status, 204)

    def test_create_beyond_4g_without_pae_is_not_refused(self):
        m = self.create({'name': 'big686', 'mem': '8G'})
        self.assertEqual(m['config']['mem'], 8 * GiB)
        r = self.daemon.get('/v1/machines/big686/proc/zoneinfo')
        self.assertEqual(r.status, 200)
        self.assertIn('zone  HighMem', r.text)
        self.assertEqual(self.daemon.delete('/v1/machines/big686').status, 204)

    def test_create_with_e820(self):
        e820 = [
            {'addr': '0x0', 'size': '0x9fc00', 'type': 'usable'},
            {'addr': '0x9fc00', 'size': '0x400', 'type': 'reserved'},
            {'addr': 0xf0000, 'size': 0x10000, 'type': 2},
            {'addr': '0x100000', 'size': '0x1fe00000', 'type': 'usable'},
            {'addr': '0x1ff00000', 'size': '0x100000', 'type': 'ACPI data'},
        ]
        m = self.create({'name': 'own-e820', 'mem': '512M', 'e820': e820})
        self.assertIn('e820', m['config'])
        self.assertEqual(len(m['config']['e820']), len(e820))
        got = self.assertJson(self.daemon.get('/v1/machines/own-e820/e820'))
        fw = [(int(e['addr'], 16), int(e['size'], 16)) for e in got['firmware']]
        self.assertEqual(fw, [(0, 0x9fc00), (0x9fc00, 0x400), (0xf0000, 0x10000),
                              (0x100000, 0x1fe00000), (0x1ff00000, 0x100000)])
        self.assertEqual(got['firmware'][4]['type'], 'ACPI data')
        dmesg = self.daemon.get('/v1/machines/own-e820/dmesg').text
        self.assertIn('BIOS-e820: [mem 0x000000001ff00000-0x000000001fffffff] ACPI data', dmesg)
        self.assertEqual(self.daemon.delete('/v1/machines/own-e820').status, 204)

    def test_duplicate_name(self):
        self.create({'name': 'pc', 'mem': '1G'}, status=409)

    def test_get_machine(self):
        m = self.assertJson(self.daemon.get('/v1/machines/pc'))
        self.assertEqual(m['id'], 'pc')
        self.assertEqual(m['config']['mem'], GiB)
        self.assertEqual([z['name'] for z in m['zones']][:3], ['DMA', 'Normal', 'HighMem'])
        for z in m['zones'][:3]:
            for k in ('start_pfn', 'spanned', 'present', 'managed'):
                self.assertIsInstance(z[k], int, (z['name'], k))

    def test_proc_files(self):
        for f in PROC_FILES:
            r = self.daemon.get('/v1/machines/pc/proc/' + f)
            self.assertEqual(r.status, 200, (f, r))
            self.assertEqual(r.content_type, 'text/plain', f)
            self.assertTrue(r.text.endswith('\n'), f)
        zi = self.daemon.get('/v1/machines/pc/proc/zoneinfo').text
        self.assertTrue(zi.startswith('Node 0, zone      DMA\n'), zi[:100])
        heads = [l for l in zi.splitlines() if l.startswith('Node 0, zone')]
        self.assertEqual(heads, ['Node 0, zone      DMA', 'Node 0, zone   Normal',
                                 'Node 0, zone  HighMem', 'Node 0, zone  Movable'])
        for field in ('min', 'low', 'high', 'spanned', 'present', 'managed'):
            self.assertEqual(sorted(zoneinfo_field(zi, field)),
                             ['DMA', 'HighMem', 'Movable', 'Normal'], field)
        self.assertRegex(zi, r'\n        protection: \(0, \d+, \d+, \d+\)\n')
        self.assertIn('\n  pagesets\n', zi)
        bi = self.daemon.get('/v1/machines/pc/proc/buddyinfo').text
        self.assertRegex(bi.splitlines()[0], r'^Node 0, zone      DMA( +\d+){11} ?$')
        pti = self.daemon.get('/v1/machines/pc/proc/pagetypeinfo').text
        self.assertTrue(pti.startswith('Page block order: 10\nPages per block:  1024\n'),
                        pti[:100])
        mi = self.daemon.get('/v1/machines/pc/proc/meminfo').text
        self.assertRegex(mi, r'^MemTotal: +\d+ kB\nMemFree: +\d+ kB\n')
        self.assertRegex(mi, r'\nHighTotal: +\d+ kB\n')
        vs = self.daemon.get('/v1/machines/pc/proc/vmstat').text
        self.assertRegex(vs, r'^nr_free_pages \d+\n')

    def test_dmesg(self):
        r = self.daemon.get('/v1/machines/pc/dmesg')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, 'text/plain')
        lines = r.text.splitlines()
        e820 = [l for l in lines if 'BIOS-e820:' in l]
        self.assertGreaterEqual(len(e820), 5, r.text[:2000])
        self.assertRegex(e820[0], r'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] '
                                  r'usable$')
        # the figures of the real kernel's boot with the same configuration (1 GiB, 686,
        # one CPU): tests/oracle/686-1024M/dmesg
        oracle = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'oracle',
                              '686-1024M', 'dmesg')
        with open(oracle) as f:
            real = [re.sub(r'^\[ *\d+\.\d+\] ', '', l) for l in f.read().splitlines()]
        ours = [re.sub(r'^\[ *\d+\.\d+\] ', '', l) for l in lines]
        for what in ('Built 1 zonelists, mobility grouping on.  Total pages: ',
                     'MB HIGHMEM available.', 'MB LOWMEM available.'):
            want = [l for l in real if what in l]
            self.assertEqual(len(want), 1, what)
            self.assertIn(want[0], ours, what)

    def test_layout(self):
        lay = self.assertJson(self.daemon.get('/v1/machines/pc/layout'))
        for k, v in LAYOUT_1G[False].items():
            self.assertRegex(lay[k], HEX, k)
            self.assertEqual(int(lay[k], 16), v, '%s = %s, reference §1.4 says %#x'
                             % (k, lay[k], v))
        self.assertEqual(lay['LAST_PKMAP'], 1024)
        self.assertIsInstance(lay.get('kernel_image'), dict)
        for k, v in lay.items():
            if isinstance(v, str):
                self.assertRegex(v, HEX, k)

    def test_zones(self):
        z = self.assertJson(self.daemon.get('/v1/machines/pc/zones'))
        self.assertIn('totals', z)
        names = [x['name'] for x in z['zones']]
        self.assertEqual(names[:3], ['DMA', 'Normal', 'HighMem'])
        zi = self.daemon.get('/v1/machines/pc/proc/zoneinfo').text
        mins = zoneinfo_field(zi, 'min')
        managed = zoneinfo_field(zi, 'managed')
        for zone in z['zones']:
            for k in ('populated', 'start_pfn', 'spanned', 'present', 'managed', 'free',
                      'watermarks', 'protection', 'nr_reserved_highatomic', 'free_area',
                      'free_area_by_type', 'stat_threshold', 'pagesets'):
                self.assertIn(k, zone, (zone['name'], k))
            if not zone['populated']:
                continue
            self.assertEqual(set(zone['watermarks']), {'min', 'low', 'high', 'promo', 'boost'})
            w = zone['watermarks']
            self.assertLessEqual(w['min'], w['low'])
            self.assertLessEqual(w['low'], w['high'])
            self.assertEqual(len(zone['protection']), 4)
            self.assertEqual(len(zone['free_area']), 11)
            self.assertLessEqual(zone['managed'], zone['present'])
            self.assertLessEqual(zone['present'], zone['spanned'])
            self.assertEqual(sum(n << o for o, n in enumerate(zone['free_area'])), zone['free'],
                             zone['name'])
            self.assertEqual(w['min'], mins[zone['name']], zone['name'])
            self.assertEqual(zone['managed'], managed[zone['name']], zone['name'])
            self.assertEqual([p['cpu'] for p in zone['pagesets']], [0])
            for p in zone['pagesets']:
                self.assertEqual(set(p), {'cpu', 'count', 'high', 'batch'})

    def test_e820(self):
        e = self.assertJson(self.daemon.get('/v1/machines/pc/e820'))
        self.assertEqual(set(e), {'firmware', 'kernel'})
        for table in ('firmware', 'kernel'):
            self.assertTrue(e[table], table)
            for x in e[table]:
                for k in ('addr', 'end', 'size'):
                    self.assertRegex(x[k], HEX, (table, k))
                self.assertEqual(int(x['end'], 16) - int(x['addr'], 16) + 1, int(x['size'], 16),
                                 x)
                self.assertIsInstance(x['type'], str)
        first = e['firmware'][0]
        self.assertEqual((int(first['addr'], 16), int(first['size'], 16), first['type']),
                         (0, 0x9fc00, 'usable'))

    def test_memblock(self):
        mb = self.assertJson(self.daemon.get('/v1/machines/pc/memblock'))
        self.assertEqual(set(mb), {'memory', 'reserved'})
        self.assertTrue(mb['memory'])
        self.assertTrue(mb['reserved'])
        for table in ('memory', 'reserved'):
            for x in mb[table]:
                for k in ('base', 'end', 'size'):
                    self.assertRegex(x[k], HEX, (table, k))
        # the first memblock.memory region starts at the first usable page
        self.assertEqual(int(mb['memory'][0]['base'], 16), 0x1000)

    def test_sysctl_get(self):
        for name in SYSCTLS:
            s = self.sysctl('pc', name)
            self.assertEqual(s['name'], name)
            if name == 'lowmem_reserve_ratio':
                self.assertEqual(len(s['value']), 4, s)
                self.assertTrue(all(isinstance(v, int) for v in s['value']), s)
            else:
                self.assertIsInstance(s['value'], int, s)
        self.assertEqual(self.sysctl('pc', 'watermark_scale_factor')['value'], 10)
        self.assertEqual(self.sysctl('pc', 'watermark_boost_factor')['value'], 15000)
        self.assertEqual(self.sysctl('pc', 'lowmem_reserve_ratio')['value'], [256, 32, 0, 0])
        self.assertEqual(self.sysctl('pc', 'percpu_pagelist_high_fraction')['value'], 0)

    def test_sysctl_put_recomputes(self):
        self.create({'name': 'tune', 'mem': '1G'})
        zi = lambda: self.daemon.get('/v1/machines/tune/proc/zoneinfo').text  # noqa: E731
        before = zi()
        mins0 = zoneinfo_field(before, 'min')

        r = self.daemon.put('/v1/machines/tune/sysctl/vm/min_free_kbytes', {'value': 8192})
        self.assertEqual(self.assertJson(r), {'name': 'min_free_kbytes', 'value': 8192})
        self.assertEqual(self.sysctl('tune', 'min_free_kbytes')['value'], 8192)
        mins1 = zoneinfo_field(zi(), 'min')
        self.assertNotEqual(mins1, mins0)
        # the lowmem zones share min_free_kbytes/4 pages in proportion to their managed pages
        self.assertLessEqual(abs(mins1['DMA'] + mins1['Normal'] - 8192 // 4), 2, mins1)

        lows1 = zoneinfo_field(zi(), 'low')
        r = self.daemon.put('/v1/machines/tune/sysctl/vm/watermark_scale_factor', {'value': 200})
        self.assertEqual(self.assertJson(r), {'name': 'watermark_scale_factor', 'value': 200})
        after = zi()
        managed = zoneinfo_field(after, 'managed')
        lows2 = zoneinfo_field(after, 'low')
        mins2 = zoneinfo_field(after, 'min')
        self.assertEqual(mins2, mins1)
        self.assertGreater(lows2['Normal'], lows1['Normal'])
        # low = min + max(min/4, managed * factor / 10000)  (reference §4.3)
        n = 'Normal'
        self.assertEqual(lows2[n] - mins2[n], max(mins2[n] // 4, managed[n] * 200 // 10000))

        r = self.daemon.put('/v1/machines/tune/sysctl/vm/lowmem_reserve_ratio',
                            {'value': [128, 16, 0, 0]})
        self.assertEqual(self.assertJson(r)['value'], [128, 16, 0, 0])
        text = zi()
        prot, managed = zoneinfo_protection(text), zoneinfo_field(text, 'managed')
        # lowmem_reserve[i][j] = sum of managed(i+1..j) / ratio[i]  (reference §4.4)
        self.assertEqual(prot['DMA'], [0, managed['Normal'] // 128,
                                       (managed['Normal'] + managed['HighMem']) // 128,
                                       (managed['Normal'] + managed['HighMem']) // 128])
        self.assertEqual(prot['Normal'], [0, 0, managed['HighMem'] // 16,
                                          managed['HighMem'] // 16])
        self.assertEqual(prot['HighMem'], [0, 0, 0, 0])
        r = self.daemon.put('/v1/machines/tune/sysctl/vm/percpu_pagelist_high_fraction',
                            {'value': 8})
        self.assertEqual(self.assertJson(r)['value'], 8)
        r = self.daemon.put('/v1/machines/tune/sysctl/vm/watermark_boost_factor', {'value': 0})
        self.assertEqual(self.assertJson(r)['value'], 0)
        self.assertEqual(self.daemon.delete('/v1/machines/tune').status, 204)

    def test_commands_single_batch_journal(self):
        self.create({'name': 'cmd', 'mem': '512M'})
        r = self.daemon.post('/v1/machines/cmd/commands',
                             {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 30})
        one = self.assertJson(r)
        self.assertEqual(set(one), {'seq', 'op', 'result'})
        self.assertEqual(one['op'], 'set_sysctl')
        self.assertIsInstance(one['seq'], int)
        self.assertEqual(self.sysctl('cmd', 'watermark_scale_factor')['value'], 30)

        batch = [{'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 4096},
                 {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 40},
                 {'op': 'set_sysctl', 'name': 'lowmem_reserve_ratio', 'value': [256, 32, 0, 0]}]
        res = self.assertJson(self.daemon.post('/v1/machines/cmd/commands', batch))['results']
        self.assertEqual(len(res), 3)
        seqs = [x['seq'] for x in res]
        self.assertEqual(seqs, sorted(seqs))
        self.assertGreater(seqs[0], one['seq'])
        self.assertEqual(self.sysctl('cmd', 'min_free_kbytes')['value'], 4096)
        self.assertEqual(self.sysctl('cmd', 'watermark_scale_factor')['value'], 40)

        # the first failure stops the batch; the ones before it are applied
        bad = [{'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 50},
               {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 0},
               {'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 2048}]
        p = self.assertProblem(self.daemon.post('/v1/machines/cmd/commands', bad), 422)
        self.assertEqual(p.get('index'), 1, p)
        self.assertEqual(len(p.get('results', [])), 1, p)
        self.assertEqual(self.sysctl('cmd', 'watermark_scale_factor')['value'], 50)
        self.assertEqual(self.sysctl('cmd', 'min_free_kbytes')['value'], 4096)

        j = self.assertJson(self.daemon.get('/v1/machines/cmd/journal'))
        entries = j['entries']
        self.assertGreaterEqual(len(entries), 5, j)
        for e in entries:
            self.assertEqual(set(e), {'seq', 'time', 'command', 'result'}, e)
        js = [e['seq'] for e in entries]
        self.assertEqual(js, sorted(js))
        self.assertTrue(set(seqs + [one['seq']]) <= set(js), (seqs, js))
        self.assertEqual(entries[-1]['command'].get('value'), 50, entries[-1])

        c = self.assertJson(self.daemon.get('/v1/machines/cmd/check'))
        self.assertEqual(c, {'ok': True, 'violations': []})
        self.assertEqual(self.daemon.delete('/v1/machines/cmd').status, 204)

    def test_empty_batch_and_lowmem_string(self):
        r = self.daemon.post('/v1/machines/pc/commands', [])
        self.assertEqual(self.assertJson(r), {'results': []})
        r = self.daemon.post('/v1/machines/pc/commands',
                             {'op': 'set_sysctl', 'name': 'lowmem_reserve_ratio',
                              'value': '256 32 0 0'})
        self.assertEqual(self.assertJson(r)['result'],
                         {'name': 'lowmem_reserve_ratio', 'value': [256, 32, 0, 0]})

    def test_head_and_trailing_slash(self):
        r = self.daemon.request('HEAD', '/v1/health')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b'')
        r = self.daemon.get('/v1/machines/')
        self.assertIn('pc', [m['id'] for m in self.assertJson(r)['machines']])
        r = self.daemon.get('/v1/machines/pc/')
        self.assertEqual(self.assertJson(r)['id'], 'pc')

    def test_list_sorted(self):
        lst = self.assertJson(self.daemon.get('/v1/machines'))['machines']
        ids = [m['id'] for m in lst]
        self.assertEqual(ids, sorted(ids, key=lambda x: x.encode()))

    def test_check(self):
        self.assertEqual(self.assertJson(self.daemon.get('/v1/machines/pc/check')),
                         {'ok': True, 'violations': []})

    def test_keep_alive(self):
        """Several requests on one HTTP/1.1 connection, bad ones included."""
        conn = self.daemon.connection()
        try:
            sock = None
            steps = [('GET', '/v1/health', None, 200), ('GET', '/v1/version', None, 200),
                     ('GET', '/v1/machines/pc', None, 200),
                     ('GET', '/v1/machines/pc/proc/zoneinfo', None, 200),
                     ('GET', '/v1/machines/nope', None, 404),
                     ('PUT', '/v1/machines/pc/sysctl/vm/watermark_boost_factor',
                      {'value': 15000}, 200),
                     ('POST', '/v1/machines', {'mem': '1G', 'bogus': 1}, 422),
                     ('GET', '/v1/machines/pc/zones', None, 200),
                     ('GET', '/v1/health', None, 200)]
            for method, path, body, status in steps:
                r = self.daemon.request(method, path, body=body, conn=conn)
                self.assertEqual(r.status, status, (method, path, r))
                self.assertNotEqual((r.headers.get('Connection') or '').lower(), 'close',
                                    (method, path))
                if sock is None:
                    sock = conn.sock
                self.assertIsNotNone(conn.sock, (method, path))
                self.assertIs(conn.sock, sock, 'a new connection was opened for %s %s'
                              % (method, path))
        finally:
            conn.close()


class BadInputTest(Base):
    """Bad requests get a 4xx problem+json, and change nothing; the daemon keeps serving."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.daemon.post('/v1/machines', {'name': 'victim', 'mem': '1G'})
        if r.status != 201:
            raise AssertionError('cannot create the test machine: %r' % r)

    def state(self):
        d = self.daemon
        m = d.get('/v1/machines/victim').json()
        return {'config': m['config'], 'layout': m['layout'],
                'zones': d.get('/v1/machines/victim/zones').json(),
                'sysctl': {n: d.get('/v1/machines/victim/sysctl/vm/' + n).json() for n in SYSCTLS},
                'machines': sorted(x['id'] for x in d.get('/v1/machines').json()['machines'])}

    def setUp(self):
        self.before = self.state()

    def bad(self, method, path, body, status, slug=None, raw=False):
        if raw:
            r = self.daemon.request(method, path, body=body,
                                    headers={'Content-Type': 'application/json'})
        else:
            r = self.daemon.request(method, path, body=body)
        p = self.assertProblem(r, status, slug)
        self.still_serving()
        return p, r

    def still_serving(self):
        self.assertEqual(self.daemon.get('/v1/health').status, 200)
        self.assertEqual(self.state(), self.before)

    def test_create_unknown_field(self):
        self.bad('POST', '/v1/machines', {'mem': '1G', 'bogus': 1}, 422, 'invalid-argument')
        self.bad('POST', '/v1/machines', {'mem': '1G', 'e820': [
            {'addr': 0, 'size': 4096, 'type': 'usable', 'extra': True}]}, 422)

    def test_create_wrong_types(self):
        for body in ({'mem': True}, {'mem': None}, {'mem': 1.5}, {'mem': [1]},
                     {'mem': '1G', 'pae': 'yes'}, {'mem': '1G', 'pae': 1},
                     {'mem': '1G', 'cpus': '2'}, {'mem': '1G', 'cpus': 1.5},
                     {'mem': '1G', 'cmdline': 5}, {'mem': '1G', 'name': 5},
                     {'mem': '1G', 'e820': 'none'}, {'mem': '1G', 'e820': [5]},
                     {'name': 'x'}, {}, []):
            with self.subTest(body=body):
                self.bad('POST', '/v1/machines', body, 422, 'invalid-argument')
        self.scalar_bodies('POST', '/v1/machines')

    def scalar_bodies(self, method, path):
        """A JSON text that is a bare scalar: JSON (RFC 8259) of the wrong type, so 422."""
        for body in ('"x"', '42', 'null', 'true'):
            with self.subTest(path=path, body=body):
                self.bad(method, path, body, 422, 'invalid-argument', raw=True)

    def test_create_bad_mem(self):
        for mem in (0, '0', '0G', '65G', 64 * GiB + 1, '66000M', -1, '1X', 'lots', ''):
            with self.subTest(mem=mem):
                self.bad('POST', '/v1/machines', {'mem': mem}, 422, 'invalid-argument')
        self.bad('POST', '/v1/machines', {'mem': '65G', 'pae': True}, 422)

    def test_create_bad_cpus(self):
        for cpus in (0, 33, -1):
            with self.subTest(cpus=cpus):
                p, _ = self.bad('POST', '/v1/machines', {'mem': '1G', 'cpus': cpus}, 422)
                self.assertIn('cpus', p['detail'])

    def test_create_bad_cmdline(self):
        for cmdline in ('mem=abc', 'highmem=xyz', 'vmalloc=lots', 'memmap=junk'):
            with self.subTest(cmdline=cmdline):
                self.bad('POST', '/v1/machines', {'mem': '1G', 'cmdline': cmdline}, 422)

    def test_create_bad_name(self):
        for name in ('', '-x', '.x', 'a/b', 'a b', 'x' * 64, 'é'):
            with self.subTest(name=name):
                self.bad('POST', '/v1/machines', {'name': name, 'mem': '1G'}, 422)
        self.bad('POST', '/v1/machines', {'name': 'victim', 'mem': '512M'}, 409, 'conflict')

    def test_create_bad_e820(self):
        for e in ([{'addr': '0x0', 'size': '0x1000', 'type': 'bogus'}],
                  [{'addr': 'zero', 'size': '0x1000', 'type': 'usable'}],
                  [{'addr': '0x0', 'type': 'usable'}]):
            with self.subTest(e820=e):
                self.bad('POST', '/v1/machines', {'mem': '1G', 'e820': e}, 422)

    def test_body_over_cap(self):
        big = json.dumps({'mem': '1G', 'cmdline': 'x' * (2 * MiB)}).encode()
        r = self.daemon.raw_request('POST', '/v1/machines', big)
        self.assertProblem(r, 413, 'payload-too-large')
        self.still_serving()
        big = json.dumps({'value': [1] * (MiB)}).encode()
        r = self.daemon.raw_request('PUT', '/v1/machines/victim/sysctl/vm/min_free_kbytes', big)
        self.assertProblem(r, 413)
        self.still_serving()
        r = self.daemon.raw_request('POST', '/v1/machines/victim/commands', big)
        self.assertProblem(r, 413)
        self.still_serving()

    def test_malformed_json(self):
        for path, method in (('/v1/machines', 'POST'),
                             ('/v1/machines/victim/sysctl/vm/min_free_kbytes', 'PUT'),
                             ('/v1/machines/victim/commands', 'POST')):
            for body in ('{"mem": "1G"', 'not json', '{"mem": "1G"} trailing', '',
                         '{"mem": "1G",}', b'\xff\xfe'):
                with self.subTest(path=path, body=body):
                    self.bad(method, path, body, 400, 'bad-request', raw=True)

    def test_unknown_machine(self):
        for method, path, body in (
                ('GET', '/v1/machines/nope', None), ('DELETE', '/v1/machines/nope', None),
                ('GET', '/v1/machines/nope/proc/zoneinfo', None),
                ('GET', '/v1/machines/nope/dmesg', None), ('GET', '/v1/machines/nope/layout', None),
                ('GET', '/v1/machines/nope/zones', None), ('GET', '/v1/machines/nope/e820', None),
                ('GET', '/v1/machines/nope/memblock', None),
                ('GET', '/v1/machines/nope/sysctl/vm/min_free_kbytes', None),
                ('PUT', '/v1/machines/nope/sysctl/vm/min_free_kbytes', {'value': 8192}),
                ('POST', '/v1/machines/nope/commands',
                 {'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 8192}),
                ('GET', '/v1/machines/nope/check', None), ('GET', '/v1/machines/nope/journal', None)):
            with self.subTest(method=method, path=path):
                p, _ = self.bad(method, path, body, 404, 'not-found')
                self.assertIn('nope', p['detail'])

    def test_unknown_file_and_sysctl(self):
        self.bad('GET', '/v1/machines/victim/proc/slabinfo_nope', None, 404)
        self.bad('GET', '/v1/machines/victim/proc/', None, 404)
        for name in ('swappiness', 'nope', 'min_free_kbytes2'):
            with self.subTest(name=name):
                self.bad('GET', '/v1/machines/victim/sysctl/vm/' + name, None, 404)
                self.bad('PUT', '/v1/machines/victim/sysctl/vm/' + name, {'value': 1}, 404)
        self.bad('POST', '/v1/machines/victim/commands',
                 {'op': 'set_sysctl', 'name': 'swappiness', 'value': 1}, 404)

    def test_sysctl_out_of_range(self):
        for name, value in (('watermark_scale_factor', 0), ('watermark_scale_factor', 3001),
                            ('watermark_scale_factor', -5), ('min_free_kbytes', -1),
                            ('watermark_boost_factor', -1),
                            ('percpu_pagelist_high_fraction', 7),
                            ('percpu_pagelist_high_fraction', -1),
                            ('lowmem_reserve_ratio', [256, 32, 0]),
                            ('lowmem_reserve_ratio', [256, 32, 0, 0, 0]),
                            ('lowmem_reserve_ratio', 256),
                            ('min_free_kbytes', [1, 2, 3, 4]),
                            ('min_free_kbytes', 'abc'), ('min_free_kbytes', 1.5),
                            ('min_free_kbytes', None), ('min_free_kbytes', 1 << 40)):
            with self.subTest(name=name, value=value):
                self.bad('PUT', '/v1/machines/victim/sysctl/vm/' + name, {'value': value}, 422,
                         'invalid-argument')
                p, _ = self.bad('POST', '/v1/machines/victim/commands',
                                {'op': 'set_sysctl', 'name': name, 'value': value}, 422)

    def test_unsupported_media_type(self):
        for method, path, body in (('POST', '/v1/machines', '{"mem": "1G"}'),
                                   ('PUT', '/v1/machines/victim/sysctl/vm/min_free_kbytes',
                                    '{"value": 8192}'),
                                   ('POST', '/v1/machines/victim/commands',
                                    '{"op": "set_sysctl", "name": "min_free_kbytes", '
                                    '"value": 8192}')):
            with self.subTest(path=path):
                r = self.daemon.request(method, path, body=body,
                                        headers={'Content-Type': 'text/plain'})
                self.assertProblem(r, 415, 'unsupported-media-type')
                self.still_serving()

    def test_sysctl_bad_body(self):
        for body in ({}, {'value': 1, 'extra': 2}, {'val': 1}, [1]):
            with self.subTest(body=body):
                self.bad('PUT', '/v1/machines/victim/sysctl/vm/min_free_kbytes', body, 422)
        self.scalar_bodies('PUT', '/v1/machines/victim/sysctl/vm/min_free_kbytes')

    def test_bad_commands(self):
        for body in ({'op': 'reboot'}, {'name': 'min_free_kbytes', 'value': 1},
                     {'op': 'set_sysctl', 'value': 1}, {'op': 'set_sysctl', 'name': 'min_free_kbytes'},
                     {'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 1, 'x': 1},
                     {'op': 5}, [7], [{'op': 'nope'}]):
            with self.subTest(body=body):
                self.bad('POST', '/v1/machines/victim/commands', body, 422)
        self.scalar_bodies('POST', '/v1/machines/victim/commands')
        # a batch that fails at index 1 applies index 0: run that one alone first (writing a
        # sysctl recomputes what the kernel recomputes, as the real one does), so that the
        # batch leaves the state as it was
        ok = {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 10}
        self.assertEqual(self.daemon.post('/v1/machines/victim/commands', ok).status, 200)
        self.before = self.state()
        p, _ = self.bad('POST', '/v1/machines/victim/commands',
                        [{'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 10},
                         {'op': 'nope'}], 422)
        self.assertEqual(p.get('index'), 1, p)
        self.assertEqual(len(p.get('results')), 1, p)

    def test_unknown_route(self):
        for method, path in (('GET', '/v1/nope'), ('GET', '/v2/health'), ('GET', '/v1'),
                             ('GET', '/v1/machines/victim/nope'), ('POST', '/v1/nope'),
                             ('GET', '/v1/machines/victim/sysctl/kernel/x'),
                             ('GET', '/v1/machines/victim/proc/zoneinfo/extra')):
            with self.subTest(method=method, path=path):
                self.bad(method, path, None, 404, 'not-found')

    def test_wrong_method(self):
        for method, path, allowed in (
                ('DELETE', '/v1/health', {'GET'}), ('POST', '/v1/version', {'GET'}),
                ('PUT', '/v1/machines', {'GET', 'POST'}),
                ('DELETE', '/v1/machines', {'GET', 'POST'}),
                ('POST', '/v1/machines/victim', {'GET', 'DELETE'}),
                ('PUT', '/v1/machines/victim', {'GET', 'DELETE'}),
                ('POST', '/v1/machines/victim/proc/zoneinfo', {'GET'}),
                ('DELETE', '/v1/machines/victim/dmesg', {'GET'}),
                ('PUT', '/v1/machines/victim/zones', {'GET'}),
                ('DELETE', '/v1/machines/victim/sysctl/vm/min_free_kbytes', {'GET', 'PUT'}),
                ('POST', '/v1/machines/victim/sysctl/vm/min_free_kbytes', {'GET', 'PUT'}),
                ('GET', '/v1/machines/victim/commands', {'POST'}),
                ('POST', '/v1/machines/victim/journal', {'GET'}),
                ('DELETE', '/v1/machines/victim/check', {'GET'})):
            with self.subTest(method=method, path=path):
                _, r = self.bad(method, path, None, 405, 'method-not-allowed')
                allow = {m.strip() for m in (r.headers.get('Allow') or '').split(',')}
                allow.discard('HEAD')
                allow.discard('OPTIONS')
                self.assertEqual(allow, allowed, r.headers.get('Allow'))


def pcp_and_free(zones):
    """Pages free in the buddy allocator plus pages on per-CPU lists, over every zone."""
    return sum(z['free'] + sum(p['count'] for p in z['pagesets']) for z in zones['zones'])


class PagesTest(Base):
    """The page allocator over HTTP: alloc/free as REST and as commands, page descriptors,
    refused frees, batches."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.daemon.post('/v1/machines', {'name': 'pg', 'mem': '1G', 'cpus': 2})
        if r.status != 201:
            raise AssertionError('cannot create the test machine: %r' % r)
        cls.max_pfn = r.json()['layout']['max_pfn']
        cls.max_low_pfn = r.json()['layout']['max_low_pfn']

    def alloc(self, gfp='GFP_KERNEL', order=None, cpu=None):
        body = {'gfp': gfp}
        if order is not None:
            body['order'] = order
        if cpu is not None:
            body['cpu'] = cpu
        r = self.daemon.post('/v1/machines/pg/pages', body)
        a = self.assertJson(r, 201)
        self.assertEqual(r.headers.get('Location'), '/v1/machines/pg/frames/%d' % a['pfn'])
        return a

    def free(self, pfn, order=0, status=200, slug=None, **query):
        q = '&'.join(['order=%d' % order] + ['%s=%s' % kv for kv in query.items()])
        r = self.daemon.delete('/v1/machines/pg/pages/%d?%s' % (pfn, q))
        if status == 200:
            return self.assertJson(r)
        return self.assertProblem(r, status, slug)

    def frame(self, pfn):
        return self.assertJson(self.daemon.get('/v1/machines/pg/frames/%d' % pfn))

    def zones(self):
        return self.assertJson(self.daemon.get('/v1/machines/pg/zones'))

    def journal(self):
        return self.daemon.journal('pg')

    def check_ok(self):
        self.assertEqual(self.assertJson(self.daemon.get('/v1/machines/pg/check')),
                         {'ok': True, 'violations': []})

    def test_kernel_page_table_is_not_freed(self):
        # the table pages of the kernel's page tables that are allocations, not memblock's:
        # the PTE page split_large_page() took for the direct map (init_IRQ(), after SLUB's
        # first slabs) and the vmalloc range's PTE pages; freeing one would hand out a page
        # that still maps memory
        pt = self.assertJson(self.daemon.get('/v1/machines/pg/page-tables/kernel?format=json'))
        tables = [int(e['phys'], 16) >> 12 for e in pt['entries'] if e['kind'] == 'table']
        pfns = [t for t in tables if self.frame(t)['state'] == 'allocated']
        self.assertGreaterEqual(len(pfns), 1, pfns)
        n = len(self.journal())
        details = []
        for pfn in pfns:
            f = self.frame(pfn)
            self.assertEqual((f['state'], f['refcount'], f['slab']), ('allocated', 1, None))
            p = self.free(pfn, status=409, slug='conflict')
            self.assertIn("the kernel's own", p['detail'])
            details.append(p['detail'])
            r = self.daemon.post('/v1/machines/pg/commands', {'op': 'put_page', 'pfn': pfn})
            self.assertProblem(r, 409, 'conflict')
            self.assertEqual(self.frame(pfn), f)
        self.assertTrue(any('page table of the direct map' in d for d in details), details)
        self.assertEqual(len(self.journal()), n)
        self.check_ok()

    def test_alloc_free_rest(self):
        before = pcp_and_free(self.zones())
        a = self.alloc('GFP_KERNEL|__GFP_ZERO', cpu=1)
        self.assertEqual(set(a), {'pfn', 'order', 'zone', 'migratetype', 'address', 'phys'})
        self.assertEqual(a['order'], 0)
        self.assertIn(a['zone'], ('DMA', 'Normal'))
        self.assertLess(a['pfn'], self.max_low_pfn)
        self.assertEqual(a['migratetype'], 'Unmovable')
        self.assertEqual(int(a['address'], 16), 0xc0000000 + (a['pfn'] << 12))
        self.assertEqual(int(a['phys'], 16), a['pfn'] << 12)
        self.assertEqual(pcp_and_free(self.zones()), before - 1)
        f = self.frame(a['pfn'])
        self.assertEqual((f['state'], f['refcount'], f['zone']), ('allocated', 1, a['zone']))
        self.assertEqual(f['block'], {'pfn': a['pfn'], 'order': 0})
        self.assertEqual(f['address'], a['address'])
        self.assertEqual(f['phys'], a['phys'])
        j = self.journal()
        self.assertEqual(j[-1]['command'], {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL|__GFP_ZERO',
                                            'cpu': 1})
        self.assertEqual(j[-1]['result'], a)

        r = self.free(a['pfn'], cpu=1)
        self.assertEqual(r, {'pfn': a['pfn'], 'order': 0, 'freed': True})
        f = self.frame(a['pfn'])
        # an order-0 page goes back to the freeing CPU's per-CPU list
        self.assertEqual((f['state'], f['pcp_cpu'], f['refcount']), ('pcp', 1, 0))
        self.assertEqual(pcp_and_free(self.zones()), before)
        j2 = self.journal()
        self.assertEqual(len(j2), len(j) + 1)
        self.assertEqual(j2[-1]['command'], {'op': 'free_pages', 'pfn': a['pfn'], 'order': 0,
                                             'cpu': 1})
        self.assertEqual(j2[-1]['seq'], j[-1]['seq'] + 1)
        self.check_ok()

    def test_highmem_and_compound(self):
        a = self.alloc('GFP_HIGHUSER_MOVABLE')
        self.assertEqual((a['zone'], a['migratetype'], a['address']), ('HighMem', 'Movable', None))
        self.assertGreaterEqual(a['pfn'], self.max_low_pfn)
        self.assertIsNone(self.frame(a['pfn'])['address'])
        c = self.alloc('GFP_KERNEL|__GFP_COMP', order=3)
        self.assertEqual(c['pfn'] % 8, 0)
        head = self.frame(c['pfn'])
        self.assertEqual(head['compound'], {'head': True, 'tail': False, 'head_pfn': c['pfn'],
                                            'order': 3})
        self.assertIn('head', head['flags']['names'])
        for i in range(1, 8):
            t = self.frame(c['pfn'] + i)
            self.assertEqual(t['state'], 'allocated_tail')
            self.assertEqual((t['compound']['tail'], t['compound']['head_pfn']),
                             (True, c['pfn']))
            self.assertEqual(t['block'], {'pfn': c['pfn'], 'order': 3})
        self.assertEqual(self.free(c['pfn'], 3)['freed'], True)
        self.assertEqual(self.free(a['pfn'])['freed'], True)
        self.check_ok()

    def test_commands_get_put(self):
        r = self.daemon.post('/v1/machines/pg/commands',
                             {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 1, 'cpu': 0})
        e = self.assertJson(r)
        self.assertEqual((e['op'], e['result']['order']), ('alloc_pages', 1))
        pfn = e['result']['pfn']
        r = self.daemon.post('/v1/machines/pg/commands', [
            {'op': 'get_page', 'pfn': pfn},
            {'op': 'put_page', 'pfn': pfn},
            {'op': 'free_pages', 'pfn': pfn, 'order': 1}])
        res = self.assertJson(r)['results']
        self.assertEqual([x['result'] for x in res],
                         [{'pfn': pfn, 'refcount': 2},
                          {'pfn': pfn, 'refcount': 1, 'freed': False},
                          {'pfn': pfn, 'order': 1, 'freed': True}])
        self.assertEqual([x['seq'] for x in res], [e['seq'] + 1, e['seq'] + 2, e['seq'] + 3])
        self.assertNotEqual(self.frame(pfn)['state'], 'allocated')
        p = self.assertProblem(self.daemon.post('/v1/machines/pg/commands',
                                                {'op': 'get_page', 'pfn': pfn}), 409, 'conflict')
        self.assertIn('free', p['detail'])
        self.check_ok()

    def test_frames_single_and_range(self):
        f = self.frame(1)
        self.assertEqual((f['state'], f['zone'], f['refcount']), ('reserved', 'DMA', 1))
        self.assertEqual(f['flags']['names'], ['reserved'])
        self.assertRegex(f['flags']['raw'], HEX)
        self.assertEqual(self.frame(0)['state'], 'absent')  # trimmed from e820 by the kernel

        r = self.assertJson(self.daemon.get('/v1/machines/pg/frames'))
        self.assertEqual((r['start'], r['count'], r['next'], r['max_pfn']),
                         (0, 64, 64, self.max_pfn))
        self.assertEqual([x['pfn'] for x in r['frames']], list(range(64)))
        self.assertEqual(r['frames'][1], f)
        # walking the listing with next covers each frame once
        seen, start = [], 100000
        for _ in range(3):
            r = self.assertJson(self.daemon.get('/v1/machines/pg/frames?start=%d&count=4096'
                                                % start))
            self.assertEqual(r['count'], 4096)
            seen += [x['pfn'] for x in r['frames']]
            start = r['next']
        self.assertEqual(seen, list(range(100000, 100000 + 3 * 4096)))
        # the last page is short and ends the listing
        r = self.assertJson(self.daemon.get('/v1/machines/pg/frames?count=100&start=%d'
                                            % (self.max_pfn - 10)))
        self.assertEqual((r['count'], r['next'], len(r['frames'])), (10, None, 10))
        self.assertEqual(r['frames'][-1]['pfn'], self.max_pfn - 1)
        # free memory shows as buddy heads and tails with the order and list they are on
        buddy = [x for x in self.assertJson(self.daemon.get(
            '/v1/machines/pg/frames?start=200000&count=4096'))['frames'] if x['state'] == 'buddy']
        self.assertTrue(buddy)
        for x in buddy:
            self.assertIsInstance(x['buddy_order'], int)
            self.assertIn(x['free_list'], ('Unmovable', 'Movable', 'Reclaimable'))
            self.assertEqual(x['page_type']['name'], 'buddy')
            self.assertEqual(x['block'], {'pfn': x['pfn'], 'order': x['buddy_order']})

    def test_frames_bad_queries(self):
        for q in ('count=4097', 'count=0', 'count=-1', 'count=x', 'start=%d' % self.max_pfn,
                  'start=1.5', 'start=', 'start', 'start=1&start=2', 'page=2', 'count=10%20'):
            with self.subTest(q=q):
                p = self.assertProblem(self.daemon.get('/v1/machines/pg/frames?' + q), 422,
                                       'invalid-argument')
                self.assertTrue(p['detail'])
        for pfn in (str(self.max_pfn), '4294967296', 'x', '-1', '0x10'):
            with self.subTest(pfn=pfn):
                self.assertProblem(self.daemon.get('/v1/machines/pg/frames/' + pfn), 422)
        self.assertProblem(self.daemon.get('/v1/machines/nope/frames/1'), 404, 'not-found')

    def test_unknown_gfp_name(self):
        z = self.zones()
        p = self.assertProblem(self.daemon.post('/v1/machines/pg/pages',
                                                {'gfp': 'GFP_KERNEL|__GFP_BOGUS'}),
                               422, 'invalid-argument')
        self.assertIn('__GFP_BOGUS', p['detail'])
        p = self.assertProblem(self.daemon.post('/v1/machines/pg/commands',
                                                {'op': 'alloc_pages', 'gfp': 'GFP_NOPE'}),
                               422, 'invalid-argument')
        self.assertIn('GFP_NOPE', p['detail'])
        for body in ({}, {'gfp': 5}, {'gfp': 'GFP_KERNEL', 'order': 11},
                     {'gfp': 'GFP_KERNEL', 'order': '1'}, {'gfp': 'GFP_KERNEL', 'cpu': 2},
                     {'gfp': 'GFP_KERNEL', 'pfn': 1}, []):
            with self.subTest(body=body):
                self.assertProblem(self.daemon.post('/v1/machines/pg/pages', body), 422)
        self.assertEqual(self.zones(), z)

    def test_bad_frees(self):
        a = self.alloc()
        b = self.alloc(order=1)
        c = self.alloc('GFP_KERNEL|__GFP_COMP', order=2)
        self.free(a['pfn'])
        zones, journal = self.zones(), len(self.journal())
        for pfn, order, status, slug, words in (
                (a['pfn'], 0, 409, 'conflict', 'double free'),
                (b['pfn'], 0, 422, 'invalid-argument', 'wrong order'),
                (b['pfn'], 2, 422, 'invalid-argument', 'wrong order'),
                (c['pfn'] + 1, 0, 422, 'invalid-argument', 'tail page'),
                (c['pfn'] + 3, 2, 422, 'invalid-argument', 'tail page'),
                (1, 0, 409, 'conflict', 'PG_reserved'),
                (0, 0, 422, 'invalid-argument', 'not RAM'),
                (self.max_pfn, 0, 422, 'invalid-argument', 'max_pfn'),
                (4000000000, 0, 422, 'invalid-argument', 'max_pfn')):
            with self.subTest(pfn=pfn, order=order):
                p = self.free(pfn, order, status, slug)
                self.assertIn(words, p['detail'])
                # refused: the machine is as it was, nothing was journaled
                self.assertEqual(self.zones(), zones)
                self.assertEqual(len(self.journal()), journal)
                self.check_ok()
        self.free(b['pfn'], 1)
        self.free(c['pfn'], 2)
        self.check_ok()

    def test_free_bad_queries(self):
        a = self.alloc()
        for q in ('order=x', 'order=', 'order', 'order=11', 'order=-1', 'order=0&order=0',
                  'cpu=2', 'cpu=x', 'bogus=1'):
            with self.subTest(q=q):
                r = self.daemon.delete('/v1/machines/pg/pages/%d?%s' % (a['pfn'], q))
                self.assertProblem(r, 422, 'invalid-argument')
        for pfn in ('x', '-1', '1.0', '99999999999'):
            with self.subTest(pfn=pfn):
                self.assertProblem(self.daemon.delete('/v1/machines/pg/pages/' + pfn), 422)
        self.assertEqual(self.frame(a['pfn'])['state'], 'allocated')
        self.free(a['pfn'])

    def test_wrong_methods(self):
        for method, path, allowed in (('GET', '/v1/machines/pg/pages', {'POST'}),
                                      ('PUT', '/v1/machines/pg/pages', {'POST'}),
                                      ('GET', '/v1/machines/pg/pages/5', {'DELETE'}),
                                      ('POST', '/v1/machines/pg/frames', {'GET'}),
                                      ('DELETE', '/v1/machines/pg/frames/5', {'GET'})):
            with self.subTest(method=method, path=path):
                r = self.daemon.request(method, path)
                self.assertProblem(r, 405, 'method-not-allowed')
                allow = {m.strip() for m in r.headers.get('Allow', '').split(',')} - {'HEAD'}
                self.assertEqual(allow, allowed)

    def test_batch_of_1000(self):
        before = pcp_and_free(self.zones())
        seq0 = len(self.journal())
        cmds = [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'cpu': i % 2} for i in range(1000)]
        res = self.assertJson(self.daemon.post('/v1/machines/pg/commands', cmds))['results']
        self.assertEqual(len(res), 1000)
        self.assertEqual([x['seq'] for x in res], list(range(seq0 + 1, seq0 + 1001)))
        pfns = [x['result']['pfn'] for x in res]
        self.assertEqual(len(set(pfns)), 1000)
        self.assertEqual(pcp_and_free(self.zones()), before - 1000)
        frees = [{'op': 'free_pages', 'pfn': p, 'cpu': i % 2} for i, p in enumerate(pfns)]
        res = self.assertJson(self.daemon.post('/v1/machines/pg/commands', frees))['results']
        self.assertTrue(all(x['result']['freed'] for x in res))
        self.assertEqual(res[-1]['seq'], seq0 + 2000)
        self.assertEqual(pcp_and_free(self.zones()), before)
        j = self.journal()
        self.assertEqual(len(j), seq0 + 2000)
        self.assertEqual(j[seq0]['command'], cmds[0])
        self.assertEqual(j[-1]['command'], frees[-1])
        self.check_ok()

    def test_batch_stops_at_first_failure(self):
        seq0 = len(self.journal())
        p = self.assertProblem(self.daemon.post('/v1/machines/pg/commands', [
            {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'},
            {'op': 'free_pages', 'pfn': 1},
            {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}]), 409, 'conflict')
        self.assertEqual(p['index'], 1)
        self.assertEqual(len(p['results']), 1)
        pfn = p['results'][0]['result']['pfn']
        self.assertEqual(self.frame(pfn)['state'], 'allocated')
        self.assertEqual(len(self.journal()), seq0 + 1)
        self.free(pfn)

    def test_guest_out_of_memory(self):
        # DMA holds ~4000 pages: a batch of 5000 GFP_DMA allocations runs out first
        seq0 = len(self.journal())
        cmds = [{'op': 'alloc_pages', 'gfp': 'GFP_DMA|__GFP_NOWARN'}] * 5000
        p = self.assertProblem(self.daemon.post('/v1/machines/pg/commands', cmds), 409,
                               'guest-out-of-memory')
        n = p['index']
        self.assertGreater(n, 3000)
        self.assertEqual(len(p['results']), n)
        self.assertTrue(all(x['result']['zone'] == 'DMA' for x in p['results']))
        # the failed allocation moved the allocator's counters: it is journaled too, with its
        # error as the result, and the problem gives its seq
        j = self.journal()
        self.assertEqual(len(j), seq0 + n + 1)
        self.assertEqual(p['seq'], seq0 + n + 1)
        self.assertEqual(j[-1]['seq'], p['seq'])
        self.assertEqual(j[-1]['result']['error']['type'], PROBLEM_PREFIX + 'guest-out-of-memory')
        self.assertEqual(j[-1]['result']['error']['detail'], p['detail'])
        p2 = self.assertProblem(self.daemon.post('/v1/machines/pg/pages', {'gfp': 'GFP_DMA'}),
                                409, 'guest-out-of-memory')
        self.assertEqual(p2['seq'], seq0 + n + 2)
        self.assertEqual(len(self.journal()), seq0 + n + 2)
        self.assertGreaterEqual(self.zones()['totals']['alloc_events']['alloc_failures'], 2)
        self.assertIn('page allocation failure', self.daemon.get('/v1/machines/pg/dmesg').text)
        frees = [{'op': 'free_pages', 'pfn': x['result']['pfn']} for x in p['results']]
        self.assertJson(self.daemon.post('/v1/machines/pg/commands', frees))
        self.check_ok()


class MaxBodyTest(Base):
    """--max-body sets the cap (with --threads and --log-level given too)."""
    daemon_args = ('--max-body', '1024', '--threads', '1', '--log-level', 'debug')

    def test_small_cap(self):
        body = json.dumps({'mem': '1G', 'cmdline': 'x' * 2000}).encode()
        self.assertProblem(self.daemon.raw_request('POST', '/v1/machines', body), 413)
        self.assertEqual(self.daemon.get('/v1/health').status, 200)
        r = self.daemon.post('/v1/machines', {'name': 'small', 'mem': '64M'})
        self.assertEqual(r.status, 201, r)


class RestartTest(unittest.TestCase):
    """Machines and their sysctls come back after SIGTERM and a restart on the same database."""

    def test_restart(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        r = d.post('/v1/machines', {'name': 'keep', 'mem': '2G', 'pae': True, 'cpus': 2,
                                    'cmdline': 'vmalloc=192M'})
        self.assertEqual(r.status, 201, r)
        r = d.post('/v1/machines', {'name': 'gone', 'mem': '128M'})
        self.assertEqual(r.status, 201, r)
        r = d.put('/v1/machines/keep/sysctl/vm/min_free_kbytes', {'value': 8192})
        self.assertEqual(r.status, 200, r)
        r = d.post('/v1/machines/keep/commands',
                   [{'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 200},
                    {'op': 'set_sysctl', 'name': 'lowmem_reserve_ratio', 'value': [128, 16, 0, 0]}])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(d.delete('/v1/machines/gone').status, 204)
        before = d.get('/v1/machines/keep').json()
        zones = d.get('/v1/machines/keep/zones').json()
        zoneinfo = d.get('/v1/machines/keep/proc/zoneinfo').text
        code = d.stop()
        self.assertEqual(code, 0, 'mm32d exited %s on SIGTERM\n%s' % (code, d.log()))

        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            ids = [x['id'] for x in d2.get('/v1/machines').json()['machines']]
            self.assertIn('keep', ids)
            self.assertNotIn('gone', ids)
            after = d2.get('/v1/machines/keep')
            self.assertEqual(after.status, 200, after)
            self.assertEqual(after.json()['config'], before['config'])
            self.assertEqual(after.json()['layout'], before['layout'])
            for name, value in (('min_free_kbytes', 8192), ('watermark_scale_factor', 200),
                                ('lowmem_reserve_ratio', [128, 16, 0, 0])):
                s = d2.get('/v1/machines/keep/sysctl/vm/' + name).json()
                self.assertEqual(s['value'], value, name)
            z2 = d2.get('/v1/machines/keep/zones').json()
            self.assertEqual([x['watermarks'] for x in z2['zones']],
                             [x['watermarks'] for x in zones['zones']])
            self.assertEqual([x['protection'] for x in z2['zones']],
                             [x['protection'] for x in zones['zones']])
            self.assertEqual(zoneinfo_field(d2.get('/v1/machines/keep/proc/zoneinfo').text,
                                            'min'), zoneinfo_field(zoneinfo, 'min'))
            # a machine created after the restart does not reuse a name
            r = d2.post('/v1/machines', {'name': 'keep', 'mem': '1G'})
            self.assertEqual(r.status, 409, r)
        finally:
            code = d2.stop()
            sys.stderr.write('--- mm32d log (restart) ---\n%s\n%s\n' % (d.log(), d2.log()))
        self.assertEqual(code, 0)


class RestartPagesTest(unittest.TestCase):
    """Allocations come back after a restart: the journal replays to the same frames."""

    def snapshot(self, d, pfns):
        m = '/v1/machines/pa'
        zones = d.get(m + '/zones').json()
        return {'zones': zones,
                'frames': [d.get('%s/frames/%d' % (m, p)).json() for p in sorted(pfns)],
                'range': d.get(m + '/frames?start=%d&count=4096' % min(pfns)).json(),
                'buddyinfo': d.get(m + '/proc/buddyinfo').text,
                'pagetypeinfo': d.get(m + '/proc/pagetypeinfo').text,
                'vmstat': d.get(m + '/proc/vmstat').text,
                'journal': d.journal(m.rsplit('/', 1)[1])}

    def test_restart_replays_allocations(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        m = '/v1/machines/pa'
        self.assertEqual(d.post('/v1/machines', {'name': 'pa', 'mem': '1G', 'cpus': 2}).status,
                         201)
        pfns = []
        for body in ({'gfp': 'GFP_KERNEL'}, {'gfp': 'GFP_HIGHUSER_MOVABLE', 'cpu': 1},
                     {'gfp': 'GFP_KERNEL|__GFP_COMP', 'order': 3},
                     {'gfp': 'GFP_ATOMIC', 'order': 2, 'cpu': 1},
                     {'gfp': 'GFP_DMA|__GFP_ZERO'}):
            r = d.post(m + '/pages', body)
            self.assertEqual(r.status, 201, r)
            pfns.append(r.json()['pfn'])
        cmds = [{'op': 'alloc_pages', 'gfp': ('GFP_KERNEL', 'GFP_HIGHUSER')[i % 2],
                 'order': i % 4, 'cpu': i % 2} for i in range(500)]
        r = d.post(m + '/commands', cmds)
        self.assertEqual(r.status, 200, r)
        batch = [x['result']['pfn'] for x in r.json()['results']]
        pfns += batch
        # free every other one of the batch, in a batch, and one more over REST
        frees = [{'op': 'free_pages', 'pfn': p, 'order': i % 4, 'cpu': (i + 1) % 2}
                 for i, p in enumerate(batch) if i % 2 == 0]
        self.assertEqual(d.post(m + '/commands', frees).status, 200)
        self.assertEqual(d.delete('%s/pages/%d' % (m, pfns[0])).status, 200)
        self.assertEqual(d.post(m + '/commands', {'op': 'get_page', 'pfn': pfns[1]}).status, 200)
        before = self.snapshot(d, pfns)
        self.assertEqual(len(before['journal']), 5 + 500 + 250 + 1 + 1)
        code = d.stop()
        self.assertEqual(code, 0, d.log())

        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            after = self.snapshot(d2, pfns)
            for k in before:
                self.assertEqual(after[k], before[k], k)
            with open(d2.log_path, encoding='utf-8', errors='replace') as f:
                self.assertIn('pa restored: 757 command(s) replayed, 0 failed, 0 mismatched',
                              f.read())
            # the allocations are real: they free, once
            r = d2.delete('%s/pages/%d?order=%d' % (m, batch[1], 1))
            self.assertEqual((r.status, r.json()['freed']), (200, True), r)
            self.assertEqual(d2.delete('%s/pages/%d?order=1' % (m, batch[1])).status, 409)
            self.assertEqual(d2.get(m + '/check').status, 200)
            # the journal goes on from where it was
            r = d2.post(m + '/commands', {'op': 'put_page', 'pfn': pfns[1]})
            self.assertEqual(r.json()['seq'], 759, r)
        finally:
            code = d2.stop()
            sys.stderr.write('--- mm32d log (restart pages) ---\n%s\n%s\n' % (d.log(), d2.log()))
        self.assertEqual(code, 0)



PHASES = ['early_page_tables', 'paging_enabled', 'memblock', 'final_page_tables', 'buddy']


class PagingBase(Base):
    """Helpers for the paging routes."""

    def m(self, mid, path=''):
        return '/v1/machines/%s%s' % (mid, path)

    def translate(self, mid, va, cpu=0, access='read'):
        return self.assertJson(self.daemon.get(self.m(
            mid, '/translate?va=%s&cpu=%d&access=%s' % (va, cpu, access))))

    def read(self, mid, addr, n, space, cpu=0):
        r = self.daemon.get(self.m(mid, '/memory?addr=%s&len=%d&space=%s&cpu=%d'
                                   % (addr, n, space, cpu)))
        return self.assertJson(r)['data']

    def write(self, mid, addr, data, space, cpu=0):
        r = self.daemon.put(self.m(mid, '/memory'),
                            {'addr': addr, 'data': data, 'space': space, 'cpu': cpu})
        return self.assertJson(r)

    def tlb(self, mid, cpu=0):
        return self.assertJson(self.daemon.get(self.m(mid, '/cpus/%d/tlb' % cpu)))

    def journal(self, mid):
        return self.assertJson(self.daemon.get(self.m(mid, '/journal')))['entries']

    def page(self, mid, order=1):
        """A fresh zeroed lowmem allocation: (kernel address, physical address) as ints."""
        r = self.daemon.post(self.m(mid, '/pages'),
                             {'gfp': 'GFP_KERNEL|__GFP_ZERO', 'order': order})
        a = self.assertJson(r, 201)
        return int(a['address'], 16), int(a['phys'], 16)


class BootPhasesTest(PagingBase):
    """A machine stopped after each boot phase serves what exists, refuses what does not yet
    with 409 boot-phase, and booted on to the end is byte for byte the machine booted at once."""

    TEXT = ['/proc/zoneinfo', '/proc/buddyinfo', '/proc/pagetypeinfo', '/proc/meminfo',
            '/proc/vmstat', '/dmesg', '/page-tables/kernel']

    def boot_in_one_go(self, name, pae):
        self.create({'name': name, 'mem': '2G', 'pae': pae, 'cpus': 2})
        return {p: self.daemon.get(self.m(name, p)).body for p in self.TEXT}

    def test_stop_after_each_phase_then_continue(self):
        for pae in (False, True):
            ref = self.boot_in_one_go('ref-%s' % pae, pae)
            for i, phase in enumerate(PHASES):
                with self.subTest(pae=pae, phase=phase):
                    mid = 'stop-%s-%s' % (pae, phase)
                    m = self.create({'name': mid, 'mem': '2G', 'pae': pae, 'cpus': 2,
                                     'boot': {'stop_after': phase}})
                    self.assertEqual(m['phase'], phase)
                    self.assertEqual(m['config']['boot'], {'stop_after': phase})
                    self.assertEqual(len(m['zones']), 0 if phase != 'buddy' else 4)
                    if phase != 'buddy':
                        r = self.daemon.post(self.m(mid, '/boot/continue'),
                                             {'until': 'buddy'})
                        self.assertEqual(self.assertJson(r), {'phase': 'buddy'})
                    got = {p: self.daemon.get(self.m(mid, p)).body for p in self.TEXT}
                    for p in self.TEXT:
                        self.assertEqual(got[p], ref[p], p)
                    self.assertEqual(self.assertJson(self.daemon.get(self.m(mid)))['phase'],
                                     'buddy')
                    self.assertJson(self.daemon.get(self.m(mid, '/check')))
                    self.assertEqual(self.daemon.delete(self.m(mid)).status, 204)

    def test_one_phase_at_a_time(self):
        self.create({'name': 'steps', 'mem': '1G', 'boot': {'stop_after': PHASES[0]}})
        for phase in PHASES[1:]:
            r = self.daemon.post(self.m('steps', '/commands'), {'op': 'boot_continue'})
            self.assertEqual(self.assertJson(r)['result'], {'phase': phase})
        self.assertEqual([e['result']['phase'] for e in self.journal('steps')], PHASES[1:])
        p = self.assertProblem(self.daemon.post(self.m('steps', '/boot/continue')), 422,
                               'invalid-argument')
        self.assertIn('finished', p['detail'])
        self.assertEqual(len(self.journal('steps')), 4)

    def test_routes_before_buddy(self):
        for phase in PHASES[:-1]:
            with self.subTest(phase=phase):
                mid = 'early-' + phase
                self.create({'name': mid, 'mem': '512M', 'cpus': 2,
                             'boot': {'stop_after': phase}})
                for method, path, body in (
                        ('GET', '/proc/zoneinfo', None), ('GET', '/proc/vmstat', None),
                        ('GET', '/zones', None), ('GET', '/sysctl/vm/min_free_kbytes', None),
                        ('PUT', '/sysctl/vm/min_free_kbytes', {'value': 8192}),
                        ('POST', '/pages', {'gfp': 'GFP_KERNEL'}),
                        ('DELETE', '/pages/300', None), ('GET', '/frames', None),
                        ('GET', '/frames/300', None),
                        ('POST', '/commands', {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})):
                    p = self.assertProblem(self.daemon.request(method, self.m(mid, path), body),
                                           409, 'boot-phase')
                    self.assertIn("'%s'" % phase, p['detail'])
                    self.assertIn("'buddy'", p['detail'])
                for path in ('', '/layout', '/e820', '/memblock', '/dmesg', '/check',
                             '/journal', '/cpus', '/cpus/1/tlb', '/page-tables/kernel',
                             '/page-tables/kernel?format=json', '/translate?va=0xc0100000',
                             '/memory?addr=0x100000&len=16&space=phys'):
                    r = self.daemon.get(self.m(mid, path))
                    self.assertEqual(r.status, 200, (path, r))
                cpu0 = self.tlb(mid)
                self.assertEqual(cpu0['cr0']['pg'], phase != 'early_page_tables')
                self.assertEqual(len(self.journal(mid)), 0)

    def test_bad_boot_input(self):
        for boot in ({'stop_after': 'zones'}, {'stop_after': 3}, {'stop': 'buddy'}, 'buddy',
                     {'stop_after': 'Buddy'}):
            with self.subTest(boot=boot):
                self.create({'mem': '1G', 'boot': boot}, status=422)
        for tlb in (0, 4097, -1, '64', 1.5):
            with self.subTest(tlb_entries=tlb):
                self.create({'mem': '1G', 'tlb_entries': tlb}, status=422)
        m = self.create({'name': 'bb', 'mem': '1G', 'tlb_entries': 1,
                         'boot': {'stop_after': 'memblock'}})
        self.assertEqual(m['config']['tlb_entries'], 1)
        self.assertEqual(self.tlb('bb')['capacity'], {'small': 4, 'large': 4})
        for body in ({'until': 'memblock'}, {'until': 'paging_enabled'}, {'until': 'x'},
                     {'until': 4}, {'to': 'buddy'}, [], '"buddy"'):
            with self.subTest(body=body):
                r = self.daemon.post(self.m('bb', '/boot/continue'), body)
                self.assertProblem(r, 422, 'invalid-argument')
        self.assertEqual(self.assertJson(self.daemon.get(self.m('bb')))['phase'], 'memblock')
        self.assertEqual(self.journal('bb'), [])


class PagingTest(PagingBase):
    """Translations, memory through kernel and physical addresses, the TLBs, the dump."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for body in ({'name': 'k', 'mem': '1G', 'cpus': 2},
                     {'name': 'kp', 'mem': '1G', 'cpus': 2, 'pae': True}):
            r = cls.daemon.post('/v1/machines', body)
            if r.status != 201:
                raise AssertionError('cannot create the test machine: %r' % r)

    def test_translate_direct_map_and_text(self):
        for mid, pae in (('k', False), ('kp', True)):
            with self.subTest(mid=mid):
                t = self.translate(mid, '0xc0000000')
                self.assertTrue(t['paging'] and t['ok'])
                self.assertEqual(t['phys'], '0x0')
                self.assertIsNone(t['fault'])
                self.assertEqual([x['level'] for x in t['levels']],
                                 ['pgd', 'pmd', 'pte'] if pae else ['pgd', 'pte'])
                for x in t['levels']:
                    self.assertRegex(x['raw'], '^0x[0-9a-f]{%d}$' % (16 if pae else 8))
                    self.assertTrue(x['flags']['present'])
                # kernel text: read-only, a large page, a write faults as the kernel says
                t = self.translate(mid, '0xc1000000', access='write')
                self.assertFalse(t['ok'])
                self.assertEqual(t['page_size'], (2 if pae else 4) << 20)
                self.assertEqual(t['fault']['error_code'], 3)
                self.assertIn('unable to handle page fault for address: c1000000',
                              t['fault']['oops'])
                self.assertIn('permissions violation', t['fault']['oops'])
                self.assertFalse(t['effective']['rw'])
                # the user half is empty: not present
                t = self.translate(mid, '0x08048000')
                self.assertFalse(t['ok'])
                self.assertIsNone(t['phys'])
                self.assertEqual(t['fault']['error_code'], 0)
                self.assertIn('not-present page', t['fault']['oops'])
                # NX on PAE only
                t = self.translate(mid, '0xc2000000', access='exec')
                self.assertEqual(t['ok'], not pae)

    def test_translate_is_pure(self):
        before = self.tlb('k', 1)
        t1 = self.translate('k', '0xc0300000', cpu=1, access='write')
        t2 = self.translate('k', '0xc0300000', cpu=1, access='write')
        self.assertEqual(t1, t2)
        self.assertEqual(self.tlb('k', 1), before)

    def test_kernel_and_phys_agree(self):
        for mid in ('k', 'kp'):
            with self.subTest(mid=mid):
                va, pa = self.page(mid)
                # through the kernel address, back through the physical one (across the
                # page boundary, unaligned)
                self.write(mid, hex(va + 0xffd), '0011223344556677', 'kernel', cpu=1)
                self.assertEqual(self.read(mid, hex(pa + 0xffc), 10, 'phys'),
                                 '00001122334455667700')
                # and the other way round, the address in decimal
                self.write(mid, str(pa + 0x1800), 'feedface', 'phys')
                self.assertEqual(self.read(mid, hex(va + 0x1800), 4, 'kernel'), 'feedface')
                t = self.translate(mid, hex(va + 0x1800))
                self.assertEqual(int(t['phys'], 16), pa + 0x1800)

    def test_phys_write_into_the_kernel(self):
        # the page directory, the kernel's page tables and its image are the kernel's own: a
        # physical write there is refused (409) and writes nothing, unless forced, which
        # writes it and taints the machine (it then refuses every change)
        for body in ({'name': 'kw', 'mem': '256M'}, {'name': 'kwp', 'mem': '256M', 'pae': True}):
            mid = body['name']
            with self.subTest(mid=mid):
                self.assertEqual(self.daemon.post('/v1/machines', body).status, 201)
                self.addCleanup(self.daemon.delete, self.m(mid))
                pgd = int(self.assertJson(self.daemon.get(self.m(mid, '/cpus/0/tlb')))['cr3'], 16)
                before = self.read(mid, hex(pgd + 0xc00), 8, 'phys')
                n = len(self.assertJson(self.daemon.get(self.m(mid, '/journal')))['entries'])
                r = self.daemon.put(self.m(mid, '/memory'),
                                    {'addr': hex(pgd + 0xc00), 'data': '00' * 8, 'space': 'phys'})
                p = self.assertProblem(r, 409, 'conflict')
                self.assertIn("the kernel's own", p['detail'])
                self.assertIn('force', p['detail'])
                self.assertEqual(self.read(mid, hex(pgd + 0xc00), 8, 'phys'), before)
                self.assertEqual(
                    len(self.assertJson(self.daemon.get(self.m(mid, '/journal')))['entries']), n)
                self.assertFalse(self.assertJson(self.daemon.get(self.m(mid)))['tainted'])
                # a frame nobody owns: written as before
                self.write(mid, '0x8000000', 'feedface', 'phys')
                # forced: written, journaled, and the machine is tainted
                r = self.daemon.put(self.m(mid, '/memory'),
                                    {'addr': hex(pgd + 0xc00), 'data': '00' * 8, 'space': 'phys',
                                     'force': True})
                self.assertJson(r)
                self.assertEqual(self.read(mid, hex(pgd + 0xc00), 8, 'phys'), '00' * 8)
                mach = self.assertJson(self.daemon.get(self.m(mid)))
                self.assertTrue(mach['tainted'])
                self.assertIn('forced physical write', mach['taint'])
                r = self.daemon.post(self.m(mid, '/pages'), {'gfp': 'GFP_KERNEL'})
                self.assertProblem(r, 500, 'invariant-violated')

    def test_tlb_miss_then_hit(self):
        va, _ = self.page('k')
        self.assertEqual(self.daemon.post(self.m('k', '/cpus/0/tlb/flush')).status, 200)
        c0 = self.tlb('k')['counters']
        self.assertFalse(self.translate('k', hex(va))['tlb_hit'])
        self.read('k', hex(va), 4, 'kernel')
        c1 = self.tlb('k')['counters']
        self.assertEqual((c1['misses'] - c0['misses'], c1['hits'] - c0['hits']), (1, 0))
        self.assertTrue(self.translate('k', hex(va))['tlb_hit'])
        self.read('k', hex(va + 16), 4, 'kernel')
        c2 = self.tlb('k')['counters']
        self.assertEqual((c2['misses'] - c1['misses'], c2['hits'] - c1['hits']), (0, 1))
        # invlpg drops it: the next read misses again
        r = self.daemon.post(self.m('k', '/cpus/0/tlb/invlpg?va=%s' % hex(va + 5)))
        self.assertEqual(self.assertJson(r), {'cpu': 0, 'va': hex(va + 5)})
        self.assertFalse(self.translate('k', hex(va))['tlb_hit'])
        self.read('k', hex(va), 4, 'kernel')
        c3 = self.tlb('k')['counters']
        self.assertEqual((c3['misses'] - c2['misses'], c3['invlpgs'] - c2['invlpgs']), (1, 1))
        # CPU 1 has its own TLB
        self.assertEqual(self.daemon.post(self.m('k', '/cpus/1/tlb/flush')).status, 200)
        self.assertTrue(self.translate('k', hex(va))['tlb_hit'])
        self.assertFalse(self.translate('k', hex(va), cpu=1)['tlb_hit'])

    def test_keep_global_686_vs_pae(self):
        # the direct map is global on 686; on 686-pae (PTI) it is not
        for mid, survives in (('k', True), ('kp', False)):
            with self.subTest(mid=mid):
                va, _ = self.page(mid)
                self.read(mid, hex(va), 4, 'kernel')
                entry = [e for e in self.tlb(mid)['entries']
                         if int(e['va'], 16) <= va < int(e['va'], 16) + e['page_size']]
                self.assertEqual(len(entry), 1)
                self.assertEqual(entry[0]['global'], survives)
                r = self.daemon.post(self.m(mid, '/commands'),
                                     {'op': 'flush_tlb', 'keep_global': True})
                self.assertEqual(self.assertJson(r)['result'], {'cpu': 0, 'keep_global': True})
                self.assertEqual(self.translate(mid, hex(va))['tlb_hit'], survives)
                self.daemon.post(self.m(mid, '/cpus/0/tlb/flush?keep_global=false'))
                self.assertFalse(self.translate(mid, hex(va))['tlb_hit'])
                self.assertEqual(self.tlb(mid)['entries'], [])

    def test_write_to_kernel_text_faults_and_changes_nothing(self):
        for mid in ('k', 'kp'):
            with self.subTest(mid=mid):
                t0 = self.translate(mid, '0xc1000000')
                tlb0 = self.tlb(mid)
                text0 = self.read(mid, '0x1000000', 16, 'phys')
                j0 = len(self.journal(mid))
                r = self.daemon.put(self.m(mid, '/memory'),
                                    {'addr': '0xc1000000', 'data': '90' * 16, 'space': 'kernel'})
                p = self.assertProblem(r, 422, 'page-fault')
                self.assertIn('BUG: unable to handle page fault for address: c1000000',
                              p['detail'])
                self.assertIn('#PF: supervisor write access in kernel mode', p['detail'])
                self.assertEqual(p['fault'], {'address': '0xc1000000', 'error_code': 3})
                self.assertEqual(self.translate(mid, '0xc1000000'), t0)  # same A/D bits
                self.assertEqual(self.tlb(mid), tlb0)
                self.assertEqual(self.read(mid, '0x1000000', 16, 'phys'), text0)
                self.assertEqual(len(self.journal(mid)), j0)
                self.assertEqual(self.assertJson(self.daemon.get(self.m(mid, '/check'))),
                                 {'ok': True, 'violations': []})

    def test_bad_memory_input(self):
        j0 = len(self.journal('k'))
        tlb0 = self.tlb('k')
        for q in ('addr=0xc0100000&len=16', 'addr=0xc0100000&space=kernel',
                  'len=16&space=kernel', 'addr=0xc0100000&len=0&space=kernel',
                  'addr=0xc0100000&len=65537&space=kernel', 'addr=0xc0100000&len=-1&space=phys',
                  'addr=0xc0100000&len=16&space=user', 'addr=0xc0100000&len=16&space=',
                  'addr=c0100000&len=16&space=kernel', 'addr=0x&len=16&space=kernel',
                  'addr=-4096&len=16&space=phys', 'addr=0x100000000&len=16&space=kernel',
                  'addr=0xfffffff0&len=32&space=kernel', 'addr=0x40000000&len=16&space=phys',
                  'addr=0xffffffffffffffff&len=16&space=phys',
                  'addr=0xc0100000&len=16&space=kernel&cpu=2',
                  'addr=0xc0100000&len=16&space=kernel&cpu=x',
                  'addr=0xc0100000&len=16&space=kernel&bogus=1',
                  'addr=0x1000&len=16&space=kernel'):
            with self.subTest(q=q):
                self.assertProblem(self.daemon.get(self.m('k', '/memory?' + q)), 422)
        for body in ({'addr': '0xc0100000', 'data': '0', 'space': 'kernel'},
                     {'addr': '0xc0100000', 'data': 'zz', 'space': 'kernel'},
                     {'addr': '0xc0100000', 'data': '', 'space': 'kernel'},
                     {'addr': '0xc0100000', 'data': '00' * 65537, 'space': 'phys'},
                     {'addr': '0xc0100000', 'data': '00', 'space': 'virtual'},
                     {'addr': '0xc0100000', 'data': '00'},
                     {'addr': '0x100000000', 'data': '00', 'space': 'kernel'},
                     {'addr': 0xc0100000, 'data': '00', 'space': 'kernel', 'cpu': 2},
                     {'addr': '0xc0100000', 'data': '00', 'space': 'kernel', 'len': 1},
                     {'addr': '0xc0100000', 'data': 0, 'space': 'kernel'}, []):
            with self.subTest(body=body):
                self.assertProblem(self.daemon.put(self.m('k', '/memory'), body), 422)
        for path in ('/translate', '/translate?va=0x100000000', '/translate?va=x',
                     '/translate?va=0x1&cpu=2', '/translate?va=0x1&space=phys',
                     '/translate?va=0x1&access=run', '/cpus/2/tlb', '/cpus/one/tlb',
                     '/page-tables/kernel?format=pdf'):
            with self.subTest(path=path):
                self.assertProblem(self.daemon.get(self.m('k', path)), 422, 'invalid-argument')
        for path in ('/cpus/0/tlb/invlpg', '/cpus/0/tlb/invlpg?va=0x100000000',
                     '/cpus/2/tlb/flush', '/cpus/0/tlb/flush?keep_global=maybe'):
            with self.subTest(path=path):
                self.assertProblem(self.daemon.post(self.m('k', path)), 422, 'invalid-argument')
        self.assertProblem(self.daemon.get('/v1/machines/nope/translate?va=0x1'), 404)
        self.assertEqual(len(self.journal('k')), j0)
        self.assertEqual(self.tlb('k'), tlb0)

    def test_memory_cap(self):
        va, pa = self.page('k', order=4)  # 64 KiB
        data = bytes(range(256)).hex() * 256
        self.write('k', hex(va), data, 'kernel')
        self.assertEqual(self.read('k', hex(pa), 65536, 'phys'), data)
        self.assertEqual(self.read('k', hex(va), 65536, 'kernel'), data)

    def test_journal_of_memory_commands(self):
        va, pa = self.page('k')
        j0 = len(self.journal('k'))
        self.read('k', hex(pa), 4, 'phys')  # changes nothing: not journaled
        self.assertEqual(len(self.journal('k')), j0)
        self.read('k', hex(va), 4, 'kernel')  # fills the TLB, sets A bits: journaled
        j = self.journal('k')
        self.assertEqual(len(j), j0 + 1)
        self.assertEqual(j[-1]['command'], {'op': 'memory_read', 'addr': hex(va), 'len': 4,
                                            'space': 'kernel', 'cpu': 0})
        self.assertEqual(j[-1]['result']['data'], '00000000')

    def test_page_tables_dump(self):
        for mid, pae in (('k', False), ('kp', True)):
            with self.subTest(mid=mid):
                r = self.daemon.get(self.m(mid, '/page-tables/kernel'))
                self.assertEqual((r.status, r.content_type), (200, 'text/plain'))
                self.assertTrue(r.text.startswith('# Kernel half of swapper_pg_dir'), r.text[:80])
                self.assertIn('## Part 2: merged leaf mappings', r.text)
                j = self.assertJson(self.daemon.get(self.m(mid, '/page-tables/kernel?format=json')))
                self.assertEqual(j['pae'], pae)
                self.assertEqual(j, self.assertJson(self.daemon.get(
                    self.m(mid, '/page-tables/kernel'), headers={'Accept': 'application/json'})))
                self.assertEqual(j['ranges'][0]['va_start'], '0xc0000000')
                self.assertTrue(any(e['kind'] == 'large' for e in j['entries']))
                # the kernel text is read-only, the direct map above it read-write
                text = [x for x in j['ranges'] if x['mapped']
                        and int(x['va_start'], 16) <= 0xc1000000 < int(x['va_end'], 16)]
                self.assertEqual(len(text), 1)
                self.assertFalse(text[0]['flags']['rw'])
                r = self.daemon.get(self.m(mid, '/page-tables/kernel'),
                                    headers={'Accept': 'text/plain, application/json'})
                self.assertEqual(r.content_type, 'text/plain')

    def test_cpus(self):
        cpus = self.assertJson(self.daemon.get(self.m('kp', '/cpus')))['cpus']
        self.assertEqual([c['cpu'] for c in cpus], [0, 1])
        for c in cpus:
            self.assertEqual(c['cr0'], {'pg': True, 'wp': True})
            self.assertEqual(c['cr4'], {'pse': True, 'pae': True, 'pge': True})
            self.assertEqual(c['efer'], {'nxe': True})
            self.assertRegex(c['cr3'], HEX)
            self.assertEqual(c['capacity'], {'small': 64, 'large': 8})


class RestartPagingTest(PagingBase):
    """boot_continue, memory_write, memory reads, invlpg and flush_tlb come back after a
    restart: the machine is re-created stopped where its config says, and the journal runs."""
    daemon = None

    @classmethod
    def setUpClass(cls):  # no shared daemon: the test starts its own two
        pass

    def snapshot(self, d, va, pa):
        m = '/v1/machines/rp'
        get = lambda p: d.get(m + p).json()  # noqa: E731
        return {'machine': get(''), 'cpus': get('/cpus'), 'tlb0': get('/cpus/0/tlb'),
                'tlb1': get('/cpus/1/tlb'),
                'translate': [get('/translate?va=%s&cpu=%d' % (hex(va + o), c))
                              for o in (0, 0x1000, 0x400000) for c in (0, 1)],
                'phys': get('/memory?addr=%s&len=8192&space=phys' % hex(pa)),
                'dump': d.get(m + '/page-tables/kernel').text,
                'zoneinfo': d.get(m + '/proc/zoneinfo').text,
                'dmesg': d.get(m + '/dmesg').text,
                'journal': get('/journal')}

    def test_restart_replays_paging(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        m = '/v1/machines/rp'
        self.assertEqual(d.post('/v1/machines', {
            'name': 'rp', 'mem': '1G', 'cpus': 2, 'tlb_entries': 32,
            'boot': {'stop_after': 'paging_enabled'}}).status, 201)
        self.assertEqual(d.post(m + '/memory', None).status, 405)
        r = d.put(m + '/memory', {'addr': '0xc0100000', 'data': 'abcd', 'space': 'kernel'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(d.post(m + '/boot/continue', {'until': 'final_page_tables'}).status,
                         200)
        self.assertEqual(d.post(m + '/commands', {'op': 'boot_continue'}).status, 200)
        r = d.post(m + '/pages', {'gfp': 'GFP_KERNEL|__GFP_ZERO', 'order': 1})
        self.assertEqual(r.status, 201, r)
        va, pa = int(r.json()['address'], 16), int(r.json()['phys'], 16)
        for body in ({'addr': hex(va + 10), 'data': 'c0ffee', 'space': 'kernel', 'cpu': 1},
                     {'addr': hex(pa + 0x1000), 'data': '0badf00d', 'space': 'phys'}):
            self.assertEqual(d.put(m + '/memory', body).status, 200)
        for q in ('addr=%s&len=4&space=kernel' % hex(va + 0x1000),
                  'addr=%s&len=4&space=kernel&cpu=1' % hex(va + 0x400000),
                  'addr=%s&len=4&space=kernel' % hex(va + 0x400000)):
            self.assertEqual(d.get(m + '/memory?' + q).status, 200)
        self.assertEqual(d.post(m + '/cpus/1/tlb/invlpg?va=%s' % hex(va)).status, 200)
        self.assertEqual(d.post(m + '/cpus/0/tlb/flush?keep_global=true').status, 200)
        r = d.post(m + '/commands', [{'op': 'memory_read', 'addr': hex(va), 'len': 8,
                                      'space': 'kernel'},
                                     {'op': 'invlpg', 'va': hex(va + 0x400000), 'cpu': 0},
                                     {'op': 'flush_tlb', 'cpu': 1}])
        self.assertEqual(r.status, 200, r)
        # a failed allocation, journaled with its error, is replayed too
        for _ in range(64):
            if d.post(m + '/pages', {'gfp': 'GFP_DMA|__GFP_NOWARN', 'order': 10}).status == 409:
                break
        before = self.snapshot(d, va, pa)
        self.assertEqual(before['machine']['phase'], 'buddy')
        self.assertTrue(before['phys']['data'].startswith('00000000000000000000c0ffee'))
        self.assertNotEqual(before['tlb0']['counters'], before['tlb1']['counters'])
        code = d.stop()
        self.assertEqual(code, 0, d.log())

        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            after = self.snapshot(d2, va, pa)
            for k in before:
                self.assertEqual(after[k], before[k], k)
            n = len(before['journal']['entries'])
            with open(d2.log_path, encoding='utf-8', errors='replace') as f:
                self.assertIn('rp restored: %d command(s) replayed, 0 failed, 0 mismatched' % n,
                              f.read())
            self.assertEqual(d2.get(m + '/check').status, 200)
        finally:
            code = d2.stop()
            sys.stderr.write('--- mm32d log (restart paging) ---\n%s\n%s\n' % (d.log(), d2.log()))
        self.assertEqual(code, 0)

class SlabTest(Base):
    """The slab allocator over HTTP, on 686 and PAE: the boot's caches with the real kernels'
    geometry, kmalloc's size classes and families, objects that are bytes of RAM, slab pages
    in the page descriptors, named caches, refused frees that change nothing, journal."""

    ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'oracle')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, pae in (('sl', False), ('slp', True)):
            r = cls.daemon.post('/v1/machines', {'name': name, 'mem': '1G', 'pae': pae,
                                                 'cpus': 2})
            if r.status != 201:
                raise AssertionError('cannot create the test machine: %r' % r)

    def machines(self):
        return (('sl', False), ('slp', True))

    def slabinfo(self, m):
        r = self.daemon.get('/v1/machines/%s/proc/slabinfo' % m)
        self.assertEqual((r.status, r.content_type), (200, 'text/plain'), r)
        lines = r.text.splitlines()
        self.assertEqual(lines[0], 'slabinfo - version: 2.1')
        out = {}
        for line in lines[2:]:
            f = line.split()
            out[f[0]] = [int(x) for x in (f[1], f[2], f[3], f[4], f[5], f[13], f[14])]
        return out

    def kmalloc(self, m, size, gfp='GFP_KERNEL', cpu=None, status=201):
        body = {'size': size, 'gfp': gfp}
        if cpu is not None:
            body['cpu'] = cpu
        r = self.daemon.post('/v1/machines/%s/kmalloc' % m, body)
        if status != 201:
            return self.assertProblem(r, status)
        a = self.assertJson(r, 201)
        self.assertEqual(r.headers.get('Location'), '/v1/machines/%s/kmalloc/%s' % (m, a['address']))
        return a

    def kfree(self, m, addr, status=200, slug=None, cpu=None):
        q = '' if cpu is None else '?cpu=%d' % cpu
        r = self.daemon.delete('/v1/machines/%s/kmalloc/%s%s' % (m, addr, q))
        if status == 200:
            return self.assertJson(r)
        return self.assertProblem(r, status, slug)

    def state(self, m):
        return (self.daemon.get('/v1/machines/%s/proc/slabinfo' % m).text,
                self.daemon.get('/v1/machines/%s/zones' % m).text,
                self.daemon.get('/v1/machines/%s/slab' % m).text,
                len(self.assertJson(self.daemon.get('/v1/machines/%s/journal' % m))['entries']))

    def check_ok(self, m):
        self.assertEqual(self.assertJson(self.daemon.get('/v1/machines/%s/check' % m)),
                         {'ok': True, 'violations': []})

    def test_geometry_against_the_captures(self):
        """Every cache of the real kernels' slabinfo with its objsize, objperslab and
        pagesperslab, on a fresh machine of the same configuration."""
        for d in sorted(os.listdir(self.ORACLE)):
            if not d.startswith('686-') or d.endswith('-dyn'):
                continue
            with open(os.path.join(self.ORACLE, d, 'cmdline'), encoding='utf-8') as f:
                cmdline = f.read().strip()
            mem = re.search(r'686(?:-pae)?-(\d+M)', d).group(1)
            with self.subTest(config=d):
                r = self.daemon.post('/v1/machines', {'name': 'o', 'mem': mem,
                                                      'pae': '-pae-' in d, 'cmdline': cmdline})
                self.assertEqual(r.status, 201, r)
                try:
                    mine = self.slabinfo('o')
                    with open(os.path.join(self.ORACLE, d, 'slabinfo'), encoding='utf-8') as f:
                        real = {l.split()[0]: [int(x) for x in l.split()[3:6]]
                                for l in f.read().splitlines()[2:]}
                    self.assertEqual(set(mine), set(real))
                    for name, geo in real.items():
                        self.assertEqual(mine[name][2:5], geo, name)
                finally:
                    self.assertEqual(self.daemon.delete('/v1/machines/o').status, 204)

    def test_kmalloc_classes_and_families(self):
        for m, _ in self.machines():
            for size, cache, ksize in ((1, 'kmalloc-8', 8), (65, 'kmalloc-96', 96),
                                       (129, 'kmalloc-192', 192), (193, 'kmalloc-256', 256),
                                       (8192, 'kmalloc-8k', 8192)):
                a = self.kmalloc(m, size)
                self.assertEqual((a['cache'], a['ksize'], a['large']), (cache, ksize, False))
                self.kfree(m, a['address'])
            for gfp, cache in (('GFP_KERNEL_ACCOUNT', 'kmalloc-cg-64'),
                               ('GFP_KERNEL|__GFP_RECLAIMABLE', 'kmalloc-rcl-64'),
                               ('GFP_KERNEL|GFP_DMA|__GFP_ACCOUNT', 'dma-kmalloc-64')):
                a = self.kmalloc(m, 64, gfp)
                self.assertEqual(a['cache'], cache)
                f = self.assertJson(self.daemon.get('/v1/machines/%s/frames/%d' % (m, a['pfn'])))
                self.assertEqual(f['slab']['cache'], cache)
                self.assertIn('slab', f['flags']['names'])
                self.kfree(m, a['address'], cpu=1)
            big = self.kmalloc(m, 20000)
            self.assertEqual((big['large'], big['order'], big['ksize'], big['cache']),
                             (True, 3, 32768, None))
            f = self.assertJson(self.daemon.get('/v1/machines/%s/frames/%d' % (m, big['pfn'])))
            self.assertTrue(f['kmalloc_large'])
            self.assertEqual(f['compound']['order'], 3)
            self.kfree(m, big['address'])
            self.assertEqual(self.kmalloc(m, 0)['address'], '0x10')
            self.check_ok(m)

    def test_objects_are_bytes_of_ram(self):
        for m, _ in self.machines():
            a = self.kmalloc(m, 64)
            r = self.daemon.put('/v1/machines/%s/memory' % m,
                                {'addr': a['address'], 'data': 'deadbeef', 'space': 'kernel'})
            self.assertEqual(r.status, 200, r)
            phys = '0x%x' % (int(a['address'], 16) - 0xc0000000)
            r = self.assertJson(self.daemon.get('/v1/machines/%s/memory?addr=%s&len=4&space=phys'
                                                % (m, phys)))
            self.assertEqual(r['data'], 'deadbeef')
            self.kfree(m, a['address'])
            # freed on the CPU slab: LIFO, and init_on_alloc zeroes it again
            b = self.kmalloc(m, 64)
            self.assertEqual(b['address'], a['address'])
            r = self.assertJson(self.daemon.get('/v1/machines/%s/memory?addr=%s&len=4&space=phys'
                                                % (m, phys)))
            self.assertEqual(r['data'], '00000000')
            self.kfree(m, b['address'])

    def test_bad_frees_change_nothing(self):
        for m, _ in self.machines():
            a = self.kmalloc(m, 100)
            b = self.kmalloc(m, 100)
            self.kfree(m, b['address'])
            page = self.assertJson(self.daemon.post('/v1/machines/%s/pages' % m,
                                                    {'gfp': 'GFP_KERNEL'}), 201)
            layout = self.assertJson(self.daemon.get('/v1/machines/%s/layout' % m))
            before = self.state(m)
            inside = '0x%x' % (int(a['address'], 16) + 8)
            for addr, status, slug, words in (
                    (layout['VMALLOC_START'], 422, 'invalid-argument', 'vfree'),
                    (b['address'], 409, 'conflict', 'double free'),
                    (inside, 422, 'invalid-argument', 'not the start of an object'),
                    (page['address'], 422, 'invalid-argument', 'neither a slab'),
                    ('0x1000', 422, 'invalid-argument', 'direct map')):
                with self.subTest(machine=m, addr=addr):
                    p = self.kfree(m, addr, status, slug)
                    self.assertIn(words, p['detail'])
                    self.assertEqual(self.state(m), before)
            p = self.assertProblem(self.daemon.delete('/v1/machines/%s/pages/%d' % (m, a['pfn'])),
                                   409, 'conflict')
            self.assertIn('slab allocator', p['detail'])
            p = self.assertProblem(self.daemon.delete(
                '/v1/machines/%s/slab/caches/dentry/objects/%s' % (m, a['address'])), 422)
            self.assertIn('Wrong slab cache', p['detail'])
            self.assertEqual(self.state(m), before)
            self.kfree(m, a['address'])
            self.check_ok(m)

    def test_named_cache_lifecycle(self):
        for m, _ in self.machines():
            base = '/v1/machines/%s/slab/caches' % m
            r = self.daemon.post(base, {'name': 'lc', 'size': 1000, 'flags':
                                        'SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT'})
            c = self.assertJson(r, 201)
            self.assertEqual(r.headers.get('Location'), base + '/lc')
            # 1000 bytes, cache-line aligned: 1024; 2 CPUs: min_objects 12 -> order 2, 16
            self.assertEqual((c['name'], c['size'], c['order'], c['objperslab'], c['merged']),
                             ('lc', 1024, 2, 16, False))
            self.assertEqual(c['allocflags'], '__GFP_COMP|__GFP_RECLAIMABLE')
            objs = [self.assertJson(self.daemon.post(base + '/lc/objects', {}), 201)
                    for _ in range(17)]
            self.assertEqual(self.slabinfo(m)['lc'][:2], [32, 32])
            v = self.assertJson(self.daemon.get(base + '/lc'))
            self.assertEqual(sorted(s['list'] for s in v['slabs']), ['cpu', 'full'])
            p = self.assertProblem(self.daemon.delete(base + '/lc'), 409, 'conflict')
            self.assertIn('still has objects', p['detail'])
            for o in objs:
                self.assertJson(self.daemon.delete(base + '/lc/objects/' + o['address']))
            self.assertJson(self.daemon.post(base + '/lc/shrink'))
            self.assertJson(self.daemon.delete(base + '/lc'))
            self.assertNotIn('lc', self.slabinfo(m))
            self.assertProblem(self.daemon.post(base + '/lc/objects', {}), 404, 'not-found')
            self.assertProblem(self.daemon.delete(base + '/lc/objects/' + objs[0]['address']),
                               404, 'not-found')
            j = self.assertJson(self.daemon.get('/v1/machines/%s/journal' % m))['entries']
            self.assertEqual(j[-1]['command'], {'op': 'kmem_cache_destroy', 'name': 'lc'})
            self.check_ok(m)

    def test_meminfo_counts_slab(self):
        for m, _ in self.machines():
            def mi():
                t = self.daemon.get('/v1/machines/%s/proc/meminfo' % m).text
                return {k: int(v.split()[0]) for k, v in
                        (l.split(':', 1) for l in t.splitlines())}
            before = mi()
            a = self.kmalloc(m, 100000, 'GFP_KERNEL')
            after = mi()
            self.assertEqual(after['SUnreclaim'] - before['SUnreclaim'], 128)
            self.assertEqual(after['Slab'], after['SReclaimable'] + after['SUnreclaim'])
            self.kfree(m, a['address'])
            self.assertEqual(mi()['Slab'], before['Slab'])


class RestartSlabTest(unittest.TestCase):
    """The slab allocator's state comes back after a restart: the journal replays every
    kmalloc, kfree and cache operation to the same objects, on 686 and PAE."""

    def test_restart_replays_slab(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        views = {}
        counts = {}
        for name, pae in (('rs', False), ('rsp', True)):
            m = '/v1/machines/' + name
            self.assertEqual(d.post('/v1/machines', {'name': name, 'mem': '1G', 'pae': pae,
                                                     'cpus': 2}).status, 201)
            cmds = [{'op': 'kmalloc', 'size': 8 << (i % 12), 'gfp': ('GFP_KERNEL',
                     'GFP_KERNEL_ACCOUNT', 'GFP_KERNEL|__GFP_RECLAIMABLE')[i % 3], 'cpu': i % 2}
                    for i in range(300)]
            r = d.post(m + '/commands', cmds)
            self.assertEqual(r.status, 200, r)
            addrs = [x['result']['address'] for x in r.json()['results']]
            frees = [{'op': 'kfree', 'address': a, 'cpu': (i + 1) % 2}
                     for i, a in enumerate(addrs) if i % 3 == 0]
            self.assertEqual(d.post(m + '/commands', frees).status, 200)
            self.assertEqual(d.post(m + '/slab/caches', {'name': 'keep', 'size': 200}).status,
                             201)
            objs = [d.post(m + '/slab/caches/keep/objects', {'cpu': i % 2}).json()['address']
                    for i in range(40)]
            for a in objs[::2]:
                self.assertEqual(d.delete(m + '/slab/caches/keep/objects/' + a).status, 200)
            self.assertEqual(d.post(m + '/slab/caches/keep/shrink').status, 200)
            views[name] = {v: d.get(m + v).text for v in ('/slab', '/proc/slabinfo',
                                                          '/proc/meminfo', '/proc/vmstat',
                                                          '/zones')}
            counts[name] = len(d.journal(m.rsplit('/', 1)[1]))
            self.assertEqual(counts[name], 300 + 100 + 1 + 40 + 20 + 1)
            views[name]['live'] = objs[1]
        self.assertEqual(d.stop(), 0, d.log())

        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            with open(d2.log_path, encoding='utf-8', errors='replace') as f:
                log = f.read()
            for name in views:
                m = '/v1/machines/' + name
                self.assertIn('%s restored: %d command(s) replayed, 0 failed, 0 mismatched'
                              % (name, counts[name]), log)
                live = views[name].pop('live')
                for v, text in views[name].items():
                    self.assertEqual(d2.get(m + v).text, text, (name, v))
                # the objects are real: a live one frees, once
                self.assertEqual(d2.delete(m + '/slab/caches/keep/objects/' + live).status, 200)
                self.assertEqual(d2.delete(m + '/slab/caches/keep/objects/' + live).status, 409)
                self.assertEqual(d2.get(m + '/check').status, 200)
        finally:
            code = d2.stop()
        self.assertEqual(code, 0)


if __name__ == '__main__':
    import faulthandler
    # Last resort if something hangs: dump the stacks and exit; PDEATHSIG takes the daemons.
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
