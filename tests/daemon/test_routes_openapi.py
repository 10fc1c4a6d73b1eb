#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The route table and openapi.yaml agree both ways, and so do the op table and the *Command
schemas.

routes-dump (tests/daemon/routes-dump.c) prints what mm32d serves: api/'s rows
(api/routes.c) and the daemon's (daemon/routes.c), and the executor's op table
(api/commands.c). This test reads openapi.yaml and checks:
  - every route is documented (path and method), and every documented operation is served;
  - a command route's query and path fields are the operation's parameters of that name (a
    route whose op may wait, a kmap, also takes the request's own "timeout", and every one
    that changes a machine "diff");
  - every op has a *Command schema in Command.oneOf whose properties, besides op, cpu and
    context, are the op's declared fields, with the same ones required; and every such schema
    is an op.
Usage: test_routes_openapi.py ROUTES_DUMP OPENAPI_YAML
"""
import json
import re
import subprocess
import sys
import unittest

import yaml

DUMP, SPEC = sys.argv[1], sys.argv[2]
METHODS = ('get', 'put', 'post', 'delete', 'patch', 'head', 'options')


def load():
    with open(SPEC, encoding='utf-8') as f:
        spec = yaml.safe_load(f)
    dump = json.loads(subprocess.run([DUMP], check=True, capture_output=True, text=True).stdout)
    return spec, dump


def pattern(path):
    """/v1/machines/{id}/pages/{pfn} -> v1/machines/*/pages/*"""
    return re.sub(r'\{[^}]+\}', '*', path).lstrip('/')


def resolve(spec, obj):
    while isinstance(obj, dict) and '$ref' in obj:
        node = spec
        for part in obj['$ref'].lstrip('#/').split('/'):
            node = node[part]
        obj = node
    return obj


class RoutesAndOpenAPI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec, cls.dump = load()
        cls.served = {(r['path'], r['method']): r for r in cls.dump['routes']}
        cls.documented = {}
        for path, item in cls.spec['paths'].items():
            for method in METHODS:
                if method in item:
                    cls.documented[(pattern(path), method)] = (path, item, item[method])

    def test_every_route_is_documented(self):
        missing = sorted(set(self.served) - set(self.documented))
        self.assertEqual(missing, [], 'served but not in openapi.yaml')

    def test_every_documented_operation_is_served(self):
        missing = sorted(set(self.documented) - set(self.served))
        self.assertEqual(missing, [], 'in openapi.yaml but not served')

    def test_no_route_twice(self):
        keys = [(r['path'], r['method']) for r in self.dump['routes']]
        self.assertEqual(len(keys), len(set(keys)))

    def test_command_route_parameters(self):
        for key, r in self.served.items():
            if not r.get('op') or key not in self.documented:
                continue
            path, item, op = self.documented[key]
            params = [resolve(self.spec, p) for p in item.get('parameters', []) +
                      op.get('parameters', [])]
            for where in ('query', 'path'):
                documented = {p['name'] for p in params if p['in'] == where}
                wanted = {name for name, src in r['args'].items() if src == where}
                if where == 'query' and r.get('wait'):
                    wanted.add('timeout')
                if where == 'query' and key[1] != 'get':
                    wanted.add('diff')  # what it changed (?diff=zones), not a field
                if where == 'path':
                    # the path's own names ({id}, {pfn}, {snapshot}) stand for the fields
                    self.assertEqual(len(wanted), len(documented) - 1, (key, wanted, documented))
                else:
                    self.assertEqual(wanted, documented, key)
            body = {name for name, src in r['args'].items() if src == 'body'}
            if body:
                schema = resolve(self.spec, op['requestBody']['content']['application/json']
                                 ['schema'])
                props = set(resolve(self.spec, schema).get('properties', {}))
                self.assertEqual(body, props, key)

    def test_command_schemas_are_the_op_table(self):
        schemas = self.spec['components']['schemas']
        one_of = [ref['$ref'].split('/')[-1] for ref in schemas['Command']['oneOf']]
        seen = {}
        for name in one_of:
            s = schemas[name]
            props = s['properties']
            ops = [props['op']['const']] if 'const' in props['op'] else props['op']['enum']
            for op in ops:
                self.assertIn(op, self.dump['ops'], '%s names an op the executor lacks' % name)
                seen[op] = name
                fields = self.dump['ops'][op]
                self.assertEqual(set(props) - {'op', 'cpu', 'context'}, set(fields), name)
                self.assertIn('cpu', props, name)
                self.assertIn('context', props, name)
                self.assertEqual(set(s.get('required', [])) - {'op'},
                                 {f for f, d in fields.items() if d['required']}, name)
                self.assertIs(s.get('additionalProperties'), False, name)
        self.assertEqual(sorted(set(self.dump['ops']) - set(seen)), [],
                         'ops without a *Command schema in Command.oneOf')


if __name__ == '__main__':
    unittest.main(argv=sys.argv[:1], verbosity=2)
