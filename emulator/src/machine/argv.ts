// buildArgv(spec): the qemu-system-x86_64 argument vector for a MachineSpec (pure; tests compare arrays).

import type { MachineSpec, SerialPortSpec } from './machine-spec.js';
import { PROFILES } from './profiles.js';

/** QEMU's option syntax uses `,` as separator; a literal comma in a value is written `,,`. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

function serialChardev(id: string, port: SerialPortSpec): string[] {
  return [
    '-chardev',
    // telnet=on: BREAK can be sent as IAC BREAK. server=on,wait=off: QEMU listens and never blocks
    // on a client. logfile: a socket chardev drops output while no client is connected, the log keeps all.
    `socket,id=${id},path=${qemuOptValue(port.socket)},server=on,wait=off,telnet=on,logfile=${qemuOptValue(port.log)},logappend=off`,
    '-serial',
    `chardev:${id}`,
  ];
}

/**
 * Builds the argument vector (without the binary). The machine always starts paused (`-S`):
 * the caller wires its console and QMP, then sends `cont`, so no boot byte is lost.
 */
export function buildArgv(spec: MachineSpec): string[] {
  const profile = PROFILES[spec.profile];
  const argv: string[] = [
    '-name', `${qemuOptValue(spec.name)},debug-threads=on`,
    '-machine', profile.machine,
    '-accel', spec.accel,
    '-m', String(spec.memoryMb),
    '-smp', String(spec.cpus),
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    // A VGA device for QMP screendump (720x400 in text mode).
    '-device', 'VGA',
    '-S',
    // Keep the process (and its sockets) when the guest powers off: `on` is then system_reset + cont.
    '-no-shutdown',
    // Leave a panicked guest as it is, so the panic text reaches the serial log (FACTS.md, QMP).
    '-action', 'panic=none',
    '-qmp', `unix:${qemuOptValue(spec.qmpSocket)},server=on,wait=off`,
  ];
  spec.serial.forEach((port, i) => argv.push(...serialChardev(`serial${i}`, port)));

  if (spec.firmware === 'uefi') {
    if (!spec.uefi) throw new Error('firmware "uefi" needs uefi.code and uefi.vars');
    argv.push(
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptValue(spec.uefi.code)}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptValue(spec.uefi.vars)}`,
    );
  }

  const boot = spec.boot;
  if (boot.kind === 'kernel') {
    argv.push('-kernel', boot.kernel, '-initrd', boot.initrd, '-append', boot.cmdline);
  } else {
    const drive = `file=${qemuOptValue(boot.disk)},format=${boot.format},if=none,id=disk0,cache=writeback`;
    argv.push('-drive', drive);
    argv.push('-device', profile.diskBus === 'virtio' ? 'virtio-blk-pci,drive=disk0,bootindex=1' : 'ide-hd,drive=disk0,bus=ide.0,bootindex=1');
    if (boot.seedIso) {
      argv.push('-drive', `file=${qemuOptValue(boot.seedIso)},format=raw,if=none,id=seed0,readonly=on,media=cdrom`);
      argv.push('-device', profile.diskBus === 'virtio' ? 'ide-cd,drive=seed0' : 'ide-cd,drive=seed0,bus=ide.1');
    }
  }

  for (const d of profile.devices) argv.push('-device', d);
  if (spec.network === 'user') argv.push('-nic', 'user,model=e1000');
  else argv.push('-nic', 'none');
  return argv;
}
