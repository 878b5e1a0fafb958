// Console control messages carried in WebSocket text frames: types, JSON schemas, never-throwing parsers.
//
// Shared with the browser: no Node or DOM types here, only ES2022.

/** How a session is attached: `write` holds the device's write lease, `read` only watches. */
export const SESSION_MODES = ['read', 'write'] as const;
export type SessionMode = (typeof SESSION_MODES)[number];

/**
 * Device states announced with `{type:"device", state}`. `connected`/`reconnected` are the
 * healthy ones; `disconnected` means the transport is gone (bytes typed now are lost),
 * `rebooting` a power action is in progress, `off` the machine is powered off.
 */
export const DEVICE_STATES = ['connected', 'disconnected', 'reconnected', 'rebooting', 'off'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/**
 * Stable `code`s of `{type:"error"}` control messages raised by the console itself. The gateway
 * may send other codes from its HTTP error catalogue (e.g. `Forbidden`, `NotSupported`).
 */
export const ErrorCode = {
  /** A text frame that is not one JSON object, or longer than {@link MAX_CONTROL_TEXT_LENGTH}. */
  MalformedControl: 'MalformedControl',
  /** A JSON object whose `type` is not a known client message. */
  UnknownControl: 'UnknownControl',
  /** A known `type` with missing, extra or ill-typed fields. */
  InvalidControl: 'InvalidControl',
  /** A binary frame larger than the configured maximum; the server closes with 1009. */
  FrameTooLarge: 'FrameTooLarge',
  /** The viewer fell too far behind; the server closes with 4008. */
  SlowConsumer: 'SlowConsumer',
  /** Bytes or a write-only control from a session that does not hold the write lease. */
  WriteNotAllowed: 'WriteNotAllowed',
  /** The device cannot do the requested control (e.g. BREAK over a pty). */
  NotSupported: 'NotSupported',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The subset of {@link ErrorCode} that {@link parseClientControl} returns. */
export type ControlParseErrorCode = 'MalformedControl' | 'UnknownControl' | 'InvalidControl';

/**
 * Longest accepted control text, in UTF-16 code units (`string.length`). The largest valid
 * message (a 32-key sysrq) is under 50 characters; 4096 leaves room for future fields while
 * keeping the cost of parsing hostile input trivial.
 */
export const MAX_CONTROL_TEXT_LENGTH = 4096;

/** SysRq keys: one to 32 characters from `[0-9a-z]` (a sequence such as `reisub`). */
export const SYSRQ_KEYS_PATTERN = '^[0-9a-z]{1,32}$';
export const SYSRQ_KEYS_MAX_LENGTH = 32;
const SYSRQ_KEYS_RE = new RegExp(SYSRQ_KEYS_PATTERN);

// ---- server -> client -----------------------------------------------------------------------

/** First message of every console session. `offset`: absolute byte offset of the first output byte this session receives (the start of the replay). */
export interface HelloMessage {
  readonly type: 'hello';
  readonly sessionId: string;
  readonly mode: SessionMode;
  readonly offset: number;
}
/**
 * Sent on takeover to the old writer (`mode: "read"`) and to the new one (`mode: "write"`), and
 * to a writer whose write access was revoked (`holder: null`, `mode: "read"`).
 */
export interface LeaseMessage {
  readonly type: 'lease';
  /** Session id now holding the write lease; null when nobody does. */
  readonly holder: string | null;
  /** The recipient's mode after the change. */
  readonly mode: SessionMode;
}
export interface DeviceMessage {
  readonly type: 'device';
  readonly state: DeviceState;
}
export interface ErrorMessage {
  readonly type: 'error';
  /** An {@link ErrorCode} or a code of the gateway's HTTP error catalogue. */
  readonly code: ErrorCode | (string & {});
  readonly message: string;
}
/** Answer to a client `ping`. */
export interface PongMessage {
  readonly type: 'pong';
}
/** Codes of `{type:"notice"}`: something the user should know that is not an error. */
export const NoticeCode = {
  /** The session will be closed for inactivity in `secondsLeft` seconds unless the user types. */
  IdleTimeoutSoon: 'IdleTimeoutSoon',
  /** The user's access changed during the session (e.g. write access revoked: now viewing only). */
  AccessChanged: 'AccessChanged',
} as const;
export type NoticeCode = (typeof NoticeCode)[keyof typeof NoticeCode];
export interface NoticeMessage {
  readonly type: 'notice';
  readonly code: NoticeCode | (string & {});
  readonly message: string;
  readonly secondsLeft?: number;
}
export type ServerControlMessage = HelloMessage | LeaseMessage | DeviceMessage | ErrorMessage | PongMessage | NoticeMessage;
export type ServerControlType = ServerControlMessage['type'];

// ---- client -> server -----------------------------------------------------------------------

/** Send a serial BREAK (requires the write lease). */
export interface BreakMessage {
  readonly type: 'break';
}
/** Send BREAK followed by each key (requires the write lease). */
export interface SysrqMessage {
  readonly type: 'sysrq';
  readonly keys: string;
}
/** Take the write lease over from its current holder. */
export interface TakeoverMessage {
  readonly type: 'takeover';
}
/** Liveness probe; answered with `{type:"pong"}`. */
export interface PingMessage {
  readonly type: 'ping';
}
export type ClientControlMessage = BreakMessage | SysrqMessage | TakeoverMessage | PingMessage;
export type ClientControlType = ClientControlMessage['type'];

export const CLIENT_CONTROL_TYPES = ['break', 'sysrq', 'takeover', 'ping'] as const satisfies readonly ClientControlType[];
export const SERVER_CONTROL_TYPES = ['hello', 'lease', 'device', 'error', 'pong', 'notice'] as const satisfies readonly ServerControlType[];

// ---- JSON schemas (draft 2020-12 / OpenAPI 3.1 compatible) ----------------------------------

/** JSON schema of each client control message, keyed by `type`. */
export const clientControlSchemas = {
  break: {
    $id: 'ttygate:control/client/break',
    type: 'object',
    properties: { type: { const: 'break' } },
    required: ['type'],
    additionalProperties: false,
  },
  sysrq: {
    $id: 'ttygate:control/client/sysrq',
    type: 'object',
    properties: {
      type: { const: 'sysrq' },
      keys: { type: 'string', minLength: 1, maxLength: SYSRQ_KEYS_MAX_LENGTH, pattern: SYSRQ_KEYS_PATTERN },
    },
    required: ['type', 'keys'],
    additionalProperties: false,
  },
  takeover: {
    $id: 'ttygate:control/client/takeover',
    type: 'object',
    properties: { type: { const: 'takeover' } },
    required: ['type'],
    additionalProperties: false,
  },
  ping: {
    $id: 'ttygate:control/client/ping',
    type: 'object',
    properties: { type: { const: 'ping' } },
    required: ['type'],
    additionalProperties: false,
  },
} as const;

/** JSON schema of any client control message. */
export const clientControlSchema = {
  $id: 'ttygate:control/client',
  oneOf: [clientControlSchemas.break, clientControlSchemas.sysrq, clientControlSchemas.takeover, clientControlSchemas.ping],
} as const;

/** JSON schema of each server control message, keyed by `type` (for documentation). */
export const serverControlSchemas = {
  hello: {
    $id: 'ttygate:control/server/hello',
    type: 'object',
    properties: {
      type: { const: 'hello' },
      sessionId: { type: 'string', minLength: 1 },
      mode: { enum: SESSION_MODES },
      offset: { type: 'integer', minimum: 0 },
    },
    required: ['type', 'sessionId', 'mode', 'offset'],
    additionalProperties: false,
  },
  lease: {
    $id: 'ttygate:control/server/lease',
    type: 'object',
    properties: {
      type: { const: 'lease' },
      holder: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'null' }] },
      mode: { enum: SESSION_MODES },
    },
    required: ['type', 'holder', 'mode'],
    additionalProperties: false,
  },
  device: {
    $id: 'ttygate:control/server/device',
    type: 'object',
    properties: { type: { const: 'device' }, state: { enum: DEVICE_STATES } },
    required: ['type', 'state'],
    additionalProperties: false,
  },
  error: {
    $id: 'ttygate:control/server/error',
    type: 'object',
    properties: {
      type: { const: 'error' },
      code: { type: 'string', minLength: 1 },
      message: { type: 'string' },
    },
    required: ['type', 'code', 'message'],
    additionalProperties: false,
  },
  pong: {
    $id: 'ttygate:control/server/pong',
    type: 'object',
    properties: { type: { const: 'pong' } },
    required: ['type'],
    additionalProperties: false,
  },
  notice: {
    $id: 'ttygate:control/server/notice',
    type: 'object',
    properties: {
      type: { const: 'notice' },
      code: { type: 'string', minLength: 1 },
      message: { type: 'string' },
      secondsLeft: { type: 'integer', minimum: 0 },
    },
    required: ['type', 'code', 'message'],
    additionalProperties: false,
  },
} as const;

