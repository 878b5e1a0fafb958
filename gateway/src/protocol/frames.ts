// Splits console WebSocket messages into raw data (binary frames) and control (text frames), both ways.
//
// Shared with the browser: no Node or DOM types here, only ES2022 plus the global TextDecoder.

import {
  type ClientControlMessage,
  type ControlParseErrorCode,
  MAX_CONTROL_TEXT_LENGTH,
  parseClientControl,
  parseServerControl,
  type ServerControlMessage,
} from './control.js';

/** WebSocket close codes the console uses (1000–1015 per RFC 6455, 4000–4999 application). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  /** A frame above the configured maximum (RFC 6455 "message too big"). */
  MessageTooBig: 1009,
  /** Ended by policy: an administrator ended the session, or the device was removed. */
  PolicyViolation: 1008,
  InternalError: 1011,
  /** The principal lost access (role revoked, user disabled, token revoked, logged out); mirrors HTTP 403. */
  AccessRevoked: 4003,
  /** The viewer could not keep up and was dropped; mirrors HTTP 408's "too slow". */
  SlowConsumer: 4008,
  /** No input from the user for the idle timeout (a warning came 60 s before). */
  IdleTimeout: 4010,
  /** The session reached the maximum session length. */
  MaxSessionLength: 4011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Default of the console endpoint's `replay=BYTES` query parameter (DESIGN.md wire contract). */
export const DEFAULT_REPLAY_BYTES = 65536;

/**
 * Default largest binary (keyboard/paste) frame accepted from a client. A paste of 64 KiB
 * already takes about 6 s to drain at 115200 baud; larger ones are almost certainly not typing.
 */
export const DEFAULT_MAX_BINARY_FRAME_BYTES = 64 * 1024;

/**
 * Largest text frame worth decoding, in bytes: a UTF-16 code unit takes at most 3 UTF-8 bytes,
 * so anything longer cannot be a control message of at most {@link MAX_CONTROL_TEXT_LENGTH}
 * characters and is rejected without decoding.
 */
export const MAX_CONTROL_FRAME_BYTES = MAX_CONTROL_TEXT_LENGTH * 3;

/**
 * The payload of a received WebSocket message as the `ws` library or a browser hands it over:
 * a string (browser text), bytes (`Buffer` is a `Uint8Array`), an `ArrayBuffer`, or the
 * fragment list `ws` produces with `binaryType: 'fragments'`.
 */
export type FramePayload = string | Uint8Array | ArrayBuffer | readonly Uint8Array[];

/** Options of {@link decodeClientFrame}. */
export interface FrameDecodeOptions {
  /** Largest binary frame accepted, in bytes (default {@link DEFAULT_MAX_BINARY_FRAME_BYTES}). */
  maxBinaryFrameBytes?: number;
}

/** Result of decoding one client message. */
export type ClientFrame =
  /** Raw bytes for the device. May be empty. Shares memory with the payload when it was one `Uint8Array`. */
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'control'; readonly msg: ClientControlMessage }
  /** A bad text frame: answer with `{type:"error", code, message}` and keep the session. */
  | { readonly kind: 'invalid'; readonly code: ControlParseErrorCode; readonly message: string }
  /** A binary frame over the limit: close with {@link CloseCode.MessageTooBig}. */
  | { readonly kind: 'tooLarge'; readonly size: number; readonly limit: number };

/** Result of decoding one server message (client side). */
export type ServerFrame =
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'control'; readonly msg: ServerControlMessage }
  | { readonly kind: 'invalid'; readonly code: ControlParseErrorCode; readonly message: string };

interface Utf8Decoder {
  decode(input: Uint8Array): string;
}
// Reached through globalThis so this file needs neither DOM nor Node type declarations.
const TextDecoderCtor = (globalThis as unknown as {
  TextDecoder: new (label: string, options: { fatal: boolean }) => Utf8Decoder;
}).TextDecoder;
const utf8 = new TextDecoderCtor('utf-8', { fatal: true });

function byteLength(payload: Exclude<FramePayload, string>): number {
  if (payload instanceof ArrayBuffer) return payload.byteLength;
  if (payload instanceof Uint8Array) return payload.length;
  let n = 0;
  for (const part of payload) n += part.length;
  return n;
}

function toBytes(payload: Exclude<FramePayload, string>): Uint8Array {
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (payload instanceof Uint8Array) return payload;
  if (payload.length === 1 && payload[0] !== undefined) return payload[0];
  const out = new Uint8Array(byteLength(payload));
  let at = 0;
  for (const part of payload) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

type TextOutcome = { ok: true; text: string } | { ok: false; code: 'MalformedControl'; message: string };

function toText(payload: FramePayload): TextOutcome {
  if (typeof payload === 'string') return { ok: true, text: payload };
  if (byteLength(payload) > MAX_CONTROL_FRAME_BYTES) {
    return { ok: false, code: 'MalformedControl', message: `control message longer than ${MAX_CONTROL_TEXT_LENGTH} characters` };
  }
  try {
    return { ok: true, text: utf8.decode(toBytes(payload)) };
  } catch {
    // A fatal decoder throws on invalid UTF-8; that is a malformed frame, reported, not thrown.
    return { ok: false, code: 'MalformedControl', message: 'control message is not valid UTF-8' };
  }
}

/**
 * Decodes one message received by the server. Never throws.
 * `isBinary` is the WebSocket frame type; a string payload is always treated as text.
 */
export function decodeClientFrame(payload: FramePayload, isBinary: boolean, options: FrameDecodeOptions = {}): ClientFrame {
  const limit = options.maxBinaryFrameBytes ?? DEFAULT_MAX_BINARY_FRAME_BYTES;
  if (isBinary && typeof payload !== 'string') {
    const size = byteLength(payload);
    if (size > limit) return { kind: 'tooLarge', size, limit };
    return { kind: 'data', bytes: toBytes(payload) };
  }
  const text = toText(payload);
  if (!text.ok) return { kind: 'invalid', code: text.code, message: text.message };
  const parsed = parseClientControl(text.text);
  return parsed.ok ? { kind: 'control', msg: parsed.msg } : { kind: 'invalid', code: parsed.code, message: parsed.message };
}

/** Decodes one message received by a client (the web UI, the CLI). Never throws. */
export function decodeServerFrame(payload: FramePayload, isBinary: boolean): ServerFrame {
  if (isBinary && typeof payload !== 'string') return { kind: 'data', bytes: toBytes(payload) };
  const text = toText(payload);
  if (!text.ok) return { kind: 'invalid', code: text.code, message: text.message };
  const parsed = parseServerControl(text.text);
  return parsed.ok ? { kind: 'control', msg: parsed.msg } : { kind: 'invalid', code: parsed.code, message: parsed.message };
}

/** The text frame for a control message (either direction). */
export function encodeControl(msg: ServerControlMessage | ClientControlMessage): string {
  return JSON.stringify(msg);
}
