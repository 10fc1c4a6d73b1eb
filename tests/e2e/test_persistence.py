#!/usr/bin/env python3
"""End-to-end tests of persistence (issue 5): the journal of every route, the state hash,
snapshots (restore in place, clones, frames shared between snapshots, jobs, deletes), restarts
from the newest snapshot plus the journal after it, recorded sessions (NDJSON export, import,
replay with verification, divergences), --sync, and a crash test: kill -9 while commands stream
in and while a snapshot is written, then the database, the journal and a replay are checked.

Everything runs on 686 and 686-pae machines. Python 3 standard library only. Run by meson
(suite 'e2e', one test() per class), or by hand:
  MM32D=build/daemon/mm32d python3 tests/e2e/test_persistence.py [-v] [Class[.test]]
"""

import http.client
import json
import os
import random
import shutil
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import ClassDaemon, Daemon  # noqa: E402

PROBLEM_PREFIX = 'https://mm32.dev/problems/'
HEX32 = '0123456789abcdef'
PAGE = 4096
KINDS = (('686', False), ('pae', True))


def page_data(seed, n=PAGE):
    """@n bytes that do not compress (the same for the same seed)."""
    return random.Random(seed).randbytes(n)


class Helpers:
    """Requests and assertions shared by the tests; self.daemon is the Daemon they use."""
    daemon = None

    # -- helpers ---------------------------------------------------------------------------
    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/json', r)
        return r.json()

    def problem(self, r, status, slug=None, detail=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, 'application/problem+json', r)
        p = r.json()
        for k in ('type', 'title', 'status', 'detail'):
            self.assertIn(k, p, r)
        if slug:
            self.assertEqual(p['type'], PROBLEM_PREFIX + slug, p)
        if detail:
            self.assertIn(detail, p['detail'], p)
        return p

    def create(self, name, mem='1G', pae=False, **kw):
        body = dict(name=name, mem=mem, pae=pae, **kw)
        return self.ok(self.daemon.post('/v1/machines', body), 201)

    def cmds(self, mid, cmds, status=200):
        r = self.daemon.post('/v1/machines/%s/commands' % mid, cmds)
        if status != 200:
            return self.problem(r, status)
        return self.ok(r)

    def hash(self, mid, d=None):
        h = self.ok((d or self.daemon).get('/v1/machines/%s/state-hash' % mid))
        self.assertEqual(h['algorithm'], 'xxh3-128')
        self.assertEqual(len(h['hash']), 32)
        self.assertTrue(all(c in HEX32 for c in h['hash']), h)
        return h

    def snapshot(self, mid, status=201, **body):
        r = self.daemon.post('/v1/machines/%s/snapshots' % mid, body)
        s = self.ok(r, status)
        if status == 201:
            self.assertEqual(r.headers.get('Location'),
                             '/v1/machines/%s/snapshots/%d' % (mid, s['id']))
        return s

    def wait_job(self, job, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            j = self.ok(self.daemon.get('/v1/jobs/%d' % job['id']))
            if j['state'] != 'running':
                return j
            self.assertLess(time.monotonic(), deadline, j)
            time.sleep(0.01)

    def restore(self, mid, sid, status=200):
        r = self.daemon.post('/v1/machines/%s/snapshots/%d/restore' % (mid, sid))
        if status != 200:
            return self.problem(r, status)
        return self.ok(r)

    def journal(self, mid):
        return self.daemon.journal(mid)

    def write_pages(self, mid, base, seeds, batch=64):
        """Write one 4096-byte page of page_data(seed) at base + i * 4096 for each seed."""
        for k in range(0, len(seeds), batch):
            self.cmds(mid, [{'op': 'memory_write', 'addr': hex(base + (k + i) * PAGE),
                             'data': page_data(s).hex(), 'space': 'phys'}
                            for i, s in enumerate(seeds[k:k + batch])])

    def storage(self, mid):
        return self.ok(self.daemon.get('/v1/machines/%s/snapshots' % mid))['storage']


class Base(ClassDaemon, Helpers, unittest.TestCase):
    pass


class JournalRoutesTest(Base):
    """Every route that changes a machine journals its command and result; the others do not."""

    def test_journal_of_every_route(self):
        d = self.daemon
        for kind, pae in KINDS:
            m = 'j' + kind
            self.create(m, mem='1G', pae=pae, cpus=2)
            steps = []  # (what the request does, the command it must journal, or None)

            def did(label, r, op, status=200, **fields):
                self.assertEqual(r.status, status, (label, r))
                steps.append((label, op, fields))

            base = '/v1/machines/' + m
            did('sysctl', d.put(base + '/sysctl/vm/min_free_kbytes', {'value': 8192}),
                'set_sysctl', name='min_free_kbytes', value=8192)
            r = d.post(base + '/pages', {'gfp': 'GFP_KERNEL', 'order': 1, 'cpu': 1})
            pfn = r.json()['pfn']
            addr = r.json()['address']
            did('pages', r, 'alloc_pages', status=201, gfp='GFP_KERNEL', order=1, cpu=1)
            did('memory put', d.put(base + '/memory', {'addr': addr, 'data': 'c0ffee',
                                                      'space': 'kernel'}),
                'memory_write', data='c0ffee', space='kernel')
            did('memory get kernel',
                d.get(base + '/memory?addr=%s&len=3&space=kernel' % addr),
                'memory_read', len=3, space='kernel')
            # a physical read changes nothing: not journaled
            self.assertEqual(d.get(base + '/memory?addr=0x1000&len=3&space=phys').status, 200)
            did('flush', d.post(base + '/cpus/1/tlb/flush?keep_global=true'), 'flush_tlb',
                cpu=1, keep_global=True)
            did('invlpg', d.post(base + '/cpus/0/tlb/invlpg?va=%s' % addr), 'invlpg', cpu=0)
            did('free', d.delete(base + '/pages/%d?order=1&cpu=1' % pfn), 'free_pages',
                pfn=pfn, order=1, cpu=1)
            did('commands', d.post(base + '/commands', {'op': 'alloc_pages',
                                                        'gfp': 'GFP_HIGHUSER'}),
                'alloc_pages', gfp='GFP_HIGHUSER')
            s = self.snapshot(m)  # a snapshot changes nothing: not journaled
            did('restore', d.post(base + '/snapshots/%d/restore' % s['id']),
                'snapshot_restore', snapshot=s['id'])
            # reads and refused commands are not journaled
            for path in ('', '/zones', '/proc/zoneinfo', '/frames/%d' % pfn, '/state-hash',
                         '/snapshots', '/translate?va=%s' % addr, '/check'):
                self.assertEqual(d.get(base + path).status, 200, path)
            self.assertEqual(d.post(base + '/commands', {'op': 'free_pages', 'pfn': 1}).status,
                             409)
            entries = self.journal(m)
            self.assertEqual(len(entries), len(steps), entries)
            for i, (e, (label, op, fields)) in enumerate(zip(entries, steps)):
                self.assertEqual(e['seq'], i + 1, label)
                self.assertEqual(e['command']['op'], op, label)
                for k, v in fields.items():
                    self.assertEqual(e['command'][k], v, (label, k, e))
                self.assertRegex(e['time'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
                self.assertNotIn('error', e['result'], label)
            # the results are the answers the routes gave
            self.assertEqual(entries[1]['result']['pfn'], pfn)
            self.assertEqual(entries[8]['result']['snapshot'], s['id'])
            self.assertEqual(entries[8]['result']['state_hash'], s['state_hash'])
            # the session export holds the same entries, one per line, after the header
            lines = d.get('/v1/sessions/%s/journal' % m).text.splitlines()
            self.assertEqual([json.loads(x) for x in lines[1:]], entries)

    def test_journal_of_boot_continue(self):
        d = self.daemon
        for kind, pae in KINDS:
            m = 'jb' + kind
            self.create(m, mem='512M', pae=pae, boot={'stop_after': 'memblock'})
            r = d.post('/v1/machines/%s/boot/continue' % m, {'until': 'final_page_tables'})
            self.assertEqual(r.status, 200, r)
            r = d.post('/v1/machines/%s/boot/continue' % m)
            self.assertEqual(r.status, 200, r)
            # a phase already done is refused and not journaled
            self.assertEqual(d.post('/v1/machines/%s/boot/continue' % m).status, 422)
            entries = self.journal(m)
            self.assertEqual([(e['seq'], e['command'], e['result']) for e in entries],
                             [(1, {'op': 'boot_continue', 'until': 'final_page_tables'},
                               {'phase': 'final_page_tables'}),
                              (2, {'op': 'boot_continue'}, {'phase': 'buddy'})])
            # a replay goes through the phases as they ran
            rp = self.ok(d.post('/v1/sessions/%s/replay' % m, {}), 201)
            self.assertEqual(rp['divergences'], 0, rp)
            self.assertEqual(rp['state_hash']['hash'], self.hash(m)['hash'])
            # a machine stopped early snapshots and restores at its phase
            e = 'je' + kind
            self.create(e, mem='512M', pae=pae, boot={'stop_after': 'paging_enabled'})
            s = self.snapshot(e)
            self.assertEqual(d.post('/v1/machines/%s/boot/continue' % e,
                                    {'until': 'buddy'}).status, 200)
            self.restore(e, s['id'])
            self.assertEqual(self.ok(d.get('/v1/machines/' + e))['phase'], 'paging_enabled')
            self.assertEqual(self.hash(e)['hash'], s['state_hash'])
            self.assertEqual(d.post('/v1/machines/%s/boot/continue' % e).status, 200)
            self.assertEqual(self.ok(d.get('/v1/machines/' + e))['phase'], 'memblock')


class StateHashTest(Base):
    """The state hash: equal for equal states, different for any change, zeros = unwritten."""

    def test_state_hash(self):
        d = self.daemon
        for kind, pae in KINDS:
            a, b = 'ha' + kind, 'hb' + kind
            self.create(a, mem='512M', pae=pae)
            self.create(b, mem='512M', pae=pae)
            h0 = self.hash(a)
            self.assertEqual(h0['seq'], 0)
            self.assertEqual(self.hash(b)['hash'], h0['hash'])
            self.assertEqual(self.hash(a)['hash'], h0['hash'])  # reading changes nothing
            # a frame written with zeros is a frame never written
            self.cmds(a, {'op': 'memory_write', 'addr': '0x8000000', 'data': 'ff' * 16,
                          'space': 'phys'})
            h1 = self.hash(a)
            self.assertNotEqual(h1['hash'], h0['hash'])
            self.assertEqual(h1['seq'], 1)
            self.cmds(a, {'op': 'memory_write', 'addr': '0x8000000', 'data': '00' * 16,
                          'space': 'phys'})
            self.assertEqual(self.hash(a)['hash'], h0['hash'])
            # every kind of change changes it; the same commands give the same hash
            seen = {h0['hash']}
            for c in ({'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'},
                      {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 77},
                      {'op': 'flush_tlb'},
                      {'op': 'memory_write', 'addr': '0x9000000', 'data': '01', 'space': 'phys'}):
                self.cmds(a, c)
                self.cmds(b, c)
                ha, hb = self.hash(a)['hash'], self.hash(b)['hash']
                self.assertEqual(ha, hb, c)
                self.assertNotIn(ha, seen, c)
                seen.add(ha)
        # 686 and PAE machines of the same size differ
        self.assertNotEqual(self.hash('ha686')['hash'], self.hash('hapae')['hash'])


class SnapshotTest(Base):
    """Snapshots: restore in place, clones, jobs, bad input, frames shared between snapshots."""

    def test_snapshot_change_restore(self):
        d = self.daemon
        for kind, pae in KINDS:
            m = 's' + kind
            self.create(m, mem='2G' if pae else '1G', pae=pae, cpus=2)
            r = self.cmds(m, [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 2},
                              {'op': 'alloc_pages', 'gfp': 'GFP_HIGHUSER_MOVABLE', 'cpu': 1}])
            pfn = r['results'][0]['result']['pfn']
            self.write_pages(m, 0x10000000, list(range(8)))
            before = self.hash(m)
            zones = self.ok(d.get('/v1/machines/%s/zones' % m))
            s = self.snapshot(m, label='before')
            self.assertEqual(s['machine'], m)
            self.assertEqual(s['seq'], before['seq'])
            self.assertEqual(s['state_hash'], before['hash'])
            self.assertEqual(s['label'], 'before')
            self.assertEqual(s['config']['pae'], pae)
            self.assertGreaterEqual(s['frames'], 8)
            self.assertEqual(s['ram_bytes'], s['frames'] * PAGE)
            self.assertEqual(self.ok(d.get('/v1/machines/%s/snapshots/%d' % (m, s['id']))), s)
            # change everything there is to change
            self.cmds(m, [{'op': 'free_pages', 'pfn': pfn, 'order': 2},
                          {'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 9000},
                          {'op': 'memory_write', 'addr': '0x10000000', 'data': 'aa' * 64,
                           'space': 'phys'},
                          {'op': 'flush_tlb', 'cpu': 1}])
            self.assertNotEqual(self.hash(m)['hash'], before['hash'])
            res = self.restore(m, s['id'])
            self.assertEqual(res, {'snapshot': s['id'], 'machine': m, 'seq': s['seq'],
                                   'state_hash': s['state_hash']})
            after = self.hash(m)
            self.assertEqual(after['hash'], before['hash'])
            self.assertEqual(after['seq'], before['seq'] + 5)  # the 4 changes and the restore
            self.assertEqual(self.ok(d.get('/v1/machines/%s/zones' % m)), zones)
            self.assertEqual(self.ok(d.get('/v1/machines/%s/check' % m))['ok'], True)
            # the allocation is back: it frees again
            self.cmds(m, {'op': 'free_pages', 'pfn': pfn, 'order': 2})
            # the command form, in a batch: the commands after it run on the restored machine
            r = self.cmds(m, [{'op': 'snapshot_restore', 'snapshot': s['id']},
                              {'op': 'free_pages', 'pfn': pfn, 'order': 2}])
            self.assertEqual(r['results'][0]['result']['state_hash'], before['hash'])
            self.assertIn(self.ok(d.get('/v1/machines/%s/frames/%d' % (m, pfn)))['state'],
                          ('buddy', 'pcp'))

    def test_clone(self):
        d = self.daemon
        for kind, pae in KINDS:
            m, c = 'o' + kind, 'c' + kind
            self.create(m, mem='1G', pae=pae)
            pfn = self.cmds(m, {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})['result']['pfn']
            self.write_pages(m, 0x8000000, [1, 2, 3])
            s = self.snapshot(m)
            r = d.post('/v1/machines', {'name': c, 'from_snapshot': s['id']})
            doc = self.ok(r, 201)
            self.assertEqual(r.headers.get('Location'), '/v1/machines/' + c)
            self.assertEqual(doc['config'], self.ok(d.get('/v1/machines/' + m))['config'])
            hc = self.hash(c)
            self.assertEqual(hc['hash'], s['state_hash'])
            self.assertEqual(hc['seq'], 0)  # its own journal starts after the snapshot
            # the two go their own ways from there, the same way
            for x in (m, c):
                self.cmds(x, [{'op': 'free_pages', 'pfn': pfn},
                              {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 3}])
            self.assertEqual(self.hash(c)['hash'], self.hash(m)['hash'])
            self.cmds(c, {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
            self.assertNotEqual(self.hash(c)['hash'], self.hash(m)['hash'])
            sess = self.ok(d.get('/v1/sessions/' + c))
            self.assertEqual(sess['from_snapshot'], s['id'])
            self.assertEqual(sess['origin']['kind'], 'clone')
            # a generated name; bad clones
            r = d.post('/v1/machines', {'from_snapshot': s['id']})
            self.assertEqual(r.status, 201, r)
            self.problem(d.post('/v1/machines', {'from_snapshot': 999999}), 404, 'not-found')
            self.problem(d.post('/v1/machines', {'from_snapshot': s['id'], 'mem': '1G'}), 422,
                         'invalid-argument', 'mem')
            self.problem(d.post('/v1/machines', {'from_snapshot': 'x'}), 422)
            self.problem(d.post('/v1/machines', {'name': c, 'from_snapshot': s['id']}), 409)

    def test_bad_input(self):
        d = self.daemon
        self.create('b686', mem='1G')
        self.create('bpae', mem='1G', pae=True)
        self.create('b2g', mem='2G')
        s = self.snapshot('b686')
        # another machine's configuration, restored in place: refused, nothing changes
        for other in ('bpae', 'b2g'):
            h = self.hash(other)
            p = self.problem(d.post('/v1/machines/%s/snapshots/%d/restore' % (other, s['id'])),
                             422, 'invalid-argument', 'same configuration')
            self.assertIn('from_snapshot', p['detail'])
            self.assertEqual(self.hash(other), h)
            self.assertEqual(self.journal(other), [])
        self.problem(self.daemon.post('/v1/machines/bpae/commands',
                                      {'op': 'snapshot_restore', 'snapshot': s['id']}), 422)
        # unknown snapshots and machines
        for path in ('/v1/machines/b686/snapshots/999999', '/v1/machines/b686/snapshots/x',
                     '/v1/machines/b686/snapshots/0', '/v1/machines/nope/snapshots',
                     '/v1/machines/nope/state-hash', '/v1/jobs/999999', '/v1/jobs/x',
                     '/v1/sessions/nope', '/v1/sessions/nope/journal'):
            self.problem(d.get(path), 404, 'not-found')
        self.problem(d.get('/v1/machines/bpae/snapshots/%d' % s['id']), 404)  # not its own
        self.problem(d.post('/v1/machines/b686/snapshots/999999/restore'), 404, 'not-found')
        self.problem(d.post('/v1/machines/b686/commands',
                            {'op': 'snapshot_restore', 'snapshot': 999999}), 404)
        self.problem(d.post('/v1/machines/b686/commands', {'op': 'snapshot_restore'}), 422)
        self.problem(d.post('/v1/machines/b686/commands',
                            {'op': 'snapshot_restore', 'snapshot': '1'}), 422)
        self.problem(d.delete('/v1/machines/b686/snapshots/999999'), 404)
        self.problem(d.delete('/v1/machines/bpae/snapshots/%d' % s['id']), 404)
        self.problem(d.delete('/v1/machines/nope/snapshots/%d' % s['id']), 404)
        self.problem(d.post('/v1/machines/nope/snapshots'), 404)
        self.problem(d.post('/v1/machines/b686/snapshots', {'bogus': 1}), 422, None, 'bogus')
        self.problem(d.post('/v1/machines/b686/snapshots', {'label': 5}), 422)
        self.problem(d.post('/v1/machines/b686/snapshots', {'async': 'yes'}), 422)
        self.problem(d.post('/v1/machines/b686/snapshots', [1]), 422)
        self.problem(d.post('/v1/machines/b686/snapshots', '{', headers={
            'Content-Type': 'application/json'}), 400)
        self.assertEqual(d.request('PUT', '/v1/machines/b686/snapshots').status, 405)
        # a refused restore journaled nothing and changed nothing
        self.assertEqual(self.journal('b686'), [])
        self.assertEqual(self.hash('b686')['hash'], s['state_hash'])

    def test_job(self):
        d = self.daemon
        self.create('jb', mem='1G', pae=True)
        self.write_pages('jb', 0x4000000, list(range(64)))
        h = self.hash('jb')
        r = d.post('/v1/machines/jb/snapshots', {'async': True, 'label': 'by a job'})
        job = self.ok(r, 202)
        self.assertEqual(r.headers.get('Location'), '/v1/jobs/%d' % job['id'])
        self.assertEqual((job['kind'], job['machine']), ('snapshot', 'jb'))
        self.assertIn(job['state'], ('running', 'done'))
        # a command sent after the answer runs after the snapshot
        self.cmds('jb', {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
        j = self.wait_job(job)
        self.assertEqual(j['state'], 'done', j)
        self.assertEqual(j['progress']['done'], j['progress']['total'])
        self.assertGreaterEqual(j['progress']['total'], 64)
        self.assertEqual(j['result']['state_hash'], h['hash'])
        self.assertEqual(j['result']['seq'], h['seq'])
        self.assertEqual(j['result']['label'], 'by a job')
        self.assertIsNone(j['error'])
        self.assertIn(j['id'], [x['id'] for x in self.ok(d.get('/v1/jobs'))['jobs']])
        # a small machine is snapshotted at once unless asked otherwise
        self.assertEqual(d.post('/v1/machines/jb/snapshots').status, 201)
        self.assertEqual(d.post('/v1/machines/jb/snapshots', {'async': False}).status, 201)
        # deleting a machine while its snapshot job runs cancels the job
        self.create('jd', mem='1G')
        self.write_pages('jd', 0x4000000, list(range(1000, 1512)))
        job = self.ok(d.post('/v1/machines/jd/snapshots', {'async': True}), 202)
        self.assertEqual(d.delete('/v1/machines/jd').status, 204)
        j = self.wait_job(job)
        self.assertIn(j['state'], ('done', 'failed'), j)
        if j['state'] == 'failed':
            self.assertEqual(j['error']['status'], 404)
            self.assertIn('was deleted', j['error']['detail'])

    def test_frames_shared(self):
        """Disk use grows with what changed, not with the RAM size."""
        d = self.daemon
        n = 1024  # 4 MiB of data that does not compress
        self.create('f1', mem='1G')
        self.write_pages('f1', 0x10000000, list(range(5000, 5000 + n)))
        st0 = self.storage('f1')
        s1 = self.snapshot('f1')
        st1 = self.storage('f1')
        self.assertGreaterEqual(s1['stored']['new_frames'], n)
        self.assertGreaterEqual(s1['stored']['new_frame_bytes'], n * PAGE)
        used1 = st1['db_bytes'] - st1['free_bytes'] - (st0['db_bytes'] - st0['free_bytes'])
        self.assertGreaterEqual(used1, n * PAGE)
        self.assertLess(used1, n * PAGE * 1.5)
        # one page changes: the next snapshot adds that page, its state and its map
        self.write_pages('f1', 0x10000000 + 7 * PAGE, [99999])
        s2 = self.snapshot('f1')
        st2 = self.storage('f1')
        self.assertEqual(s2['stored']['new_frames'], 1)
        self.assertEqual(s2['stored']['new_frame_bytes'], PAGE)
        self.assertLess(s2['stored']['added'], 64 << 10)
        used2 = (st2['db_bytes'] - st2['free_bytes']) - (st1['db_bytes'] - st1['free_bytes'])
        # (the state holds SLUB's caches too: about 13 KiB compressed, whole SQLite pages)
        self.assertLess(used2, 192 << 10)
        self.assertEqual(st2['frames'], st1['frames'] + 1)
        # deleting the first snapshot frees the one page only it had
        r = self.ok(d.delete('/v1/machines/f1/snapshots/%d' % s1['id']))
        self.assertEqual(r, {'id': s1['id'], 'deleted': True, 'retained': False,
                             'collected': {'frames': 1, 'bytes': PAGE}})
        self.problem(d.get('/v1/machines/f1/snapshots/%d' % s1['id']), 404)
        self.assertEqual([x['id'] for x in self.ok(d.get('/v1/machines/f1/snapshots'))
                          ['snapshots']], [s2['id']])
        # a machine four times the size with the same data: none of it is stored again, and
        # its snapshot costs about what a small machine's does
        self.create('f4', mem='4G', pae=True)
        self.write_pages('f4', 0x10000000, list(range(5000, 5000 + n)))
        s4 = self.snapshot('f4')
        self.assertLess(s4['stored']['added'], 1 << 20)
        self.assertLess(s4['stored']['new_frame_bytes'], 256 * PAGE)  # its boot's own pages
        # the second still restores (its frames are there)
        self.cmds('f1', {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
        self.restore('f1', s2['id'])
        self.assertEqual(self.hash('f1')['hash'], s2['state_hash'])
        # a deleted snapshot that a journal restores is kept (unlisted) for replays
        r = self.ok(d.delete('/v1/machines/f1/snapshots/%d' % s2['id']))
        self.assertEqual((r['retained'], r['collected']['frames']), (True, 0))
        self.problem(d.post('/v1/machines/f1/snapshots/%d/restore' % s2['id']), 404)
        rp = self.ok(d.post('/v1/sessions/f1/replay', {'verify': True}), 201)
        self.assertEqual(rp['divergences'], 0, rp)
        self.assertEqual(rp['state_hash']['hash'], self.hash('f1')['hash'])
        # deleting the machines frees what only they had: at the end, everything
        before = self.storage('f4')
        self.assertEqual(d.delete('/v1/machines/f1').status, 204)
        after = self.storage('f4')  # the replay still restores s2: kept
        self.assertEqual((after['frames'], after['retained']),
                         (before['frames'], before['retained']))
        self.assertEqual(d.delete('/v1/machines/' + rp['machine']).status, 204)
        after = self.storage('f4')
        self.assertEqual(after['retained'], before['retained'] - 1)
        self.assertLess(after['frames'], before['frames'])
        self.assertGreaterEqual(after['frames'], n)  # f4's snapshot has the data
        self.assertEqual(d.delete('/v1/machines/f4').status, 204)
        self.create('g')
        st = self.storage('g')
        keys = ('frames', 'frame_bytes', 'snapshots', 'retained', 'snapshot_bytes')
        self.assertEqual([st[k] for k in keys], [st0[k] for k in keys])


class RestartTest(Helpers, unittest.TestCase):
    """Machines come back from their newest snapshot plus the journal after it."""

    def test_restart_from_snapshots(self):
        d = Daemon()
        self.addCleanup(d.kill)
        d.start()
        t = self
        t.daemon = d
        hashes, bases, logs = {}, {}, ''
        try:
            for kind, pae in KINDS:
                m = 'r' + kind
                t.create(m, mem='1G', pae=pae, cpus=2)
                t.cmds(m, [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': i % 4,
                            'cpu': i % 2} for i in range(50)])
                t.write_pages(m, 0x8000000, [7, 8, 9])
                s1 = t.snapshot(m)
                t.cmds(m, [{'op': 'alloc_pages', 'gfp': 'GFP_HIGHUSER', 'cpu': 1}] * 5)
                t.restore(m, s1['id'])
                t.cmds(m, [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}] * 3)
                t.snapshot(m)
                t.cmds(m, [{'op': 'set_sysctl', 'name': 'min_free_kbytes', 'value': 6000},
                           {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}])
                # a clone of the first snapshot, and a deleted snapshot its journal restores
                bases[kind] = s1['id']
                c = d.post('/v1/machines', {'name': 'k' + kind, 'from_snapshot': s1['id']})
                self.assertEqual(c.status, 201, c)
                t.cmds('k' + kind, {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
                self.assertEqual(d.delete('/v1/machines/%s/snapshots/%d' % (m, s1['id']))
                                 .status, 200)
                for x in (m, 'k' + kind):
                    hashes[x] = t.hash(x)
            journal = t.journal('r686')
            code = d.stop()
            self.assertEqual(code, 0, d.log())
            logs += d.log()

            d2 = Daemon(db=d.db)
            self.addCleanup(d2.kill)
            d2.start()
            t.daemon = d2
            for x, h in hashes.items():
                self.assertEqual(t.hash(x), h, x)
            self.assertEqual(t.journal('r686'), journal)
            with open(d2.log_path, encoding='utf-8', errors='replace') as f:
                log = f.read()
            logs += log
            # two commands after the newest snapshot; the clone from its (deleted) base
            self.assertRegex(log, r'machine r686 restored: 2 command\(s\) replayed, 0 failed, '
                                  r'0 mismatched \(after snapshot \d+ at seq 62\)')
            self.assertIn('machine k686 restored: 1 command(s) replayed, 0 failed, '
                          '0 mismatched (after snapshot %d at seq 0)' % bases['686'], log)
            # the journal goes on from where it was
            r = t.cmds('r686', {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
            self.assertEqual(r['seq'], 65)
            # a SIGKILL instead of a SIGTERM: the same
            hashes['r686'] = t.hash('r686')
            d2.kill()
            d3 = Daemon(db=d.db)
            self.addCleanup(d3.kill)
            d3.start()
            t.daemon = d3
            for x, h in hashes.items():
                self.assertEqual(t.hash(x), h, x)
            self.assertEqual(d3.stop(), 0)
            logs += d3.log()
        finally:
            sys.stderr.write('--- mm32d logs (restart) ---\n%s\n' % logs[-8000:])


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'snapshots')


class OldDatabaseTest(Helpers, unittest.TestCase):
    """A database made before the sectioned snapshot format (tests/data/snapshots/
    pre-sections.db, written by mm32d at main 2044777; every snapshot in format 1) still
    starts: a machine's own old snapshots are skipped with a warning naming the machine and
    the snapshot, and it is rebuilt from its journal; the state of an old snapshot that a
    journal restores, or that a clone starts from, is rebuilt from the journal of the
    machine it was taken of. Every machine equals what that mm32d showed
    (pre-sections.expect.json), and new snapshots work."""

    def test_old_snapshots_rebuilt_from_journal(self):
        with open(os.path.join(DATA, 'pre-sections.expect.json'), encoding='utf-8') as f:
            expect = json.load(f)
        d = Daemon()
        shutil.copy(os.path.join(DATA, 'pre-sections.db'), d.db)
        self.addCleanup(d.kill)
        d.start()
        self.daemon = d
        log = d.log()
        for mid, sid in (('old686', 2), ('old686', 1), ('oldpae', 3)):
            self.assertIn('machine %s: snapshot %d does not load (snapshot %d of machine '
                          "'%s' is in the old format version 1" % (mid, sid, sid, mid), log)
        for mid in ('old686', 'oldpae'):
            self.assertIn('machine %s: no snapshot of it loads; it is rebuilt from its '
                          'configuration and its whole journal' % mid, log)
        # old686's journal restores snapshot 1; oldclone starts from snapshot 2
        for sid, seq in ((1, 2), (2, 4)):
            self.assertIn("snapshot %d is in the old format 1: its state was rebuilt from the "
                          "journal of machine 'old686' up to seq %d" % (sid, seq), log)
        # the database was written by boot revision 1; a later revision rebuilds the machines
        # from their journals with another boot: they come back, but need not be the same
        if self.ok(d.get('/v1/version'))['boot_revision'] != 1:
            for mid in ('old686', 'oldpae', 'oldclone'):
                self.assertRegex(log, r'machine %s restored: \d+ command\(s\) replayed' % mid)
                for f in ('zoneinfo', 'meminfo'):
                    self.assertEqual(d.get('/v1/machines/%s/proc/%s' % (mid, f)).status, 200)
                self.assertEqual(d.get('/v1/machines/%s/check' % mid).status, 200)
            return
        self.assertIn('machine old686 restored: 7 command(s) replayed, 0 failed, '
                      '0 mismatched\n', log)
        self.assertIn('machine oldpae restored: 3 command(s) replayed, 0 failed, '
                      '0 mismatched\n', log)
        self.assertIn('machine oldclone restored: 1 command(s) replayed, 0 failed, '
                      '0 mismatched (after snapshot 2 at seq 0)', log)
        for mid, e in expect.items():
            for f in ('zoneinfo', 'buddyinfo', 'pagetypeinfo', 'meminfo', 'vmstat'):
                r = d.get('/v1/machines/%s/proc/%s' % (mid, f))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.text, e[f], '%s %s' % (mid, f))
            self.assertEqual(d.get('/v1/machines/%s/dmesg' % mid).text, e['dmesg'], mid)
            self.assertEqual(self.ok(d.get('/v1/machines/%s/cpus/0/tlb' % mid)), e['tlb0'], mid)
            self.assertEqual(self.ok(d.get('/v1/machines/%s/memory?addr=0x4000000&len=8'
                                           '&space=phys' % mid)), e['memory'], mid)
            self.assertEqual(self.journal(mid), e['journal']['entries'], mid)
        # a session import whose header names an old snapshot starts from its state rebuilt
        # from old686's journal: oldclone's own session imports to oldclone's state
        text = d.get('/v1/sessions/oldclone/journal').text
        self.assertIn('"from_snapshot":2', text.splitlines()[0].replace(' ', ''))
        r = d.request('POST', '/v1/sessions?name=reclone', body=text.encode(),
                      headers={'Content-Type': 'application/x-ndjson'})
        imp = self.ok(r, 201)
        self.assertEqual((imp['machine'], imp['divergences']), ('reclone', 0), imp)
        self.assertEqual(imp['state_hash']['hash'], self.hash('oldclone')['hash'])
        self.assertEqual(d.get('/v1/machines/reclone/dmesg').text, expect['oldclone']['dmesg'])
        # the old snapshots are listed with their format; restoring one rebuilds its state,
        # which is what the journal gives up to its seq
        snaps = self.ok(d.get('/v1/machines/old686/snapshots'))['snapshots']
        self.assertEqual([(s['id'], s['format']) for s in snaps], [(1, 1), (2, 1)])
        replay = self.ok(d.post('/v1/sessions/old686/replay', {'until_seq': 4}), 201)
        self.assertEqual((replay['replayed'], replay['divergences']), (4, 0), replay)
        r = self.restore('old686', 2)
        self.assertEqual((r['snapshot'], r['machine'], r['seq']), (2, 'old686', 4), r)
        self.assertEqual(self.hash('old686')['hash'], replay['state_hash']['hash'])
        # a new snapshot, then a restart from it
        h = self.hash('old686')
        s = self.snapshot('old686')
        self.assertEqual(s['format'], 2)
        self.assertEqual(s['state_hash'], h['hash'])
        self.cmds('old686', {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'})
        h = self.hash('old686')
        self.assertEqual(d.stop(), 0, d.log())
        d2 = Daemon(db=d.db)
        self.addCleanup(d2.kill)
        d2.start()
        self.daemon = d2
        self.assertEqual(self.hash('old686'), h)
        self.assertIn('machine old686 restored: 1 command(s) replayed, 0 failed, 0 mismatched '
                      '(after snapshot %d at seq 8)' % s['id'], d2.log())
        # the limit: once old686 and its journal are gone, nothing rebuilds the old snapshot
        # oldclone starts from, and the log says so (oldclone's journal stays in the store)
        self.assertEqual(d2.delete('/v1/machines/old686').status, 204)
        self.assertEqual(d2.stop(), 0, d2.log())
        d3 = Daemon(db=d.db)
        self.addCleanup(d3.kill)
        d3.start()
        self.assertIn("machine oldclone could not be restored: snapshot 2 is in the old format 1, "
                      "and the journal of machine 'old686' does not rebuild it: machine "
                      "'old686', whose journal would rebuild it, was deleted", d3.log())
        self.assertEqual(d3.get('/v1/machines/oldclone').status, 404)
        self.assertEqual(d3.stop(), 0, d3.log())


class SessionsTest(Base):
    """Sessions: list, NDJSON export, import, replay with verification, divergences."""

    daemon_args = ('--max-body', '16M')

    def session_text(self, mid):
        r = self.daemon.get('/v1/sessions/%s/journal' % mid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, 'application/x-ndjson')
        return r.text

    def import_(self, text, name=None, status=201, ctype='application/x-ndjson'):
        path = '/v1/sessions' + ('?name=' + name if name else '')
        hdrs = {'Content-Type': ctype} if ctype else {}
        r = self.daemon.request('POST', path, body=text.encode(), headers=hdrs)
        if status != 201:
            return self.problem(r, status)
        doc = self.ok(r, 201)
        self.assertEqual(r.headers.get('Location'), '/v1/sessions/' + doc['session'])
        return doc

    def make_session(self, m, pae):
        self.create(m, mem='1G', pae=pae, cpus=2)
        r = self.cmds(m, [{'op': 'alloc_pages', 'gfp': ('GFP_KERNEL', 'GFP_HIGHUSER')[i % 2],
                           'order': i % 3, 'cpu': i % 2} for i in range(40)])
        pfns = [x['result'] for x in r['results']]
        self.cmds(m, [{'op': 'free_pages', 'pfn': p['pfn'], 'order': p['order']}
                      for p in pfns[::3]])
        self.write_pages(m, 0x6000000, [11, 12])
        self.daemon.put('/v1/machines/%s/sysctl/vm/watermark_scale_factor' % m, {'value': 55})
        s = self.snapshot(m)
        self.cmds(m, [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 1}] * 5)
        self.restore(m, s['id'])
        self.cmds(m, {'op': 'alloc_pages', 'gfp': 'GFP_ATOMIC', 'cpu': 1})
        # a failure that changed the machine is part of the session too
        for _ in range(64):
            r = self.daemon.post('/v1/machines/%s/commands' % m,
                                 {'op': 'alloc_pages', 'gfp': 'GFP_DMA|__GFP_NOWARN',
                                  'order': 10})
            if r.status == 409:
                break
        s2 = self.snapshot(m)
        self.cmds(m, [{'op': 'flush_tlb', 'cpu': 1}, {'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}])
        return s, s2

    def test_export_import_replay(self):
        d = self.daemon
        for kind, pae in KINDS:
            m = 'x' + kind
            s, s2 = self.make_session(m, pae)
            h = self.hash(m)
            text = self.session_text(m)
            lines = [json.loads(x) for x in text.splitlines()]
            head = lines[0]
            self.assertEqual(head['mm32_session'], 1)
            self.assertEqual(head['machine'], m)
            self.assertEqual(head['config'], self.ok(d.get('/v1/machines/' + m))['config'])
            self.assertIsNone(head['from_snapshot'])
            self.assertEqual([x['seq'] for x in lines[1:]], list(range(1, h['seq'] + 1)))
            for x in lines[1:]:
                self.assertEqual(sorted(x), ['command', 'result', 'seq', 'time'])
            listed = self.ok(d.get('/v1/sessions'))['sessions']
            me = [x for x in listed if x['id'] == m][0]
            self.assertEqual(me['commands'], h['seq'])
            self.assertEqual(me['origin'], {'kind': 'created'})
            self.assertEqual([x['id'] for x in self.ok(d.get('/v1/sessions/' + m))['snapshots']],
                             [s['id'], s2['id']])

            # import: the same state, the same journal, results compared on the way
            imp = self.import_(text, name='i' + kind)
            self.assertEqual((imp['session'], imp['machine']), ('i' + kind, 'i' + kind))
            self.assertEqual(imp['divergences'], 0, imp)
            self.assertIsNone(imp['first_divergence'])
            self.assertEqual(imp['state_hash']['hash'], h['hash'])
            self.assertEqual(imp['seq'], h['seq'])
            self.assertEqual(self.hash('i' + kind), h)
            again = [json.loads(x) for x in self.session_text('i' + kind).splitlines()]
            self.assertEqual(again[1:], lines[1:])
            self.assertEqual(again[0]['origin'], {'kind': 'import', 'from': m})

            # replay: all of it, verified
            rp = self.ok(d.post('/v1/sessions/%s/replay' % m, {'verify': True}), 201)
            self.assertEqual(rp['divergences'], 0, rp)
            self.assertEqual(rp['state_hash']['hash'], h['hash'])
            self.assertEqual(rp['from_snapshot'], {'id': s2['id'], 'seq': s2['seq']})
            self.assertEqual(rp['replayed'], h['seq'] - s2['seq'])
            self.assertEqual(self.hash(rp['machine'])['hash'], h['hash'])
            # up to a seq: from the nearest snapshot at or before it
            for until in (0, 1, s['seq'], s['seq'] + 3, s2['seq'] - 1):
                rp = self.ok(d.post('/v1/sessions/%s/replay' % m, {'until_seq': until,
                                                                   'name': 'u%s%d' % (kind,
                                                                                      until)}),
                             201)
                self.assertEqual(rp['divergences'], 0, (until, rp))
                self.assertEqual(rp['until_seq'], until)
                self.assertEqual(rp['machine'], 'u%s%d' % (kind, until))
                near = s if until >= s['seq'] else None
                self.assertEqual(rp['from_snapshot'],
                                 {'id': near['id'], 'seq': near['seq']} if near else None)
                # the same state as a replay of the whole journal from the configuration
                full = self.import_('\n'.join(text.splitlines()[:until + 1]) + '\n')
                self.assertEqual(full['divergences'], 0)
                self.assertEqual(rp['state_hash']['hash'], full['state_hash']['hash'], until)
            self.problem(d.post('/v1/sessions/%s/replay' % m, {'until_seq': h['seq'] + 1}),
                         422, 'invalid-argument')

    def test_divergence_reported(self):
        d = self.daemon
        self.create('e', mem='1G', pae=True)
        r = self.cmds('e', [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'} for _ in range(20)])
        pfn = r['results'][4]['result']['pfn']
        text = self.session_text('e')
        lines = text.splitlines()
        # a result edited: seq 5 says another pfn
        e5 = json.loads(lines[5])
        self.assertEqual(e5['seq'], 5)
        e5['result']['pfn'] = pfn + 1000
        edited = lines[:5] + [json.dumps(e5)] + lines[6:]
        imp = self.import_('\n'.join(edited) + '\n', name='e1')
        self.assertEqual(imp['divergences'], 1)
        self.assertEqual(imp['first_divergence']['seq'], 5)
        rp = self.ok(d.post('/v1/sessions/e1/replay', {'verify': True}), 201)
        self.assertEqual(rp['divergences'], 1)
        fd = rp['first_divergence']
        self.assertEqual(fd['seq'], 5)
        self.assertEqual(fd['recorded']['pfn'], pfn + 1000)
        self.assertEqual(fd['got']['pfn'], pfn)
        self.assertEqual(fd['command'], e5['command'])
        self.assertTrue(fd['applied'])
        # without verification nothing is compared
        rp = self.ok(d.post('/v1/sessions/e1/replay', {'verify': False}), 201)
        self.assertEqual((rp['verified'], rp['divergences']), (False, 0))
        # a command edited: seq 8 asks for order 2 (it still applies; what follows differs)
        e8 = json.loads(lines[8])
        e8['command']['order'] = 2
        edited = lines[:8] + [json.dumps(e8)] + lines[9:]
        imp = self.import_('\n'.join(edited) + '\n', name='e2')
        rp = self.ok(d.post('/v1/sessions/e2/replay', {}), 201)
        self.assertEqual(rp['first_divergence']['seq'], 8)
        self.assertEqual(rp['first_divergence']['got']['order'], 2)
        self.assertGreater(rp['divergences'], 1)

    def test_bad_imports(self):
        d = self.daemon
        self.create('y', mem='256M')
        self.cmds('y', [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}] * 3)
        lines = self.session_text('y').splitlines()
        before = self.ok(d.get('/v1/sessions'))
        cases = [
            # (body, status, words the detail must hold)
            ('', 422, 'NDJSON'),
            ('{"config": ', 400, 'line 1'),
            ('[1, 2]\n', 422, 'line 1'),
            ('{"config": {"mem": "1G", "cpus": 99}}\n', 422, 'line 1'),
            ('{"config": {"mem": "1G"}, "extra": 1}\n', 422, 'extra'),
            ('{"mm32_session": 7, "config": {"mem": "1G"}}\n', 422, 'mm32_session'),
            # a configuration that cannot boot
            ('{"config": {"mem": "256M", "cmdline": "vmalloc=4000M"}}\n', 422, 'line 1'),
            ('{"config": {"mem": "1G"}, "from_snapshot": 999999}\n', 422, 'from_snapshot'),
            ('\n'.join(lines[:2] + ['{"seq": 2, "time": "t", "command": {"op": '] + lines[3:]),
             400, 'line 3'),
            ('\n'.join(lines[:2] + [''] + lines[2:]), 400, 'line 3'),
            ('\n'.join(lines[:2] + [lines[3]] + lines[3:]), 422, 'line 3'),  # seq 3, not 2
            ('\n'.join(lines[:3] + ['{"seq": 3, "command": {"op": "x"}, "result": 1}']), 422,
             'line 4'),
            ('\n'.join(lines[:3] + ['{"seq": 3, "command": {"op": "free_pages", "pfn": 1},'
                                    ' "result": 1}']), 422, 'line 4'),
            ('\n'.join(lines[:3] + ['{"seq": 3, "command": {"op": "snapshot_restore",'
                                    ' "snapshot": 999999}, "result": 1}']), 422, 'line 4'),
            ('\n'.join(lines[:3] + ['{"seq": 3, "command": {"op": "alloc_pages", "gfp":'
                                    ' "GFP_KERNEL"}}']), 422, 'result'),
            ('\n'.join(lines[:3] + ['{"seq": 3, "time": 5, "command": {"op": "alloc_pages",'
                                    ' "gfp": "GFP_KERNEL"}, "result": 1}']), 422, 'time'),
            ('\n'.join(lines[:3] + ['{"seq": 3, "bogus": 1, "command": {"op": "alloc_pages",'
                                    ' "gfp": "GFP_KERNEL"}, "result": 1}']), 422, 'bogus'),
        ]
        for body, status, words in cases:
            p = self.import_(body, status=status)
            self.assertIn(words, p['detail'], (body[:80], p))
        self.problem(d.request('POST', '/v1/sessions', body=b'x',
                               headers={'Content-Type': 'text/csv'}), 415)
        self.problem(d.request('POST', '/v1/sessions?name=-bad', body='\n'.join(lines).encode()),
                     422)
        self.problem(d.request('POST', '/v1/sessions?nom=x', body='\n'.join(lines).encode()),
                     422)
        self.import_('\n'.join(lines), name='y', status=409)
        # nothing of a refused import remains
        self.assertEqual(self.ok(d.get('/v1/sessions')), before)
        # no Content-Type, no trailing newline, CRLF: fine
        ok = self.import_('\r\n'.join(lines), ctype=None)
        self.assertEqual(ok['divergences'], 0)
        # replay's bad input
        for body in ({'until_seq': -1}, {'verify': 1}, {'name': ''}, {'x': 1}, [1]):
            self.problem(d.post('/v1/sessions/y/replay', body), 422)
        self.problem(d.post('/v1/sessions/nope/replay', {}), 404)
        self.problem(d.post('/v1/sessions/y/replay', {'name': 'y'}), 409)


class SyncOptionTest(unittest.TestCase):
    """--sync full|normal."""

    def test_sync(self):
        import subprocess
        from mm32d import mm32d_path
        p = subprocess.run([mm32d_path(), '--config=', '--sync', 'bogus'], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn('full or normal', p.stderr)
        p = subprocess.run([mm32d_path(), '--config=', '--sync', 'normal', '--check-config'],
                           capture_output=True, text=True, timeout=30)
        self.assertIn('sync = normal', p.stdout)
        d = Daemon(args=['--sync', 'normal'])
        self.addCleanup(d.kill)
        d.start()
        self.assertEqual(d.post('/v1/machines', {'name': 'n', 'mem': '64M'}).status, 201)
        self.assertEqual(d.stop(), 0)
        self.assertIn('(sync normal)', d.log())


# ---- the crash test ---------------------------------------------------------------------------

class Client(threading.Thread):
    """Streams batches of commands at one machine until the daemon dies; keeps every command
    whose answer arrived (acknowledged), by seq."""

    def __init__(self, d, mid, seed, pae):
        super().__init__(daemon=True)
        self.d, self.mid, self.rng, self.pae = d, mid, random.Random(seed), pae
        self.acked = {}  # seq -> command
        self.held = []   # (pfn, order, address)
        self.error = None

    def batch(self):
        out = []
        for _ in range(self.rng.randint(1, 60)):
            x = self.rng.random()
            if x < 0.45 or not self.held:
                out.append({'op': 'alloc_pages', 'order': self.rng.randint(0, 3),
                            'gfp': self.rng.choice(['GFP_KERNEL', 'GFP_HIGHUSER_MOVABLE',
                                                    'GFP_KERNEL|__GFP_ZERO']),
                            'cpu': self.rng.randint(0, 1)})
            elif x < 0.75:
                pfn, order, _ = self.held.pop(self.rng.randrange(len(self.held)))
                out.append({'op': 'free_pages', 'pfn': pfn, 'order': order})
            elif x < 0.95:
                pfn, order, _ = self.held[self.rng.randrange(len(self.held))]
                out.append({'op': 'memory_write', 'addr': hex(pfn * PAGE + self.rng.randrange(
                    PAGE - 64)), 'data': self.rng.randbytes(32).hex(), 'space': 'phys'})
            else:
                out.append({'op': 'set_sysctl', 'name': 'watermark_scale_factor',
                            'value': self.rng.randint(10, 300)})
        # frees of the same page twice in one batch: keep the first
        seen, cmds = set(), []
        for c in out:
            if c['op'] == 'free_pages':
                if c['pfn'] in seen:
                    continue
                seen.add(c['pfn'])
            cmds.append(c)
        return cmds

    def run(self):
        conn = self.d.connection(timeout=10)
        try:
            while True:
                cmds = self.batch()
                try:
                    r = self.d.request('POST', '/v1/machines/%s/commands' % self.mid, body=cmds,
                                       conn=conn)
                except OSError:
                    return  # the daemon is gone
                body = r.json()
                results = body.get('results', [])
                for c, res in zip(cmds, results):
                    self.acked[res['seq']] = c
                    if c['op'] == 'alloc_pages':
                        self.held.append((res['result']['pfn'], c['order'], None))
                if r.status != 200 and r.status != 409:
                    self.error = r
                    return
                if r.status == 409 and 'seq' in body:
                    # a failure journaled with its error (guest out of memory): acknowledged
                    self.acked[body['seq']] = cmds[len(results)]
        except Exception as e:  # the daemon dies at any byte of an answer
            if not isinstance(e, (OSError, ValueError, http.client.HTTPException)):
                self.error = e
        finally:
            conn.close()


def _libzstd():
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library('zstd') or 'libzstd.so.1')
    lib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
    lib.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.ZSTD_decompress.restype = ctypes.c_size_t
    lib.ZSTD_decompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.c_size_t]
    return lib


def batch_commands(text, z):
    """A journal row's commands text: the column, or its zstd frame (schema/005)."""
    if z is None:
        return text
    import ctypes
    lib = _libzstd()
    n = lib.ZSTD_getFrameContentSize(z, len(z))
    buf = ctypes.create_string_buffer(n)
    got = lib.ZSTD_decompress(buf, n, z, len(z))
    assert got == n, (got, n)
    return buf.raw[:n].decode()


class CrashTest(unittest.TestCase):
    """kill -9 while commands stream in and while a snapshot is written, several times: after
    each, the database opens, every acknowledged command is in the journal, nothing half
    written remains, and a replay of each session gives the restarted machine's state hash."""

    ROUNDS = int(os.environ.get('CRASH_ROUNDS', '5'))  # `make crash-test`: 50
    DATA_MIB = 16  # rewritten before each snapshot that is killed, so that it writes frames

    def check_db(self, path, clients):
        db = sqlite3.connect(path)
        try:
            # the snapshot frames are in a file of their own beside it (daemon/store.c)
            db.execute('ATTACH DATABASE ? AS fr', (path + '.frames',))
            self.assertEqual(db.execute('PRAGMA integrity_check').fetchall(), [('ok',)])
            self.assertEqual(db.execute('PRAGMA fr.integrity_check').fetchall(), [('ok',)])
            self.assertEqual(db.execute('PRAGMA foreign_key_check').fetchall(), [])
            self.assertEqual(db.execute('PRAGMA fr.foreign_key_check').fetchall(), [])
            for c in clients:
                # after the snapshot the journal was compacted behind, if it was
                nxt = 1 + db.execute('SELECT coalesce(max(s.seq), 0) FROM machines m JOIN '
                                     'snapshots s ON s.id = m.journal_base WHERE m.id = ?',
                                     (c.mid,)).fetchone()[0]
                for first, n in db.execute('SELECT first_seq, n FROM journal_batches WHERE '
                                           'machine_id = ? ORDER BY first_seq', (c.mid,)):
                    self.assertEqual(first, nxt, 'the journal of %s has a gap' % c.mid)
                    nxt = first + n
                if not c.acked:
                    continue
                journal = {}
                for first, cmds, z in db.execute(
                        'SELECT first_seq, commands, commands_zstd FROM journal_batches '
                        'WHERE machine_id = ? AND first_seq + n > ?', (c.mid, min(c.acked))):
                    for i, cmd in enumerate(json.loads(batch_commands(cmds, z))):
                        journal[first + i] = cmd
                for seq, cmd in c.acked.items():
                    self.assertIn(seq, journal, '%s: acknowledged seq %d is lost' % (c.mid, seq))
                    self.assertEqual(journal[seq], cmd, (c.mid, seq))
            return db.execute('SELECT count(*) FROM frames').fetchone()[0]
        finally:
            db.close()

    def snapshots_in_db(self, path, mid):
        db = sqlite3.connect(path)
        try:
            return db.execute('SELECT count(*) FROM snapshots WHERE machine_id = ?',
                              (mid,)).fetchone()[0]
        finally:
            db.close()

    def frames(self, d, mid):
        r = d.get('/v1/machines/%s/snapshots' % mid)
        self.assertEqual(r.status, 200, r)
        return r.json()['storage']['frames']

    def write_data(self, d, mid, seed):
        """DATA_MIB of new data at 512 MiB, 64 KiB per command."""
        rng = random.Random(seed)
        for k in range(self.DATA_MIB):
            r = d.post('/v1/machines/%s/commands' % mid, [
                {'op': 'memory_write', 'addr': hex(0x20000000 + (k << 20) + (i << 16)),
                 'data': rng.randbytes(1 << 16).hex(), 'space': 'phys'} for i in range(16)])
            self.assertEqual(r.status, 200, r)

    def test_kill_9(self):
        rng = random.Random(int(os.environ.get('CRASH_SEED', '5')))
        d = Daemon(args=['--max-body', '16M'])
        self.addCleanup(d.kill)
        d.start()
        logs = []
        killed_mid_snapshot = 0
        try:
            for mid, pae in (('c686', False), ('cpae', True)):
                r = d.post('/v1/machines', {'name': mid, 'mem': '1G', 'pae': pae, 'cpus': 2})
                self.assertEqual(r.status, 201, r)
            self.write_data(d, 'c686', 0)
            r = d.post('/v1/machines/c686/snapshots', {'async': False})
            self.assertEqual(r.status, 201, r)
            rnd = -1
            # every other round kills during a snapshot; whether the kill lands while frames
            # are being written is timing: rounds go on (6 at most) until one did
            while True:
                rnd += 1
                if rnd >= self.ROUNDS and (killed_mid_snapshot or rnd >= self.ROUNDS + 6):
                    break
                during_snapshot = rnd % 2 == 1 or rnd >= self.ROUNDS
                if during_snapshot:
                    self.write_data(d, 'c686', rnd)
                    frames_before = self.frames(d, 'c686')
                    snapshots_before = self.snapshots_in_db(d.db, 'c686')
                elif rnd % 4 == 2:
                    # compact each journal behind a new snapshot, then kill as usual: the
                    # compaction is one transaction, and the rounds after start from its base
                    for mid in ('c686', 'cpae'):
                        r = d.post('/v1/machines/%s/snapshots' % mid, {'async': False})
                        self.assertEqual(r.status, 201, r)
                        r = d.post('/v1/machines/%s/journal/compact' % mid,
                                   {'snapshot': r.json()['id']})
                        self.assertEqual(r.status, 200, r)
                clients = [Client(d, 'c686', rng.random(), False),
                           Client(d, 'cpae', rng.random(), True)]
                for c in clients:
                    c.start()
                time.sleep(rng.uniform(0.1, 0.5))
                mid_snapshot = False
                if during_snapshot:
                    r = d.post('/v1/machines/c686/snapshots', {'async': True})
                    self.assertEqual(r.status, 202, r)
                    job = r.json()
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        j = d.get('/v1/jobs/%d' % job['id']).json()
                        if j['state'] != 'running' or j['progress']['done'] > 0:
                            break
                    if j['state'] == 'running' and j['progress']['done'] > 0:
                        time.sleep(rng.uniform(0, 0.03))
                        mid_snapshot = True
                d.kill()
                # a snapshot that was committed before the kill landed was not cut short
                if mid_snapshot and self.snapshots_in_db(d.db, 'c686') > snapshots_before:
                    mid_snapshot = False
                killed_mid_snapshot += mid_snapshot
                for c in clients:
                    c.join(15)
                    self.assertFalse(c.is_alive())
                    self.assertIsNone(c.error, c.error)
                logs.append(d.log())
                self.assertGreater(sum(len(c.acked) for c in clients), 0)
                frames = self.check_db(d.db, clients)

                # restart on the same database, alternating the durability mode
                d = Daemon(db=d.db, args=['--max-body', '16M', '--sync',
                                          ('full', 'normal')[rnd % 2]])
                self.addCleanup(d.kill)
                d.start()
                if mid_snapshot:
                    # the snapshot cut short left nothing: what it had written is collected
                    self.assertLessEqual(frames_before, frames)
                    self.assertEqual(self.frames(d, 'c686'), frames_before)
                for c in clients:
                    h = d.get('/v1/machines/%s/state-hash' % c.mid).json()
                    self.assertGreaterEqual(h['seq'], max(c.acked or [0]))
                    r = d.post('/v1/sessions/%s/replay' % c.mid, {'verify': True})
                    self.assertEqual(r.status, 201, r)
                    rp = r.json()
                    self.assertEqual(rp['divergences'], 0, rp)
                    self.assertEqual(rp['state_hash']['hash'], h['hash'], (rnd, c.mid, rp))
                    start = (rp['from_snapshot'] or {'seq': 0})['seq']
                    self.assertEqual(rp['seq'], h['seq'] - start)
                    self.assertEqual(d.delete('/v1/machines/' + rp['machine']).status, 204)
                    self.assertEqual(d.get('/v1/machines/%s/check' % c.mid).status, 200)
            self.assertGreater(killed_mid_snapshot, 0, 'no kill happened during a snapshot')
            sys.stderr.write('crash: %d/%d rounds survived kill -9 with every acknowledged '
                             'command kept and replays verified; %d of the kills hit a '
                             'snapshot being written\n'
                             % (rnd, rnd, killed_mid_snapshot))
            self.assertEqual(d.stop(), 0)
            logs.append(d.log())
        finally:
            sys.stderr.write('--- mm32d logs (crash), last part ---\n%s\n'
                             % '\n'.join(logs)[-6000:])


if __name__ == '__main__':
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
