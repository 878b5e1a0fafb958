// QemuDriver: device kind `qemu` — VMs the gateway runs itself through the emulator's QemuMachine.

import { join } from 'node:path';
import { defaultImagesDir, QemuMachine, resolveImage, type Accel, type MachineImage } from '@ttygate/emulator';
import { messageOf } from '../base-transport.js';
import type { QemuDeviceSpec } from '../device-spec.js';
import { SimpleConnection } from '../simple-connection.js';
import { TransportError, type DeviceConnection, type DeviceDriver } from '../transport.js';
import { MachineTransport } from './machine-transport.js';
import { ManagedMachine } from './managed-machine.js';
import { QemuControls } from './qemu-controls.js';

export interface QemuDriverOptions {
  /** Where VMs keep their sockets, serial logs and disk overlays: device `a/0` uses `stateDir/a/0`. Keep it short (Unix socket paths ≤ 107 bytes). */
  stateDir: string;
  /** Where built guest images are (default: the emulator's default images dir). */
  imagesDir?: string;
  /** `tcg` (default) or `kvm` (used only if a probe shows it really runs). */
  accel?: Accel;
  /** How long a graceful restart waits for the guest to shut down (default 60 s). */
  gracefulTimeoutMs?: number;
}

const DEFAULT_GRACEFUL_TIMEOUT_MS = 60_000;
/** `linux`, `linux:latest`, `linux:HASH`: a built image; anything else is a disk image path. */
const BUILT_IMAGE = /^linux(?:[:/].*)?$/;

/** QEMU's `-name` and the guest's hostname for a device id: `web-vmss/0` → `web-vmss-0`. */
export function machineNameOf(id: string): string {
  return id.replaceAll('/', '-');
}

/**
 * Runs one QEMU per device id, started by the first `open` (console mode `own`: the gateway holds
 * the serial socket from before the guest's first instruction). The VM keeps running across
 * transport closes and re-opens (output in between is kept for the next open) and is stopped by
 * `shutdown(spec)`. If QEMU exits, the transport closes `disconnected` and the next `open`
 * starts a new one.
 */
export class QemuDriver implements DeviceDriver<QemuDeviceSpec> {
  readonly kind = 'qemu' as const;
  private readonly machines = new Map<string, ManagedMachine>();
  private readonly starting = new Map<string, Promise<ManagedMachine>>();
  private readonly transports = new Map<string, Set<MachineTransport>>();

  constructor(private readonly options: QemuDriverOptions) {}

  async open(spec: QemuDeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    let managed: ManagedMachine;
    try {
      managed = await this.machineFor(spec);
    } catch (err) {
      throw new TransportError('open-failed', `cannot start the VM of device ${spec.id}: ${messageOf(err)}`, { cause: err });
    }
    // An abort during the start leaves the VM running: it belongs to the driver until shutdown().
    signal?.throwIfAborted();
    const transport = new MachineTransport(managed);
    const set = this.transports.get(spec.id) ?? new Set<MachineTransport>();
    this.transports.set(spec.id, set);
    set.add(transport);
    transport.onClose(() => set.delete(transport));
    const connection = new SimpleConnection(transport, new QemuControls(managed, this.options.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS));
    connection.register(managed.onDeviceEvent((e) => connection.fireDeviceEvent(e)));
    transport.release();
    return connection;
  }

  /** The running machine of device `id` (its serial log, QMP, info), if there is one. */
  machineOf(id: string): QemuMachine | undefined {
    return this.machines.get(id)?.machine;
  }

  /** Closes the device's transports (`requested`), then stops its QEMU. */
  async shutdown(spec: Pick<QemuDeviceSpec, 'id'>): Promise<void> {
    // A start that failed left no QEMU behind (QemuMachine.start cleans up), so there is nothing to stop.
    const managed = this.machines.get(spec.id) ?? (await this.starting.get(spec.id)?.catch(() => undefined));
    await Promise.all([...(this.transports.get(spec.id) ?? [])].map((t) => t.close()));
    this.transports.delete(spec.id);
    if (!managed) return;
    await managed.machine.stop();
    if (this.machines.get(spec.id) === managed) this.machines.delete(spec.id);
  }

  /** Stops every VM this driver runs (gateway shutdown). */
  async shutdownAll(): Promise<void> {
    const ids = new Set([...this.machines.keys(), ...this.starting.keys()]);
    await Promise.all([...ids].map((id) => this.shutdown({ id })));
  }

  private machineFor(spec: QemuDeviceSpec): Promise<ManagedMachine> {
    const running = this.machines.get(spec.id);
    if (running && !running.exited) return Promise.resolve(running);
    const pending = this.starting.get(spec.id);
    if (pending) return pending;
    const start = this.start(spec).finally(() => this.starting.delete(spec.id));
    this.starting.set(spec.id, start);
    return start;
  }

  private async start(spec: QemuDeviceSpec): Promise<ManagedMachine> {
    const image: MachineImage = BUILT_IMAGE.test(spec.image)
      ? { kind: 'linux', image: await resolveImage(this.options.imagesDir ?? defaultImagesDir(), spec.image), ...(spec.kernel ? { kernel: spec.kernel } : {}) }
      : { kind: 'disk', path: spec.image };
    const machine = await QemuMachine.start({
      name: machineNameOf(spec.id),
      stateDir: join(this.options.stateDir, ...spec.id.split('/')),
      image,
      console: 'own',
      ...(spec.memoryMb !== undefined ? { memoryMb: spec.memoryMb } : {}),
      ...(this.options.accel ? { accel: this.options.accel } : {}),
    });
    // Subscribed before any await: QemuMachine.start resolved right after `cont`, no output is missed.
    const managed = new ManagedMachine(machine, () => {
      if (this.machines.get(spec.id) === managed) this.machines.delete(spec.id);
    });
    this.machines.set(spec.id, managed);
    return managed;
  }
}
