// SerialPortDriver: device kind `serial` — a UART through serialport 13, BREAK/SysRq, power via hooks.

import { realpath } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import { messageOf } from '../base-transport.js';
import type { SerialDeviceSpec } from '../device-spec.js';
import { SimpleConnection } from '../simple-connection.js';
import { TransportError, type DeviceConnection, type DeviceDriver } from '../transport.js';
import { eofAwareBinding } from './eof-aware-binding.js';
import { POWER_HOOK_TIMEOUT_MS } from './power-hooks.js';
import { DEFAULT_BREAK_MS, SerialControls } from './serial-controls.js';
import { SerialTransport } from './serial-transport.js';

export interface SerialPortDriverOptions {
  /** How long BREAK holds the line (default 250 ms). */
  breakMs?: number;
  /** How long a power hook may run (default 30 s). */
  powerTimeoutMs?: number;
}

/** A pseudo-terminal has no line to hold in BREAK (TIOCSBRK fails with ENOTTY). */
const PTY_PATH = /^\/dev\/(pts\/\d+|ptmx)$/;

/**
 * Opens `serial` devices: a new SerialPort per `open` (a port that disconnected cannot be reopened,
 * its lock stays), opened explicitly (`autoOpen: false`) with the spec's line settings
 * (default 115200 8N1, no flow control) and an exclusive lock.
 */
export class SerialPortDriver implements DeviceDriver<SerialDeviceSpec> {
  readonly kind = 'serial' as const;

  constructor(private readonly options: SerialPortDriverOptions = {}) {}

  async open(spec: SerialDeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    const real = await realpath(spec.path).catch(() => spec.path);
    const port = new SerialPort({
      path: spec.path,
      baudRate: spec.baudRate ?? 115200,
      dataBits: spec.dataBits ?? 8,
      parity: spec.parity ?? 'none',
      stopBits: spec.stopBits ?? 1,
      rtscts: spec.rtscts ?? false,
      autoOpen: false,
      // Not in SerialPort's typings, but honoured (its options are spread over the default binding).
      ...({ binding: eofAwareBinding } as object),
    });
    // Listen before opening: an 'error' without a listener ends the process.
    const earlyErrors: Error[] = [];
    const onEarlyError = (err: Error): void => void earlyErrors.push(err);
    port.on('error', onEarlyError);
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new TransportError('open-failed', `cannot open serial port ${spec.path}: ${messageOf(err)}`, { cause: err });
    }
    const transport = new SerialTransport(port, spec.path);
    port.off('error', onEarlyError);
    if (signal?.aborted) {
      await transport.close();
      signal.throwIfAborted();
    }
    const controls = new SerialControls(transport, {
      deviceId: spec.id,
      hooks: spec.power,
      breakMs: this.options.breakMs ?? DEFAULT_BREAK_MS,
      powerTimeoutMs: this.options.powerTimeoutMs ?? POWER_HOOK_TIMEOUT_MS,
      ...(PTY_PATH.test(real) ? { noBreakReason: `${spec.path} is a pseudo-terminal (${real}), which cannot send a serial BREAK; a real UART can` } : {}),
    });
    const connection = new SimpleConnection(transport, controls);
    transport.release();
    return connection;
  }
}
