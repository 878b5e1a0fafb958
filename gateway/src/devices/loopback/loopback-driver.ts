// LoopbackDriver: a DeviceDriver of in-memory loopback devices, standing in for any kind in tests of other layers.

import { POWER_ACTIONS, type Capabilities, type DeviceConnection, type DeviceDriver, type DeviceEvent, type PowerAction } from '../transport.js';
import type { DeviceKind, DeviceSpec } from '../device-spec.js';
import { SUPPORTED } from '../capability.js';
import { SimpleConnection } from '../simple-connection.js';
import { LoopbackTransport, type LoopbackOptions } from './loopback-transport.js';
import { LoopbackControls, type LoopbackControlCall } from './loopback-controls.js';

export interface LoopbackDriverOptions extends LoopbackOptions {
  /** The kind this driver answers for: `loopback` (default), or another kind to stand in for its real driver in tests. */
  kind?: DeviceKind;
  /** What the devices can do (default: everything). */
  capabilities?: Capabilities;
  /** Makes `open` fail, e.g. to test reconnect logic: return an Error to reject with. */
  openError?: (spec: DeviceSpec) => Error | undefined;
}

/** Everything the driver has for one device id: its current connection and the controls used. */
export interface LoopbackDevice {
  readonly transport: LoopbackTransport;
  readonly connection: SimpleConnection;
  /** Every control call, in order (`{control: 'power', arg: 'reset'}`…). */
  readonly calls: LoopbackControlCall[];
  /** Fires a device event on the current connection. */
  fireDeviceEvent(e: DeviceEvent): void;
}

const ALL_SUPPORTED: Capabilities = {
  break: SUPPORTED,
  sysrq: SUPPORTED,
  nmi: SUPPORTED,
  power: Object.fromEntries(POWER_ACTIONS.map((a) => [a, SUPPORTED])) as Record<PowerAction, typeof SUPPORTED>,
  screenshot: SUPPORTED,
};

/**
 * Opens loopback devices: each `open` makes a new {@link LoopbackTransport} (echo on by default;
 * a `loopback` spec's `echo`/`greeting` override the driver's options).
 * `device(id)` gives tests the current transport, the control calls and a way to fire device events.
 */
export class LoopbackDriver implements DeviceDriver {
  readonly kind: DeviceKind;
  private readonly _devices = new Map<string, LoopbackDevice>();
  /** How many times each id was opened. */
  readonly openCount = new Map<string, number>();

  constructor(private readonly options: LoopbackDriverOptions = {}) {
    this.kind = options.kind ?? 'loopback';
  }

  async open(spec: DeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    this.openCount.set(spec.id, (this.openCount.get(spec.id) ?? 0) + 1);
    const failure = this.options.openError?.(spec);
    if (failure) throw failure;
    const fromSpec: LoopbackOptions =
      spec.kind === 'loopback' ? { ...(spec.echo !== undefined ? { echo: spec.echo } : {}), ...(spec.greeting !== undefined ? { greeting: spec.greeting } : {}) } : {};
    const transport = new LoopbackTransport({ ...this.options, ...fromSpec }, `loopback device ${spec.id}`);
    const calls: LoopbackControlCall[] = [];
    const controls = new LoopbackControls(this.options.capabilities ?? ALL_SUPPORTED, calls, transport);
    const connection = new SimpleConnection(transport, controls);
    this._devices.set(spec.id, { transport, connection, calls, fireDeviceEvent: (e) => connection.fireDeviceEvent(e) });
    return connection;
  }

  /** The most recent connection to `id`, if it was opened. */
  device(id: string): LoopbackDevice | undefined {
    return this._devices.get(id);
  }

  async shutdown(spec: DeviceSpec): Promise<void> {
    await this._devices.get(spec.id)?.transport.close();
    this._devices.delete(spec.id);
  }
}
