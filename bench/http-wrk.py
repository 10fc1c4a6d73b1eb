#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""http-wrk.py - mm32d beside nginx serving the same bytes, both driven by wrk (issue 16).

Starts MM32D (argv[1]) on a free loopback port with a database in a new temporary directory,
and nginx (2 workers, a configuration of its own in that directory, loopback only) serving
files holding exactly the bytes mm32d answers; then wrk -t2 -c64 against each, one after the
other, in the same run:

  GET /proc/buddyinfo, GET /proc/zoneinfo       beside nginx serving the same text (the
                                                best of two rounds of each, in turn)
  single alloc+free requests (POST /pages, then DELETE /pages/{pfn}), --sync full and normal,
    one machine per wrk thread                  beside nginx serving the alloc answer's bytes
  the same over 8 machines with 8 HTTP workers  (concurrent commits share one sync)
  bytes written per command (/proc/PID/io write_bytes of mm32d over 300 single commands, one
    connection, --sync full), a new database    beside a database of the old format (64 KiB
    pages), both made here

Prints each figure as a BENCH-ROW line (bench/bench.h says what one holds) for `make bench`;
measures, never asserts. nginx and wrk are installed by `make bench` (bench/report.py's
caller), not by `make deps`; when either is missing, the rows that need it are left out.

Usage: http-wrk.py MM32D [--seconds S]
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SECONDS = 5.0


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def row(figure, value, unit, reference, ref_value, higher_is_better, goal, **extra):
    d = {'bench': 'http-wrk', 'figure': figure, 'value': round(value, 6), 'unit': unit,
         'reference': reference, 'reference_value': round(ref_value, 6),
         'ratio': round(value / ref_value, 4) if ref_value else 0,
         'higher_is_better': higher_is_better, 'goal': goal}
    d.update(extra)
    print('BENCH-ROW ' + json.dumps(d), flush=True)


