// MachineSpec: the passive, serialisable description of one QEMU instance (labgrid's "resource").

export type Accel = 'tcg' | 'kvm';
export type ProfileName = 'linux' | 'windows';
export type Firmware = 'bios' | 'uefi';

/** What the machine boots: a kernel + initramfs pair, or a disk (already an overlay of its own). */
export type BootSource =
  | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string }
  | { kind: 'disk'; disk: string; format: 'qcow2' | 'raw' | 'vpc'; seedIso?: string };

/** One serial port: a telnet-mode Unix socket chardev plus a log file that keeps all output. */
export interface SerialPortSpec {
  socket: string;
  log: string;
}

export interface MachineSpec {
  /** Instance name as QEMU sees it (`-name`), e.g. `web-vmss-1`. */
  name: string;
  profile: ProfileName;
  accel: Accel;
  memoryMb: number;
  cpus: number;
  firmware: Firmware;
  /** For `uefi`: the read-only OVMF code image and this instance's own writable vars copy. */
  uefi?: { code: string; vars: string };
  boot: BootSource;
  /** ttyS0/COM1 first; a second entry adds ttyS1/COM2. */
  serial: [SerialPortSpec] | [SerialPortSpec, SerialPortSpec];
  qmpSocket: string;
  /** `none` (default) or QEMU user-mode networking. */
  network: 'none' | 'user';
}
