// Fake Azure Resource Manager: the Microsoft.Compute and Microsoft.SerialConsole operations ttygate calls.
//
// Rules and their sources (learn.microsoft.com):
// - Every call needs `Authorization: Bearer` with a token for ARM's audience, else 401
//   `InvalidAuthenticationToken` / `InvalidAuthenticationTokenAudience`; no `api-version` is 400
//   `MissingApiVersionParameter` (azure/azure-resource-manager/management/request-limits-and-throttling is
//   silent on this; the codes are ARM's common error codes: azure/azure-resource-manager/troubleshooting/common-deployment-errors).
// - Errors are `{error: {code, message}}`; every response carries `x-ms-request-id`
//   (rest/api/azure/#response-headers... "x-ms-request-id").
// - A caller without the action gets 403 `AuthorizationFailed` naming the action and scope
//   (azure/role-based-access-control/troubleshooting#symptom---authorization-failed).
// - GET virtualMachines/{vm}?$expand=instanceView: the VM with `properties.diagnosticsProfile` and
//   `properties.instanceView.statuses` (`ProvisioningState/…`, `PowerState/…`) (rest/api/compute/virtual-machines/get).
// - POST …/restart, …/powerOff[?skipShutdown=true], …/start: 202 Accepted with `Azure-AsyncOperation` and
//   `Location`; the Azure-AsyncOperation URL answers 200 `{status: "InProgress"}` until `Succeeded` or
//   `Failed` with `error`; the Location URL answers 202 until done, then 200
//   (azure/azure-resource-manager/management/async-operations; rest/api/compute/virtual-machines/restart).
// - GET virtualMachineScaleSets/{ss}/virtualMachines: `{value: […], nextLink}` pages
//   (rest/api/compute/virtual-machine-scale-set-vms/list); scale-set VM get/restart/powerOff/start mirror the VM ones.
// - POST …/retrieveBootDiagnosticsData?sasUriExpirationTimeInMinutes=N: 200 `{consoleScreenshotBlobUri,
//   serialConsoleLogBlobUri}` SAS URIs (rest/api/compute/virtual-machines/retrieve-boot-diagnostics-data).
// - GET /subscriptions/{s}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2018-05-01:
//   `{properties: {disabled}}` (rest/api/serialconsole/console/get-console-status).
// - POST {vm}/providers/Microsoft.SerialConsole/serialPorts/0/connect?api-version=2024-07-01: 200
//   `{connectionString: "wss://…"}` (rest/api/serialconsole/serial-ports/connect); the action is
//   `Microsoft.SerialConsole/serialPorts/connect/action` (azure/virtual-machines/serial-console-overview… "Prerequisites").

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, type FakeLogin } from './fake-login.js';

export type PowerState = 'running' | 'stopped' | 'deallocated' | 'starting' | 'stopping';
export type Permission = 'read' | 'power' | 'console';

export interface FakeVm {
  subscriptionId: string;
  resourceGroup: string;
  /** VM name, or for a scale-set instance `SS_ID` (Azure's naming). */
  name: string;
  scaleSet?: string;
  instanceId?: string;
  location: string;
  powerState: PowerState;
  bootDiagnostics: boolean;
  /** Which console host `serialPorts/connect` names for it: the real fake console, or the off-list one. */
  consoleHost: 'console' | 'evil';
  /** Actions the gateway's identity lacks on this VM (403). */
  denied: Set<Permission>;
  /** Polls an operation stays InProgress before it finishes. */
  pollsBeforeDone: number;
  /** A hostile or broken ARM front end: the polling headers name this origin instead of ARM's own. */
  pollOrigin?: string;
  /** The next power operation ends `Failed` with this error. */
  failNext?: { code: string; message: string };
  serialLog: Buffer;
  screenshot: Buffer;
}

interface Operation {
  id: string;
  vm: FakeVm;
  action: 'restart' | 'powerOff' | 'start';
  skipShutdown: boolean;
  pollsLeft: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
  startTime: string;
  endTime?: string;
}

/** Hooks into the other fakes: a console session for a VM, effects of power on the console, storage SAS URIs. */
export interface ArmPeers {
  newConsoleSession(vm: FakeVm): string;
  powerChanged(vm: FakeVm, action: 'restart' | 'powerOff' | 'start'): void;
  sasUri(vm: FakeVm, which: 'serial' | 'screenshot'): string;
}

const API = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

export class FakeArm {
  readonly vms: FakeVm[] = [];
  readonly consoleDisabled = new Set<string>();
  /** Subscriptions where the identity may not read consoleServices (it was granted only on a resource group). */
  readonly consoleServicesDenied = new Set<string>();
  readonly operations = new Map<string, Operation>();
  /** The x-ms-request-id given to each request, in order. */
  readonly requestIds: Array<{ method: string; path: string; requestId: string }> = [];
  /** Page size for list operations (small, so nextLink paging is exercised). */
  pageSize = 2;

