"""The dashboard in a real browser (meson suite 'browser'): starts mm32d on a free loopback
port (tests/e2e/mm32d.py), then runs dashboard.mjs, which drives Debian's chromium through
playwright-core. Chromium, node, curl and node_modules/playwright-core are test tools: missing,
the test fails under `make test` (MM32_REQUIRE_TOOLS=1) and in CI, and skips by hand.

Screenshots are written to $MM32_SCREENSHOTS (meson: the build directory's
tests/browser/screenshots); PERF lines carry the memory map's figures for a 4 GiB machine.
"""

import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

import mm32d  # noqa: E402


def chromium():
    for p in (os.environ.get('CHROMIUM'), '/usr/bin/chromium', shutil.which('chromium')):
        if p and os.access(p, os.X_OK):
            return p
    return mm32d.need('chromium')


class BrowserTest(unittest.TestCase):
    def test_dashboard(self):
        node = mm32d.need('node')
        mm32d.need('curl')
        exe = chromium()
        if not os.path.exists(os.path.join(mm32d.SOURCE_ROOT, 'node_modules', 'playwright-core',
                                           'package.json')):
            msg = 'node_modules/playwright-core is absent (`make deps` installs it)'
            if mm32d.tools_required():
                raise AssertionError(msg)
            raise unittest.SkipTest(msg)
        shots = os.environ.get('MM32_SCREENSHOTS') or os.path.join(
            mm32d.SOURCE_ROOT, 'build', 'tests', 'browser', 'screenshots')
        os.makedirs(shots, exist_ok=True)
        d = mm32d.Daemon(watchdog=110)
        d.start()
        self.addCleanup(d.stop)
        r = d.request('POST', '/v1/machines', {'name': 'big', 'mem': '4G', 'pae': True})
        self.assertEqual(r.status, 201, r.body)
        base = 'http://127.0.0.1:%d' % d.port
        p = subprocess.run([node, os.path.join(HERE, 'dashboard.mjs'), base, shots, exe, 'big'],
                           cwd=mm32d.SOURCE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=100)
        out = p.stdout.decode('utf-8', 'replace')
        sys.stdout.write(out)
        self.assertEqual(p.returncode, 0, 'dashboard.mjs failed:\n' + out[-4000:])
        self.assertIn('PERF memmap frames=', out)


if __name__ == '__main__':
    unittest.main()
