// DriverRegistry: device kind -> DeviceDriver, with a clear error for a kind nobody registered.

import type { DeviceSpec } from './device-spec.js';
import type { DeviceConnection, DeviceDriver } from './transport.js';

/** Thrown by `DriverRegistry.get` for a kind with no driver (a config or build mistake, not a device fault). */
export class UnknownDeviceKindError extends Error {
  readonly code = 'UnknownDeviceKind';
  constructor(
    readonly kind: string,
    known: readonly string[],
  ) {
    super(`no driver for device kind ${JSON.stringify(kind)}: this gateway has drivers for ${known.length ? known.map((k) => JSON.stringify(k)).join(', ') : 'no kinds at all'}`);
    this.name = 'UnknownDeviceKindError';
  }
}

/** Maps each device kind to the one driver that opens it. `main.ts` registers the real ones; tests register loopbacks. */
export class DriverRegistry {
  // `any`: each entry is a DeviceDriver of its own spec type; get() hands it out for that kind only.
  private readonly drivers = new Map<string, DeviceDriver<any>>();

  /** Adds `driver` for its kind. Throws if that kind already has one (replace with `unregister` first). */
  register<S extends DeviceSpec>(driver: DeviceDriver<S>): this {
    if (this.drivers.has(driver.kind)) throw new Error(`a driver for device kind ${JSON.stringify(driver.kind)} is already registered`);
    this.drivers.set(driver.kind, driver);
    return this;
  }

  unregister(kind: string): boolean {
    return this.drivers.delete(kind);
  }

  has(kind: string): boolean {
    return this.drivers.has(kind);
  }

  /** The registered kinds, in registration order. */
  kinds(): string[] {
    return [...this.drivers.keys()];
  }

  /** The driver for `kind`; UnknownDeviceKindError when none is registered. */
  get<K extends DeviceSpec['kind']>(kind: K): DeviceDriver<Extract<DeviceSpec, { kind: K }>>;
  get(kind: string): DeviceDriver;
  get(kind: string): DeviceDriver {
    const driver = this.drivers.get(kind);
    if (!driver) throw new UnknownDeviceKindError(kind, this.kinds());
    return driver;
  }

  /** Opens `spec` with its kind's driver. */
  open(spec: DeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    return (this.get(spec.kind) as DeviceDriver).open(spec, signal);
  }

  /** Releases what the driver keeps for `spec` (e.g. stops its QEMU); nothing for kinds that keep nothing. */
  async shutdown(spec: DeviceSpec): Promise<void> {
    await (this.get(spec.kind) as DeviceDriver).shutdown?.(spec);
  }
}
