#!/usr/bin/env python3
"""End-to-end tests of the highmem routes over real HTTP connections: kmap/kunmap on the pkmap
table (every slot filled, a kmap that waits while another client kunmaps, several waiters
served in order, timeouts, the journal of a waited kmap and its replay), kmap_local and
kmap_atomic (LIFO, atomic context), the bytes behind each mapping, bad input. Every case runs on
a 686 and a PAE machine.

Python 3 standard library only. Run by meson (suite 'e2e'), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_highmem.py [-v] [Class[.test]]
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import ClassDaemon, Daemon  # noqa: E402

PROBLEM_PREFIX = 'https://mm32.dev/problems/'
FLAVOURS = (('h686', False, 1024), ('hpae', True, 512))  # name, pae, LAST_PKMAP


class Base(ClassDaemon, unittest.TestCase):
    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r)
        return r.json()

    def problem(self, r, status, slug):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        p = r.json()
        self.assertEqual(p['type'], PROBLEM_PREFIX + slug, p)
        return p

    def machine(self, d, name, pae, cpus=2):
        d.delete('/v1/machines/' + name)
        self.ok(d.post('/v1/machines', {'name': name, 'mem': '1G', 'pae': pae, 'cpus': cpus}),
                201)
        return '/v1/machines/' + name

    def alloc(self, d, m, n, gfp='GFP_HIGHUSER'):
        r = self.ok(d.post(m + '/commands', [{'op': 'alloc_pages', 'gfp': gfp}] * n))
        return [x['result']['pfn'] for x in r['results']]

    def fill(self, d, m, pfns):
        """kmap every page of @pfns in one batch."""
        r = self.ok(d.post(m + '/commands', [{'op': 'kmap', 'pfn': p} for p in pfns]))
        return [x['result'] for x in r['results']]

    def journal_len(self, d, m):
        return len(d.journal(m.rsplit('/', 1)[1]))


class KmapTest(Base):
    def test_lowmem_and_highmem(self):
        d = self.daemon
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                m = self.machine(d, name, pae)
                layout = self.ok(d.get(m + '/layout'))
                low = self.alloc(d, m, 1, 'GFP_KERNEL')[0]
                high = self.alloc(d, m, 1)[0]
                r = self.ok(d.post(m + '/kmap', {'pfn': low}))
                self.assertEqual(r['slot'], None)
                self.assertEqual(int(r['address'], 16), 0xc0000000 + (low << 12))
                self.assertEqual(self.ok(d.get(m + '/frames/%d' % high))['address'], None)
                r = self.ok(d.post(m + '/kmap', {'pfn': high, 'cpu': 1}))
                self.assertEqual((r['slot'], r['count'], r['flushed']), (1, 2, False))
                va = int(r['address'], 16)
                self.assertEqual(va, int(layout['PKMAP_BASE'], 16) + 0x1000)
                self.assertEqual(self.ok(d.get(m + '/frames/%d' % high))['address'],
                                 r['address'])
                t = self.ok(d.get(m + '/translate?va=%s' % hex(va + 5)))
                self.assertTrue(t['ok'])
                self.assertEqual(int(t['phys'], 16), (high << 12) + 5)
                # bytes through the kmap address, by physical address, through kmap_local
                self.ok(d.put(m + '/memory', {'addr': hex(va + 64), 'data': 'feedface',
                                              'space': 'kernel'}))
                r = self.ok(d.get(m + '/memory?addr=%s&len=4&space=phys'
                                  % hex((high << 12) + 64)))
                self.assertEqual(r['data'], 'feedface')
                kl = self.ok(d.post(m + '/cpus/1/kmap-local', {'pfn': high}))
                self.assertEqual(kl['address'], '0xfffab000')  # CPU 1, slot 0
                self.assertEqual(kl['fix_idx'], 68 + 16)
                r = self.ok(d.get(m + '/memory?addr=%s&len=4&space=kernel&cpu=1'
                                  % hex(0xfffab000 + 64)))
                self.assertEqual(r['data'], 'feedface')
                self.ok(d.delete(m + '/cpus/1/kmap-local/0xfffab040'))
                pk = self.ok(d.get(m + '/kmap'))
                self.assertEqual(pk['last_pkmap'], last)
                self.assertEqual(len(pk['slots']), last)
                self.assertEqual(pk['slots'][1], {'slot': 1, 'address': hex(va), 'count': 2,
                                                  'pfn': high})
                r = self.ok(d.delete(m + '/kmap/%d' % high))
                self.assertEqual((r['count'], r['woke']), (1, True))
                # count 1: the mapping stays until the wrap-around flush
                self.assertTrue(self.ok(d.get(m + '/translate?va=%s' % hex(va)))['ok'])
                self.assertEqual(self.ok(d.get(m + '/check'))['ok'], True)
                d.delete(m)

    def test_every_slot_wrap_flush(self):
        """Fill every slot; the next kmap waits; a kunmap; the wrap-around flush takes the
        freed slot and flushes every CPU's TLB; the old address reaches the new page."""
        d = self.daemon
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                m = self.machine(d, name, pae)
                pfns = self.alloc(d, m, last + 1)
                res = self.fill(d, m, pfns[:last])
                self.assertEqual([r['slot'] for r in res], list(range(1, last)) + [0])
                pk = self.ok(d.get(m + '/kmap'))
                self.assertEqual((pk['in_use'], pk['last_pkmap_nr']), (last, 0))
                n = self.journal_len(d, m)
                # in a batch the kmap cannot wait: 409, nothing journaled
                self.problem(d.post(m + '/commands', {'op': 'kmap', 'pfn': pfns[last]}), 409,
                             'guest-out-of-memory')
                r = d.post(m + '/kmap?timeout=0', {'pfn': pfns[last]})
                self.problem(r, 503, 'kmap-timeout')
                self.assertEqual(r.headers.get('Retry-After'), '1')
                self.assertEqual(self.journal_len(d, m), n)
                va7 = res[6]['address']
                self.ok(d.put(m + '/memory', {'addr': va7, 'data': 'aa', 'space': 'kernel',
                                              'cpu': 1}))
                tlb = [self.ok(d.get(m + '/cpus/%d/tlb' % c))['counters'] for c in (0, 1)]
                self.assertEqual(self.ok(d.delete(m + '/kmap/%d' % pfns[6]))['woke'], True)
                # the stale TLB entry of CPU 1 still reaches the old page
                self.assertEqual(self.ok(d.get(m + '/memory?addr=%s&len=1&space=kernel&cpu=1'
                                               % va7))['data'], 'aa')
                r = self.ok(d.post(m + '/kmap', {'pfn': pfns[last]}))
                self.assertEqual((r['slot'], r['flushed'], r['address']), (7, True, va7))
                after = [self.ok(d.get(m + '/cpus/%d/tlb' % c))['counters'] for c in (0, 1)]
                for c in (0, 1):
                    self.assertEqual(after[c]['flushes_all'], tlb[c]['flushes_all'] + 1)
                t = self.ok(d.get(m + '/translate?va=%s' % va7))
                self.assertEqual(int(t['phys'], 16), pfns[last] << 12)
                self.assertEqual(self.ok(d.get(m + '/frames/%d' % pfns[6]))['address'], None)
                self.assertEqual(self.ok(d.get(m + '/kmap'))['flushes'], 1)
                d.delete(m)


