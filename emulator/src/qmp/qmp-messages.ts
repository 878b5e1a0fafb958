// Typed QMP wire messages and a pure parser from one JSON line to a discriminated union.

import { QmpProtocolError } from './qmp-errors.js';

/** The `version` object of the greeting: `{qemu: {major, minor, micro}, package}`. */
export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  /** Distribution build string, e.g. `Debian 1:7.2+dfsg-7+deb12u18+b3`; may be empty. */
  package: string;
}

/** `{"QMP": {"version": …, "capabilities": […]}}`, sent once by QEMU when a client connects. */
export interface QmpGreeting {
  kind: 'greeting';
  version: QmpVersion;
  /** Capabilities QEMU offers, e.g. `["oob"]`; we enable none of them. */
  capabilities: string[];
}

/** `{"return": …, "id"?: …}`: a successful command reply. `id` echoes the command's id. */
export interface QmpReturn {
  kind: 'return';
  return: unknown;
  /** Any JSON value the command carried; absent when the command had none. */
  id?: unknown;
}

/** `{"error": {"class", "desc"}, "id"?: …}`: a failed command reply. */
export interface QmpErrorReply {
  kind: 'error';
  error: { class: string; desc: string };
  /** Absent when QEMU could not read the command at all (e.g. a JSON parse error). */
  id?: unknown;
}

/** `{"event", "data"?, "timestamp": {"seconds", "microseconds"}}`: an asynchronous event. */
export interface QmpEvent {
  kind: 'event';
  /** Event name, e.g. `STOP`, `RESUME`, `RESET`, `SHUTDOWN`, `POWERDOWN`. */
  event: string;
  /** Event payload; QEMU omits it for events without one (e.g. `STOP`, `RESUME`). */
  data?: Record<string, unknown>;
  /** Host wall-clock time of the event (seconds since the epoch + microseconds). */
  timestamp: { seconds: number; microseconds: number };
}

/** Every message a QMP server sends. */
export type QmpMessage = QmpGreeting | QmpReturn | QmpErrorReply | QmpEvent;

/** A command as written on the wire. */
export interface QmpCommand {
  execute: string;
  arguments?: object;
  id?: string;
}

/** Longest excerpt of an offending line put into an error message. */
export const MAX_LINE_EXCERPT = 200;

/** Serialises a command as one line, newline included. */
export function serializeQmpCommand(command: QmpCommand): string {
  return `${JSON.stringify(command)}\n`;
}

/**
 * Parses one line from a QMP server.
 *
 * Unknown extra keys are ignored, as the QMP specification tells clients to do; a message must
 * still match exactly one of the four shapes.
 * @throws {QmpProtocolError} on malformed JSON, a non-object, or an object of no known shape; the
 *   message quotes the line (truncated to {@link MAX_LINE_EXCERPT} characters).
 */
export function parseQmpMessage(line: string): QmpMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new QmpProtocolError(`malformed JSON from QMP peer: ${excerpt(line)}`, excerpt(line), { cause: err });
  }
  if (!isObject(value)) fail('not a JSON object', line);

  const shapes = ['QMP', 'return', 'error', 'event'].filter((k) => k in value);
  if (shapes.length !== 1) {
    fail(shapes.length === 0 ? 'unknown message shape' : `ambiguous message shape (${shapes.join(', ')})`, line);
  }

  if ('QMP' in value) return parseGreeting(value.QMP, line);
  if ('return' in value) {
    const msg: QmpReturn = { kind: 'return', return: value.return };
    if ('id' in value) msg.id = value.id;
    return msg;
  }
  if ('error' in value) {
    const e = value.error;
    if (!isObject(e) || typeof e.class !== 'string' || typeof e.desc !== 'string') {
      fail('error reply without string class and desc', line);
    }
    const msg: QmpErrorReply = { kind: 'error', error: { class: e.class, desc: e.desc } };
    if ('id' in value) msg.id = value.id;
    return msg;
  }
  // Only 'event' is left.
  const { event, data, timestamp } = value;
  if (typeof event !== 'string') fail('event name is not a string', line);
  if (!isObject(timestamp) || !isNumber(timestamp.seconds) || !isNumber(timestamp.microseconds)) {
    fail('event without a numeric timestamp', line);
  }
  if (data !== undefined && !isObject(data)) fail('event data is not an object', line);
  const msg: QmpEvent = {
    kind: 'event',
    event,
    timestamp: { seconds: timestamp.seconds, microseconds: timestamp.microseconds },
  };
  if (data !== undefined) msg.data = data;
  return msg;
}

function parseGreeting(qmp: unknown, line: string): QmpGreeting {
  if (!isObject(qmp)) fail('greeting QMP member is not an object', line);
  const { version, capabilities } = qmp;
  if (!isObject(version) || !isObject(version.qemu)) fail('greeting without version.qemu', line);
  const { major, minor, micro } = version.qemu;
  if (!isNumber(major) || !isNumber(minor) || !isNumber(micro)) fail('greeting version is not numeric', line);
  // QEMU always sends `package` (possibly ""); tolerate its absence rather than refuse a session.
  const pkg = version.package === undefined ? '' : version.package;
  if (typeof pkg !== 'string') fail('greeting version.package is not a string', line);
  if (!Array.isArray(capabilities) || !capabilities.every((c): c is string => typeof c === 'string')) {
    fail('greeting capabilities is not an array of strings', line);
  }
  return { kind: 'greeting', version: { qemu: { major, minor, micro }, package: pkg }, capabilities: [...capabilities] };
}

function fail(what: string, line: string): never {
  throw new QmpProtocolError(`invalid QMP message (${what}): ${excerpt(line)}`, excerpt(line));
}

function excerpt(line: string): string {
  return line.length <= MAX_LINE_EXCERPT ? line : `${line.slice(0, MAX_LINE_EXCERPT)}… (${line.length} chars)`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
