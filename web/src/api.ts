// The gateway's REST API from the page: same-origin fetch, the session cookie, typed errors.
// Nothing secret is put in a URL; the console WebSocket uses a one-time ticket (see console-connection).

import type { Capabilities, DeviceInfo, Me } from './types.js';

/** An answer other than 2xx, with the gateway's stable error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called on 401 for any request but the sign-in itself (the page then shows the sign-in form). */
let onUnauthenticated: (() => void) | undefined;
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { raw?: boolean; quiet401?: boolean } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'NetworkError', 'The gateway cannot be reached. Check the network connection and that the gateway is running.');
  }
  if (res.ok) {
    if (opts.raw) return res as unknown as T;
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
  }
  let code = `Http${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } };
    if (j.error?.code) code = j.error.code;
    if (j.error?.message) message = j.error.message;
  } catch {
    // Not a JSON error body (a proxy's page): keep the status line.
  }
  const retry = Number(res.headers.get('retry-after'));
  const err = new ApiError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined);
  if (res.status === 401 && !opts.quiet401) onUnauthenticated?.();
  throw err;
}

export const enc = encodeURIComponent;

export const getMe = () => api<Me>('GET', '/api/v1/auth/me', undefined, { quiet401: true });
export const listDevices = () => api<{ devices: DeviceInfo[] }>('GET', '/api/v1/devices').then((r) => r.devices);
export const getDevice = (id: string) => api<DeviceInfo>('GET', `/api/v1/devices/${enc(id)}`);

/** Human text for an error, with what to do about it where the code says. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return (err as Error)?.message ?? String(err);
  switch (err.code) {
    case 'InvalidCredentials':
      return 'Wrong user name or password.';
    case 'TooManyAttempts':
      return `Too many failed sign-ins. Try again${err.retryAfterSeconds ? ` in ${err.retryAfterSeconds} s` : ' later'}.`;
    case 'Forbidden':
      return `Not allowed: ${err.message}`;
    case 'ConsoleDisabled':
      return `The serial console is disabled: ${err.message}`;
    case 'BootDiagnosticsDisabled':
      return `Boot diagnostics are disabled on this device, and the console needs them: ${err.message}`;
    case 'DeviceNotFound':
      return 'This device does not exist, or you may not see it.';
    case 'DeviceUnavailable':
      return `The device is offline: ${err.message}`;
    case 'NotSupported':
      return `The device cannot do this: ${err.message}`;
    case 'JustificationRequired':
      return 'A reason is required for this action.';
    default:
      return err.message;
  }
}

export function capabilityReason(caps: Capabilities | null, pick: (c: Capabilities) => { supported: boolean; reason?: string }): string | undefined {
  if (!caps) return 'the device is not connected, so what it can do is unknown';
  const c = pick(caps);
  return c.supported ? undefined : (c.reason ?? 'not supported by this device');
}
