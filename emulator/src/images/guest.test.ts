import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseArchiveEntries,
  DEFAULT_GUEST_HOSTNAME,
  generatedGuestFiles,
  POWER_BUTTON_HANDLER,
  renderHostnameFn,
  renderInit,
  renderInittab,
  renderIssue,
  renderPowerButtonHandler,
  renderProfile,
  serialGettyLine,
  UART_PRESENT_FN,
} from './guest.js';

const MODULES = ['kernel/drivers/acpi/button.ko', 'kernel/drivers/input/evdev.ko'];
const BUSYBOX = '/bin/busybox';

/** Runs a script with busybox sh (the guest's shell) on the host. */
function sh(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BUSYBOX, ['sh', '-c', script, 'sh', ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('inittab', () => {
  it('runs a getty per serial port and handles ctrl-alt-del and shutdown', () => {
    assert.equal(serialGettyLine('ttyS0'), 'ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100');
    assert.equal(
      renderInittab({ serial: ['ttyS0'] }),
      '# /etc/inittab written by /init at boot (busybox init)\n' +
        'ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100\n' +
        '::ctrlaltdel:/sbin/reboot\n' +
        '::shutdown:/bin/sync\n' +
        '::shutdown:/bin/umount -a -r\n',
    );
    const two = renderInittab({ serial: ['ttyS0', 'ttyS1'], vt: true });
    assert.match(two, /^ttyS1::respawn:\/sbin\/getty -L 115200 ttyS1 vt100$/m);
    assert.match(two, /^tty1::respawn:\/sbin\/getty 38400 tty1 linux$/m);
  });

  it('/init writes exactly what renderInittab renders (shell run on the host)', () => {
    // Extract the inittab block of /init and run it against fake /proc and /sys files.
    const init = renderInit({ modules: MODULES });
    const block = init.slice(init.indexOf('uart_present() {'), init.indexOf('} > /etc/inittab') + 1);
    const dir = mkdtempSync(join(tmpdir(), 'ttygate-inittab-'));
    try {
      const serial = join(dir, 'serial');
      const script = block
        .replace(/"\$\{2:-\/proc\/tty\/driver\/serial\}"/, `"\${2:-${serial}}"`)
        .replace('/sys/class/vtconsole/vtcon*/name', join(dir, 'vtcon*'));
      assert.ok(script.includes(serial) && script.includes(join(dir, 'vtcon*')), 'test paths substituted');
      const header = 'serinfo:1.0 driver revision:\n';
      writeFileSync(serial, header + '0: uart:16550A port:000003F8 irq:4 tx:0 rx:0\n1: uart:unknown port:000002F8 irq:3\n');
      writeFileSync(join(dir, 'vtcon0'), '(S) dummy device\n');
      assert.equal(sh(script).stdout, renderInittab({ serial: ['ttyS0'] }));
      writeFileSync(serial, header + '0: uart:16550A port:000003F8 irq:4 tx:0 rx:0\n1: uart:16550A port:000002F8 irq:3 tx:0 rx:0\n');
      writeFileSync(join(dir, 'vtcon0'), '(S) VGA+\n');
      assert.equal(sh(script).stdout, renderInittab({ serial: ['ttyS0', 'ttyS1'], vt: true }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uart_present tells a real UART from uart:unknown and a missing line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttygate-uart-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, 'serial');
    writeFileSync(f, 'serinfo:1.0 driver revision:\n0: uart:16550A port:000003F8 irq:4\n1: uart:unknown port:000002F8 irq:3\n');
    const check = (n: string) => sh(`${UART_PRESENT_FN}\nuart_present "$1" "$2"`, n, f).status;
    assert.equal(check('0'), 0);
    assert.equal(check('1'), 1);
    assert.equal(check('2'), 1);
    assert.equal(sh(`${UART_PRESENT_FN}\nuart_present 0 /nonexistent`).status, 1);
  });
});

describe('/init', () => {
  const init = renderInit({ modules: MODULES });

  it('is valid shell for busybox sh', () => {
    const r = spawnSync(BUSYBOX, ['sh', '-n', '-c', init]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(init.startsWith('#!/bin/sh\n'));
  });

  it('mounts proc, sysfs, devtmpfs and devpts, enables SysRq, loads modules by path, starts acpid and execs init', () => {
    for (const re of [
      /^mount -t proc .* proc \/proc$/m,
      /^mount -t sysfs .* sysfs \/sys$/m,
      /^mount -t devtmpfs .* devtmpfs \/dev$/m,
      /^mount -t devpts .* devpts \/dev\/pts$/m,
      /^echo 1 > \/proc\/sys\/kernel\/sysrq$/m,
      /insmod "\/lib\/modules\/\$release\/\$m"/,
      /^acpid /m,
    ]) {
      assert.match(init, re);
    }
    assert.ok(init.includes(`for m in ${MODULES.join(' ')}; do`));
    assert.ok(init.trimEnd().endsWith('exec /sbin/init'));
    assert.ok(init.indexOf('insmod') < init.indexOf('acpid -l'), 'modules load before acpid opens /dev/input/event*');
  });

  it('contains no credentials', () => {
    assert.doesNotMatch(init, /passwd|shadow|\$6\$/);
  });
});

describe('guest_hostname', () => {
  const fn = renderHostnameFn();
  const host = (cmdline: string) => sh(`${fn}\nguest_hostname "$1"`, cmdline).stdout.trim();

  it('takes ttygate.hostname= from the kernel command line', () => {
    assert.equal(host('console=ttyS0,115200n8 ttygate.hostname=t1 quiet'), 't1');
    assert.equal(host('ttygate.hostname=web-01.lab'), 'web-01.lab');
    assert.equal(host('ttygate.hostname=a ttygate.hostname=b'), 'b');
  });

  it(`defaults to ${DEFAULT_GUEST_HOSTNAME} and rejects unsafe names`, () => {
    assert.equal(host('console=ttyS0'), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host('ttygate.hostname='), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host('ttygate.hostname=a;reboot'), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host('ttygate.hostname=$(reboot)'), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host('ttygate.hostname=-x'), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host(`ttygate.hostname=${'a'.repeat(64)}`), DEFAULT_GUEST_HOSTNAME);
    assert.equal(host('ttygate.hostname=*'), DEFAULT_GUEST_HOSTNAME); // no globbing
  });
});

describe('guest files', () => {
  it('power button handler is a shell script that powers off', () => {
    const s = renderPowerButtonHandler();
    assert.ok(s.startsWith('#!/bin/sh\n'));
    assert.match(s, /^exec \/sbin\/poweroff$/m);
    assert.equal(POWER_BUTTON_HANDLER, 'etc/acpi/PWRF/00000080');
  });

  it('profile sets a PS1 ending in "$ " for a normal user, issue names the guest', () => {
    assert.match(renderProfile(), /PS1='.*\\\$ '/);
    assert.match(renderIssue(), /ttygate Linux guest \\n/);
  });

  it('generated files are executable where needed', () => {
    const files = generatedGuestFiles({ modules: MODULES });
    assert.equal(files.get('init')?.mode, 0o755);
    assert.equal(files.get(POWER_BUTTON_HANDLER)?.mode, 0o755);
    assert.equal(files.get('etc/profile')?.mode, 0o644);
  });

  it('base archive: busybox, applet links, /dev/console, modules, parents; nothing about users', () => {
    const entries = baseArchiveEntries({
      busybox: Buffer.from('ELF'),
      applets: ['bin/sh', 'sbin/init', 'usr/bin/[', 'linuxrc', 'bin/busybox', 'sbin/acpid'],
      release: '6.1.0-56-amd64',
      modules: new Map([['kernel/drivers/acpi/button.ko', Buffer.from('ko')]]),
      files: generatedGuestFiles({ modules: MODULES }),
    });
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.equal(byPath.get('bin/busybox')?.type, 'file');
    assert.deepEqual(byPath.get('sbin/init'), { path: 'sbin/init', type: 'symlink', target: '/bin/busybox' });
    assert.equal(byPath.get('usr/bin/[')?.type, 'symlink');
    assert.equal(byPath.has('linuxrc'), false);
    assert.equal(byPath.get('dev/console')?.type, 'char');
    assert.equal(byPath.get('lib/modules/6.1.0-56-amd64/kernel/drivers/acpi/button.ko')?.type, 'file');
    for (const d of ['lib', 'lib/modules', 'lib/modules/6.1.0-56-amd64/kernel/drivers/acpi', 'etc/acpi/PWRF', 'proc', 'sys', 'tmp', 'home', 'var/log']) {
      assert.equal(byPath.get(d)?.type, 'dir', d);
    }
    assert.equal((byPath.get('tmp') as { mode: number }).mode, 0o1777);
    for (const p of ['etc/passwd', 'etc/shadow', 'etc/group']) assert.equal(byPath.has(p), false, p);
  });
});
