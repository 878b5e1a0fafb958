// Paste guard (pure): what a paste would send, whether to ask first, and how to pace it.
//
// A serial line has no flow control worth the name: a long paste sent at once overruns the
// guest's UART buffer (16 bytes on a 16550) and its line discipline, and bytes are lost. So a
// paste is sent in small chunks at about the line's speed — never truncated.

/** Bytes per chunk: one short burst the guest's tty can take at once. */
export const PASTE_CHUNK_BYTES = 64;
/** Delay between chunks: 64 bytes at 115200 baud (about 11.5 kB/s) take about 5.6 ms; 10 ms leaves margin. */
export const PASTE_CHUNK_INTERVAL_MS = 10;
/** Pastes up to this size are sent at once (a word, a path, a password). */
export const PASTE_UNPACED_BYTES = 256;

export interface PasteAnalysis {
  /** What the terminal would send: line ends as carriage returns, as a terminal types Enter. */
  readonly data: string;
  readonly bytes: number;
  readonly lines: number;
  /** Any line end: it runs what precedes it (a multi-line paste runs several commands), so ask first. */
  readonly needsConfirmation: boolean;
  readonly paced: boolean;
}

export function analysePaste(text: string, bracketed: boolean): PasteAnalysis {
  const normalised = text.replace(/\r?\n/g, '\r');
  const data = bracketed ? `\x1b[200~${normalised}\x1b[201~` : normalised;
  const bytes = new TextEncoder().encode(data).length;
  const lineEnds = (normalised.match(/\r/g) ?? []).length;
  // "a\rb" is two lines; "a\r" is one line (with its Enter).
  const lines = lineEnds + (normalised.endsWith('\r') || normalised === '' ? 0 : 1);
  return { data, bytes, lines, needsConfirmation: lineEnds > 0, paced: bytes > PASTE_UNPACED_BYTES };
}

/** Splits UTF-8 bytes into chunks of at most `size` bytes without cutting a character. */
export function pasteChunks(data: string, size = PASTE_CHUNK_BYTES): Uint8Array[] {
  const all = new TextEncoder().encode(data);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < all.length) {
    let end = Math.min(at + size, all.length);
    // Back off while the byte at `end` is a UTF-8 continuation byte (10xxxxxx).
    while (end < all.length && end > at + 1 && (all[end]! & 0xc0) === 0x80) end--;
    out.push(all.subarray(at, end));
    at = end;
  }
  return out;
}
