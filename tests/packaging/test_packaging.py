#!/usr/bin/env python3
"""packaging/: the systemd units (systemd-analyze verify, and security exposure <= 2.0), the
man page, what `meson install` puts where, and the .deb that `make deb` builds.

Python 3 standard library plus the system's tools (systemd-analyze, man, dpkg-deb,
dpkg-buildpackage); a missing tool fails the test under `make test` and in CI and skips it
only when run by hand. Nothing is installed on the
host: meson installs into a temporary DESTDIR, the .deb is built in a temporary directory
and only read. Run by meson (suite 'packaging'), or by hand:
  BUILD_ROOT=build python3 tests/packaging/test_packaging.py [-v] [Class[.test]]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
BUILD_ROOT = os.path.abspath(os.environ.get('BUILD_ROOT', os.path.join(SOURCE_ROOT, 'build')))
PACKAGING = os.path.join(SOURCE_ROOT, 'packaging')
MM32D = os.path.join(BUILD_ROOT, 'daemon', 'mm32d')
SERVICE = os.path.join(BUILD_ROOT, 'packaging', 'mm32d.service')


sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))
from mm32d import need  # noqa: E402  (fails under `make test` and CI, skips by hand)


def run(argv, **kw):
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    kw.setdefault('timeout', 120)
    return subprocess.run(argv, **kw)


class Units(unittest.TestCase):
    """The units as built, with ExecStart= pointing at the mm32d of this build (the installed
    path does not exist before `meson install`) and the man page findable by man."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='mm32-units-')
        os.makedirs(os.path.join(cls.tmp, 'man', 'man8'))
        shutil.copy(os.path.join(PACKAGING, 'mm32d.8'), os.path.join(cls.tmp, 'man', 'man8'))
        with open(SERVICE) as f:
            text = f.read()
        cls.exec_start = re.search(r'^ExecStart=(\S+)', text, re.M).group(1)
        text = re.sub(r'^ExecStart=\S+', 'ExecStart=' + MM32D, text, flags=re.M)
        cls.service = os.path.join(cls.tmp, 'mm32d.service')
        with open(cls.service, 'w') as f:
            f.write(text)
        cls.socket = os.path.join(cls.tmp, 'mm32d.socket')
        shutil.copy(os.path.join(PACKAGING, 'mm32d.socket'), cls.socket)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)


class UnitsTest(Units):
    def test_verify(self):
        tool = need('systemd-analyze')
        need('man')
        p = run([tool, 'verify', 'mm32d.socket', 'mm32d.service'], cwd=self.tmp,
                env=dict(os.environ, MANPATH=os.path.join(self.tmp, 'man')))
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(p.stdout + p.stderr, '', p)

    def test_security_exposure(self):
        tool = need('systemd-analyze')
        p = run([tool, 'security', '--offline=true', '--no-pager', 'mm32d.service'],
                cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p)
        m = re.search(r'Overall exposure level for mm32d\.service: (\d+\.\d+)', p.stdout)
        self.assertIsNotNone(m, p.stdout)
        print('exposure: %s' % m.group(1))
        self.assertLessEqual(float(m.group(1)), 2.0, p.stdout)
        # the same as systemd's own gate: --threshold is on a 0..100 scale
        p = run([tool, 'security', '--offline=true', '--threshold=20', '--no-pager',
                 'mm32d.service'], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_every_directive_is_commented(self):
        # each [Service] setting follows a comment that says why (STYLE.md)
        with open(os.path.join(PACKAGING, 'mm32d.service.in')) as f:
            lines = f.read().split('\n')
        section, last_comment = None, False
        for line in lines:
            if line.startswith('['):
                section = line
                continue
            if line.startswith('#'):
                last_comment = True
                continue
            if not line.strip():
                last_comment = False
                continue
            if section == '[Service]':
                self.assertTrue(last_comment, 'no comment above: ' + line)

    def test_service_contract(self):
        with open(SERVICE) as f:
            text = f.read()
        for want in ('Type=notify', 'WatchdogSec=', 'User=mm32', 'StateDirectory=mm32',
                     'RuntimeDirectory=mm32', 'ExecReload=/bin/kill -HUP $MAINPID',
                     'Requires=mm32d.socket'):
            self.assertIn(want, text)
        with open(self.socket) as f:
            sock = f.read()
        self.assertIn('ListenStream=127.0.0.1:8032', sock)
        self.assertIn('ListenStream=/run/mm32/mm32d.sock', sock)
        # the socket is the access control: group mm32, not everyone
        self.assertIn('SocketMode=0660', sock)
        self.assertIn('SocketGroup=mm32', sock)


class ManTest(unittest.TestCase):
    def test_man_page_renders_cleanly(self):
        need('man')
        p = run(['man', '--warnings', '-E', 'UTF-8', '-l', os.path.join(PACKAGING, 'mm32d.8')],
                env=dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='0'))
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(p.stderr, '', p.stderr)
        text = re.sub('.\x08', '', p.stdout)  # no bold or underline by overstriking
        for section in ('SYNOPSIS', 'OPTIONS', 'CONFIGURATION FILE', 'ACCESS', 'METRICS',
                        'SYSTEMD', 'SIGNALS', 'FILES'):
            self.assertIn(section, text)
        # every option of --help is in the man page
        helptext = run([MM32D, '--help']).stdout
        page = re.sub(r'\u2010|\u2011|\u2212', '-', text)
        for opt in re.findall(r'^  (--[a-z-]+)', helptext, re.M):
            self.assertIn(opt, page)


