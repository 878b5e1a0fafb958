import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgv, qemuOptValue } from './argv.js';
import type { MachineSpec } from './machine-spec.js';

const linux: MachineSpec = {
  name: 'web-vmss-1',
  profile: 'linux',
  accel: 'tcg',
  memoryMb: 256,
  cpus: 1,
  firmware: 'bios',
  boot: { kind: 'kernel', kernel: '/img/vmlinux', initrd: '/img/initrd.img', cmdline: 'console=ttyS0,115200n8 ttygate.hostname=web-vmss-1' },
  serial: [{ socket: '/run/s/serial0.sock', log: '/run/s/serial0.log' }],
  qmpSocket: '/run/s/qmp.sock',
  network: 'none',
};

describe('buildArgv', () => {
  it('builds the linux kernel-boot vector: paused, telnet chardev with a log, QMP, VGA, pvpanic', () => {
    assert.deepEqual(buildArgv(linux), [
      '-name', 'web-vmss-1,debug-threads=on',
      '-machine', 'pc',
      '-accel', 'tcg',
      '-m', '256',
      '-smp', '1',
      '-nodefaults',
      '-no-user-config',
      '-display', 'none',
      '-device', 'VGA',
      '-S',
      '-no-shutdown',
      '-action', 'panic=none',
      '-qmp', 'unix:/run/s/qmp.sock,server=on,wait=off',
      '-chardev', 'socket,id=serial0,path=/run/s/serial0.sock,server=on,wait=off,telnet=on,logfile=/run/s/serial0.log,logappend=off',
      '-serial', 'chardev:serial0',
      '-kernel', '/img/vmlinux',
      '-initrd', '/img/initrd.img',
      '-append', 'console=ttyS0,115200n8 ttygate.hostname=web-vmss-1',
      '-device', 'pvpanic',
      '-nic', 'none',
    ]);
  });

  it('adds a second serial port as its own chardev (ttyS1/COM2)', () => {
    const argv = buildArgv({ ...linux, serial: [linux.serial[0], { socket: '/run/s/serial1.sock', log: '/run/s/serial1.log' }] });
    const serials = argv.flatMap((a, i) => (a === '-serial' ? [argv[i + 1]] : []));
    assert.deepEqual(serials, ['chardev:serial0', 'chardev:serial1']);
    assert.ok(argv.includes('socket,id=serial1,path=/run/s/serial1.sock,server=on,wait=off,telnet=on,logfile=/run/s/serial1.log,logappend=off'));
  });

  it('builds the windows profile: q35, UEFI pflash, SATA disk, cloud seed as cdrom, no pvpanic', () => {
    const argv = buildArgv({
      ...linux,
      name: 'win',
      profile: 'windows',
      memoryMb: 4096,
      cpus: 2,
      firmware: 'uefi',
      uefi: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/run/w/OVMF_VARS.fd' },
      boot: { kind: 'disk', disk: '/run/w/disk.qcow2', format: 'qcow2', seedIso: '/run/w/seed.iso' },
      network: 'user',
    });
    assert.deepEqual(argv.slice(0, 10), ['-name', 'win,debug-threads=on', '-machine', 'q35', '-accel', 'tcg', '-m', '4096', '-smp', '2']);
    assert.deepEqual(argv.slice(argv.indexOf('-serial') + 2), [
      '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      '-drive', 'if=pflash,format=raw,unit=1,file=/run/w/OVMF_VARS.fd',
      '-drive', 'file=/run/w/disk.qcow2,format=qcow2,if=none,id=disk0,cache=writeback',
      '-device', 'ide-hd,drive=disk0,bus=ide.0,bootindex=1',
      '-drive', 'file=/run/w/seed.iso,format=raw,if=none,id=seed0,readonly=on,media=cdrom',
      '-device', 'ide-cd,drive=seed0,bus=ide.1',
      '-nic', 'user,model=e1000',
    ]);
    assert.ok(!argv.includes('pvpanic'));
  });

  it('attaches linux disk images over virtio', () => {
    const argv = buildArgv({ ...linux, boot: { kind: 'disk', disk: '/d/disk.qcow2', format: 'qcow2' } });
    assert.ok(argv.includes('virtio-blk-pci,drive=disk0,bootindex=1'));
    assert.ok(!argv.includes('-kernel'));
  });

  it('refuses uefi without firmware paths', () => {
    assert.throws(() => buildArgv({ ...linux, firmware: 'uefi' }), /uefi\.code/);
  });

  it('escapes commas in paths the QEMU way', () => {
    assert.equal(qemuOptValue('/tmp/a,b/s.sock'), '/tmp/a,,b/s.sock');
    const argv = buildArgv({ ...linux, qmpSocket: '/tmp/a,b/qmp.sock' });
    assert.ok(argv.includes('unix:/tmp/a,,b/qmp.sock,server=on,wait=off'));
  });
});
