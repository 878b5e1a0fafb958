// eofAwareBinding: serialport's platform binding, with a read that reports a hung-up tty (EOF) as a disconnect.

import { read as fsRead } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

const readAsync = promisify(fsRead);

type Binding = typeof SerialPort.binding;
type BindingPort = Awaited<ReturnType<Binding['open']>>;

/** The unix ports of @serialport/bindings-cpp expose their fd and poller (public in its typings). */
interface UnixPort {
  fd: number | null;
  readonly isOpen: boolean;
  readonly poller: { once(event: 'readable', cb: (err: Error | null) => void): unknown };
}

function isUnixPort(port: object): port is UnixPort {
  return 'fd' in port && 'poller' in port;
}

function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/**
 * Why this exists: a tty whose far end hung up (a USB adapter unplugged, the socat behind a pty
 * killed) answers `read` with 0 bytes forever. bindings-cpp 13's unix read retries a 0-byte read at
 * once, so unless a read happened to be in flight at the hang-up (then it gets EIO), serialport
 * spins on a CPU core and never emits `close` (measured: 2–9 of 30 socat kills). A non-blocking tty
 * opened with VMIN=1 returns EAGAIN when idle, so 0 bytes can only mean the device is gone: this
 * read rejects then, and SerialPortStream closes with `disconnected: true`.
 */
async function unixRead(port: UnixPort, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      if (bytesRead === 0) throw Object.assign(new Error('end of file: the device hung up'), { code: 'EOF', disconnect: true });
      return { buffer, bytesRead };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (!port.isOpen) throw canceled();
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
    }
  }
}

function wrapPort(port: BindingPort): BindingPort {
  if (!isUnixPort(port)) return port;
  const unix = port;
  return new Proxy(port, {
    get(target, prop, receiver) {
      if (prop === 'read') return (buffer: Buffer, offset: number, length: number) => unixRead(unix, buffer, offset, length);
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The detected platform binding with the EOF-aware read on unix; pass as `binding` to SerialPort. */
export const eofAwareBinding: Binding = new Proxy(SerialPort.binding, {
  get(target, prop, receiver) {
    if (prop === 'open') {
      return async (options: Parameters<Binding['open']>[0]) => wrapPort(await (target.open as (o: typeof options) => Promise<BindingPort>)(options));
    }
    return Reflect.get(target, prop, receiver) as unknown;
  },
});
