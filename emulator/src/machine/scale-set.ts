// startScaleSet: N instances of one image, each with its own state dir, sockets, hostname and disk overlay.

import { join } from 'node:path';
import { QemuMachine, type QemuMachineOptions } from './qemu-machine.js';

export interface ScaleSetOptions extends Omit<QemuMachineOptions, 'name' | 'stateDir'> {
  /** Scale-set name; instance i is named `NAME-i` (its hostname too) and lives in `stateDir/NAME/i`. */
  name: string;
  instances: number;
  stateDir: string;
  /** Per-instance tweak, e.g. its own cloud-init seed. */
  perInstance?: (instance: number, opts: QemuMachineOptions) => Promise<QemuMachineOptions> | QemuMachineOptions;
}

export interface ScaleSetInstance {
  instance: number;
  machine: QemuMachine;
}

/** The directory instance `i` of scale set `name` uses. */
export function instanceDir(stateDir: string, name: string, instance: number): string {
  return join(stateDir, name, String(instance));
}

/**
 * Starts every instance in parallel. If one fails, the ones that started are stopped and the
 * first error is rethrown, so a failed start leaves no QEMU behind.
 */
export async function startScaleSet(opts: ScaleSetOptions): Promise<ScaleSetInstance[]> {
  if (!Number.isInteger(opts.instances) || opts.instances < 1) throw new RangeError(`instances must be a positive integer, not ${opts.instances}`);
  const { instances, perInstance, ...base } = opts;
  const results = await Promise.allSettled(
    Array.from({ length: instances }, async (_, i) => {
      let o: QemuMachineOptions = { ...base, name: instances === 1 ? opts.name : `${opts.name}-${i}`, stateDir: instanceDir(opts.stateDir, opts.name, i) };
      if (perInstance) o = await perInstance(i, o);
      return { instance: i, machine: await QemuMachine.start(o) };
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.machine.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<ScaleSetInstance>).value);
}
