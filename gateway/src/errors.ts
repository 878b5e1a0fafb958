// GatewayError and the error catalogue: stable codes, HTTP statuses and messages (Fastify lib/errors.js shape).

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }
}

const make =
  (code: string, statusCode: number) =>
  (message: string, options?: { cause?: unknown }): GatewayError =>
    new GatewayError(code, statusCode, message, options);

export const GW_ERR = {
  unauthenticated: make('Unauthenticated', 401),
  forbidden: make('Forbidden', 403),
  originRefused: make('OriginRefused', 403),
  deviceNotFound: (id: string) => new GatewayError('DeviceNotFound', 404, `no device "${id}" (or you may not see it)`),
  sessionNotFound: (id: string) => new GatewayError('SessionNotFound', 404, `no session "${id}"`),
  deviceExists: (id: string) => new GatewayError('DeviceExists', 409, `a device "${id}" already exists`),
  configDevice: (id: string) => new GatewayError('ConfigManaged', 409, `device "${id}" comes from the config file; change it there`),
  bootDiagnosticsDisabled: (id: string) =>
    new GatewayError('BootDiagnosticsDisabled', 409, `boot diagnostics are disabled on device "${id}"; the serial console needs them: enable bootDiagnostics on the device`),
  consoleDisabled: (message: string) => new GatewayError('ConsoleDisabled', 409, message),
  notSupported: (reason: string) => new GatewayError('NotSupported', 409, reason),
  deviceUnavailable: (id: string, state: string) =>
    new GatewayError('DeviceUnavailable', 503, `device "${id}" is ${state}; the gateway keeps reconnecting, try again shortly`),
  controlFailed: (message: string, cause?: unknown) => new GatewayError('ControlFailed', 502, message, { cause }),
  auditUnavailable: (cause: unknown) =>
    new GatewayError('AuditUnavailable', 503, 'the audit log cannot be written, so the action was refused (fail closed)', { cause }),
  badRequest: make('BadRequest', 400),
  justificationRequired: (what: string) =>
    new GatewayError('JustificationRequired', 400, `${what} needs a justification: give a reason (free text or a ticket number); this gateway requires one (setting requireJustification)`),
  notFound: make('NotFound', 404),
} as const;