class InstallTest(unittest.TestCase):
    """`meson install` into a DESTDIR: every file where systemd and Debian look."""

    def test_layout(self):
        meson = need('meson')
        dest = tempfile.mkdtemp(prefix='mm32-install-')
        self.addCleanup(shutil.rmtree, dest, True)
        p = run([meson, 'install', '-C', BUILD_ROOT, '--no-rebuild', '--destdir', dest,
                 '--quiet'])
        self.assertEqual(p.returncode, 0, p)
        p = run([meson, 'introspect', BUILD_ROOT, '--buildoptions'])
        opts = {o['name']: o['value'] for o in json.loads(p.stdout)}
        prefix = opts['prefix']
        sysconf = os.path.join(prefix, opts['sysconfdir'])
        files = set()
        for root, _, names in os.walk(dest):
            for n in names:
                files.add(os.path.join(root, n)[len(dest):])
        want = {
            os.path.join(prefix, opts['sbindir'], 'mm32d'),
            os.path.join(sysconf, 'mm32', 'mm32d.conf'),
            os.path.join(prefix, opts['mandir'], 'man8', 'mm32d.8'),
            os.path.join(prefix, opts['datadir'], 'doc', 'mm32d', 'openapi.yaml'),
        }
        pc = run(['pkg-config', '--variable=systemdsystemunitdir', 'systemd'])
        unitdir = pc.stdout.strip() or '/lib/systemd/system'
        sysusers = run(['pkg-config', '--variable=sysusersdir', 'systemd']).stdout.strip() \
            or '/usr/lib/sysusers.d'
        tmpfiles = run(['pkg-config', '--variable=tmpfilesdir', 'systemd']).stdout.strip() \
            or '/usr/lib/tmpfiles.d'
        want |= {unitdir + '/mm32d.service', unitdir + '/mm32d.socket',
                 sysusers + '/mm32d.conf', tmpfiles + '/mm32d.conf'}
        self.assertEqual(files, want)
        self.assertTrue(os.access(dest + os.path.join(prefix, opts['sbindir'], 'mm32d'),
                                  os.X_OK))
        with open(dest + unitdir + '/mm32d.service') as f:
            service = f.read()
        self.assertIn('ExecStart=%s --config %s/mm32/mm32d.conf\n'
                      % (os.path.join(prefix, opts['sbindir'], 'mm32d'), sysconf), service)
        self.assertNotRegex(service, r'@[a-z_]+@')
        with open(dest + tmpfiles + '/mm32d.conf') as f:
            self.assertIn('z %s/mm32/mm32d.conf 0640 root mm32 -' % sysconf, f.read())
        # the installed example configuration is valid as it is
        p = run([dest + os.path.join(prefix, opts['sbindir'], 'mm32d'), '--config',
                 dest + os.path.join(sysconf, 'mm32', 'mm32d.conf'), '--check-config'])
        self.assertEqual(p.returncode, 0, p)


