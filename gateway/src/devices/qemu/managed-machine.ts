// ManagedMachine: one QemuMachine the qemu driver runs — fans its console out to transports, keeps output while none is open.

import type { QemuMachine } from '@ttygate/emulator';
import { Emitter, type Event } from '../../core/event.js';
import { reportListenerError } from '../base-transport.js';
import { QemuDeviceEvents } from '../qemu-socket/qemu-device-events.js';
import type { DeviceEvent } from '../transport.js';

/** Guest output kept while no transport is open (the newest bytes); the capture gets them on the next open. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;

/** What a ManagedMachine needs from a transport attached to it. */
export interface MachineConsoleSink {
  receive(data: Uint8Array): void;
  machineExited(reason: string): void;
}

/**
 * Owns the subscriptions to one machine. The machine outlives transports: output that arrives while
 * none is attached is kept (up to {@link MAX_BACKLOG_BYTES}) and handed to the next one, so the
 * gateway sees every byte the guest printed. Device events come from QMP through QemuDeviceEvents.
 */
export class ManagedMachine {
  private readonly sinks = new Set<MachineConsoleSink>();
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private readonly eventEmitter = new Emitter<DeviceEvent>({ onListenerError: reportListenerError('qemu device event') });
  readonly events = new QemuDeviceEvents((e) => this.eventEmitter.fire(e));
  readonly onDeviceEvent: Event<DeviceEvent> = this.eventEmitter.event;
  private _exited: string | undefined;

  constructor(
    readonly machine: QemuMachine,
    onExit: () => void,
  ) {
    machine.onConsoleData((d) => {
      if (this.sinks.size > 0) {
        for (const s of this.sinks) s.receive(d);
      } else {
        this.keep(d);
      }
    });
    machine.onQmpEvent((e) => this.events.handle(e));
    machine.onExit(({ code, signal, stderr }) => {
      const how = code !== null ? `with exit code ${code}` : `on signal ${signal}`;
      this._exited = `QEMU (pid ${machine.info.pid}) exited ${how}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      for (const s of [...this.sinks]) s.machineExited(this._exited);
      this.sinks.clear();
      this.eventEmitter.dispose();
      onExit();
    });
  }

  /** Why the machine is gone, once its process exited. */
  get exited(): string | undefined {
    return this._exited;
  }

  /** Starts feeding `sink`; it first receives the output kept while nobody was attached. */
  attach(sink: MachineConsoleSink): void {
    if (this._exited) {
      sink.machineExited(this._exited);
      return;
    }
    for (const chunk of this.backlog) sink.receive(chunk);
    this.backlog = [];
    this.backlogBytes = 0;
    this.sinks.add(sink);
  }

  detach(sink: MachineConsoleSink): void {
    this.sinks.delete(sink);
  }

  private keep(d: Uint8Array): void {
    this.backlog.push(Uint8Array.from(d));
    this.backlogBytes += d.length;
    while (this.backlogBytes > MAX_BACKLOG_BYTES) {
      const first = this.backlog[0]!;
      const excess = this.backlogBytes - MAX_BACKLOG_BYTES;
      if (first.length <= excess) {
        this.backlog.shift();
        this.backlogBytes -= first.length;
      } else {
        this.backlog[0] = first.subarray(excess);
        this.backlogBytes -= excess;
      }
    }
  }
}
