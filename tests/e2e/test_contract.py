#!/usr/bin/env python3
"""openapi.yaml is the contract: every answer of the real mm32d must be one it documents.

Drives every operation of openapi.yaml (good and bad input) and checks that the status is among
the operation's responses, that the Content-Type is the documented one, and that JSON bodies
validate against the documented schema (python3-jsonschema, Draft 2020-12, as OpenAPI 3.1
says). Fails if an operation of the file was not exercised.

Debian's python3-yaml and python3-jsonschema (`make test` installs them); without them the test
fails, it never skips.
"""

import json
import os
import re
import sys
import threading
import unittest

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mm32d import SOURCE_ROOT, Daemon  # noqa: E402

SPEC_PATH = os.path.join(SOURCE_ROOT, 'openapi.yaml')


def load_spec():
    """openapi.yaml as JSON would have it (PyYAML reads `200:` as an int key; JSON's keys are
    strings, as in the document's meaning)."""
    with open(SPEC_PATH, encoding='utf-8') as f:
        return json.loads(json.dumps(yaml.safe_load(f), default=str))


SPEC = None


def resolve(node):
    """Follow $ref (a response or a schema) to the object it names."""
    while '$ref' in node:
        target = SPEC
        for part in node['$ref'].lstrip('#/').split('/'):
            target = target[part.replace('~1', '/').replace('~0', '~')]
        node = {**target, **{k: v for k, v in node.items() if k != '$ref'}}
    return node


def validate(schema, value):
    """The errors of @value against @schema (OpenAPI 3.1 schemas are JSON Schema 2020-12),
    its $refs resolved in openapi.yaml; an empty list when it is valid."""
    resolver = jsonschema.RefResolver(base_uri='', referrer=SPEC)
    v = jsonschema.Draft202012Validator(schema, resolver=resolver)
    return ['%s: %s' % ('/'.join(map(str, e.absolute_path)) or '$', e.message)
            for e in v.iter_errors(value)]


def template_of(path):
    """The openapi.yaml path template that @path matches."""
    for t in SPEC['paths']:
        rx = '^' + re.sub(r'\\{[^}]+\\}', '[^/]+', re.escape(t)) + '$'
        if re.match(rx, path.split('?')[0]):
            return t
    return None