  constructor(
    private readonly origin: () => string,
    private readonly login: FakeLogin,
    private readonly peers: ArmPeers,
  ) {}

  /** ARM's token audience: its own origin (a custom ARM endpoint is its own audience). */
  get audience(): string {
    return this.origin();
  }

  addVm(v: Partial<FakeVm> & { subscriptionId: string; resourceGroup: string; name: string }): FakeVm {
    const vm: FakeVm = {
      location: 'westus2',
      powerState: 'running',
      bootDiagnostics: true,
      consoleHost: 'console',
      denied: new Set(),
      pollsBeforeDone: 2,
      serialLog: Buffer.from(`[    0.000000] Linux version 6.1.0-azure (fake)\r\n${v.name} login: `, 'latin1'),
      screenshot: Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60, 0x20)]),
      ...v,
    };
    this.vms.push(vm);
    return vm;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = randomUUID();
    res.setHeader('x-ms-request-id', requestId);
    const url = new URL(req.url ?? '/', this.origin());
    this.requestIds.push({ method: req.method ?? '', path: url.pathname, requestId });
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    const issued = token ? this.login.tokens.get(token) : undefined;
    if (!issued) return json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' } });
    if (issued.audience !== this.audience) {
      return json(res, 401, { error: { code: 'InvalidAuthenticationTokenAudience', message: `The access token has been obtained for wrong audience or resource '${issued.audience}'. It should exactly match with one of the allowed audiences '${this.audience}'.` } });
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion || !API.test(apiVersion)) return json(res, 400, { error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." } });
    const p = decodeURIComponent(url.pathname);
    let m: RegExpExecArray | null;

    if ((m = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/.exec(p))) {
      const op = this.operations.get(m[3]!);
      if (!op) return json(res, 404, { error: { code: 'NotFound', message: `operation ${m[3]} not found` } });
      if (url.searchParams.get('monitor') === 'true') {
        // The Location URL: 202 while running; 200 (no body for these void operations) once Succeeded; the error once Failed.
        if (op.status === 'InProgress') {
          this.advance(op);
          if (op.status === 'InProgress') return this.accepted(res, op);
        }
        if (op.status === 'Failed') return json(res, 500, { error: op.error });
        res.writeHead(200, { 'content-length': '0' });
        return void res.end();
      }
      this.advance(op);
      return json(res, 200, { startTime: op.startTime, ...(op.endTime ? { endTime: op.endTime } : {}), status: op.status, name: op.id, ...(op.error ? { error: op.error } : {}) });
    }

    if ((m = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.SerialConsole\/consoleServices\/default$/.exec(p)) && req.method === 'GET') {
      if (this.consoleServicesDenied.has(m[1]!)) return this.forbidden(res, 'Microsoft.SerialConsole/consoleServices/read', `/subscriptions/${m[1]}`);
      return json(res, 200, { properties: { disabled: this.consoleDisabled.has(m[1]!) } });
    }

    if ((m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)\/virtualMachines$/.exec(p)) && req.method === 'GET') {
      const members = this.vms.filter((v) => v.subscriptionId === m![1] && v.resourceGroup === m![2] && v.scaleSet === m![3]);
      if (members.length === 0) return this.notFound(res, `Microsoft.Compute/virtualMachineScaleSets/${m[3]}`, m[2]!);
      if (members[0]!.denied.has('read')) return this.forbidden(res, 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read', p);
      const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
      const page = members.slice(skip, skip + this.pageSize);
      const next = skip + this.pageSize < members.length ? `${this.origin()}${url.pathname}?api-version=${apiVersion}&$skiptoken=${skip + this.pageSize}` : undefined;
      return json(res, 200, { value: page.map((v) => this.vmJson(v, false)), ...(next ? { nextLink: next } : {}) });
    }

    m = /^(\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(?:virtualMachines\/([^/]+)|virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)))(\/.*)?$/.exec(p);
    if (!m) return json(res, 404, { error: { code: 'InvalidResourceType', message: `no route for ${p}` } });
    const [, resource, sub, rg, vmName, ss, instanceId, rest = ''] = m;
    const vm = this.vms.find((v) => v.subscriptionId === sub && v.resourceGroup === rg && (vmName !== undefined ? v.scaleSet === undefined && v.name === vmName : v.scaleSet === ss && v.instanceId === instanceId));
    if (!vm) return this.notFound(res, vmName !== undefined ? `Microsoft.Compute/virtualMachines/${vmName}` : `Microsoft.Compute/virtualMachineScaleSets/${ss}/virtualMachines/${instanceId}`, rg!);
    const type = vmName !== undefined ? 'Microsoft.Compute/virtualMachines' : 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines';

    if (rest === '' && req.method === 'GET') {
      if (vm.denied.has('read')) return this.forbidden(res, `${type}/read`, resource!);
      return json(res, 200, this.vmJson(vm, url.searchParams.get('$expand')?.toLowerCase() === 'instanceview'));
    }
    if (rest === '/providers/Microsoft.SerialConsole/serialPorts/0/connect' && req.method === 'POST') {
      if (vm.denied.has('console')) return this.forbidden(res, 'Microsoft.SerialConsole/serialPorts/connect/action', `${resource}/providers/Microsoft.SerialConsole/serialPorts/0`);
      return json(res, 200, { connectionString: this.peers.newConsoleSession(vm) });
    }
    if (rest === '/retrieveBootDiagnosticsData' && req.method === 'POST') {
      if (vm.denied.has('read')) return this.forbidden(res, `${type}/retrieveBootDiagnosticsData/action`, resource!);
      // Not documented: the gateway checks diagnosticsProfile first (as Azure's CLI does), so this answer is not relied on.
      if (!vm.bootDiagnostics) return json(res, 409, { error: { code: 'OperationNotAllowed', message: 'Boot diagnostics is not enabled for this VM.' } });
      return json(res, 200, { consoleScreenshotBlobUri: this.peers.sasUri(vm, 'screenshot'), serialConsoleLogBlobUri: this.peers.sasUri(vm, 'serial') });
    }
    const action = ({ '/restart': 'restart', '/powerOff': 'powerOff', '/start': 'start' } as const)[rest];
    if (action && req.method === 'POST') {
      if (vm.denied.has('power')) return this.forbidden(res, `${type}/${action === 'powerOff' ? 'powerOff' : action}/action`, resource!);
      const op: Operation = {
        id: randomUUID(),
        vm,
        action,
        skipShutdown: url.searchParams.get('skipShutdown') === 'true',
        pollsLeft: vm.pollsBeforeDone,
        status: 'InProgress',
        startTime: new Date().toISOString(),
        ...(vm.failNext ? { error: vm.failNext } : {}),
      };
      vm.failNext = undefined;
      this.operations.set(op.id, op);
      return this.accepted(res, op);
    }
    return json(res, 405, { error: { code: 'MethodNotAllowed', message: `${req.method} ${rest || '/'} is not supported on ${type}` } });
  }

  /** One poll: counts down, then applies the effect and finishes. */
  private advance(op: Operation): void {
    if (op.status !== 'InProgress') return;
    if (op.pollsLeft-- > 0) return;
    op.endTime = new Date().toISOString();
    if (op.error) {
      op.status = 'Failed';
      return;
    }
    op.status = 'Succeeded';
    op.vm.powerState = op.action === 'powerOff' ? 'stopped' : 'running';
    this.peers.powerChanged(op.vm, op.action);
  }

  private accepted(res: ServerResponse, op: Operation): void {
    const base = `${op.vm.pollOrigin ?? this.origin()}/subscriptions/${op.vm.subscriptionId}/providers/Microsoft.Compute/locations/${op.vm.location}/operations/${op.id}`;
    res.writeHead(202, {
      'azure-asyncoperation': `${base}?p=${op.id}&api-version=2024-11-01`,
      location: `${base}?p=${op.id}&monitor=true&api-version=2024-11-01`,
      'content-length': '0',
    });
    res.end();
  }

  private vmJson(v: FakeVm, instanceView: boolean): Record<string, unknown> {
    const id = v.scaleSet
      ? `/subscriptions/${v.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${v.scaleSet}/virtualMachines/${v.instanceId}`
      : `/subscriptions/${v.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${v.name}`;
    const statuses = [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      { code: `PowerState/${v.powerState}`, level: 'Info', displayStatus: `VM ${v.powerState}` },
    ];
    return {
      id,
      name: v.name,
      type: v.scaleSet ? 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines' : 'Microsoft.Compute/virtualMachines',
      location: v.location,
      ...(v.instanceId !== undefined ? { instanceId: v.instanceId } : {}),
      properties: {
        vmId: randomUUID(),
        provisioningState: 'Succeeded',
        diagnosticsProfile: { bootDiagnostics: { enabled: v.bootDiagnostics } },
        ...(instanceView ? { instanceView: { statuses, ...(v.bootDiagnostics ? { bootDiagnostics: {} } : {}) } } : {}),
      },
    };
  }

  private notFound(res: ServerResponse, what: string, rg: string): void {
    json(res, 404, { error: { code: 'ResourceNotFound', message: `The Resource '${what}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix` } });
  }

  private forbidden(res: ServerResponse, action: string, scope: string): void {
    json(res, 403, {
      error: {
        code: 'AuthorizationFailed',
        message: `The client '00000000-0000-0000-0000-0000000000cc' with object id '00000000-0000-0000-0000-0000000000cc' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      },
    });
  }
}
