// DeviceSpec: the passive, serialisable description of a device (config file and REST API).

/** Power commands for boards switched by relays or PDUs: argv arrays run without a shell. */
export interface PowerHooks {
  on?: string[];
  off?: string[];
  cycle?: string[];
}

/** Settings every kind shares. */
export interface DeviceCommon {
  /** Unique id: `[a-z0-9][a-z0-9._-]*`, plus `/N` for scale-set instances (`web-vmss/0`). */
  id: string;
  group?: string;
  description?: string;
  /** Boot diagnostics (capture) switch; attach is refused when off (Azure's rule). Default on. */
  bootDiagnostics?: { enabled: boolean };
  /** Per-device console switch. Default on. */
  console?: { enabled: boolean };
  /** Capture retention: bytes kept on disk (default 16 MiB) and maximum age in seconds (default 30 days). */
  capture?: { maxBytes?: number; maxAgeSeconds?: number };
}

export interface SerialDeviceSpec extends DeviceCommon {
  kind: 'serial';
  path: string;
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  rtscts?: boolean;
  power?: PowerHooks;
}

export interface QemuDeviceSpec extends DeviceCommon {
  kind: 'qemu';
  /** `linux` (the most recently built linux image) or a disk image path. */
  image: string;
  memoryMb?: number;
  /** A scale set: devices `ID/0` … `ID/N-1` in group `ID`. */
  instances?: number;
  kernel?: 'vmlinux' | 'bzImage';
}

export interface QemuSocketDeviceSpec extends DeviceCommon {
  kind: 'qemu-socket';
  /** QEMU's serial chardev socket (telnet=on for BREAK). */
  serial: string;
  /** QEMU's QMP socket, for NMI, power and screenshots. Optional. */
  qmp?: string;
  /** Whether the chardev is in telnet mode (default true). */
  telnet?: boolean;
}

export interface TcpDeviceSpec extends DeviceCommon {
  kind: 'tcp';
  host: string;
  port: number;
  protocol?: 'raw' | 'telnet';
  /** TLS to the console server: true, or the CA file / server name to check. */
  tls?: boolean | { ca?: string; servername?: string; rejectUnauthorized?: boolean };
}

/**
 * An Azure VM through ARM and Azure's serial console: `vm`, or a scale-set instance (`scaleSet` +
 * `instanceId`). `scaleSet` without `instanceId` is a group: one device `ID/INSTANCEID` per instance
 * Azure lists. `cloud` names an entry of the config's `azure.clouds` (default `azure.defaultCloud`).
 */
export interface AzureDeviceSpec extends DeviceCommon {
  kind: 'azure';
  cloud?: string;
  subscriptionId: string;
  resourceGroup: string;
  vm?: string;
  scaleSet?: string;
  instanceId?: string;
}

/** An in-memory device (devices/loopback): echoes what is written. For tests, demos and e2e fixtures. */
export interface LoopbackDeviceSpec extends DeviceCommon {
  kind: 'loopback';
  /** Echo written bytes back (default true). */
  echo?: boolean;
  /** Printed by the device when it is opened (e.g. `login: `). */
  greeting?: string;
}

export type DeviceSpec = SerialDeviceSpec | QemuDeviceSpec | QemuSocketDeviceSpec | TcpDeviceSpec | AzureDeviceSpec | LoopbackDeviceSpec;
export type DeviceKind = DeviceSpec['kind'];
export const DEVICE_KINDS = ['serial', 'qemu', 'qemu-socket', 'tcp', 'azure', 'loopback'] as const satisfies readonly DeviceKind[];
