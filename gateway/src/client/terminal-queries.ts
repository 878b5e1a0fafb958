// Terminal queries in replayed console output (pure): strip them so the local terminal does not answer.
//
// A shell's line editor asks the terminal where the cursor is (`ESC [ 6 n`, busybox ash does after
// every prompt) and the terminal answers on its input (`ESC [ row ; col R`). Replayed history still
// holds those questions; a terminal that answered them now would type `ESC[24;1R` into the device.

/** Device status reports (`ESC[5n`, `ESC[6n`) and device-attributes queries (`ESC[c`, `ESC[0c`, `ESC[>c`, `ESC[=c`…). */
const QUERY = /\x1b\[(?:[56]n|[>=]?0?c)/g;

/** `bytes` without terminal queries; the same array when there are none. */
export function stripTerminalQueries(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!text.includes('\x1b[')) return bytes;
  const stripped = text.replace(QUERY, '');
  return stripped.length === text.length ? bytes : new Uint8Array(Buffer.from(stripped, 'latin1'));
}