class ContractTest(unittest.TestCase):
    covered = set()

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
        cls.addClassCleanup(cls.daemon.kill)
        cls.daemon.start()

    def call(self, method, path, body=None, want=None, headers=None, daemon=None):
        """One request; the answer must be one the operation documents."""
        daemon = daemon or self.daemon
        if isinstance(body, bytes):
            r = daemon.raw_request(method, path, body)
        else:
            r = daemon.request(method, path, body=body, headers=headers)
        if want is not None:
            self.assertEqual(r.status, want, (method, path, r))
        t = template_of(path)
        self.assertIsNotNone(t, path)
        op = SPEC['paths'][t].get(method.lower())
        self.assertIsNotNone(op, '%s %s is not in openapi.yaml' % (method, t))
        self.covered.add((method.lower(), t))
        resp = op['responses'].get(str(r.status))
        self.assertIsNotNone(resp, '%s %s answered %d, which openapi.yaml does not list: %r'
                             % (method, t, r.status, r))
        resp = resolve(resp)
        content = resp.get('content')
        if not content:
            self.assertEqual(r.body, b'', (method, path))
            return r
        self.assertIn(r.content_type, content, (method, path, r))
        if 'location' in {h.lower() for h in resp.get('headers', {})}:
            self.assertTrue(r.headers.get('Location'), (method, path))
        schema = content[r.content_type].get('schema', {})
        if r.content_type == 'application/octet-stream':
            value = r.body.decode('latin-1')  # bytes as a string of code points 0..255
        else:
            value = r.json() if r.content_type.endswith('json') and 'ndjson' not in r.content_type \
                else r.text
        errs = validate(schema, value)
        self.assertEqual(errs, [], '%s %s %d: %s' % (method, path, r.status, value))
        return r

    def test_validator_rejects(self):
        """The validator is real: answers that break the documented schemas are reported,
        through a $ref too."""
        health = SPEC['paths']['/v1/health']['get']['responses']['200']['content'][
            'application/json']['schema']
        self.assertEqual(validate(health, {'status': 'ok'}), [])
        self.assertNotEqual(validate(health, {'status': 'down'}), [])
        self.assertNotEqual(validate(health, {}), [])
        self.assertNotEqual(validate(health, {'status': 'ok', 'extra': 1}), [])
        problem = {'$ref': '#/components/schemas/Problem'}
        good = {'type': 'https://mm32.dev/problems/not-found', 'title': 'Not Found',
                'status': 404, 'detail': 'no machine "x"', 'instance': '/v1/machines/x'}
        self.assertEqual(validate(problem, good), [])
        self.assertNotEqual(validate(problem, dict(good, status=200)), [])
        self.assertNotEqual(validate(problem, dict(good, status='404')), [])
        self.assertNotEqual(validate(problem, {k: v for k, v in good.items() if k != 'detail'}),
                            [])

    def test_access_answers(self):
        """401 (bearer tokens) and 429 (rate limit) are documented answers."""
        d = Daemon(args=['--rate-limit', '1', '--rate-burst', '3'])
        self.addCleanup(d.kill)
        tokens = os.path.join(d.tmp, 'tokens')
        with open(tokens, 'w') as f:
            f.write('contract-token-0123456789\n')
        os.chmod(tokens, 0o600)
        d.args += ['--token-file', tokens]
        d.start()  # its GET /v1/health takes one request of the burst of 3
        self.call('GET', '/v1/machines', want=401, daemon=d)
        self.call('GET', '/metrics', want=401, daemon=d)
        r = self.call('GET', '/v1/machines', want=429, daemon=d)
        self.assertGreaterEqual(int(r.headers['Retry-After']), 1)

    def test_every_operation(self):
        c = self.call
        c('GET', '/v1/health', want=200)
        c('GET', '/v1/version', want=200)
        c('GET', '/metrics', want=200)
        c('POST', '/v1/machines', {'name': 'a', 'mem': '1G', 'cpus': 2}, want=201)
        c('POST', '/v1/machines', {'name': 'p', 'mem': '8G', 'pae': True,
                                   'cmdline': 'vmalloc=256M'}, want=201)
        c('POST', '/v1/machines', {'name': 'e', 'mem': '256M', 'e820': [
            {'addr': 0, 'size': '0x9fc00', 'type': 'usable'},
            {'addr': '0x100000', 'size': '0xff00000', 'type': 'usable'},
            {'addr': '0xfffc0000', 'size': '0x40000', 'type': 'reserved'}]}, want=201)
        c('POST', '/v1/machines', {'mem': '64M'}, want=201)
        c('POST', '/v1/machines', {'name': 'a', 'mem': '1G'}, want=409)
        c('POST', '/v1/machines', {'mem': '1G', 'cpus': 33}, want=422)
        c('POST', '/v1/machines', '{"mem": ', want=400,
          headers={'Content-Type': 'application/json'})
        c('POST', '/v1/machines', '{"mem": "1G"}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines', json.dumps({'mem': '1G', 'cmdline': 'x' * (2 << 20)}).encode(),
          want=413)
        c('GET', '/v1/machines', want=200)
        # the dashboard and its files, the memory map a byte a frame
        etag = c('GET', '/', want=200).headers.get('ETag')
        c('GET', '/', want=304, headers={'If-None-Match': etag})
        for f in ('app.js', 'style.css', 'favicon.svg', 'views.json'):
            c('GET', '/web/' + f, want=200)
        c('GET', '/web/nope.js', want=404)
        c('GET', '/web/app.js', want=304, headers={
            'If-None-Match': c('GET', '/web/app.js').headers.get('ETag')})
        c('GET', '/v1/machines/a/memmap?start=0&count=4096', want=200)
        c('GET', '/v1/machines/a/memmap?count=0', want=422)
        c('GET', '/v1/machines/nope/memmap', want=404)
        for m in ('a', 'p', 'e'):
            c('GET', '/v1/machines/' + m, want=200)
            for f in ('zoneinfo', 'buddyinfo', 'pagetypeinfo', 'meminfo', 'vmstat', 'slabinfo'):
                c('GET', '/v1/machines/%s/proc/%s' % (m, f), want=200)
            for v in ('dmesg', 'layout', 'zones', 'e820', 'memblock', 'check', 'journal'):
                c('GET', '/v1/machines/%s/%s' % (m, v), want=200)
        c('GET', '/v1/machines/nope', want=404)
        c('GET', '/v1/machines/a/proc/nope', want=404)
        for v in ('dmesg', 'layout', 'zones', 'e820', 'memblock', 'check', 'journal'):
            c('GET', '/v1/machines/nope/' + v, want=404)
        for name, value in (('min_free_kbytes', 8192), ('watermark_scale_factor', 200),
                            ('watermark_boost_factor', 0), ('percpu_pagelist_high_fraction', 8),
                            ('lowmem_reserve_ratio', [128, 16, 0, 0])):
            c('GET', '/v1/machines/a/sysctl/vm/' + name, want=200)
            c('PUT', '/v1/machines/a/sysctl/vm/' + name, {'value': value}, want=200)
        c('PUT', '/v1/machines/a/sysctl/vm/lowmem_reserve_ratio', {'value': '256 32 0 0'},
          want=200)
        c('GET', '/v1/machines/a/sysctl/vm/swappiness', want=404)
        c('PUT', '/v1/machines/a/sysctl/vm/swappiness', {'value': 1}, want=404)
        c('PUT', '/v1/machines/a/sysctl/vm/watermark_scale_factor', {'value': 0}, want=422)
        c('PUT', '/v1/machines/a/sysctl/vm/watermark_scale_factor', '{', want=400,
          headers={'Content-Type': 'application/json'})
        c('PUT', '/v1/machines/a/sysctl/vm/watermark_scale_factor', '{"value": 10}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('PUT', '/v1/machines/a/sysctl/vm/watermark_scale_factor',
          json.dumps({'value': [0] * (1 << 20)}).encode(), want=413)
        cmd = {'op': 'set_sysctl', 'name': 'watermark_scale_factor', 'value': 30}
        c('POST', '/v1/machines/a/commands', cmd, want=200)
        c('POST', '/v1/machines/a/commands', [cmd, cmd], want=200)
        c('POST', '/v1/machines/a/commands', [], want=200)
        c('POST', '/v1/machines/a/commands', [cmd, dict(cmd, value=0)], want=422)
        c('POST', '/v1/machines/a/commands', dict(cmd, name='nope'), want=404)
        c('POST', '/v1/machines/nope/commands', cmd, want=404)
        c('POST', '/v1/machines/a/commands', '[', want=400,
          headers={'Content-Type': 'application/json'})
        c('POST', '/v1/machines/a/commands', json.dumps(cmd), want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/a/commands', json.dumps([cmd] * 10001).encode(), want=413)
        # the page allocator: REST forms, commands, frames
        jh = {'Content-Type': 'application/json'}
        a1 = c('POST', '/v1/machines/a/pages', {'gfp': 'GFP_KERNEL', 'order': 1, 'cpu': 1},
               want=201).json()
        hi = c('POST', '/v1/machines/a/pages', {'gfp': 'GFP_HIGHUSER_MOVABLE'}, want=201).json()
        comp = c('POST', '/v1/machines/a/pages', {'gfp': 'GFP_KERNEL|__GFP_COMP', 'order': 2},
                 want=201).json()
        c('POST', '/v1/machines/a/pages', {'gfp': 'GFP_BOGUS'}, want=422)
        c('POST', '/v1/machines/a/pages', {'gfp': 'GFP_KERNEL', 'order': 11}, want=422)
        c('POST', '/v1/machines/a/pages', '{', want=400, headers=jh)
        c('POST', '/v1/machines/a/pages', '{"gfp": "GFP_KERNEL"}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/a/pages', json.dumps({'gfp': 'x' * (2 << 20)}).encode(), want=413)
        c('POST', '/v1/machines/nope/pages', {'gfp': 'GFP_KERNEL'}, want=404)
        for _ in range(64):  # DMA (16 MiB) runs out of order-10 blocks
            if c('POST', '/v1/machines/e/pages', {'gfp': 'GFP_DMA|__GFP_NOWARN', 'order': 10}
                 ).status == 409:
                break
        else:
            self.fail('GFP_DMA order-10 allocations never failed')
        for pfn in (a1['pfn'], a1['pfn'] + 1, hi['pfn'], comp['pfn'], comp['pfn'] + 1, 0, 1):
            c('GET', '/v1/machines/a/frames/%d' % pfn, want=200)
        max_pfn = c('GET', '/v1/machines/a/frames', want=200).json()['max_pfn']
        c('GET', '/v1/machines/a/frames?start=%d&count=4096' % (a1['pfn'] - 2048), want=200)
        c('GET', '/v1/machines/a/frames?start=200000&count=4096', want=200)
        c('GET', '/v1/machines/a/frames?start=%d' % (max_pfn - 3), want=200)
        c('GET', '/v1/machines/a/frames?count=4097', want=422)
        c('GET', '/v1/machines/a/frames?start=%d' % max_pfn, want=422)
        c('GET', '/v1/machines/a/frames/%d' % max_pfn, want=422)
        c('GET', '/v1/machines/a/frames/x', want=422)
        c('GET', '/v1/machines/nope/frames', want=404)
        c('GET', '/v1/machines/nope/frames/1', want=404)
        c('DELETE', '/v1/machines/a/pages/%d?order=1&cpu=1' % a1['pfn'], want=200)
        c('GET', '/v1/machines/a/frames/%d' % a1['pfn'], want=200)  # on a per-CPU list
        c('DELETE', '/v1/machines/a/pages/%d?order=1' % a1['pfn'], want=409)
        c('DELETE', '/v1/machines/a/pages/%d?order=0' % (comp['pfn'] + 1), want=422)
        c('DELETE', '/v1/machines/a/pages/1', want=409)
        c('DELETE', '/v1/machines/a/pages/x', want=422)
        c('DELETE', '/v1/machines/a/pages/5?order=x', want=422)
        c('DELETE', '/v1/machines/nope/pages/5', want=404)
        c('DELETE', '/v1/machines/a/pages/%d' % hi['pfn'], want=200)
        r = c('POST', '/v1/machines/a/commands', [
            {'op': 'alloc_pages', 'gfp': 'GFP_ATOMIC', 'cpu': 1},
            {'op': 'get_page', 'pfn': comp['pfn']},
            {'op': 'put_page', 'pfn': comp['pfn']},
            {'op': 'free_pages', 'pfn': comp['pfn'], 'order': 2}], want=200)
        pfn = r.json()['results'][0]['result']['pfn']
        c('POST', '/v1/machines/a/commands', {'op': 'free_pages', 'pfn': pfn}, want=200)
        c('POST', '/v1/machines/a/commands', [{'op': 'get_page', 'pfn': pfn}], want=409)
        c('POST', '/v1/machines/a/commands', {'op': 'alloc_pages', 'gfp': 'GFP_NOPE'}, want=422)
        c('GET', '/v1/machines/a/journal', want=200)
        c('GET', '/v1/machines/a/zones', want=200)
        # paging: boot phases, translations, memory, TLBs, page tables
        c('POST', '/v1/machines', {'name': 'early', 'mem': '256M', 'cpus': 2, 'tlb_entries': 16,
                                   'boot': {'stop_after': 'early_page_tables'}}, want=201)
        c('POST', '/v1/machines', {'mem': '256M', 'boot': {'stop_after': 'zones'}}, want=422)
        c('POST', '/v1/machines', {'mem': '256M', 'tlb_entries': 0}, want=422)
        c('GET', '/v1/machines/early', want=200)
        c('GET', '/v1/machines', want=200)
        for path in ('/zones', '/proc/zoneinfo', '/sysctl/vm/min_free_kbytes', '/frames',
                     '/frames/300', '/memmap'):
            c('GET', '/v1/machines/early' + path, want=409)
        c('PUT', '/v1/machines/early/sysctl/vm/min_free_kbytes', {'value': 8192}, want=409)
        c('POST', '/v1/machines/early/pages', {'gfp': 'GFP_KERNEL'}, want=409)
        c('DELETE', '/v1/machines/early/pages/300', want=409)
        c('POST', '/v1/machines/early/commands', {'op': 'get_page', 'pfn': 300}, want=409)
        for v in ('layout', 'e820', 'memblock', 'dmesg', 'check', 'journal', 'cpus',
                  'cpus/1/tlb', 'page-tables/kernel', 'page-tables/kernel?format=json',
                  'translate?va=0xc0100000', 'memory?addr=0x100000&len=16&space=kernel'):
            c('GET', '/v1/machines/early/' + v, want=200)
        c('POST', '/v1/machines/early/boot/continue', want=200)
        c('POST', '/v1/machines/early/boot/continue', {'until': 'memblock'}, want=200)
        c('POST', '/v1/machines/early/boot/continue', {'until': 'memblock'}, want=422)
        c('POST', '/v1/machines/early/boot/continue', '{', want=400, headers=jh)
        c('POST', '/v1/machines/early/boot/continue', '{}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/early/boot/continue', json.dumps({'x': 'y' * (2 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/boot/continue', want=404)
        c('GET', '/v1/machines/early/memory?addr=0x100000&len=16&space=kernel', want=422)
        c('POST', '/v1/machines/early/commands', {'op': 'boot_continue', 'until': 'buddy'},
          want=200)
        c('POST', '/v1/machines/early/boot/continue', want=422)
        addr = c('POST', '/v1/machines/early/pages', {'gfp': 'GFP_KERNEL', 'order': 1},
                 want=201).json()['address']
        c('PUT', '/v1/machines/early/memory', {'addr': addr, 'data': 'c0ffee', 'space': 'kernel'},
          want=200)
        c('PUT', '/v1/machines/early/memory', {'addr': '0xc1000000', 'data': '00',
                                               'space': 'kernel'}, want=422)
        c('PUT', '/v1/machines/early/memory', {'addr': addr}, want=422)
        c('PUT', '/v1/machines/early/memory', '{', want=400, headers=jh)
        c('PUT', '/v1/machines/early/memory', '{}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('PUT', '/v1/machines/early/memory', json.dumps({'data': '00' * (1 << 20)}).encode(),
          want=413)
        c('PUT', '/v1/machines/nope/memory', {'addr': addr, 'data': '00', 'space': 'kernel'},
          want=404)
        c('GET', '/v1/machines/early/memory?addr=%s&len=3&space=kernel' % addr, want=200)
        c('GET', '/v1/machines/early/memory?addr=%s&len=3&space=phys&cpu=1'
          % hex(int(addr, 16) - 0xc0000000), want=200)
        c('GET', '/v1/machines/early/memory?addr=%s&len=65537&space=kernel' % addr, want=422)
        c('GET', '/v1/machines/early/memory?addr=0x1000&len=1&space=kernel', want=422)
        c('GET', '/v1/machines/nope/memory?addr=0x1000&len=1&space=phys', want=404)
        for q in ('va=%s' % addr, 'va=%s&cpu=1&access=write' % addr, 'va=0xc1000000&access=write',
                  'va=0x1000&access=exec', 'va=0xfffff000'):
            c('GET', '/v1/machines/early/translate?' + q, want=200)
        c('GET', '/v1/machines/early/translate?va=0x100000000', want=422)
        c('GET', '/v1/machines/nope/translate?va=0x1', want=404)
        c('GET', '/v1/machines/early/cpus', want=200)
        c('GET', '/v1/machines/nope/cpus', want=404)
        c('GET', '/v1/machines/early/cpus/0/tlb', want=200)
        c('GET', '/v1/machines/early/cpus/2/tlb', want=422)
        c('GET', '/v1/machines/nope/cpus/0/tlb', want=404)
        c('POST', '/v1/machines/early/cpus/0/tlb/invlpg?va=%s' % addr, want=200)
        c('POST', '/v1/machines/early/cpus/0/tlb/invlpg', want=422)
        c('POST', '/v1/machines/nope/cpus/0/tlb/invlpg?va=0x1', want=404)
        c('POST', '/v1/machines/early/cpus/1/tlb/flush?keep_global=true', want=200)
        c('POST', '/v1/machines/early/cpus/1/tlb/flush', want=200)
        c('POST', '/v1/machines/early/cpus/1/tlb/flush?keep_global=yes', want=422)
        c('POST', '/v1/machines/nope/cpus/1/tlb/flush', want=404)
        c('GET', '/v1/machines/early/page-tables/kernel', want=200)
        c('GET', '/v1/machines/early/page-tables/kernel', want=200,
          headers={'Accept': 'application/json'})
        c('GET', '/v1/machines/p/page-tables/kernel?format=json', want=200)
        c('GET', '/v1/machines/early/page-tables/kernel?format=yaml', want=422)
        c('GET', '/v1/machines/nope/page-tables/kernel', want=404)
        c('POST', '/v1/machines/early/commands', [
            {'op': 'memory_read', 'addr': addr, 'len': 2, 'space': 'kernel', 'cpu': 1},
            {'op': 'memory_write', 'addr': int(addr, 16) - 0xc0000000, 'data': '01',
             'space': 'phys'},
            {'op': 'invlpg', 'va': addr}, {'op': 'flush_tlb', 'keep_global': True}], want=200)
        c('POST', '/v1/machines/early/commands',
          {'op': 'memory_write', 'addr': '0xc1000000', 'data': '00', 'space': 'kernel'},
          want=422)
        c('GET', '/v1/machines/early/journal', want=200)
        # highmem: kmap, kmap_local, kmap_atomic
        hp = c('POST', '/v1/machines/p/pages', {'gfp': 'GFP_HIGHUSER'}, want=201).json()['pfn']
        lp = c('POST', '/v1/machines/p/pages', {'gfp': 'GFP_KERNEL'}, want=201).json()['pfn']
        c('GET', '/v1/machines/p/kmap', want=200)
        c('GET', '/v1/machines/nope/kmap', want=404)
        c('POST', '/v1/machines/p/kmap', {'pfn': hp}, want=200)
        c('POST', '/v1/machines/p/kmap?timeout=1', {'pfn': lp, 'cpu': 0}, want=200)
        c('POST', '/v1/machines/p/kmap?timeout=x', {'pfn': hp}, want=422)
        c('POST', '/v1/machines/p/kmap', {'pfn': 1 << 30}, want=422)
        c('POST', '/v1/machines/p/kmap', '{', want=400, headers=jh)
        c('POST', '/v1/machines/p/kmap', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/p/kmap', json.dumps({'pfn': [0] * (1 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/kmap', {'pfn': hp}, want=404)
        c('DELETE', '/v1/machines/p/kmap/%d?cpu=9' % hp, want=422)
        c('DELETE', '/v1/machines/p/kmap/%d' % hp, want=200)
        c('DELETE', '/v1/machines/p/kmap/%d' % hp, want=404)
        kl = c('POST', '/v1/machines/p/cpus/0/kmap-local', {'pfn': hp, 'atomic': True},
               want=200).json()
        c('POST', '/v1/machines/p/kmap', {'pfn': hp}, want=409)
        c('GET', '/v1/machines/p/cpus/0/kmap-local', want=200)
        c('GET', '/v1/machines/p/cpus/5/kmap-local', want=422)
        c('GET', '/v1/machines/nope/cpus/0/kmap-local', want=404)
        c('DELETE', '/v1/machines/p/cpus/0/kmap-local/%s' % kl['address'], want=422)
        c('DELETE', '/v1/machines/p/cpus/0/kmap-local/%s?atomic=true' % kl['address'],
          want=200)
        c('DELETE', '/v1/machines/p/cpus/0/kmap-local/%s' % kl['address'], want=404)
        c('DELETE', '/v1/machines/nope/cpus/0/kmap-local/0x1000', want=404)
        c('POST', '/v1/machines/p/cpus/0/kmap-local', {'pfn': hp, 'atomic': 1}, want=422)
        c('POST', '/v1/machines/p/cpus/0/kmap-local', '{', want=400, headers=jh)
        c('POST', '/v1/machines/p/cpus/0/kmap-local', '{}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/p/cpus/0/kmap-local',
          json.dumps({'pfn': [0] * (1 << 20)}).encode(), want=413)
        c('POST', '/v1/machines/nope/cpus/0/kmap-local', {'pfn': hp}, want=404)
        c('POST', '/v1/machines/p/commands', [
            {'op': 'kmap', 'pfn': hp}, {'op': 'kunmap', 'pfn': hp},
            {'op': 'kmap_local', 'pfn': hp}, {'op': 'kunmap_local', 'address': '0xfffbb000'},
            {'op': 'kmap_atomic', 'pfn': lp, 'cpu': 0},
            {'op': 'kunmap_atomic', 'address': hex(0xc0000000 + (lp << 12))}], want=200)
        c('DELETE', '/v1/machines/early', want=204)
        for m in ('a', 'p', 'e'):
            c('DELETE', '/v1/machines/' + m, want=204)
        c('DELETE', '/v1/machines/a', want=404)

        self.slab_operations(c)
        self.persistence_operations(c)
        self.vmalloc_operations(c)
        self.dashboard_operations(c)

        ops = {(m, t) for t, item in SPEC['paths'].items() for m in item
               if m in ('get', 'put', 'post', 'delete', 'patch', 'head', 'options')}
        self.assertEqual(ops - self.covered, set(), 'operations of openapi.yaml not exercised')

    def dashboard_operations(self, c):
        """The dashboard's API: the contract, paging, 304, 406, ?diff=zones, the event stream
        (ended by deleting its machine)."""
        jh = {'Content-Type': 'application/json'}
        r = c('GET', '/openapi.yaml', want=200)
        with open(SPEC_PATH, 'rb') as f:
            self.assertEqual(r.body, f.read())
        c('POST', '/v1/machines', {'name': 'dash', 'mem': '128M'}, want=201)
        c('GET', '/v1/machines?limit=1', want=200)
        c('GET', '/v1/machines?limit=0', want=422)
        c('PUT', '/v1/machines/dash/sysctl/vm/min_free_kbytes?diff=zones', {'value': 2048},
          want=200)
        c('POST', '/v1/machines/dash/commands?diff=zones',
          [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL', 'order': 0}], want=200)
        c('POST', '/v1/machines/dash/pages?diff=zones', {'gfp': 'GFP_KERNEL'}, want=201)
        c('POST', '/v1/machines/dash/pages?diff=nope', {'gfp': 'GFP_KERNEL'}, want=422)
        c('GET', '/v1/machines/dash/journal?after=1&limit=1', want=200)
        c('GET', '/v1/machines/dash/journal?after=-1', want=422)
        r = c('GET', '/v1/machines/dash/zones', want=200)
        c('GET', '/v1/machines/dash/zones', want=304, headers={'If-None-Match': r.headers['ETag']})
        c('GET', '/v1/machines/dash/page-tables/kernel', want=406,
          headers={'Accept': 'image/png'})
        c('GET', '/v1/machines/dash/events?after=x', want=422)
        c('GET', '/v1/machines/nope/events', want=404)
        # a stream ends when its machine is deleted
        t = threading.Timer(0.5, self.daemon.delete, ['/v1/machines/dash'])
        t.start()
        r = c('GET', '/v1/machines/dash/events?after=0', want=200, headers=jh)
        t.join()
        self.assertIn('event: deleted', r.text)

    def slab_operations(self, c):
        """The slab allocator's routes, good and bad input, on 686 and PAE."""
        jh = {'Content-Type': 'application/json'}
        for name, pae in (('s', False), ('sp', True)):
            c('POST', '/v1/machines', {'name': name, 'mem': '512M', 'pae': pae, 'cpus': 2},
              want=201)
            b = '/v1/machines/' + name
            a = c('POST', b + '/kmalloc', {'size': 100, 'gfp': 'GFP_KERNEL'}, want=201).json()
            big = c('POST', b + '/kmalloc', {'size': 9000, 'gfp': 'GFP_KERNEL', 'cpu': 1},
                    want=201).json()
            c('POST', b + '/kmalloc', {'size': 0, 'gfp': 'GFP_KERNEL'}, want=201)
            c('POST', b + '/kmalloc', {'size': 5 << 20, 'gfp': 'GFP_KERNEL'}, want=422)
            c('POST', b + '/kmalloc', {'size': 8, 'gfp': 'GFP_BOGUS'}, want=422)
            c('POST', b + '/kmalloc', {'size': 8}, want=422)
            c('POST', b + '/kmalloc', {'size': 8, 'gfp': 'GFP_KERNEL', 'x': 1}, want=422)
            c('POST', b + '/kmalloc', '{', want=400, headers=jh)
            c('POST', b + '/kmalloc', '{"size": 8}', want=415, headers={'Content-Type': 'text/plain'})
            c('POST', b + '/kmalloc', json.dumps({'gfp': 'x' * (2 << 20)}).encode(), want=413)
            c('POST', '/v1/machines/nope/kmalloc', {'size': 8, 'gfp': 'GFP_KERNEL'}, want=404)
            c('GET', '/v1/machines/%s/frames/%d' % (name, a['pfn']), want=200)
            c('DELETE', b + '/kmalloc/' + a['address'], want=200)
            c('DELETE', b + '/kmalloc/' + a['address'], want=409)
            c('DELETE', b + '/kmalloc/' + big['address'] + '?cpu=1', want=200)
            c('DELETE', b + '/kmalloc/0xf8000000', want=422)
            c('DELETE', b + '/kmalloc/0xc2000000?cpu=7', want=422)
            c('DELETE', b + '/kmalloc/0x10', want=200)
            c('DELETE', '/v1/machines/nope/kmalloc/0x10', want=404)
            kk = c('POST', b + '/kvmalloc', {'size': 64, 'gfp': 'GFP_KERNEL'}, want=201).json()
            kv = c('POST', b + '/kvmalloc', {'size': 5 << 20, 'gfp': 'GFP_KERNEL', 'zero': True,
                                             'cpu': 1}, want=201).json()
            c('POST', b + '/kvmalloc', {'size': 5 << 20, 'gfp': 'GFP_ATOMIC'}, want=422)
            c('POST', b + '/kvmalloc', {'size': 1 << 31, 'gfp': 'GFP_KERNEL'}, want=422)
            c('POST', b + '/kvmalloc', {'size': 8, 'gfp': 'GFP_KERNEL', 'zero': 1}, want=422)
            c('POST', b + '/kvmalloc', '{', want=400, headers=jh)
            c('POST', b + '/kvmalloc', '{}', want=415, headers={'Content-Type': 'text/plain'})
            c('POST', b + '/kvmalloc', json.dumps({'gfp': 'x' * (2 << 20)}).encode(), want=413)
            c('POST', '/v1/machines/nope/kvmalloc', {'size': 8, 'gfp': 'GFP_KERNEL'}, want=404)
            c('DELETE', b + '/vmalloc/' + kk['address'], want=422)
            c('DELETE', b + '/kvmalloc/' + kk['address'], want=200)
            c('DELETE', b + '/kvmalloc/' + kk['address'], want=409)
            c('DELETE', b + '/kvmalloc/' + kv['address'] + '?cpu=1', want=200)
            c('DELETE', b + '/kvmalloc/' + kv['address'], want=404)
            c('DELETE', b + '/kvmalloc/0x10', want=200)
            c('DELETE', b + '/kvmalloc/0x1000', want=422)
            c('DELETE', '/v1/machines/nope/kvmalloc/0x10', want=404)
            c('GET', b + '/slab', want=200)
            c('GET', b + '/slab/caches/kmalloc-128', want=200)
            c('GET', b + '/slab/caches/nosuch', want=404)
            c('GET', '/v1/machines/nope/slab', want=404)
            c('POST', b + '/slab/caches', {'name': 'mine', 'size': 100, 'flags':
                                          'SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT'}, want=201)
            c('POST', b + '/slab/caches', {'name': 'm64', 'size': 64}, want=201)
            c('POST', b + '/slab/caches', {'name': 'mine', 'size': 100}, want=409)
            c('POST', b + '/slab/caches', {'name': 'bad name', 'size': 100}, want=422)
            c('POST', b + '/slab/caches', {'name': 'x', 'size': 10, 'flags': 'SLAB_POISON'},
              want=422)
            c('POST', b + '/slab/caches', '{', want=400, headers=jh)
            c('POST', b + '/slab/caches', '{}', want=415, headers={'Content-Type': 'text/plain'})
            c('POST', b + '/slab/caches', json.dumps({'name': 'x' * (2 << 20)}).encode(),
              want=413)
            c('POST', '/v1/machines/nope/slab/caches', {'name': 'x', 'size': 8}, want=404)
            o = c('POST', b + '/slab/caches/mine/objects', {}, want=201).json()
            c('POST', b + '/slab/caches/mine/objects', {'gfp': 'GFP_ATOMIC', 'cpu': 1}, want=201)
            c('POST', b + '/slab/caches/nosuch/objects', {}, want=404)
            c('POST', b + '/slab/caches/mine/objects', {'gfp': 'GFP_BOGUS'}, want=422)
            c('POST', b + '/slab/caches/mine/objects', '{', want=400, headers=jh)
            c('POST', b + '/slab/caches/mine/objects', '{}', want=415,
              headers={'Content-Type': 'text/plain'})
            c('POST', b + '/slab/caches/mine/objects', json.dumps({'gfp': 'x' * (2 << 20)}).encode(),
              want=413)
            c('DELETE', b + '/slab/caches/dentry/objects/' + o['address'], want=422)
            c('DELETE', b + '/slab/caches/mine', want=409)
            c('DELETE', b + '/slab/caches/mine/objects/' + o['address'], want=200)
            c('DELETE', b + '/slab/caches/mine/objects/' + o['address'], want=409)
            c('DELETE', b + '/slab/caches/nosuch/objects/0xc2000000', want=404)
            c('POST', b + '/slab/caches/mine/shrink?cpu=1', want=200)
            c('POST', b + '/slab/caches/mine/shrink?cpu=9', want=422)
            c('POST', b + '/slab/caches/nosuch/shrink', want=404)
            c('DELETE', b + '/slab/caches/m64', want=200)
            c('DELETE', b + '/slab/caches/m64', want=404)
            c('DELETE', b + '/slab/caches/kmalloc-64', want=409)
            c('DELETE', b + '/slab/caches/mine?cpu=x', want=422)
            c('POST', b + '/commands', [{'op': 'kmalloc', 'size': 64, 'gfp': 'GFP_KERNEL_ACCOUNT'},
                                        {'op': 'kmem_cache_shrink', 'name': 'mine'}], want=200)
            c('POST', b + '/commands', {'op': 'kfree', 'address': '0xf8000000'}, want=422)
            c('DELETE', '/v1/machines/' + name, want=204)
    def vmalloc_operations(self, c):
        """vmalloc, vmap, ioremap, set_memory, their frees and views, good and bad input."""
        jh = {'Content-Type': 'application/json'}
        c('POST', '/v1/machines', {'name': 'va', 'mem': '128M'}, want=201)
        c('POST', '/v1/machines', {'name': 'vp', 'mem': '1G', 'pae': True, 'cpus': 2}, want=201)
        c('POST', '/v1/machines', {'name': 've', 'mem': '256M',
                                   'boot': {'stop_after': 'memblock'}}, want=201)
        for m in ('va', 'vp'):
            a = c('POST', '/v1/machines/%s/vmalloc' % m, {'size': 8192}, want=201).json()
            c('POST', '/v1/machines/%s/vmalloc' % m, {'size': '64K', 'zero': True, 'cpu': 0},
              want=201)
            c('POST', '/v1/machines/%s/set-memory' % m, {'address': a['address'], 'attr': 'ro'},
              want=200)
            c('POST', '/v1/machines/%s/set-memory' % m,
              {'address': a['address'], 'pages': 2, 'attr': 'x'}, want=200)
            c('POST', '/v1/machines/%s/set-memory' % m,
              {'address': a['address'], 'pages': 3, 'attr': 'rw'}, want=422)
            c('POST', '/v1/machines/%s/set-memory' % m, {'address': '0x1000', 'attr': 'ro'},
              want=404)
            c('GET', '/v1/machines/%s/vmalloc' % m, want=200)
            c('GET', '/v1/machines/%s/proc/vmallocinfo' % m, want=200)
            c('DELETE', '/v1/machines/%s/vmalloc/%s' % (m, a['address']), want=200)
            c('DELETE', '/v1/machines/%s/vmalloc/%s?cpu=0' % (m, a['address']), want=404)
            io = c('POST', '/v1/machines/%s/ioremap' % m, {'phys': '0xfebf0010', 'size': 100},
                   want=201).json()
            c('DELETE', '/v1/machines/%s/vmalloc/%s' % (m, io['address']), want=422)
            c('DELETE', '/v1/machines/%s/ioremap/%s' % (m, io['address']), want=200)
            c('DELETE', '/v1/machines/%s/ioremap/%s' % (m, io['address']), want=404)
            pg = c('POST', '/v1/machines/%s/pages' % m, {'gfp': 'GFP_KERNEL'}, want=201).json()
            v = c('POST', '/v1/machines/%s/vmap' % m, {'pfns': [pg['pfn']]}, want=201).json()
            c('DELETE', '/v1/machines/%s/vmap/%s' % (m, v['address']), want=200)
            c('DELETE', '/v1/machines/%s/vmap/x' % m, want=422)
        c('POST', '/v1/machines/va/vmalloc', {'size': 0}, want=422)
        c('POST', '/v1/machines/va/vmalloc', {'size': 4096, 'bogus': 1}, want=422)
        c('POST', '/v1/machines/va/vmalloc', {'size': '2G'}, want=422)
        c('POST', '/v1/machines/va/vmalloc', '{', want=400, headers=jh)
        c('POST', '/v1/machines/va/vmalloc', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/va/vmalloc', json.dumps({'size': 'x' * (2 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/vmalloc', {'size': 4096}, want=404)
        c('POST', '/v1/machines/ve/vmalloc', {'size': 4096}, want=409)
        c('GET', '/v1/machines/ve/vmalloc', want=409)
        c('GET', '/v1/machines/nope/vmalloc', want=404)
        c('DELETE', '/v1/machines/va/vmalloc/0xc87e7000', want=409)  # the kernel's BPF page
        c('DELETE', '/v1/machines/va/vmalloc/0xc87e7001', want=422)
        c('DELETE', '/v1/machines/nope/vmalloc/0x1000', want=404)
        c('POST', '/v1/machines/va/vmap', {'pfns': []}, want=422)
        c('POST', '/v1/machines/va/vmap', {'pfns': [10 ** 9]}, want=422)
        c('POST', '/v1/machines/va/vmap', '{', want=400, headers=jh)
        c('POST', '/v1/machines/va/vmap', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/va/vmap', json.dumps({'pfns': [1] * (1 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/vmap', {'pfns': [1]}, want=404)
        c('POST', '/v1/machines/ve/vmap', {'pfns': [1]}, want=409)
        c('DELETE', '/v1/machines/va/vmap/0xc87e7000', want=422)
        c('DELETE', '/v1/machines/nope/vmap/0x1000', want=404)
        c('POST', '/v1/machines/va/ioremap', {'phys': '0x100000', 'size': 4096}, want=422)
        c('POST', '/v1/machines/va/ioremap', {'phys': '0xfebf0000', 'size': 0}, want=422)
        c('POST', '/v1/machines/va/ioremap', '{', want=400, headers=jh)
        c('POST', '/v1/machines/va/ioremap', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/va/ioremap', json.dumps({'phys': 'x' * (2 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/ioremap', {'phys': 0, 'size': 1}, want=404)
        c('POST', '/v1/machines/ve/ioremap', {'phys': '0xfebf0000', 'size': 1}, want=409)
        c('DELETE', '/v1/machines/va/ioremap/0xc87e0000', want=409)  # the kernel's ACPI map
        c('DELETE', '/v1/machines/nope/ioremap/0x1000', want=404)
        c('POST', '/v1/machines/va/set-memory', {'address': '0xc87e7000', 'attr': 'rw'},
          want=409)
        c('POST', '/v1/machines/va/set-memory', {'address': '0xc87e7000', 'attr': 'rx'},
          want=422)
        c('POST', '/v1/machines/va/set-memory', '{', want=400, headers=jh)
        c('POST', '/v1/machines/va/set-memory', '{}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/va/set-memory', json.dumps({'attr': 'x' * (2 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/set-memory', {'address': 0, 'attr': 'ro'}, want=404)
        c('POST', '/v1/machines/ve/set-memory', {'address': 0, 'attr': 'ro'}, want=409)
        pg = c('POST', '/v1/machines/va/pages', {'gfp': 'GFP_KERNEL'}, want=201).json()
        r = c('POST', '/v1/machines/va/commands', [
            {'op': 'vmalloc', 'size': 4096}, {'op': 'ioremap', 'phys': '0xfebf0000', 'size': 1},
            {'op': 'vmap', 'pfns': [pg['pfn']]}], want=200).json()['results']
        c('POST', '/v1/machines/va/commands', [
            {'op': 'vfree', 'address': r[0]['result']['address']},
            {'op': 'iounmap', 'address': r[1]['result']['address']},
            {'op': 'set_memory', 'address': r[2]['result']['address'], 'attr': 'nx'},
            {'op': 'vunmap', 'address': r[2]['result']['address']}], want=200)
        c('GET', '/v1/machines/va/check', want=200)
        for m in ('va', 'vp', 've'):
            c('DELETE', '/v1/machines/' + m, want=204)

    def persistence_operations(self, c):
        """The state hash, snapshots, jobs, clones and sessions, good and bad input."""
        jh = {'Content-Type': 'application/json'}
        nd = {'Content-Type': 'application/x-ndjson'}
        c('POST', '/v1/machines', {'name': 'sa', 'mem': '1G', 'cpus': 2}, want=201)
        c('POST', '/v1/machines', {'name': 'sp', 'mem': '1G', 'pae': True}, want=201)
        c('POST', '/v1/machines/sa/commands', [{'op': 'alloc_pages', 'gfp': 'GFP_KERNEL'}],
          want=200)
        c('GET', '/v1/machines/sa/state-hash', want=200)
        c('GET', '/v1/machines/nope/state-hash', want=404)
        s = c('POST', '/v1/machines/sa/snapshots', {'label': 'one'}, want=201).json()
        c('POST', '/v1/machines/sa/snapshots', want=201)
        job = c('POST', '/v1/machines/sa/snapshots', {'async': True}, want=202).json()
        for _ in range(1000):
            if c('GET', '/v1/jobs/%d' % job['id'], want=200).json()['state'] != 'running':
                break
        c('GET', '/v1/jobs', want=200)
        c('GET', '/v1/jobs/999999', want=404)
        c('POST', '/v1/machines/sa/snapshots', {'bogus': 1}, want=422)
        c('POST', '/v1/machines/sa/snapshots', '{', want=400, headers=jh)
        c('POST', '/v1/machines/sa/snapshots', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/sa/snapshots', json.dumps({'label': 'x' * (2 << 20)}).encode(),
          want=413)
        c('POST', '/v1/machines/nope/snapshots', want=404)
        c('GET', '/v1/machines/sa/snapshots', want=200)
        c('GET', '/v1/machines/nope/snapshots', want=404)
        c('GET', '/v1/machines/sa/snapshots/%d' % s['id'], want=200)
        c('GET', '/v1/machines/sa/snapshots/999999', want=404)
        c('POST', '/v1/machines/sa/snapshots/%d/restore' % s['id'], want=200)
        c('POST', '/v1/machines/sp/snapshots/%d/restore' % s['id'], want=422)
        c('POST', '/v1/machines/sa/snapshots/999999/restore', want=404)
        c('POST', '/v1/machines/sa/commands', {'op': 'snapshot_restore', 'snapshot': s['id']},
          want=200)
        c('POST', '/v1/machines', {'name': 'sc', 'from_snapshot': s['id']}, want=201)
        c('POST', '/v1/machines', {'from_snapshot': 999999}, want=404)
        c('GET', '/v1/sessions', want=200)
        c('GET', '/v1/sessions/sa', want=200)
        c('GET', '/v1/sessions/sc', want=200)
        c('GET', '/v1/sessions/nope', want=404)
        text = c('GET', '/v1/sessions/sa/journal', want=200).text
        c('GET', '/v1/sessions/nope/journal', want=404)
        c('POST', '/v1/sessions?name=si', text, want=201, headers=nd)
        c('POST', '/v1/sessions?name=si', text, want=409, headers=nd)
        c('POST', '/v1/sessions', '{"config": ', want=400, headers=nd)
        c('POST', '/v1/sessions', '{"config": {"mem": "1G", "cpus": 99}}', want=422, headers=nd)
        c('POST', '/v1/sessions', text, want=415, headers={'Content-Type': 'text/csv'})
        c('POST', '/v1/sessions', ('x' * (2 << 20)).encode(), want=413)
        c('POST', '/v1/sessions/sa/replay', {'verify': True}, want=201)
        c('POST', '/v1/sessions/sa/replay', want=201)
        c('POST', '/v1/sessions/sa/replay', {'until_seq': 999}, want=422)
        c('POST', '/v1/sessions/nope/replay', {}, want=404)
        c('POST', '/v1/sessions/sa/replay', {'name': 'sa'}, want=409)
        c('POST', '/v1/sessions/sa/replay', '{', want=400, headers=jh)
        c('POST', '/v1/sessions/sa/replay', '{}', want=415, headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/sessions/sa/replay', json.dumps({'name': 'x' * (2 << 20)}).encode(),
          want=413)
        c('DELETE', '/v1/machines/sa/snapshots/%d' % s['id'], want=200)
        c('DELETE', '/v1/machines/sa/snapshots/%d' % s['id'], want=404)
        # compaction behind a snapshot: the base is pinned, the session no longer whole
        c('GET', '/v1/machines/sa/journal', want=200)
        t = c('POST', '/v1/machines/sa/snapshots', want=201).json()
        c('POST', '/v1/machines/sa/journal/compact', {'snapshot': t['id']}, want=200)
        c('GET', '/v1/machines/sa/journal', want=200)
        c('POST', '/v1/machines/sa/journal/compact', {'snapshot': 999999}, want=404)
        c('POST', '/v1/machines/sa/journal/compact', {'snapshot': 'x'}, want=422)
        c('POST', '/v1/machines/sa/journal/compact', '{', want=400, headers=jh)
        c('POST', '/v1/machines/sa/journal/compact', '{}', want=415,
          headers={'Content-Type': 'text/plain'})
        c('POST', '/v1/machines/nope/journal/compact', {'snapshot': 1}, want=404)
        c('DELETE', '/v1/machines/sa/snapshots/%d' % t['id'], want=409)
        c('GET', '/v1/sessions/sa/journal', want=409)
        c('DELETE', '/v1/machines/sa', want=204)


if __name__ == '__main__':
    SPEC = load_spec()
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get('E2E_TIMEOUT', '170')), exit=True)
    unittest.main(verbosity=2)
