// Telnet byte handling for QEMU's `telnet=on` socket chardev (pure; no I/O).
//
// What QEMU does (FACTS.md, "Serial paths from QEMU to Node"): on connect it sends its option
// negotiation (`ff fb 01 ff fb 03 ff fb 00 ff fd 00`), then raw guest output WITHOUT escaping 0xff;
// on input it parses IAC, so a data byte 0xff must be sent as `ff ff`, and `ff f3` is a BREAK.
// Hence the decoder strips telnet commands only at the start of the stream and is a pure
// pass-through after the first data byte: decoding IAC mid-stream would corrupt guest output.

export const IAC = 0xff;
export const BRK = 0xf3;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const DONT = 0xfe;

/** The two bytes that make QEMU deliver a serial BREAK to the guest UART. */
export const IAC_BREAK: Uint8Array = Uint8Array.of(IAC, BRK);

/** Escapes data for the telnet chardev: every 0xff becomes `ff ff`. Returns the input when it has none. */
export function escapeTelnetData(data: Uint8Array): Uint8Array {
  let count = 0;
  for (const b of data) if (b === IAC) count++;
  if (count === 0) return data;
  const out = new Uint8Array(data.length + count);
  let j = 0;
  for (const b of data) {
    out[j++] = b;
    if (b === IAC) out[j++] = IAC;
  }
  return out;
}

/**
 * Strips the telnet negotiation QEMU sends when a client connects, across chunk boundaries.
 * Once a data byte has been seen it passes every later byte through untouched.
 */
export class TelnetNegotiationStripper {
  private state: 'start' | 'iac' | 'option' | 'sub' | 'sub-iac' | 'data' = 'start';

  /** True once the opening negotiation is over and bytes pass through unchanged. */
  get passthrough(): boolean {
    return this.state === 'data';
  }

  /** Feeds one chunk; returns the data bytes it holds (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    if (this.state === 'data') return chunk;
    let i = 0;
    for (; i < chunk.length && this.state !== 'data'; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case 'start':
          if (b === IAC) this.state = 'iac';
          else {
            this.state = 'data';
            i--; // re-read this byte as data
          }
          break;
        case 'iac':
          if (b >= WILL && b <= DONT) this.state = 'option';
          else if (b === SB) this.state = 'sub';
          else if (b === IAC) {
            // IAC IAC is an escaped data 0xff: the negotiation is over.
            this.state = 'data';
            return concatData(Uint8Array.of(IAC), chunk.subarray(i + 1));
          } else this.state = 'start'; // two-byte command (NOP, GA, …): skip it
          break;
        case 'option':
          this.state = 'start';
          break;
        case 'sub':
          if (b === IAC) this.state = 'sub-iac';
          break;
        case 'sub-iac':
          this.state = b === SE ? 'start' : 'sub';
          break;
      }
    }
    return chunk.subarray(i);
  }
}

function concatData(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The SysRq keys Linux knows (Documentation/admin-guide/sysrq.rst), lower-case. */
export const SYSRQ_KEYS = /^[0-9a-z]+$/;

/**
 * The byte sequences that send SysRq `keys` over a telnet chardev: one IAC BREAK before each key,
 * because the kernel takes only the first byte after a BREAK as the SysRq command.
 */
export function sysrqSequence(keys: string): Uint8Array[] {
  if (keys.length === 0 || !SYSRQ_KEYS.test(keys)) {
    throw new RangeError(`invalid SysRq keys ${JSON.stringify(keys)}: use one or more of 0-9 and a-z, e.g. "h" or "reisub"`);
  }
  return [...keys].map((k) => Uint8Array.of(IAC, BRK, k.charCodeAt(0)));
}