class KmapWaitTest(Base):
    """kmap waits over real connections while another client kunmaps."""

    def full_machine(self, d, name, pae, last, extra):
        m = self.machine(d, name, pae)
        pfns = self.alloc(d, m, last + extra)
        self.fill(d, m, pfns[:last])
        return m, pfns

    def test_waiters_served_in_order(self):
        d = self.daemon
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                m, pfns = self.full_machine(d, name, pae, last, 3)
                n = self.journal_len(d, m)
                out = {}

                def waiter(i):
                    r = d.post(m + '/kmap?timeout=20', {'pfn': pfns[last + i]}, timeout=40)
                    out[i] = (r.status, r.json(), time.monotonic())

                threads = [threading.Thread(target=waiter, args=(i,)) for i in range(3)]
                for t in threads:  # arrival order 0, 1, 2
                    t.start()
                    time.sleep(0.3)
                # the daemon serves other requests meanwhile
                t0 = time.monotonic()
                for _ in range(50):
                    self.assertEqual(d.get(m + '/zones').status, 200)
                self.assertLess(time.monotonic() - t0, 10)
                self.assertEqual(out, {})
                self.assertEqual(self.journal_len(d, m), n)
                ws = self.ok(d.get(m + '/kmap'))['waiters']
                self.assertEqual([(w['pfn'], w['cpu']) for w in ws],
                                 [(pfns[last + i], 0) for i in range(3)])
                self.assertGreater(ws[0]['waited_ms'], ws[2]['waited_ms'])
                for i in range(3):
                    self.ok(d.delete(m + '/kmap/%d' % pfns[20 + i]))
                    time.sleep(0.3)
                for t in threads:
                    t.join(30)
                self.assertEqual(sorted(out), [0, 1, 2])
                for i in range(3):
                    self.assertEqual(out[i][0], 200, out[i])
                    self.assertEqual(out[i][1]['slot'], 21 + i)
                    self.assertTrue(out[i][1]['flushed'])
                self.assertLess(out[0][2], out[1][2])
                self.assertLess(out[1][2], out[2][2])
                # the journal holds each waited kmap right after the kunmap that freed its slot
                ops = [(e['command']['op'], e['command'].get('pfn'))
                       for e in d.journal(m.rsplit('/', 1)[1])[n:]]
                self.assertEqual(ops, [('kunmap', pfns[20]), ('kmap', pfns[last]),
                                       ('kunmap', pfns[21]), ('kmap', pfns[last + 1]),
                                       ('kunmap', pfns[22]), ('kmap', pfns[last + 2])])
                d.delete(m)

    def test_concurrent_kunmaps_serve_every_waiter(self):
        """16 waiters, 16 kunmaps from 4 clients at once: every waiter gets a slot (no
        wake-up is lost), the machine checks clean, the pkmap table is full again."""
        d = self.daemon
        name, pae, last = FLAVOURS[1]
        m, pfns = self.full_machine(d, name, pae, last, 16)
        out = {}

        def waiter(i):
            out[i] = d.post(m + '/kmap?timeout=30', {'pfn': pfns[last + i]}, timeout=60)

        def unmapper(k):
            for i in range(k, 16, 4):
                r = d.delete(m + '/kmap/%d' % pfns[100 + i])
                self.assertEqual(r.status, 200, r)

        ws = [threading.Thread(target=waiter, args=(i,)) for i in range(16)]
        for t in ws:
            t.start()
        time.sleep(0.5)
        us = [threading.Thread(target=unmapper, args=(k,)) for k in range(4)]
        for t in us:
            t.start()
        for t in us + ws:
            t.join(45)
        self.assertEqual(sorted(out), list(range(16)))
        self.assertEqual([out[i].status for i in range(16)], [200] * 16)
        slots = sorted(out[i].json()['slot'] for i in range(16))
        self.assertEqual(slots, list(range(101, 117)))
        pk = self.ok(d.get(m + '/kmap'))
        self.assertEqual((pk['in_use'], pk['waiters']), (last, []))
        self.assertEqual(self.ok(d.get(m + '/check'))['ok'], True)
        d.delete(m)

    def test_waiting_costs_no_cpu(self):
        """While kmaps wait, mm32d holds no thread and burns no CPU: its CPU time over a
        second of waiting stays far below a second."""
        d = self.daemon
        name, pae, last = FLAVOURS[1]
        m, pfns = self.full_machine(d, name, pae, last, 3)
        out = {}

        def waiter(i):
            out[i] = d.post(m + '/kmap?timeout=20', {'pfn': pfns[last + i]}, timeout=40)

        def cpu_s():
            with open('/proc/%d/stat' % d.proc.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

        ws = [threading.Thread(target=waiter, args=(i,)) for i in range(3)]
        for t in ws:
            t.start()
        time.sleep(0.5)
        c0, t0 = cpu_s(), time.monotonic()
        time.sleep(1.5)
        used, took = cpu_s() - c0, time.monotonic() - t0
        self.assertLess(used, 0.2 * took, 'mm32d used %.2f s of CPU in %.2f s' % (used, took))
        for i in range(3):
            self.ok(d.delete(m + '/kmap/%d' % pfns[200 + i]))
        for t in ws:
            t.join(30)
        self.assertEqual([out[i].status for i in range(3)], [200] * 3)
        d.delete(m)

    def test_timeout_then_nothing_changed(self):
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                self.timeout_case(name, pae, last)

    def timeout_case(self, name, pae, last):
        d = self.daemon
        m, pfns = self.full_machine(d, name, pae, last, 1)
        before = self.ok(d.get(m + '/kmap'))
        n = self.journal_len(d, m)
        t0 = time.monotonic()
        r = d.post(m + '/kmap?timeout=0.5', {'pfn': pfns[last]})
        took = time.monotonic() - t0
        p = self.problem(r, 503, 'kmap-timeout')
        self.assertIn('pkmap', p['detail'])
        self.assertEqual(r.headers.get('Retry-After'), '1')
        self.assertGreaterEqual(took, 0.45)
        self.assertLess(took, 5)
        self.assertEqual(self.ok(d.get(m + '/kmap')), before)
        self.assertEqual(self.journal_len(d, m), n)
        # a bad timeout
        self.problem(d.post(m + '/kmap?timeout=-1', {'pfn': pfns[last]}), 422, 'invalid-argument')
        self.problem(d.post(m + '/kmap?timeout=301', {'pfn': pfns[last]}), 422,
                     'invalid-argument')
        # a kmap of a page that is mapped already never waits
        self.assertEqual(self.ok(d.post(m + '/kmap', {'pfn': pfns[0]}))['count'], 3)
        d.delete(m)

    def test_machine_deleted_while_waiting(self):
        d = self.daemon
        name, pae, last = FLAVOURS[1]
        m, pfns = self.full_machine(d, name, pae, last, 1)
        out = {}

        def waiter():
            out['r'] = d.post(m + '/kmap?timeout=20', {'pfn': pfns[last]}, timeout=40)

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.4)
        self.assertEqual(d.delete(m).status, 204)
        t.join(30)
        self.problem(out['r'], 404, 'not-found')


