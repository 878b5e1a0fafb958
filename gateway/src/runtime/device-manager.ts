// DeviceManager: every device's runtime — from the config file and the REST API — by id.

import type { CaptureRegistry } from '../capture/capture-registry.js';
import type { DeviceSpec } from '../devices/device-spec.js';
import type { DriverRegistry } from '../devices/registry.js';
import { GW_ERR, GatewayError } from '../errors.js';
import { DeviceRuntime, type DeviceRuntimeOptions } from './device-runtime.js';

/** Where devices created over the API are kept between restarts. */
export interface DeviceStore {
  list(): DeviceSpec[];
  put(spec: DeviceSpec): void;
  delete(id: string): void;
}

export type DeviceSource = 'config' | 'api';

/** A scale set (`qemu` with `instances`) becomes devices `ID/0…ID/N-1` in group `ID`. */
export function expandDevice(spec: DeviceSpec): DeviceSpec[] {
  if (spec.kind !== 'qemu' || spec.instances === undefined) return [spec];
  const { instances, ...rest } = spec;
  return Array.from({ length: instances }, (_, i) => ({ ...rest, id: `${spec.id}/${i}`, group: spec.group ?? spec.id }));
}

export class DeviceManager {
  private readonly runtimes = new Map<string, { runtime: DeviceRuntime; source: DeviceSource; definedAs: string }>();
  /** `ids`: the devices a definition became (a scale set's instances may come from its platform). */
  private readonly definitions = new Map<string, { spec: DeviceSpec; source: DeviceSource; ids: string[] }>();

  constructor(
    private readonly drivers: DriverRegistry,
    private readonly captures: CaptureRegistry,
    private readonly store: DeviceStore,
    private readonly runtimeOptions: (spec: DeviceSpec) => DeviceRuntimeOptions,
    private readonly onRuntime: (runtime: DeviceRuntime) => void = () => undefined,
  ) {}

  /** Starts the config devices and the persisted API devices. Config wins on an id clash. */
  async start(configDevices: DeviceSpec[]): Promise<void> {
    for (const spec of configDevices) await this.addOrReport(spec, 'config');
    for (const spec of this.store.list()) {
      if (this.definitions.has(spec.id)) continue;
      await this.addOrReport(spec, 'api');
    }
  }

  /**
   * At start, a group whose instances the platform could not list (a cloud outage) must not stop the
   * gateway: it is kept with no instances (its id stays taken) and the failure goes to `onError`.
   */
  private async addOrReport(spec: DeviceSpec, source: DeviceSource): Promise<void> {
    try {
      await this.addDefinition(spec, source);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'DeviceExpansionFailed') throw err;
      this.definitions.set(spec.id, { spec, source, ids: [] });
      this.runtimeOptions(spec).onError(err);
    }
  }

  /** `expandDevice`, or the driver's own expansion (a cloud scale set's instances, listed from the platform). */
  private async expand(spec: DeviceSpec): Promise<DeviceSpec[]> {
    const driver = this.drivers.get(spec.kind);
    try {
      return (await driver.expand?.(spec)) ?? expandDevice(spec);
    } catch (err) {
      throw new GatewayError('DeviceExpansionFailed', 502, `cannot list the instances of "${spec.id}": ${(err as Error).message}`, { cause: err });
    }
  }

  private async addDefinition(spec: DeviceSpec, source: DeviceSource): Promise<void> {
    const expanded = await this.expand(spec);
    for (const d of expanded) if (this.runtimes.has(d.id)) throw GW_ERR.deviceExists(d.id);
    this.definitions.set(spec.id, { spec, source, ids: expanded.map((d) => d.id) });
    for (const d of expanded) {
      const capture = await this.captures.get(d.id, d.capture);
      const runtime = new DeviceRuntime(d, this.drivers.get(d.kind), capture, this.runtimeOptions(d));
      this.runtimes.set(d.id, { runtime, source, definedAs: spec.id });
      this.onRuntime(runtime);
      runtime.start();
    }
  }

  get(id: string): DeviceRuntime | undefined {
    return this.runtimes.get(id)?.runtime;
  }

  sourceOf(id: string): DeviceSource | undefined {
    return this.runtimes.get(id)?.source ?? this.definitions.get(id)?.source;
  }

  all(): DeviceRuntime[] {
    return [...this.runtimes.values()].map((r) => r.runtime);
  }

  /** The definition (before scale-set expansion) a device id belongs to. */
  definitionOf(id: string): DeviceSpec | undefined {
    const def = this.runtimes.get(id)?.definedAs ?? id;
    return this.definitions.get(def)?.spec;
  }

  async create(spec: DeviceSpec): Promise<DeviceRuntime[]> {
    if (this.definitions.has(spec.id) || this.runtimes.has(spec.id)) throw GW_ERR.deviceExists(spec.id);
    await this.addDefinition(spec, 'api');
    this.store.put(spec);
    return this.definitions.get(spec.id)!.ids.map((id) => this.get(id)!);
  }

  /** Replaces an API device's definition: its runtimes restart with the new spec. */
  async update(id: string, spec: DeviceSpec): Promise<void> {
    const def = this.definitions.get(id);
    if (!def) throw GW_ERR.deviceNotFound(id);
    if (def.source === 'config') throw GW_ERR.configDevice(id);
    await this.remove(id);
    await this.create(spec);
  }

  async remove(id: string): Promise<void> {
    const def = this.definitions.get(id);
    if (!def) throw GW_ERR.deviceNotFound(id);
    if (def.source === 'config') throw GW_ERR.configDevice(id);
    for (const id of def.ids) {
      const r = this.runtimes.get(id);
      this.runtimes.delete(id);
      await r?.runtime.stop();
    }
    this.definitions.delete(id);
    this.store.delete(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.runtime.stop()));
    this.runtimes.clear();
  }
}
