// MachineTransport: a Transport on the console of a QemuMachine the gateway runs (console mode `own`).

import { BaseTransport } from '../base-transport.js';
import type { MachineConsoleSink, ManagedMachine } from './managed-machine.js';

/**
 * Attaches to a ManagedMachine. Closing it detaches (the VM keeps running); the QEMU process
 * exiting closes it `disconnected`.
 */
export class MachineTransport extends BaseTransport implements MachineConsoleSink {
  constructor(private readonly managed: ManagedMachine) {
    super(`serial console of VM ${managed.machine.info.name}`);
    managed.attach(this);
  }

  receive(data: Uint8Array): void {
    this._deliver(data);
  }

  machineExited(reason: string): void {
    this._lost(new Error(reason));
  }

  protected _write(data: Uint8Array): Promise<void> {
    return this.managed.machine.writeConsole(data);
  }

  protected async _doClose(): Promise<void> {
    this.managed.detach(this);
  }
}