class KmapLocalTest(Base):
    def test_lifo_and_atomic(self):
        d = self.daemon
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                m = self.machine(d, name, pae)
                p, q = self.alloc(d, m, 2)
                low = self.alloc(d, m, 1, 'GFP_KERNEL')[0]
                a = self.ok(d.post(m + '/cpus/0/kmap-local', {'pfn': p}))
                b = self.ok(d.post(m + '/cpus/0/kmap-local', {'pfn': q}))
                self.assertEqual((a['address'], b['address']), ('0xfffbb000', '0xfffba000'))
                st = self.ok(d.get(m + '/cpus/0/kmap-local'))
                self.assertEqual([s['pfn'] for s in st['stack']], [p, q])
                n = self.journal_len(d, m)
                pr = self.problem(d.delete(m + '/cpus/0/kmap-local/0xfffbb000'), 422,
                                  'invalid-argument')
                self.assertIn('kunmap_local_indexed', pr['detail'])
                self.assertEqual(self.ok(d.get(m + '/cpus/0/kmap-local')), st)
                self.assertEqual(self.journal_len(d, m), n)
                self.ok(d.delete(m + '/cpus/0/kmap-local/0xfffba000'))
                self.ok(d.delete(m + '/cpus/0/kmap-local/0xfffbb000'))
                self.problem(d.delete(m + '/cpus/0/kmap-local/0xfffbb000'), 404, 'not-found')
                self.assertFalse(self.ok(d.get(m + '/translate?va=0xfffbb000'))['ok'])
                # kmap_atomic: CPU 0 is atomic until kunmap_atomic
                at = self.ok(d.post(m + '/cpus/0/kmap-local', {'pfn': p, 'atomic': True}))
                self.assertTrue(at['atomic'])
                self.problem(d.post(m + '/kmap', {'pfn': q}), 409, 'scheduling-while-atomic')
                self.problem(d.post(m + '/pages', {'gfp': 'GFP_KERNEL'}), 409,
                             'scheduling-while-atomic')
                self.ok(d.post(m + '/pages', {'gfp': 'GFP_ATOMIC'}), 201)
                self.ok(d.post(m + '/kmap', {'pfn': q, 'cpu': 1}))
                self.problem(d.delete(m + '/cpus/0/kmap-local/0xfffbb000'), 422,
                             'invalid-argument')
                self.ok(d.delete(m + '/cpus/0/kmap-local/0xfffbb000?atomic=true'))
                self.ok(d.post(m + '/kmap', {'pfn': q}))
                # lowmem kmap_atomic: no slot, still atomic
                r = self.ok(d.post(m + '/cpus/1/kmap-local', {'pfn': low, 'atomic': True}))
                self.assertEqual(r['idx'], None)
                self.problem(d.post(m + '/kmap', {'pfn': q, 'cpu': 1}), 409,
                             'scheduling-while-atomic')
                self.ok(d.delete(m + '/cpus/1/kmap-local/%s?atomic=true' % r['address']))
                # a command in atomic context
                for cmd, st in (({'op': 'kmap', 'pfn': q, 'context': 'atomic'}, 409),
                                ({'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'cpu': 1,
                                  'context': 'atomic'}, 409),
                                ({'op': 'alloc_pages', 'gfp': 'GFP_ATOMIC',
                                  'context': 'atomic'}, 200),
                                ({'op': 'kmap', 'pfn': q, 'context': 'process'}, 200),
                                ({'op': 'kmap', 'pfn': q, 'context': 'irq'}, 422)):
                    n = self.journal_len(d, m)
                    r = d.post(m + '/commands', cmd)
                    if st == 200:
                        self.ok(r)
                        self.assertEqual(self.journal_len(d, m), n + 1)
                    else:
                        self.problem(r, st, 'scheduling-while-atomic' if st == 409
                                     else 'invalid-argument')
                        self.assertEqual(self.journal_len(d, m), n)
                # 16 slots, then 409
                for i in range(16):
                    self.ok(d.post(m + '/cpus/1/kmap-local', {'pfn': p}))
                self.problem(d.post(m + '/cpus/1/kmap-local', {'pfn': p}), 409,
                             'guest-out-of-memory')
                self.assertEqual(self.ok(d.get(m + '/check'))['ok'], True)
                d.delete(m)


