// QMP error hierarchy and its stable code catalogue (modelled on QEMU's python qemu.qmp errors).

/**
 * Stable error codes. Callers switch on `code` (or `instanceof`), never on message text, which
 * may change. The values are part of the public API.
 */
export const QmpErrorCode = {
  /** Could not open the socket (missing, refused, timed out, aborted). */
  CONNECT: 'QMP_ERR_CONNECT',
  /** A method was called in a state that does not allow it. */
  STATE: 'QMP_ERR_STATE',
  /** Greeting or `qmp_capabilities` failed after the socket opened. */
  NEGOTIATION: 'QMP_ERR_NEGOTIATION',
  /** QEMU answered a command with an `error` reply. */
  EXECUTE: 'QMP_ERR_EXECUTE',
  /** The connection ended while a command or event wait was pending. */
  EXEC_INTERRUPTED: 'QMP_ERR_EXEC_INTERRUPTED',
  /** The peer sent something that is not QMP. */
  PROTOCOL: 'QMP_ERR_PROTOCOL',
  /** Our own deadline passed (QEMU under SIGSTOP stalls silently; only a timeout notices). */
  TIMEOUT: 'QMP_ERR_TIMEOUT',
} as const;

export type QmpErrorCode = (typeof QmpErrorCode)[keyof typeof QmpErrorCode];

/** Base class of every error the QMP client raises on purpose. */
export class QmpError extends Error {
  override name = 'QmpError';
  constructor(
    readonly code: QmpErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    // Omit `cause` entirely when there is none, so `'cause' in err` stays meaningful.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * `connect()` could not open the socket. `cause` is the root failure: a Node system error
 * (`code` `ENOENT`, `ECONNREFUSED`…), a {@link QmpTimeoutError}, or the abort reason.
 */
export class ConnectError extends QmpError {
  override name = 'ConnectError';
  constructor(
    message: string,
    /** The socket path we tried. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(QmpErrorCode.CONNECT, message, options);
  }
}

/** A method was called in a state that does not allow it; the message names both. */
export class StateError extends QmpError {
  override name = 'StateError';
  constructor(
    /** The client's state when the call was refused. */
    readonly state: string,
    /** The refused method, e.g. `execute`. */
    readonly method: string,
    /** States in which the method is allowed. */
    readonly allowed: readonly string[],
  ) {
    super(
      QmpErrorCode.STATE,
      `QmpClient.${method}() is not allowed in state '${state}' (allowed: ${allowed.map((s) => `'${s}'`).join(', ')})`,
    );
  }
}

/**
 * The socket opened but the session could not be established: a bad or missing greeting, a
 * failed or unanswered `qmp_capabilities`, or the peer closing meanwhile. `cause` says which.
 */
export class NegotiationError extends QmpError {
  override name = 'NegotiationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(QmpErrorCode.NEGOTIATION, message, options);
  }
}

/** QEMU answered a command with `{"error": {"class", "desc"}}`. */
export class ExecuteError extends QmpError {
  override name = 'ExecuteError';
  constructor(
    /** The command that failed, e.g. `cont`. */
    readonly command: string,
    /** QEMU's error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
    readonly errorClass: string,
    /** QEMU's human-readable description. */
    readonly desc: string,
  ) {
    super(QmpErrorCode.EXECUTE, `QMP command '${command}' failed: ${errorClass}: ${desc}`);
  }
}

/**
 * A pending `execute()` or `waitForEvent()` was cut short because the connection ended, either
 * by `disconnect()` or by the peer (e.g. QEMU exited). `cause` carries the socket or protocol
 * error when there was one. The command may or may not have taken effect in QEMU.
 */
export class ExecInterruptedError extends QmpError {
  override name = 'ExecInterruptedError';
  constructor(
    /** The interrupted command, or `event:NAME[,NAME]` for an event wait. */
    readonly command: string,
    /** Why the connection ended. */
    readonly reason: 'requested' | 'disconnected',
    options?: { cause?: unknown },
  ) {
    const why = reason === 'requested' ? 'disconnect() was called' : 'the connection to QEMU was lost';
    super(QmpErrorCode.EXEC_INTERRUPTED, `'${command}' was interrupted: ${why}`, options);
  }
}

/** The peer sent data that is not valid QMP. `line` is the offending input, truncated. */
export class QmpProtocolError extends QmpError {
  override name = 'QmpProtocolError';
  constructor(
    message: string,
    readonly line?: string,
    options?: { cause?: unknown },
  ) {
    super(QmpErrorCode.PROTOCOL, message, options);
  }
}

/** Our own deadline for `operation` passed after `timeoutMs` milliseconds. */
export class QmpTimeoutError extends QmpError {
  override name = 'QmpTimeoutError';
  constructor(
    /** What timed out, e.g. `execute(query-status)`, `connect`, `waitForEvent(RESUME)`. */
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(QmpErrorCode.TIMEOUT, `${operation} timed out after ${timeoutMs} ms`);
  }
}
