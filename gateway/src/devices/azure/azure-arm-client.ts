// AzureArmClient: the ARM calls an azure device needs — VM state, power LROs, serial console connect, boot diagnostics.

import { request as httpsRequest } from 'node:https';
import { ComputeManagementClient } from '@azure/arm-compute';
import { createDefaultHttpClient, createPipelineRequest, type HttpClient, type PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import type { PowerAction } from '../transport.js';
import type { AzureCloud } from './azure-cloud.js';
import { armFailure, AzureArmError, type ArmOperation } from './azure-arm-error.js';
import { describeTarget, isScaleSetInstance, resourcePath, type AzureTarget } from './azure-target.js';
import { HostAllowList } from './host-allow-list.js';

/** api-version of Microsoft.SerialConsole serialPorts (learn.microsoft.com/rest/api/serialconsole/serial-ports/connect). */
export const SERIAL_PORTS_API_VERSION = '2024-07-01';
/** api-version of Microsoft.SerialConsole consoleServices (learn.microsoft.com/rest/api/serialconsole/get-console-status). */
export const CONSOLE_SERVICES_API_VERSION = '2018-05-01';
/** Boot-diagnostics blobs are small (a serial log of a few MB, a screenshot); more than this is refused. */
const MAX_BLOB_BYTES = 32 * 1024 * 1024;
/** How long a SAS URI from retrieveBootDiagnosticsData stays valid: we fetch it at once. */
const SAS_MINUTES = 5;

/** The VM's state as the gateway reports it. */
export interface VmStatus {
  /** `running`, `stopped`, `deallocated`, `starting`, … (the `PowerState/…` status code), or `unknown`. */
  powerState: string;
  bootDiagnosticsEnabled: boolean;
  /** Azure's `ProvisioningState/…` code, e.g. `succeeded`. */
  provisioningState?: string;
}

export interface OperationResult {
  /** `x-ms-request-id` of the request that started the operation (what Azure support asks for). */
  requestId?: string;
}

export interface AzureArmClientOptions {
  /** Poll interval for long-running operations (default: what Azure's Retry-After says, else the SDK's 2 s). */
  pollIntervalMs?: number;
  /** CA certificates (PEM) to trust for every endpoint of this cloud, instead of the system's. */
  ca?: Buffer;
}

export class AzureArmClient {
  private readonly clients = new Map<string, ComputeManagementClient>();
  private readonly httpClient: HttpClient = createDefaultHttpClient();
  readonly consoleHosts: HostAllowList;
  readonly storageHosts: HostAllowList;

  constructor(
    readonly cloud: AzureCloud,
    readonly credential: TokenCredential,
    private readonly options: AzureArmClientOptions = {},
  ) {
    this.consoleHosts = new HostAllowList(cloud.consoleHosts);
    this.storageHosts = new HostAllowList(cloud.storageHosts);
  }

  get ca(): Buffer | undefined {
    return this.options.ca;
  }

  /**
   * One client per subscription, pointed at this cloud's ARM endpoint with its token scope (arm-compute 24
   * takes `endpoint` and `credentials.scopes`; older option names are silently ignored). A policy refuses
   * any request to another origin, so the bearer token never leaves the configured endpoint, whatever
   * a polling header says.
   */
  compute(subscriptionId: string): ComputeManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      const armOrigin = new URL(this.cloud.armEndpoint).origin;
      const guard: PipelinePolicy = {
        name: 'ttygateArmOriginGuard',
        sendRequest(req, next) {
          const origin = new URL(req.url).origin;
          if (origin !== armOrigin) return Promise.reject(new Error(`refused to send an ARM request to ${origin}: only ${armOrigin} (this cloud's ARM endpoint) may receive the token`));
          return next(req);
        },
      };
      c = new ComputeManagementClient(this.credential, subscriptionId, {
        endpoint: this.cloud.armEndpoint,
        credentials: { scopes: [this.cloud.scope] },
        ...(this.options.ca ? { tlsOptions: { ca: this.options.ca } } : {}),
        additionalPolicies: [{ policy: guard, position: 'perCall' }],
        userAgentOptions: { userAgentPrefix: 'ttygate' },
      });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  /** An ARM token for this cloud (for the serial console socket and its admin commands). */
  async token(): Promise<string> {
    const t = await this.credential.getToken(this.cloud.scope);
    return t!.token;
  }

  /** Azure's per-subscription serial console switch: true when an owner disabled it. */
  async consoleDisabled(subscriptionId: string): Promise<boolean> {
    const url = `${this.cloud.armEndpoint}/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=${CONSOLE_SERVICES_API_VERSION}`;
    const body = (await this.armJson('GET', url, 'read', `reading the serial console status of subscription ${subscriptionId}`)) as { properties?: { disabled?: boolean } };
    return body.properties?.disabled === true;
  }

  /** Power state and boot-diagnostics switch from the VM's model and instance view. */
  async vmStatus(t: AzureTarget): Promise<VmStatus> {
    const what = `reading ${describeTarget(t)}`;
    try {
      const c = this.compute(t.subscriptionId);
      const vm = isScaleSetInstance(t)
        ? await c.virtualMachineScaleSetVMs.get(t.resourceGroup, t.scaleSet, t.instanceId, { expand: 'instanceView' })
        : await c.virtualMachines.get(t.resourceGroup, t.vm, { expand: 'instanceView' });
      const statuses = vm.instanceView?.statuses ?? [];
      const power = statuses.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length);
      const prov = statuses.find((s) => s.code?.startsWith('ProvisioningState/'))?.code?.slice('ProvisioningState/'.length);
      return {
        powerState: power ?? 'unknown',
        bootDiagnosticsEnabled: vm.diagnosticsProfile?.bootDiagnostics?.enabled === true,
        ...(prov ? { provisioningState: prov } : {}),
      };
    } catch (err) {
      throw armFailure(err, 'read', what);
    }
  }

  /** `serialPorts/0/connect`: the console's `wss://…` URL (not yet checked against the allow-list). */
  async connectSerialPort(t: AzureTarget): Promise<string> {
    const url = `${this.cloud.armEndpoint}${resourcePath(t)}/providers/Microsoft.SerialConsole/serialPorts/0/connect?api-version=${SERIAL_PORTS_API_VERSION}`;
    const body = (await this.armJson('POST', url, 'console', `connecting to the serial console of ${describeTarget(t)}`)) as { connectionString?: unknown };
    if (typeof body.connectionString !== 'string') throw new AzureArmError(`serialPorts/connect for ${describeTarget(t)} returned no connectionString`, 200, undefined, undefined);
    return body.connectionString;
  }

  /**
   * restart / off (graceful, or `force` = skipShutdown) / on, as arm-compute long-running operations
   * polled to completion. Resolves with the request id; rejects (with it) when the operation fails.
   */
  async power(t: AzureTarget, action: Exclude<PowerAction, 'reset'>, force = false): Promise<OperationResult> {
    const verb = action === 'on' ? 'start' : action === 'off' ? (force ? 'power off (skip shutdown)' : 'power off') : 'restart';
    const what = `${verb} ${describeTarget(t)}`;
    let requestId: string | undefined;
    const opts = {
      onResponse: (raw: { headers: { get(n: string): string | undefined } }) => {
        requestId ??= raw.headers.get('x-ms-request-id');
      },
      ...(this.options.pollIntervalMs !== undefined ? { updateIntervalInMs: this.options.pollIntervalMs } : {}),
    };
    try {
      const c = this.compute(t.subscriptionId);
      if (isScaleSetInstance(t)) {
        const s = c.virtualMachineScaleSetVMs;
        if (action === 'on') await s.start(t.resourceGroup, t.scaleSet, t.instanceId, opts);
        else if (action === 'off') await s.powerOff(t.resourceGroup, t.scaleSet, t.instanceId, { ...opts, skipShutdown: force });
        else await s.restart(t.resourceGroup, t.scaleSet, t.instanceId, opts);
      } else {
        const v = c.virtualMachines;
        if (action === 'on') await v.start(t.resourceGroup, t.vm, opts);
        else if (action === 'off') await v.powerOff(t.resourceGroup, t.vm, { ...opts, skipShutdown: force });
        else await v.restart(t.resourceGroup, t.vm, opts);
      }
    } catch (err) {
      const e = armFailure(err, 'power', what);
      throw Object.assign(e, { auditDetails: { ...(requestId ? { requestId } : {}) } });
    }
    return requestId ? { requestId } : {};
  }

  /** The instances of a uniform scale set (`virtualMachineScaleSetVMs.list`, every page). */
  async listScaleSetInstances(subscriptionId: string, resourceGroup: string, scaleSet: string): Promise<Array<{ instanceId: string; name: string }>> {
    const out: Array<{ instanceId: string; name: string }> = [];
    try {
      for await (const vm of this.compute(subscriptionId).virtualMachineScaleSetVMs.list(resourceGroup, scaleSet)) {
        if (vm.instanceId) out.push({ instanceId: vm.instanceId, name: vm.name ?? vm.instanceId });
      }
    } catch (err) {
      throw armFailure(err, 'list', `listing the instances of scale set ${scaleSet} (resource group ${resourceGroup}, subscription ${subscriptionId})`);
    }
    return out;
  }

  /** Fetches the serial log or the screenshot through the SAS URIs `retrieveBootDiagnosticsData` returns. */
  async bootDiagnostics(t: AzureTarget, which: 'serialLog' | 'screenshot'): Promise<Uint8Array> {
    const what = `retrieving boot diagnostics of ${describeTarget(t)}`;
    let uris: { consoleScreenshotBlobUri?: string; serialConsoleLogBlobUri?: string };
    try {
      const c = this.compute(t.subscriptionId);
      const o = { sasUriExpirationTimeInMinutes: SAS_MINUTES };
      uris = isScaleSetInstance(t)
        ? await c.virtualMachineScaleSetVMs.retrieveBootDiagnosticsData(t.resourceGroup, t.scaleSet, t.instanceId, o)
        : await c.virtualMachines.retrieveBootDiagnosticsData(t.resourceGroup, t.vm, o);
    } catch (err) {
      throw armFailure(err, 'boot-diagnostics', what);
    }
    const uri = which === 'serialLog' ? uris.serialConsoleLogBlobUri : uris.consoleScreenshotBlobUri;
    if (!uri) throw new AzureArmError(`${what}: Azure returned no ${which === 'serialLog' ? 'serial log' : 'screenshot'} URI (the VM may not have booted since boot diagnostics were enabled)`, 200, undefined, undefined);
    const refused = this.storageHosts.check(uri);
    if (refused) throw new AzureArmError(`${what}: refused to fetch the blob: ${refused} (azure.clouds.${this.cloud.name}.storageHosts)`, undefined, undefined, undefined);
    return this.fetchBlob(uri);
  }

  /** POSTs an admin command (sysrq, nmi, reset) for an open console session (the https form of its URL). */
  async adminCommand(connectionString: string, command: 'sysrq' | 'nmi' | 'reset', parameters: Record<string, string>, requestId: string): Promise<void> {
    const u = new URL(connectionString);
    u.protocol = 'https:';
    u.pathname = u.pathname.replace(/\/client$/, `/adminCommand/${command}`);
    u.search = '';
    const refused = this.consoleHosts.check(u.href);
    if (refused) throw new Error(`refused to send the ${command} admin command: ${refused}`);
    const token = await this.token();
    const body = Buffer.from(JSON.stringify({ command, requestId, commandParameters: parameters }));
    const { status, text } = await this.https(u, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    if (status !== 200) throw new Error(`Azure's serial console refused the ${command} admin command (HTTP ${status}): ${text.slice(0, 300)}`);
  }

  /** A JSON ARM call through the compute client's pipeline (auth, retries, TLS, origin guard). */
  private async armJson(method: 'GET' | 'POST', url: string, op: ArmOperation, what: string): Promise<unknown> {
    const c = this.compute(new URL(url).pathname.split('/')[2] ?? '');
    let res;
    try {
      res = await c.pipeline.sendRequest(this.httpClient, createPipelineRequest({ url, method, headers: undefined, ...(method === 'POST' ? { body: '{}' } : {}) }));
    } catch (err) {
      throw armFailure(err, op, what);
    }
    let body: { error?: { code?: string; message?: string } } = {};
    try {
      body = res.bodyAsText ? (JSON.parse(res.bodyAsText) as typeof body) : {};
    } catch {
      // A non-JSON body (an HTML error page from a proxy): reported by status below.
    }
    if (res.status < 200 || res.status >= 300) {
      throw armFailure(
        { statusCode: res.status, code: body.error?.code, message: body.error?.message ?? `HTTP ${res.status}`, response: { headers: { get: (n: string) => res.headers.get(n) } } },
        op,
        what,
      );
    }
    return body;
  }

  private async fetchBlob(uri: string): Promise<Uint8Array> {
    // A SAS URI carries its own authorization: no token goes to storage.
    const { status, body, text } = await this.https(new URL(uri), { method: 'GET', headers: { 'x-ms-version': '2021-08-06' } });
    if (status !== 200) throw new Error(`fetching a boot-diagnostics blob from ${new URL(uri).host} failed (HTTP ${status}): ${text.slice(0, 200)}`);
    return body;
  }

  private https(u: URL, o: { method: string; headers: Record<string, string>; body?: Buffer }): Promise<{ status: number; body: Buffer; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(u, { method: o.method, headers: o.headers, minVersion: 'TLSv1.2', ...(this.options.ca ? { ca: this.options.ca } : {}), timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BLOB_BYTES) {
            req.destroy(new Error(`the response from ${u.host} is larger than ${MAX_BLOB_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within 30 s`)));
      req.on('error', reject);
      req.end(o.body);
    });
  }
}
