// QemuSocketDriver: device kind `qemu-socket` — an already running QEMU, by its serial chardev socket and optional QMP socket.

import net from 'node:net';
import { ChardevConsole, QmpClient } from '@ttygate/emulator';
import { messageOf } from '../base-transport.js';
import type { QemuSocketDeviceSpec } from '../device-spec.js';
import { SimpleConnection } from '../simple-connection.js';
import { TransportError, type DeviceConnection, type DeviceDriver } from '../transport.js';
import { SocketTransport } from '../tcp/socket-transport.js';
import { toDisposable } from '../../core/lifecycle.js';
import { ChardevTransport } from './chardev-transport.js';
import { QemuDeviceEvents } from './qemu-device-events.js';
import { NOT_TELNET, QemuSocketControls } from './qemu-socket-controls.js';

export interface QemuSocketDriverOptions {
  /** How long to keep trying the serial and QMP sockets (missing, refusing) before `open` fails (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a graceful restart waits for the guest's SHUTDOWN (default 60 s). */
  gracefulTimeoutMs?: number;
  /** Directory QEMU writes screendumps into (default: the system temp dir; QEMU must be able to write there). */
  screenshotDir?: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_GRACEFUL_TIMEOUT_MS = 60_000;
/** QEMU run states in which the guest is not powered on (prelaunch: started with -S, never run). */
const OFF_STATES = new Set(['prelaunch', 'shutdown']);

/**
 * Opens `qemu-socket` devices. The console is QEMU's serial socket, in telnet mode by default
 * (BREAK as IAC BREAK) or raw with `telnet: false`. With `qmp`, a QmpClient per open gives NMI,
 * power, screenshots and device events; it is released when the transport closes. QEMU serves one
 * client per socket: a second open while one is connected waits for the first to close.
 */
export class QemuSocketDriver implements DeviceDriver<QemuSocketDeviceSpec> {
  readonly kind = 'qemu-socket' as const;

  constructor(private readonly options: QemuSocketDriverOptions = {}) {}

  async open(spec: QemuSocketDeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const telnet = spec.telnet ?? true;
    let transport: ChardevTransport | SocketTransport;
    try {
      transport = telnet
        ? new ChardevTransport(await ChardevConsole.connect(spec.serial, { timeoutMs, ...(signal ? { signal } : {}) }))
        : new SocketTransport(await connectUnix(spec.serial, signal), `QEMU serial socket ${spec.serial}`);
    } catch (err) {
      throw new TransportError('open-failed', `cannot connect to the serial socket ${spec.serial}: ${messageOf(err)}`, { cause: err });
    }
    let qmp: QmpClient | undefined;
    let initiallyOff = false;
    if (spec.qmp !== undefined) {
      qmp = new QmpClient({ idPrefix: `ttygate-${spec.id}` });
      try {
        await qmp.connect(spec.qmp, { timeoutMs: timeoutMs + 5000, retryUntilMs: timeoutMs, ...(signal ? { signal } : {}) });
        initiallyOff = OFF_STATES.has((await qmp.queryStatus()).status);
      } catch (err) {
        // Best effort: the open fails with the original error; a client that never connected has nothing to close.
        await qmp.disconnect().catch(() => undefined);
        await transport.close();
        throw new TransportError('open-failed', `cannot use the QMP socket ${spec.qmp}: ${messageOf(err)}`, { cause: err });
      }
    }
    let connection: SimpleConnection | undefined;
    const events = new QemuDeviceEvents((e) => connection?.fireDeviceEvent(e), initiallyOff);
    const controls = new QemuSocketControls({
      ...(transport instanceof ChardevTransport ? { console: transport } : { noBreakReason: NOT_TELNET }),
      ...(qmp ? { qmp } : {}),
      events,
      gracefulTimeoutMs: this.options.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS,
      ...(this.options.screenshotDir ? { screenshotDir: this.options.screenshotDir } : {}),
    });
    connection = new SimpleConnection(transport, controls);
    if (qmp) {
      const client = qmp;
      connection.register(client.onEvent((e) => events.handle(e)));
      // The QMP socket serves one client: let the next open have it. A client QEMU already dropped
      // (it exited) has nothing left to disconnect, so a failure here is no news.
      connection.register(toDisposable(() => void client.disconnect().catch(() => undefined)));
    }
    transport.release();
    return connection;
  }
}

function connectUnix(path: string, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal?.reason);
    };
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