/** JSON schema of any server control message. */
export const serverControlSchema = {
  $id: 'ttygate:control/server',
  oneOf: [
    serverControlSchemas.hello,
    serverControlSchemas.lease,
    serverControlSchemas.device,
    serverControlSchemas.error,
    serverControlSchemas.pong,
    serverControlSchemas.notice,
  ],
} as const;

// ---- parsing --------------------------------------------------------------------------------

export type ControlParseResult<M> =
  | { readonly ok: true; readonly msg: M }
  | { readonly ok: false; readonly code: ControlParseErrorCode; readonly message: string };

/** One field of a message: how to check it and how to say what was expected. */
interface FieldSpec {
  readonly check: (value: unknown) => boolean;
  readonly expected: string;
  /** The field may be absent. */
  readonly optional?: true;
}

const nonEmptyString: FieldSpec = { check: (v) => typeof v === 'string' && v.length > 0, expected: 'a non-empty string' };
const anyString: FieldSpec = { check: (v) => typeof v === 'string', expected: 'a string' };
const oneOf = (values: readonly string[]): FieldSpec => ({
  check: (v) => typeof v === 'string' && values.includes(v),
  expected: `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
});
const offsetField: FieldSpec = {
  check: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  expected: 'a non-negative integer',
};
const sysrqKeys: FieldSpec = {
  check: (v) => typeof v === 'string' && SYSRQ_KEYS_RE.test(v),
  expected: `1 to ${SYSRQ_KEYS_MAX_LENGTH} characters from [0-9a-z]`,
};

const CLIENT_FIELDS: { readonly [K in ClientControlType]: Readonly<Record<string, FieldSpec>> } = {
  break: {},
  sysrq: { keys: sysrqKeys },
  takeover: {},
  ping: {},
};

const SERVER_FIELDS: { readonly [K in ServerControlType]: Readonly<Record<string, FieldSpec>> } = {
  hello: { sessionId: nonEmptyString, mode: oneOf(SESSION_MODES), offset: offsetField },
  lease: { holder: { check: (v) => v === null || nonEmptyString.check(v), expected: 'a non-empty string or null' }, mode: oneOf(SESSION_MODES) },
  device: { state: oneOf(DEVICE_STATES) },
  error: { code: nonEmptyString, message: anyString },
  pong: {},
  notice: { code: nonEmptyString, message: anyString, secondsLeft: { ...offsetField, optional: true } },
};

/** Quotes client-supplied text for an error message, cut short so it cannot bloat the reply. */
function quote(s: string): string {
  const max = 40;
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

function fail(code: ControlParseErrorCode, message: string): { ok: false; code: ControlParseErrorCode; message: string } {
  return { ok: false, code, message };
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function parseWith<M>(
  text: unknown,
  specs: Readonly<Record<string, Readonly<Record<string, FieldSpec>>>>,
  allowExtraFields: boolean,
): ControlParseResult<M> {
  if (typeof text !== 'string') return fail('MalformedControl', 'control message must be text');
  if (text.length > MAX_CONTROL_TEXT_LENGTH) {
    return fail('MalformedControl', `control message longer than ${MAX_CONTROL_TEXT_LENGTH} characters`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Expected for hostile or broken input; reported as a result, never thrown.
    return fail('MalformedControl', 'control message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('MalformedControl', 'control message must be a JSON object');
  }
  const obj = value as Record<string, unknown>;
  if (!hasOwn(obj, 'type')) return fail('InvalidControl', 'control message has no "type"');
  const type = obj['type'];
  if (typeof type !== 'string') return fail('InvalidControl', '"type" must be a string');
  if (!hasOwn(specs, type)) return fail('UnknownControl', `unknown control message type ${quote(type)}`);
  const fields = specs[type] ?? {};
  const msg: Record<string, unknown> = { type };
  for (const [name, spec] of Object.entries(fields)) {
    if (!hasOwn(obj, name)) {
      if (spec.optional) continue;
      return fail('InvalidControl', `${type}: missing field "${name}"`);
    }
    const v = obj[name];
    if (!spec.check(v)) return fail('InvalidControl', `${type}: "${name}" must be ${spec.expected}`);
    msg[name] = v;
  }
  if (!allowExtraFields) {
    for (const key of Object.keys(obj)) {
      if (key !== 'type' && !hasOwn(fields, key)) return fail('InvalidControl', `${type}: unexpected field ${quote(key)}`);
    }
  }
  return { ok: true, msg: msg as M };
}

/**
 * Validates one client control text frame. Never throws: bad JSON, non-objects, unknown types,
 * missing, extra or ill-typed fields and texts over {@link MAX_CONTROL_TEXT_LENGTH} come back as
 * `{ok:false, code, message}`; the message is safe to send back to that client.
 * The returned `msg` is a fresh object holding only the schema's fields.
 */
export function parseClientControl(text: string): ControlParseResult<ClientControlMessage> {
  return parseWith<ClientControlMessage>(text, CLIENT_FIELDS, false);
}

/**
 * Validates one server control text frame (for clients such as the web UI). Never throws.
 * Unlike {@link parseClientControl} it ignores unknown extra fields, so an older client keeps
 * working when a newer server adds one; unknown types still fail with `UnknownControl`.
 */
export function parseServerControl(text: string): ControlParseResult<ServerControlMessage> {
  return parseWith<ServerControlMessage>(text, SERVER_FIELDS, true);
}

/** The `{type:"error"}` answer to a failed parse. */
export function controlErrorMessage(result: { readonly code: ControlParseErrorCode; readonly message: string }): ErrorMessage {
  return { type: 'error', code: result.code, message: result.message };
}

/** Whether `keys` is a valid SysRq key sequence (shared by the WebSocket and REST paths). */
export function isValidSysrqKeys(keys: unknown): keys is string {
  return sysrqKeys.check(keys);
}
