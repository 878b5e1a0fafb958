// CaptureError: the capture's typed error with a stable code.

/** Stable codes of {@link CaptureError}. */
export type CaptureErrorCode =
  /** A write, fsync, segment creation or truncation failed (disk full, I/O error, directory gone); retried with backoff. */
  | 'write-failed'
  /** Queued bytes were dropped because the disk did not keep up; a gap record says how many. */
  | 'data-lost'
  /** Segments could not be deleted by retention. */
  | 'retention-failed'
  /** The store is closed (append after close, read after close). */
  | 'closed'
  /** Another store (this process or another live one) holds the capture directory. */
  | 'locked';

/** Error of the capture; `code` is stable. Root causes are in `cause`. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  /** The device whose capture failed (absent for registry-level errors). */
  readonly deviceId: string | undefined;
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    options?: { cause?: unknown; deviceId?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.deviceId = options?.deviceId;
  }
}
