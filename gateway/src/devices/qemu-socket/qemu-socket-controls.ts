// QemuSocketControls: BREAK/SysRq on the telnet serial socket; NMI, power and screenshots over QMP.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecInterruptedError, QmpTimeoutError, type QmpClient } from '@ttygate/emulator';
import { requireCapability, SUPPORTED, unsupported } from '../capability.js';
import { delay, SYSRQ_KEY_GAP_MS, sysrqKeys } from '../sysrq-keys.js';
import type { Capabilities, Capability, DeviceControls, PowerAction } from '../transport.js';
import type { ChardevTransport } from './chardev-transport.js';
import type { QemuDeviceEvents } from './qemu-device-events.js';

export const NO_QMP = 'no QMP socket configured (add qmp: PATH)';
export const NOT_TELNET =
  'the serial socket is not in telnet mode, so BREAK cannot be sent (start QEMU with telnet=on on the chardev and leave telnet: true)';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface QemuSocketControlsOptions {
  /** Set when the serial socket speaks telnet (BREAK possible). */
  console?: ChardevTransport;
  /** The console is raw (telnet: false): the reason BREAK is refused. */
  noBreakReason?: string;
  qmp?: QmpClient;
  events: QemuDeviceEvents;
  /** How long a graceful restart waits for the guest to shut down (default 60 s). */
  gracefulTimeoutMs: number;
  /** Where QEMU writes screendumps (it must be able to write there; default the system temp dir). */
  screenshotDir?: string;
}

export class QemuSocketControls implements DeviceControls {
  private readonly breakCap: Capability;
  private readonly qmpCap: Capability;

  constructor(private readonly o: QemuSocketControlsOptions) {
    this.breakCap = o.console ? SUPPORTED : unsupported(o.noBreakReason ?? NOT_TELNET);
    this.qmpCap = o.qmp ? SUPPORTED : unsupported(NO_QMP);
  }

  capabilities(): Capabilities {
    const q = this.qmpCap;
    return { break: this.breakCap, sysrq: this.breakCap, nmi: q, power: { restart: q, reset: q, off: q, on: q }, screenshot: q };
  }

  async sendBreak(): Promise<void> {
    requireCapability(this.breakCap);
    await this.o.console!.sendBreak();
  }

  async sysrq(keys: string): Promise<void> {
    requireCapability(this.breakCap);
    const list = sysrqKeys(keys);
    for (let i = 0; i < list.length; i++) {
      if (i > 0) await delay(SYSRQ_KEY_GAP_MS);
      await this.o.console!.sendBreak();
      await this.o.console!.write(Buffer.from(list[i]!, 'latin1'));
    }
  }

  private qmp(): QmpClient {
    requireCapability(this.qmpCap);
    return this.o.qmp!;
  }

  async nmi(): Promise<void> {
    await this.qmp().execute('inject-nmi');
  }

  async power(action: PowerAction): Promise<void> {
    const qmp = this.qmp();
    switch (action) {
      case 'reset': {
        const { running } = await qmp.queryStatus();
        await qmp.execute('system_reset');
        if (!running) await qmp.execute('cont');
        return;
      }
      case 'off':
        await this.o.events.poweringOff(async () => {
          const { running } = await qmp.queryStatus();
          if (running) await qmp.execute('stop');
          // Back to the reset vector: the next `cont` boots from scratch.
          await qmp.execute('system_reset');
        });
        return;
      case 'on': {
        const { running } = await qmp.queryStatus();
        if (running) return;
        await qmp.execute('system_reset');
        await qmp.execute('cont');
        return;
      }
      case 'restart':
        await this.restart(qmp);
        return;
    }
  }

  /** ACPI power button, wait for the guest's SHUTDOWN, then boot again. Never falls back to a reset. */
  private async restart(qmp: QmpClient): Promise<void> {
    const { running, status } = await qmp.queryStatus();
    if (!running) throw new Error(`cannot restart gracefully: the VM is ${status}, so it cannot act on the ACPI power button (use power on or reset)`);
    const timeoutMs = this.o.gracefulTimeoutMs;
    // Wait first, then press the button: the event may come before execute() returns.
    const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs, predicate: (e) => (e.data as { reason?: string } | undefined)?.reason !== 'host-qmp-quit' });
    shutdown.catch(() => undefined); // observed below; keeps an early failure of execute() from leaving it unhandled
    await qmp.execute('system_powerdown');
    try {
      await shutdown;
    } catch (err) {
      if (err instanceof QmpTimeoutError) {
        throw new Error(
          `the guest ignored the ACPI power button: it did not shut down within ${Math.round(timeoutMs / 1000)} s and is still running ` +
            '(its OS may not handle the button; use reset to force a power cycle)',
          { cause: err },
        );
      }
      throw err;
    }
    try {
      await qmp.execute('system_reset');
      await qmp.execute('cont');
    } catch (err) {
      if (err instanceof ExecInterruptedError || qmp.state !== 'running') {
        throw new Error('the guest shut down but QEMU exited instead of staying powered off (start it with -no-shutdown so a restart can boot it again)', { cause: err });
      }
      throw err;
    }
  }

  async screenshot(): Promise<Uint8Array> {
    const qmp = this.qmp();
    const dir = await mkdtemp(join(this.o.screenshotDir ?? tmpdir(), 'ttygate-screendump-'));
    try {
      const file = join(dir, 'screen.png');
      await qmp.execute('screendump', { filename: file, format: 'png' });
      const png = await readFile(file);
      if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('QEMU wrote a screendump that is not a PNG');
      return png;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
