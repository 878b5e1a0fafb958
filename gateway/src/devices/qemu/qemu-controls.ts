// QemuControls: the controls of a VM the gateway runs, mapped onto the emulator's QemuMachine.

import { SUPPORTED } from '../capability.js';
import { sysrqKeys } from '../sysrq-keys.js';
import type { Capabilities, DeviceControls, PowerAction } from '../transport.js';
import type { ManagedMachine } from './managed-machine.js';

/**
 * Everything is supported; what the machine's state forbids (NMI while off, a restart the guest
 * ignores) fails with the emulator's error, whose message says what to do.
 */
export class QemuControls implements DeviceControls {
  constructor(
    private readonly managed: ManagedMachine,
    private readonly gracefulTimeoutMs: number,
  ) {}

  capabilities(): Capabilities {
    return { break: SUPPORTED, sysrq: SUPPORTED, nmi: SUPPORTED, power: { restart: SUPPORTED, reset: SUPPORTED, off: SUPPORTED, on: SUPPORTED }, screenshot: SUPPORTED };
  }

  sendBreak(): Promise<void> {
    return this.managed.machine.sendBreak();
  }

  async sysrq(keys: string): Promise<void> {
    sysrqKeys(keys);
    await this.managed.machine.sysrq(keys);
  }

  nmi(): Promise<void> {
    return this.managed.machine.nmi();
  }

  async power(action: PowerAction): Promise<void> {
    const m = this.managed.machine;
    switch (action) {
      case 'reset':
        return m.reset();
      case 'restart':
        return m.restart({ timeoutMs: this.gracefulTimeoutMs });
      case 'off':
        return this.managed.events.poweringOff(() => m.off());
      case 'on':
        return m.on();
    }
  }

  async screenshot(): Promise<Uint8Array> {
    return this.managed.machine.screenshot();
  }
}