class BadInputTest(Base):
    def test_bad_input_changes_nothing(self):
        d = self.daemon
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                m = self.machine(d, name, pae)
                p = self.alloc(d, m, 1)[0]
                n = self.journal_len(d, m)
                hash0 = self.ok(d.get(m + '/state-hash'))['hash']
                maxpfn = self.ok(d.get(m + '/layout'))['max_pfn']
                for r, st, slug in (
                        (d.post(m + '/kmap', {'pfn': maxpfn}), 422, 'invalid-argument'),
                        (d.post(m + '/kmap', {'pfn': p, 'cpu': 2}), 422, 'invalid-argument'),
                        (d.post(m + '/kmap', {'pfn': 'x'}), 422, 'invalid-argument'),
                        (d.post(m + '/kmap', {'pfn': p, 'x': 1}), 422, 'invalid-argument'),
                        (d.post(m + '/kmap?bogus=1', {'pfn': p}), 422, 'invalid-argument'),
                        (d.delete(m + '/kmap/%d' % p), 404, 'not-found'),
                        (d.delete(m + '/kmap/abc'), 422, 'invalid-argument'),
                        (d.post(m + '/cpus/5/kmap-local', {'pfn': p}), 422, 'invalid-argument'),
                        (d.post(m + '/cpus/0/kmap-local', {'pfn': p, 'atomic': 1}), 422,
                         'invalid-argument'),
                        (d.post(m + '/cpus/0/kmap-local', {'pfn': maxpfn + 3}), 422,
                         'invalid-argument'),
                        (d.delete(m + '/cpus/0/kmap-local/0x1000'), 422, 'invalid-argument'),
                        (d.delete(m + '/cpus/0/kmap-local/0xfffbb000'), 404, 'not-found'),
                        (d.delete(m + '/cpus/0/kmap-local/0xfffbb000?atomic=maybe'), 422,
                         'invalid-argument'),
                        (d.get(m + '/cpus/9/kmap-local'), 422, 'invalid-argument'),
                        (d.get('/v1/machines/nope/kmap'), 404, 'not-found')):
                    self.problem(r, st, slug)
                # a free page
                free = self.ok(d.post(m + '/pages', {'gfp': 'GFP_HIGHUSER'}), 201)['pfn']
                self.ok(d.delete(m + '/pages/%d' % free))
                n = self.journal_len(d, m)
                hash0 = self.ok(d.get(m + '/state-hash'))['hash']
                p2 = self.problem(d.post(m + '/kmap', {'pfn': free}), 422, 'invalid-argument')
                self.assertIn('free', p2['detail'])
                self.assertEqual(self.journal_len(d, m), n)
                self.assertEqual(self.ok(d.get(m + '/state-hash'))['hash'], hash0)
                d.delete(m)


