// AzureDriver: device kind `azure` — an Azure VM's serial console through ARM, its controls, and scale-set expansion.

import { readFileSync } from 'node:fs';
import { messageOf } from '../base-transport.js';
import type { AzureDeviceSpec, DeviceSpec } from '../device-spec.js';
import { SimpleConnection } from '../simple-connection.js';
import { AttachRefusedError, TransportError, type DeviceConnection, type DeviceControls, type DeviceDriver, type PowerAction } from '../transport.js';
import { AzureArmClient } from './azure-arm-client.js';
import { AzureArmError } from './azure-arm-error.js';
import { resolveCloud } from './azure-cloud.js';
import type { AzureConfig } from './azure-config.js';
import { AzureControls, bootDiagnosticsDisabledMessage } from './azure-controls.js';
import { AzureCredentialError, createAzureCredential, type Environment } from './azure-credential.js';
import { describeTarget, type AzureTarget } from './azure-target.js';
import { SerialConsoleTransport } from './serial-console-transport.js';

export interface AzureDriverOptions {
  azure: AzureConfig;
  /** Where `secretEnv`/`certificateEnv` names are looked up (main passes the process environment). */
  env: Environment;
  /** Poll interval for long-running operations (tests: short; default: Azure's Retry-After). */
  pollIntervalMs?: number;
  /** Socket open + token handshake limit (default 15 s). */
  handshakeTimeoutMs?: number;
}

/** Power states in which Azure's serial console can connect (the CLI refuses deallocated ones; a stopped VM prints nothing). */
const CONSOLE_POWER_STATES = new Set(['running', 'starting']);

/** The target of a spec that names one VM; a scale set without an instance is a group, not a device. */
export function targetOf(spec: AzureDeviceSpec): AzureTarget {
  if (spec.vm !== undefined) return { subscriptionId: spec.subscriptionId, resourceGroup: spec.resourceGroup, vm: spec.vm };
  if (spec.scaleSet !== undefined && spec.instanceId !== undefined) {
    return { subscriptionId: spec.subscriptionId, resourceGroup: spec.resourceGroup, scaleSet: spec.scaleSet, instanceId: spec.instanceId };
  }
  throw new Error(`azure device "${spec.id}" names a scale set without an instanceId: it is a group, expanded into its instances`);
}

export class AzureDriver implements DeviceDriver<AzureDeviceSpec> {
  readonly kind = 'azure' as const;
  private readonly clients = new Map<string, AzureArmClient>();
  private readonly infos = new Map<string, Record<string, unknown>>();

  constructor(private readonly options: AzureDriverOptions) {}

  /** The ARM client of the spec's cloud (one per cloud, so one credential and token cache each). */
  client(spec: AzureDeviceSpec): AzureArmClient {
    const name = spec.cloud ?? this.options.azure.defaultCloud;
    let c = this.clients.get(name);
    if (!c) {
      const conf = this.options.azure.clouds[name] ?? (name === 'default' ? { environment: 'AzurePublic' as const } : undefined);
      if (!conf) throw new Error(`azure device "${spec.id}" names cloud "${name}", which azure.clouds does not define`);
      const cloud = resolveCloud(name, conf);
      let ca: Buffer | undefined;
      if (cloud.caFile) {
        try {
          ca = readFileSync(cloud.caFile);
        } catch (err) {
          throw new Error(`cannot read azure.clouds.${name}.caFile ${cloud.caFile}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
        }
      }
      c = new AzureArmClient(cloud, createAzureCredential(cloud, this.options.env, ca), {
        ...(ca ? { ca } : {}),
        ...(this.options.pollIntervalMs !== undefined ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
      });
      this.clients.set(name, c);
    }
    return c;
  }

  /**
   * Checks what Azure's CLI checks before connecting (console switch of the subscription, power state,
   * boot diagnostics), calls `serialPorts/0/connect`, refuses a console URL off the cloud's allow-list
   * (the token is never sent there), then opens and authenticates the socket.
   */
  async open(spec: AzureDeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    let target: AzureTarget | undefined;
    try {
      target = targetOf(spec);
      const arm = this.client(spec);
      const what = describeTarget(target);
      // The switch lives at subscription scope; an identity granted only on a resource group may not read it
      // (403). Then it is reported as unknown and connect goes ahead: Azure still enforces the switch itself.
      let disabled: boolean | null;
      let switchError: string | undefined;
      try {
        disabled = await arm.consoleDisabled(target.subscriptionId);
      } catch (err) {
        if (!(err instanceof AzureArmError && (err.statusCode === 403 || err.statusCode === 404))) throw err;
        disabled = null;
        switchError = err.message;
      }
      const info: Record<string, unknown> = { cloud: arm.cloud.name, consoleServices: { disabled, ...(switchError ? { error: switchError } : {}) }, checkedAt: new Date().toISOString() };
      this.infos.set(spec.id, info);
      if (disabled === true) {
        throw new AttachRefusedError(
          'ConsoleDisabled',
          `Azure's serial console is disabled for subscription ${target.subscriptionId} (consoleServices/default: disabled): a subscription owner can enable it with "az serial-console enable"`,
        );
      }
      const status = await arm.vmStatus(target);
      Object.assign(info, { powerState: status.powerState, bootDiagnostics: { enabled: status.bootDiagnosticsEnabled }, ...(status.provisioningState ? { provisioningState: status.provisioningState } : {}) });
      if (!CONSOLE_POWER_STATES.has(status.powerState)) {
        throw new AttachRefusedError('VmNotRunning', `the ${what} is ${status.powerState}; the serial console needs a running VM: start it first (POST /api/v1/devices/${spec.id}/power {"action":"on"})`);
      }
      if (!status.bootDiagnosticsEnabled) throw new AttachRefusedError('BootDiagnosticsDisabled', bootDiagnosticsDisabledMessage(target));
      const url = await arm.connectSerialPort(target);
      const refused = arm.consoleHosts.check(url);
      if (refused) {
        throw new AttachRefusedError(
          'ConsoleHostRefused',
          `refused to send the Azure token to the serial console URL Azure returned: ${refused}; if this host is genuinely Azure's, add it to azure.clouds.${arm.cloud.name}.consoleHosts`,
        );
      }
      signal?.throwIfAborted();
      const token = await arm.token();
      const transport = await SerialConsoleTransport.connect(url, token, `Azure serial console of ${what}`, {
        ...(arm.ca ? { ca: arm.ca } : {}),
        ...(this.options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.options.handshakeTimeoutMs } : {}),
        ...(signal ? { signal } : {}),
      });
      let connection: SimpleConnection | undefined;
      const controls = new AzureControls(arm, target, { connectionString: url }, (action) => {
        connection?.fireDeviceEvent(deviceEventFor(action));
        this.refresh(spec, action);
      });
      connection = new SimpleConnection(transport, controls);
      transport.release();
      return connection;
    } catch (err) {
      throw openError(err, target);
    }
  }

