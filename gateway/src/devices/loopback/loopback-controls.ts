// LoopbackControls: DeviceControls of a loopback device — records each call and honours configured capabilities.

import { requireCapability } from '../capability.js';
import { sysrqKeys } from '../sysrq-keys.js';
import type { Capabilities, DeviceControls, PowerAction } from '../transport.js';
import type { LoopbackTransport } from './loopback-transport.js';

export type LoopbackControlCall =
  | { control: 'break' }
  | { control: 'sysrq'; keys: string }
  | { control: 'nmi' }
  | { control: 'power'; action: PowerAction }
  | { control: 'screenshot' };

/** A 1x1 PNG, so screenshot consumers get a real image. */
const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export class LoopbackControls implements DeviceControls {
  constructor(
    private readonly caps: Capabilities,
    private readonly calls: LoopbackControlCall[],
    private readonly transport: LoopbackTransport,
  ) {}

  capabilities(): Capabilities {
    return structuredClone(this.caps);
  }

  async sendBreak(): Promise<void> {
    requireCapability(this.caps.break);
    this.calls.push({ control: 'break' });
  }

  async sysrq(keys: string): Promise<void> {
    requireCapability(this.caps.sysrq);
    sysrqKeys(keys);
    this.calls.push({ control: 'sysrq', keys });
  }

  async nmi(): Promise<void> {
    requireCapability(this.caps.nmi);
    this.calls.push({ control: 'nmi' });
  }

  async power(action: PowerAction): Promise<void> {
    requireCapability(this.caps.power[action]);
    this.calls.push({ control: 'power', action });
    if (action === 'reset' || action === 'restart') this.transport.inject('\r\n[loopback] rebooting\r\n');
  }

  async screenshot(): Promise<Uint8Array> {
    requireCapability(this.caps.screenshot);
    this.calls.push({ control: 'screenshot' });
    return Uint8Array.from(TINY_PNG);
  }
}
