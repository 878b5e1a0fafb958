// SerialControls: BREAK and SysRq on a serial line, power through configured relay/PDU hooks.

import { requireCapability, SUPPORTED, unsupported } from '../capability.js';
import type { PowerHooks } from '../device-spec.js';
import { messageOf } from '../base-transport.js';
import { delay, SYSRQ_KEY_GAP_MS, sysrqKeys } from '../sysrq-keys.js';
import { NotSupportedError, type Capabilities, type Capability, type DeviceControls, type PowerAction } from '../transport.js';
import { runPowerHook } from './power-hooks.js';
import type { SerialTransport } from './serial-transport.js';

/** How long the line is held in BREAK: well above the 2 character times a UART needs (~0.2 ms at 115200). */
export const DEFAULT_BREAK_MS = 250;

const NO_NMI = 'a serial line has no NMI (use the board\'s NMI button, or a BMC)';
const NO_SCREEN = 'a serial device has no screen to capture';

/** Which hook each power action runs: restart and reset both power-cycle. */
const HOOK_OF: Record<PowerAction, keyof PowerHooks> = { on: 'on', off: 'off', restart: 'cycle', reset: 'cycle' };

export interface SerialControlsOptions {
  deviceId: string;
  hooks: PowerHooks | undefined;
  /** Why this line cannot BREAK (it is a pty), if known at open. */
  noBreakReason?: string;
  breakMs: number;
  powerTimeoutMs: number;
}

export class SerialControls implements DeviceControls {
  private readonly breakCap: Capability;

  constructor(
    private readonly transport: SerialTransport,
    private readonly opts: SerialControlsOptions,
  ) {
    this.breakCap = opts.noBreakReason ? unsupported(opts.noBreakReason) : SUPPORTED;
  }

  capabilities(): Capabilities {
    const power = {} as Record<PowerAction, Capability>;
    for (const action of ['restart', 'reset', 'off', 'on'] as const) power[action] = this.powerCap(action);
    return { break: this.breakCap, sysrq: this.breakCap, nmi: unsupported(NO_NMI), power, screenshot: unsupported(NO_SCREEN) };
  }

  private powerCap(action: PowerAction): Capability {
    const key = HOOK_OF[action];
    if (this.opts.hooks?.[key]?.length) return SUPPORTED;
    return unsupported(
      `no power hook for "${action}" on ${this.opts.deviceId}: add power: { ${key}: [COMMAND, ARG, …] } to the device's config (run without a shell)`,
    );
  }

  async sendBreak(): Promise<void> {
    requireCapability(this.breakCap);
    try {
      await this.transport.setBreak(true);
    } catch (err) {
      if (/Inappropriate ioctl/i.test(messageOf(err))) {
        throw new NotSupportedError(`${this.transport.path} cannot send a serial BREAK: it is not a real UART (TIOCSBRK: Inappropriate ioctl for device)`);
      }
      throw new Error(`BREAK on ${this.transport.path} failed: ${messageOf(err)}`, { cause: err });
    }
    try {
      await delay(this.opts.breakMs);
    } finally {
      await this.transport.setBreak(false);
    }
  }

  async sysrq(keys: string): Promise<void> {
    requireCapability(this.breakCap);
    const list = sysrqKeys(keys);
    for (let i = 0; i < list.length; i++) {
      if (i > 0) await delay(SYSRQ_KEY_GAP_MS);
      await this.sendBreak();
      await this.transport.write(Buffer.from(list[i]!, 'latin1'));
    }
  }

  async nmi(): Promise<void> {
    throw new NotSupportedError(NO_NMI);
  }

  async power(action: PowerAction): Promise<void> {
    requireCapability(this.powerCap(action));
    const key = HOOK_OF[action];
    await runPowerHook(this.opts.hooks![key]!, { timeoutMs: this.opts.powerTimeoutMs, what: `power ${action} hook "${key}" of ${this.opts.deviceId}` });
  }

  async screenshot(): Promise<Uint8Array> {
    throw new NotSupportedError(NO_SCREEN);
  }
}