class RestartKmapTest(Base):
    """The journal of kmaps (a waited one included) replays to the same machine."""
    daemon = None

    @classmethod
    def setUpClass(cls):
        pass

    def test_restart_replays_kmaps(self):
        for name, pae, last in FLAVOURS:
            with self.subTest(flavour=name):
                self.restart_case(name, pae, last)

    def restart_case(self, name, pae, last):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        m = self.machine(d, name, pae)
        pfns = self.alloc(d, m, last + 1)
        self.fill(d, m, pfns[:last])
        out = {}
        t = threading.Thread(target=lambda: out.setdefault(
            'r', d.post(m + '/kmap?timeout=20', {'pfn': pfns[last]}, timeout=40)))
        t.start()
        time.sleep(0.3)
        self.ok(d.delete(m + '/kmap/%d' % pfns[100]))
        t.join(30)
        self.assertEqual(out['r'].status, 200, out['r'])
        self.ok(d.post(m + '/cpus/1/kmap-local', {'pfn': pfns[1], 'atomic': True}))
        before = {k: self.ok(d.get(m + k)) for k in ('/kmap', '/cpus/1/kmap-local',
                                                     '/state-hash', '/cpus/0/tlb')}
        self.assertEqual(d.stop(), 0, d.log())
        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            for k, v in before.items():
                self.assertEqual(self.ok(d2.get(m + k)), v, k)
            self.assertEqual(self.ok(d2.get(m + '/check'))['ok'], True)
        finally:
            code = d2.stop()
            sys.stderr.write('--- mm32d log ---\n%s\n%s\n' % (d.log(), d2.log()))
        self.assertEqual(code, 0)

    def test_sigterm_answers_waiting_kmaps(self):
        """SIGTERM while kmaps wait: each answers 503 at once, mm32d exits 0, nothing of
        them is journaled."""
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        name, pae, last = FLAVOURS[1]
        m = self.machine(d, name, pae)
        pfns = self.alloc(d, m, last + 2)
        self.fill(d, m, pfns[:last])
        n = self.journal_len(d, m)
        out = {}

        def waiter(i):
            out[i] = d.post(m + '/kmap?timeout=60', {'pfn': pfns[last + i]}, timeout=40)

        threads = [threading.Thread(target=waiter, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        code = d.stop()
        for t in threads:
            t.join(20)
        self.assertEqual(code, 0, d.log())
        self.assertLess(time.monotonic() - t0, 10)
        for i in range(2):
            self.problem(out[i], 503, 'kmap-timeout')
        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        try:
            self.assertEqual(self.journal_len(d2, m), n)
        finally:
            self.assertEqual(d2.stop(), 0, d2.log())


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
