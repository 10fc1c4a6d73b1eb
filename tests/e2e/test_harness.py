#!/usr/bin/env python3
"""The e2e harness itself (mm32d.py): a sanitizer report in a daemon's log fails the test
process even when every HTTP answer was right, and a clean log does not.

A child Python process starts one daemon through fake-sanitizer-report.sh (which prints a
UBSan line when asked, then runs the real mm32d), asks /v1/health, stops it, and exits 0:
only the harness's exit handler can make it fail.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mm32d import mm32d_path  # noqa: E402

CHILD = ('import sys; sys.path.insert(0, %r); import mm32d\n'
         'd = mm32d.Daemon().start()\n'
         'assert d.request("GET", "/v1/health").status == 200\n'
         'd.stop()\n' % HERE)


class SanitizerHarnessTest(unittest.TestCase):
    def child(self, report):
        env = dict(os.environ, MM32D=os.path.join(HERE, 'fake-sanitizer-report.sh'),
                   MM32D_REAL=os.path.abspath(mm32d_path()),
                   MM32_FAKE_REPORT='1' if report else '0')
        return subprocess.run([sys.executable, '-c', CHILD], env=env, capture_output=True,
                              text=True, timeout=60)

    def test_a_report_fails_the_process(self):
        p = self.child(True)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn('sanitizer reports', p.stderr)
        self.assertIn('runtime error: signed integer overflow', p.stderr)

    def test_a_clean_log_passes(self):
        p = self.child(False)
        self.assertEqual(p.returncode, 0, p)
        self.assertNotIn('sanitizer', p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
