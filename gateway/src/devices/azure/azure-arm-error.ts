// AzureArmError: an ARM failure turned into what the user can act on (which role is missing, what Azure said). Pure.

import { AzureCredentialError } from './azure-credential.js';

/** What a failed ARM call was for: decides which role a 403 asks for. */
export type ArmOperation = 'read' | 'power' | 'console' | 'boot-diagnostics' | 'list';

export class AzureArmError extends Error {
  readonly code = 'AzureRequestFailed';
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly azureCode: string | undefined,
    readonly requestId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AzureArmError';
  }
}

/** The role advice for a 403 on `op` (learn.microsoft.com/azure/virtual-machines/…/serial-console-overview: VM Contributor or serialPorts/connect). */
export function missingRoleAdvice(op: ArmOperation): string {
  if (op === 'console') {
    return "the gateway's Azure identity lacks Microsoft.SerialConsole/serialPorts/connect/action on this VM: assign it the Virtual Machine Contributor role (or a custom role with that action)";
  }
  if (op === 'power') return "the gateway's Azure identity may not start, restart or power off this VM: assign it the Virtual Machine Contributor role on the VM or its resource group";
  return "the gateway's Azure identity may not read this VM: assign it the Virtual Machine Contributor role (or at least Reader) on the VM or its resource group";
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

/** Wraps any error from an ARM call on `what` (e.g. `restart VM web-1 (…)`). Credential errors pass through unchanged. */
export function armFailure(err: unknown, op: ArmOperation, what: string): Error {
  const cred = findCause(err, (e): e is AzureCredentialError => e instanceof AzureCredentialError);
  if (cred) return cred;
  if (err instanceof AzureArmError) return err;
  const e = (err ?? {}) as RestErrorLike;
  const status = e.statusCode;
  const requestId = e.response?.headers?.get('x-ms-request-id');
  const said = `Azure said: ${e.code ? `${e.code}: ` : ''}${oneLine(e.message ?? String(err))}${requestId ? ` (request id ${requestId})` : ''}`;
  let message: string;
  if (status === 403) message = `${what} was refused by Azure (403): ${missingRoleAdvice(op)}. ${said}`;
  else if (status === 401) message = `${what} was refused by Azure (401): the token was not accepted (wrong tenant or audience/scope for this cloud?). ${said}`;
  else if (status === 404) message = `${what} failed: Azure does not know this resource (404): check subscriptionId, resourceGroup and the VM name. ${said}`;
  else if (status !== undefined) message = `${what} failed (HTTP ${status}). ${said}`;
  else message = `${what} failed: ${oneLine(e.message ?? String(err))}`;
  return new AzureArmError(message, status, e.code, requestId, { cause: err });
}

function findCause<T>(err: unknown, pred: (e: unknown) => e is T): T | undefined {
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; e = (e as { cause?: unknown }).cause, i++) if (pred(e)) return e;
  return undefined;
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 600 ? `${t.slice(0, 600)}…` : t;
}
