// AzureControls: SysRq, NMI and forced reset through the serial console's admin commands; power through ARM LROs.

import { randomUUID } from 'node:crypto';
import { requireCapability, SUPPORTED, unsupported } from '../capability.js';
import { delay, SYSRQ_KEY_GAP_MS, sysrqKeys } from '../sysrq-keys.js';
import { NotSupportedError, type Capabilities, type Capability, type ControlOutcome, type DeviceControls, type PowerAction, type PowerOptions } from '../transport.js';
import type { AzureArmClient } from './azure-arm-client.js';
import { isScaleSetInstance, type AzureTarget } from './azure-target.js';
import { GatewayError } from '../../errors.js';

const NO_BREAK = "Azure's serial console cannot send a serial BREAK: use SysRq, which it sends as an admin command";
const NEEDS_SESSION = (what: string) =>
  `${what} goes through Azure's serial console admin commands, which need an open console session; the gateway has none now (is the VM running? start it first)`;

/** The open console session the admin commands belong to. */
export interface ConsoleSession {
  connectionString: string;
}

/**
 * With a `session` (an open console), every control works; without one (the VM is stopped, the
 * console refused), only ARM power and boot diagnostics do. `afterPower` lets the driver react
 * (fire device events, refresh its cached state).
 */
export class AzureControls implements DeviceControls {
  private readonly sessionCap: (what: string) => Capability;

  constructor(
    private readonly arm: AzureArmClient,
    private readonly target: AzureTarget,
    private readonly session: ConsoleSession | undefined,
    private readonly afterPower: (action: PowerAction) => void = () => undefined,
  ) {
    this.sessionCap = (what) => (session ? SUPPORTED : unsupported(NEEDS_SESSION(what)));
  }

  capabilities(): Capabilities {
    return {
      break: unsupported(NO_BREAK),
      sysrq: this.sessionCap('SysRq'),
      nmi: this.sessionCap('NMI'),
      power: { restart: SUPPORTED, reset: this.sessionCap('A forced reset'), off: SUPPORTED, on: SUPPORTED },
      screenshot: SUPPORTED,
    };
  }

  async sendBreak(): Promise<void> {
    throw new NotSupportedError(NO_BREAK);
  }

  async sysrq(keys: string): Promise<ControlOutcome> {
    requireCapability(this.sessionCap('SysRq'));
    const list = sysrqKeys(keys);
    const requestIds: string[] = [];
    for (let i = 0; i < list.length; i++) {
      if (i > 0) await delay(SYSRQ_KEY_GAP_MS);
      requestIds.push(await this.admin('sysrq', { SysRqCommand: list[i]! }));
    }
    return { details: { adminCommandRequestIds: requestIds } };
  }

  async nmi(): Promise<ControlOutcome> {
    requireCapability(this.sessionCap('NMI'));
    return { details: { adminCommandRequestId: await this.admin('nmi', {}) } };
  }

  async power(action: PowerAction, options: PowerOptions = {}): Promise<ControlOutcome> {
    if (action === 'reset') {
      requireCapability(this.sessionCap('A forced reset'));
      const id = await this.admin('reset', {});
      this.afterPower(action);
      return { details: { adminCommandRequestId: id } };
    }
    const r = await this.arm.power(this.target, action, options.force === true);
    this.afterPower(action);
    return { details: { ...(r.requestId ? { requestId: r.requestId } : {}), ...(action === 'off' ? { skipShutdown: options.force === true } : {}), operation: 'Succeeded' } };
  }

  screenshot(): Promise<Uint8Array> {
    return this.bootDiagnostics('screenshot');
  }

  serialLog(): Promise<Uint8Array> {
    return this.bootDiagnostics('serialLog');
  }

  /** Checks the VM's switch first (as Azure's CLI does), so "disabled" is said plainly with the fix. */
  private async bootDiagnostics(which: 'screenshot' | 'serialLog'): Promise<Uint8Array> {
    try {
      const status = await this.arm.vmStatus(this.target);
      if (!status.bootDiagnosticsEnabled) throw new GatewayError('BootDiagnosticsDisabled', 409, bootDiagnosticsDisabledMessage(this.target));
      return await this.arm.bootDiagnostics(this.target, which);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('ControlFailed', 502, (err as Error).message, { cause: err });
    }
  }

  /** Sends one admin command; resolves with the requestId we gave it (Azure's CLI sends a fresh UUID each time). */
  private async admin(command: 'sysrq' | 'nmi' | 'reset', parameters: Record<string, string>): Promise<string> {
    const requestId = randomUUID();
    await this.arm.adminCommand(this.session!.connectionString, command, parameters, requestId);
    return requestId;
  }
}

/** What to run to turn boot diagnostics on (the commands Azure's CLI recommends). */
export function bootDiagnosticsDisabledMessage(t: AzureTarget): string {
  const how = isScaleSetInstance(t)
    ? `enable it in the scale set's model (az vmss update -g ${t.resourceGroup} -n ${t.scaleSet} --set virtualMachineProfile.diagnosticsProfile.bootDiagnostics.enabled=true, then az vmss update-instances --instance-ids ${t.instanceId})`
    : `enable it with: az vm boot-diagnostics enable -g ${t.resourceGroup} -n ${t.vm}`;
  return `boot diagnostics are disabled on the Azure VM; Azure's serial console and boot diagnostics need them: ${how}`;
}