class Daemon:
    def __init__(self, exe, tmp, name, *args, db=None):
        self.port = free_port()
        self.db = db or os.path.join(tmp, name + '.db')
        self.log = open(os.path.join(tmp, name + '.log'), 'w')
        self.proc = subprocess.Popen(
            [exe, '--listen', '127.0.0.1:%d' % self.port, '--db', self.db, '--config=',
             '--log-level', 'warn'] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                if self.request('GET', '/v1/health')[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit('http-wrk: %s did not start (see %s.log)' % (exe, name))
            time.sleep(0.05)

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        try:
            hdr = {'Content-Type': 'application/json'} if body is not None else {}
            c.request(method, path, body=body, headers=hdr)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Nginx:
    def __init__(self, tmp, files):
        self.port = free_port()
        self.root = os.path.join(tmp, 'nginx')
        www = os.path.join(self.root, 'www')
        os.makedirs(www)
        for name, data in files.items():
            with open(os.path.join(www, name), 'wb') as f:
                f.write(data)
        for d, _, fs in os.walk(tmp):  # its workers run as another user: let them read
            os.chmod(d, 0o755)
            for f in fs:
                os.chmod(os.path.join(d, f), 0o644)
        conf = os.path.join(self.root, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write('''worker_processes 2;
daemon off;
pid %(r)s/nginx.pid;
error_log %(r)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    client_body_temp_path %(r)s/body;
    proxy_temp_path %(r)s/proxy;
    fastcgi_temp_path %(r)s/fastcgi;
    uwsgi_temp_path %(r)s/uwsgi;
    scgi_temp_path %(r)s/scgi;
    server {
        listen 127.0.0.1:%(p)d;
        root %(r)s/www;
    }
}
''' % {'r': self.root, 'p': self.port})
        self.proc = subprocess.Popen(['nginx', '-c', conf, '-p', self.root, '-e',
                                      os.path.join(self.root, 'error.log')],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise SystemExit('http-wrk: nginx did not start')
                time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wrk(port, path, threads=2, conns=64, script=None):
    """Requests per second, p99 latency in ms, and the answers that were not 2xx/3xx."""
    cmd = ['wrk', '-t%d' % threads, '-c%d' % conns, '-d%.0fs' % SECONDS, '--latency']
    if script:
        cmd += ['-s', script]
    out = subprocess.run(cmd + ['http://127.0.0.1:%d%s' % (port, path)], check=True,
                         capture_output=True, text=True).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    m = re.search(r'\s99%\s+([\d.]+)(us|ms|s)\b', out)
    p99 = float(m.group(1)) * {'us': 1e-3, 'ms': 1.0, 's': 1e3}[m.group(2)] if m else 0.0
    bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    errs = re.search(r'Socket errors:.*', out)
    return rps, p99, int(bad.group(1)) if bad else 0, errs.group(0) if errs else ''


ALLOC_FREE_LUA = r'''
-- one machine per wrk thread; each allocates and frees what it allocated, in turn
local counter = 0
function setup(thread)
    thread:set("mid", "w" .. counter)
    counter = counter + 1
end
local pfns, n = {}, 0
function request()
    if n > 0 then
        local pfn = pfns[n]
        pfns[n] = nil
        n = n - 1
        return wrk.format("DELETE", "/v1/machines/" .. mid .. "/pages/" .. pfn .. "?order=0")
    end
    return wrk.format("POST", "/v1/machines/" .. mid .. "/pages",
                      {["Content-Type"] = "application/json"}, '{"gfp":"GFP_KERNEL"}')
end
function response(status, headers, body)
    if status == 201 then
        local pfn = body:match('"pfn":(%d+)')
        if pfn then
            n = n + 1
            pfns[n] = pfn
        end
    end
end
'''


def write_bytes(pid):
    with open('/proc/%d/io' % pid) as f:
        for line in f:
            if line.startswith('write_bytes:'):
                return int(line.split()[1])
    return 0


def bytes_per_command(d, n=300):
    """What the disk is asked to write for each single command (alloc, then free), with the
    checkpoints it causes, over n commands on one connection."""
    c = http.client.HTTPConnection('127.0.0.1', d.port, timeout=60)
    hdr = {'Content-Type': 'application/json'}
    c.request('POST', '/v1/machines', body='{"name":"io","mem":"1G"}', headers=hdr)
    c.getresponse().read()
    time.sleep(0.5)
    before = write_bytes(d.proc.pid)
    for _ in range(n // 2):
        c.request('POST', '/v1/machines/io/pages', body='{"gfp":"GFP_KERNEL"}', headers=hdr)
        r = c.getresponse()
        pfn = json.loads(r.read())['pfn']
        c.request('DELETE', '/v1/machines/io/pages/%d?order=0' % pfn)
        c.getresponse().read()
    after = write_bytes(d.proc.pid)
    c.close()
    return (after - before) / (n // 2 * 2)


def old_format_db(path):
    """An empty database as mm32d made them before: 64 KiB pages, WAL."""
    db = sqlite3.connect(path)
    db.execute('PRAGMA page_size = 65536')
    db.execute('PRAGMA journal_mode = WAL')
    db.execute('CREATE TABLE x (y)')
    db.execute('DROP TABLE x')
    db.commit()
    db.close()


def main():
    global SECONDS
    if len(sys.argv) < 2:
        print('usage: http-wrk.py MM32D [--seconds S]', file=sys.stderr)
        return 2
    exe = os.path.abspath(sys.argv[1])
    if '--seconds' in sys.argv:
        SECONDS = float(sys.argv[sys.argv.index('--seconds') + 1])
    have_tools = shutil.which('wrk') and shutil.which('nginx')
    tmp = tempfile.mkdtemp(prefix='mm32-http-wrk-')
    print('http-wrk: mm32d %s, in %s, wrk %.0f s per figure%s' %
          (exe, tmp, SECONDS, '' if have_tools else ' (nginx or wrk missing: no wrk rows)'))
    try:
        # bytes written per command: a new database beside one of the old format
        d = Daemon(exe, tmp, 'io-new', '--no-default-machine')
        new = bytes_per_command(d)
        d.stop()
        old_db = os.path.join(tmp, 'io-old.db')
        old_format_db(old_db)
        d = Daemon(exe, tmp, 'io-old', '--no-default-machine', db=old_db)
        old = bytes_per_command(d)
        d.stop()
        print('bytes written per single command, --sync full: %.0f (a database of 64 KiB '
              'pages: %.0f)' % (new, old))
        row('bytes written per single command (--sync full)', new, 'B', 'a database of 64 KiB '
            'pages (the format before), same run', old, False, None)
        if not have_tools:
            return 0

        d = Daemon(exe, tmp, 'full', '--threads', '2')
        files = {}
        for name in ('buddyinfo', 'zoneinfo'):
            st, body = d.request('GET', '/v1/machines/default/proc/' + name)
            assert st == 200, (name, st)
            files[name] = body
        d.request('POST', '/v1/machines', '{"name":"w0","mem":"1G"}')
        d.request('POST', '/v1/machines', '{"name":"w1","mem":"1G"}')
        st, body = d.request('POST', '/v1/machines/w0/pages', '{"gfp":"GFP_KERNEL"}')
        assert st == 201, st
        files['alloc.json'] = body
        d.request('DELETE', '/v1/machines/w0/pages/%d?order=0' % json.loads(body)['pfn'])
        ng = Nginx(tmp, files)
        script = os.path.join(tmp, 'alloc-free.lua')
        with open(script, 'w') as f:
            f.write(ALLOC_FREE_LUA)
        try:
            for name in ('buddyinfo', 'zoneinfo'):
                # best of two rounds each, in turn: the host's other load moves either
                m = n = (0, 0, 0, '')
                for _ in range(2):
                    m = max(m, wrk(d.port, '/v1/machines/default/proc/' + name))
                    n = max(n, wrk(ng.port, '/' + name))
                print('GET /proc/%s (%d B): mm32d %.0f req/s (p99 %.2f ms), nginx %.0f req/s '
                      '(p99 %.2f ms)' % (name, len(files[name]), m[0], m[1], n[0], n[1]))
                row('GET /proc/%s (%d B)' % (name, len(files[name])), m[0], 'req/s',
                    'nginx, the same bytes', n[0], True, '>= 1.0x', p99_ms=m[1],
                    reference_p99_ms=n[1], non_2xx=m[2])
            n = wrk(ng.port, '/alloc.json')
            m = wrk(d.port, '/', script=script)
            print('alloc+free requests, --sync full: mm32d %.0f req/s (p99 %.2f ms, %d not '
                  '2xx), nginx %.0f req/s' % (m[0], m[1], m[2], n[0]))
            row('single alloc+free requests, --sync full', m[0], 'req/s',
                'nginx, the alloc answer\'s bytes', n[0], True, '>= 0.6x', p99_ms=m[1],
                non_2xx=m[2])
            d.stop()
            d = Daemon(exe, tmp, 'normal', '--threads', '2', '--sync', 'normal')
            d.request('POST', '/v1/machines', '{"name":"w0","mem":"1G"}')
            d.request('POST', '/v1/machines', '{"name":"w1","mem":"1G"}')
            m = wrk(d.port, '/', script=script)
            print('alloc+free requests, --sync normal: mm32d %.0f req/s (p99 %.2f ms), nginx '
                  '%.0f req/s' % (m[0], m[1], n[0]))
            row('single alloc+free requests, --sync normal', m[0], 'req/s',
                'nginx, the alloc answer\'s bytes', n[0], True, None, p99_ms=m[1],
                non_2xx=m[2])
            d.stop()
            # concurrent commits of 8 machines on 8 HTTP workers: they share the syncs
            d = Daemon(exe, tmp, 'group', '--threads', '8')
            for i in range(8):
                d.request('POST', '/v1/machines', '{"name":"w%d","mem":"1G"}' % i)
            m = wrk(d.port, '/', threads=8, script=script)
            print('alloc+free requests, --sync full, 8 machines, --threads 8: mm32d %.0f req/s '
                  '(p99 %.2f ms), nginx %.0f req/s' % (m[0], m[1], n[0]))
            row('single alloc+free requests, --sync full, 8 machines, --threads 8', m[0],
                'req/s', 'nginx, the alloc answer\'s bytes', n[0], True, '>= 0.6x',
                p99_ms=m[1], non_2xx=m[2])
        finally:
            ng.stop()
            d.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
