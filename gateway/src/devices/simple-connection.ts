// SimpleConnection: a DeviceConnection from a transport, its controls and a device-event emitter.

import { Emitter, type Event } from '../core/event.js';
import { DisposableStore, type Disposable } from '../core/lifecycle.js';
import { reportListenerError } from './base-transport.js';
import type { DeviceConnection, DeviceControls, DeviceEvent, Transport } from './transport.js';

/**
 * Owns what one `open` created. When the transport closes (asked for or not), everything registered
 * with `register` is released and `onDeviceEvent` stops: the owner reconnects with a new `open`.
 * `dispose()` closes the transport (without waiting) and releases the rest.
 */
export class SimpleConnection implements DeviceConnection {
  private readonly _events: Emitter<DeviceEvent>;
  private readonly _resources = new DisposableStore();
  readonly onDeviceEvent: Event<DeviceEvent>;

  constructor(
    readonly transport: Transport,
    readonly controls: DeviceControls,
  ) {
    this._events = new Emitter<DeviceEvent>({ onListenerError: reportListenerError('onDeviceEvent') });
    this.onDeviceEvent = this._events.event;
    this._resources.add(this._events);
    if (transport.state === 'closed') this._resources.dispose();
    else this._resources.add(transport.onClose(() => this._resources.dispose()));
  }

  /** Fires a device event to the connection's listeners (no-op once the transport closed). */
  fireDeviceEvent(e: DeviceEvent): void {
    this._events.fire(e);
  }

  /** Releases `item` when the transport closes or the connection is disposed. */
  register<T extends Disposable>(item: T): T {
    return this._resources.add(item);
  }

  dispose(): void {
    this.transport.dispose();
    this._resources.dispose();
  }
}
