// Machine profiles: the per-OS presets (machine type, console port, disk bus, firmware, panic device).

import type { Firmware, ProfileName } from './machine-spec.js';

export interface MachineProfile {
  name: ProfileName;
  /** QEMU machine type. */
  machine: string;
  /** What the guest calls its first serial port, for messages and docs. */
  consoleName: string;
  /** How a disk is attached: virtio for Linux images, AHCI/SATA for Windows (no virtio drivers in stock Windows). */
  diskBus: 'virtio' | 'sata';
  defaultFirmware: Firmware;
  defaultMemoryMb: number;
  /** Extra devices the profile always adds. */
  devices: string[];
  /** What the console is expected to show, for docs and diagnostics. */
  consoleExpectation: string;
}

export const PROFILES: Readonly<Record<ProfileName, MachineProfile>> = {
  linux: {
    name: 'linux',
    machine: 'pc',
    consoleName: 'ttyS0',
    diskBus: 'virtio',
    defaultFirmware: 'bios',
    defaultMemoryMb: 256,
    // pvpanic: a kernel panic raises QMP GUEST_PANICKED (the kernel has the driver built in).
    devices: ['pvpanic'],
    consoleExpectation: 'kernel messages and a getty login prompt on ttyS0 at 115200 baud',
  },
  windows: {
    name: 'windows',
    machine: 'q35',
    consoleName: 'COM1',
    diskBus: 'sata',
    defaultFirmware: 'uefi',
    defaultMemoryMb: 4096,
    devices: [],
    consoleExpectation: 'Emergency Management Services: the SAC> prompt on COM1 at 115200 baud (bcdedit /ems on)',
  },
};

/** Where Debian's `ovmf` package puts the UEFI firmware. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
