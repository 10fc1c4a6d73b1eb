#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""report.py - the one benchmark report of `make bench`, from what the benchmarks printed.

Reads the output of every benchmark of one run (LOG: `meson test --benchmark --verbose`, and
bench/http-wrk.py's), keeps each "BENCH-ROW {json}" line (bench/bench.h: a figure, its unit, the
reference measured in the same run, their ratio, the goal), and writes the table twice:
OUT.md (Markdown, one row per figure, grouped by benchmark, in the order they ran) and OUT.json
(the rows as they came, with the host and the time). Any benchmark that prints such lines
gets into the table; nothing is asserted.

Usage: report.py LOG OUT   (writes OUT.md and OUT.json)
"""
import datetime
import json
import os
import platform
import sys


def host_cpu():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


def fmt(v):
    if v is None:
        return ''
    a = abs(v)
    if a >= 1e6:
        return '{:,.2f} M'.format(v / 1e6)
    if a >= 1000:
        return '{:,.0f}'.format(v)
    if a >= 10:
        return '{:.1f}'.format(v)
    return '{:.3g}'.format(v)


def ratio_text(r):
    if r.get('reference_value', 0) <= 0:
        return ''
    return '{:.2f}×'.format(r['ratio'])


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = []
    with open(sys.argv[1], errors='replace') as f:
        for line in f:
            i = line.find('BENCH-ROW ')
            if i < 0:
                continue
            try:
                rows.append(json.loads(line[i + len('BENCH-ROW '):]))
            except ValueError:
                print('report.py: not a row: %s' % line.strip()[:200], file=sys.stderr)
    out = sys.argv[2]
    os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
    when = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    cpus = os.cpu_count()
    with open(out + '.json', 'w') as f:
        json.dump({'time': when, 'cpu': host_cpu(), 'cpus': cpus,
                   'kernel': platform.release(), 'rows': rows}, f, indent=1)
        f.write('\n')
    md = ['# mm32 benchmark report', '',
          '`make bench`, %s, on %s (%d CPUs), Linux %s. Each figure beside its reference, '
          'measured in the same run; ratio = figure / reference (for a time, ns or ms, lower '
          'is better: the ratio is how many times the reference\'s time it takes).' %
          (when, host_cpu(), cpus or 0, platform.release()), '']
    benches = []
    for r in rows:
        if r.get('bench') not in benches:
            benches.append(r.get('bench'))
    md += ['| bench | figure | mm32 | unit | reference | reference figure | ratio | goal |',
           '|---|---|--:|---|---|--:|--:|---|']
    for b in benches:
        for r in rows:
            if r.get('bench') != b:
                continue
            extra = ''
            if r.get('p99_ms'):
                extra = ' (p99 %.1f ms)' % r['p99_ms']
            md.append('| %s | %s | %s%s | %s | %s | %s | %s | %s |' % (
                b, r.get('figure', ''), fmt(r.get('value')), extra, r.get('unit', ''),
                r.get('reference', ''), fmt(r.get('reference_value')), ratio_text(r),
                r.get('goal') or ''))
    if not rows:
        md.append('| | no benchmark printed a row | | | | | | |')
    md.append('')
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(md))
    print('report.py: %d rows from %d benchmarks in %s.md and %s.json' %
          (len(rows), len(benches), out, out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