  offlineControls(spec: AzureDeviceSpec): DeviceControls {
    return new AzureControls(this.client(spec), targetOf(spec), undefined, (action) => this.refresh(spec, action));
  }

  /** A scale set without an instanceId: one device per instance Azure lists, ids `ID/INSTANCEID`, group ID. */
  async expand(spec: AzureDeviceSpec): Promise<DeviceSpec[] | undefined> {
    if (spec.scaleSet === undefined || spec.instanceId !== undefined || spec.vm !== undefined) return undefined;
    const instances = await this.client(spec).listScaleSetInstances(spec.subscriptionId, spec.resourceGroup, spec.scaleSet);
    return instances.map((i) => ({ ...spec, id: `${spec.id}/${i.instanceId.toLowerCase()}`, group: spec.group ?? spec.id, instanceId: i.instanceId }));
  }

  info(spec: AzureDeviceSpec): Record<string, unknown> | undefined {
    return this.infos.get(spec.id);
  }

  /** After a power action the cached state is stale: mark it unknown, then read the instance view again. */
  private refresh(spec: AzureDeviceSpec, action: PowerAction): void {
    const info = this.infos.get(spec.id) ?? {};
    this.infos.set(spec.id, Object.assign(info, { powerState: 'unknown', lastPowerAction: action, checkedAt: new Date().toISOString() }));
    this.client(spec)
      .vmStatus(targetOf(spec))
      .then((s) => Object.assign(info, { powerState: s.powerState, bootDiagnostics: { enabled: s.bootDiagnosticsEnabled }, checkedAt: new Date().toISOString() }))
      .catch(() => {
        // The state stays "unknown"; the next open (or power action) reads it again and reports any error.
      });
  }
}

function deviceEventFor(action: PowerAction): { type: 'rebooting' } | { type: 'off' } | { type: 'on' } {
  return action === 'off' ? { type: 'off' } : action === 'on' ? { type: 'on' } : { type: 'rebooting' };
}

/** Keeps refusals and Azure errors (403 role advice, credential name) as they are; wraps the rest as open-failed. */
function openError(err: unknown, target: AzureTarget | undefined): Error {
  if (err instanceof AttachRefusedError) return err;
  if (err instanceof AzureCredentialError) return new AttachRefusedError('AzureCredentialFailed', err.message);
  if (err instanceof AzureArmError && (err.statusCode === 403 || err.statusCode === 401)) return new AttachRefusedError('AzureForbidden', err.message);
  if (err instanceof AzureArmError && err.statusCode === 404) return new AttachRefusedError('AzureResourceNotFound', err.message);
  if (err instanceof TransportError) return err;
  return new TransportError('open-failed', `cannot open the Azure serial console${target ? ` of ${describeTarget(target)}` : ''}: ${messageOf(err)}`, { cause: err });
}