class DebTest(unittest.TestCase):
    """`make deb` (packaging/build-deb.sh): an installable package, read, not installed."""

    @classmethod
    def setUpClass(cls):
        for tool in ('dpkg-buildpackage', 'dpkg-deb', 'dh', 'git'):
            need(tool)
        cls.out = tempfile.mkdtemp(prefix='mm32-deb-')
        cls.build = run(['sh', os.path.join(PACKAGING, 'build-deb.sh'), SOURCE_ROOT, cls.out],
                        timeout=600)
        debs = [f for f in os.listdir(cls.out) if re.match(r'mm32d_[^_]+_[^_]+\.deb$', f)]
        cls.deb = os.path.join(cls.out, debs[0]) if debs else None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, True)

    def test_builds(self):
        self.assertEqual(self.build.returncode, 0,
                         self.build.stdout[-3000:] + self.build.stderr[-3000:])
        self.assertIsNotNone(self.deb)

    def test_contents(self):
        self.assertIsNotNone(self.deb, self.build.stderr[-3000:])
        listing = run(['dpkg-deb', '-c', self.deb]).stdout
        files = {line.split()[-1].lstrip('.') for line in listing.splitlines()
                 if not line.startswith('d')}
        for f in ('/usr/sbin/mm32d', '/lib/systemd/system/mm32d.service',
                  '/lib/systemd/system/mm32d.socket', '/usr/lib/sysusers.d/mm32d.conf',
                  '/usr/lib/tmpfiles.d/mm32d.conf', '/etc/mm32/mm32d.conf',
                  '/usr/share/man/man8/mm32d.8.gz', '/usr/share/doc/mm32d/copyright',
                  '/usr/share/doc/mm32d/openapi.yaml'):
            self.assertIn(f, files)
        self.assertIn('ExecStart=/usr/sbin/mm32d --config /etc/mm32/mm32d.conf\n',
                      self._file('/lib/systemd/system/mm32d.service'))

    def _file(self, path):
        p = subprocess.run('dpkg-deb --fsys-tarfile %s | tar -xOf - .%s' % (self.deb, path),
                           shell=True, capture_output=True, timeout=60)
        return p.stdout.decode()

    def test_build_depends_cover_the_libraries(self):
        # every library the build needs (the lib*-dev packages of `make deps-run`) is a
        # Build-Depends of the package, so that a clean build environment has it too
        with open(os.path.join(SOURCE_ROOT, 'Makefile')) as f:
            debs = re.search(r'^DEBS_RUN :=((?:.*\\\n)*.*)$', f.read(), re.M).group(1)
        libs = {d for d in debs.replace('\\', ' ').split() if re.match(r'lib.*-dev$', d)}
        with open(os.path.join(PACKAGING, 'debian', 'control')) as f:
            control = f.read()
        build_depends = re.search(r'^Build-Depends:(.*?)^\S', control, re.M | re.S).group(1)
        have = set(re.findall(r'([a-z0-9.+-]+)', build_depends))
        self.assertEqual(libs - have, set())

    def test_control_and_scripts(self):
        self.assertIsNotNone(self.deb, self.build.stderr[-3000:])
        fields = run(['dpkg-deb', '-f', self.deb, 'Package', 'Depends']).stdout
        self.assertIn('Package: mm32d', fields)
        for dep in ('libmicrohttpd12', 'libjansson4', 'libsqlite3-0', 'libsystemd0',
                    'libinih1', 'systemd-sysusers', 'procps'):  # procps: ExecReload's /bin/kill
            self.assertIn(dep, fields)
        ctl = tempfile.mkdtemp(prefix='mm32-ctl-')
        self.addCleanup(shutil.rmtree, ctl, True)
        run(['dpkg-deb', '-e', self.deb, ctl], check=True)
        with open(os.path.join(ctl, 'postinst')) as f:
            postinst = f.read()
        # the user first, then the directories, then the units
        order = [postinst.find(s) for s in ('systemd-sysusers', 'systemd-tmpfiles',
                                            "enable 'mm32d.service'", "enable 'mm32d.socket'")]
        self.assertNotIn(-1, order, postinst)
        self.assertEqual(order, sorted(order), postinst)
        with open(os.path.join(ctl, 'conffiles')) as f:
            self.assertIn('/etc/mm32/mm32d.conf', f.read())


if __name__ == '__main__':
    unittest.main(verbosity=2)
