// TelnetStream: a pure Telnet (RFC 854/855/856/858) codec for console servers such as ser2net: IAC state machine, negotiation, escaping.

export const IAC = 0xff;
export const DONT = 0xfe;
export const DO = 0xfd;
export const WONT = 0xfc;
export const WILL = 0xfb;
export const SB = 0xfa;
export const BRK = 0xf3;
export const SE = 0xf0;

/** Options: BINARY (RFC 856) and SUPPRESS-GO-AHEAD (RFC 858) are all a transparent serial link needs. */
export const OPT_BINARY = 0;
export const OPT_ECHO = 1;
export const OPT_SGA = 3;

/** Telnet BREAK: a console server such as ser2net turns it into a serial BREAK on its UART. */
export const TELNET_BREAK: Uint8Array = Uint8Array.of(IAC, BRK);

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/** Per option and side: the RFC 1143 states we need (no queueing: we never change our mind). */
type OptionState = 'no' | 'yes' | 'want-yes';

type ParseState = 'data' | 'iac' | 'will' | 'wont' | 'do' | 'dont' | 'sb' | 'sb-iac';

export interface TelnetReceived {
  /** Data bytes for the user, commands removed and `ff ff` unescaped. */
  data: Uint8Array;
  /** Negotiation answers to send back to the server (empty when none). */
  reply: Uint8Array;
}

/**
 * One telnet connection's codec, both directions. No I/O: feed it what the server sent with
 * `receive` (send back its `reply`), encode what the user types with `encode`.
 *
 * Negotiation: we offer and accept BINARY and SGA on both sides, and refuse every other option
 * (WILL x → DONT x, DO x → WONT x), answering only when an option's state changes, so two
 * peers never loop (RFC 854, RFC 1143). Sub-negotiations are skipped. Until BINARY is agreed
 * in a direction, NVT rules apply there: the server's `CR NUL` arrives as `CR`, and our `CR` not
 * followed by `LF` is sent as `CR NUL`.
 */
export class TelnetStream {
  private state: ParseState = 'data';
  /** The last data byte received was a CR (NVT: a following NUL is padding). */
  private afterCr = false;
  /** Options we perform (our WILL), and options the server performs (its WILL). */
  private readonly local = new Map<number, OptionState>();
  private readonly remote = new Map<number, OptionState>();

  constructor(private readonly accepted: ReadonlySet<number> = new Set([OPT_BINARY, OPT_SGA])) {}

  /** The opening offers to send once connected: WILL and DO for each accepted option. */
  start(): Uint8Array {
    const out: number[] = [];
    for (const opt of this.accepted) {
      if ((this.local.get(opt) ?? 'no') === 'no') {
        this.local.set(opt, 'want-yes');
        out.push(IAC, WILL, opt);
      }
      if ((this.remote.get(opt) ?? 'no') === 'no') {
        this.remote.set(opt, 'want-yes');
        out.push(IAC, DO, opt);
      }
    }
    return Uint8Array.from(out);
  }

  /** Whether BINARY is in effect for what we send (`local`) and for what the server sends (`remote`). */
  get binary(): { local: boolean; remote: boolean } {
    return { local: this.local.get(OPT_BINARY) === 'yes', remote: this.remote.get(OPT_BINARY) === 'yes' };
  }

  /** True while our BINARY offers are unanswered (until then NVT rules apply to CR). */
  get negotiating(): boolean {
    return this.local.get(OPT_BINARY) === 'want-yes' || this.remote.get(OPT_BINARY) === 'want-yes';
  }

  /** Whether an option is in effect on our side or the server's. */
  isEnabled(side: 'local' | 'remote', opt: number): boolean {
    return (side === 'local' ? this.local : this.remote).get(opt) === 'yes';
  }

  /** Parses one chunk from the server; state carries over, so IAC sequences may span chunks. */
  receive(chunk: Uint8Array): TelnetReceived {
    const data = new Uint8Array(chunk.length);
    let n = 0;
    const reply: number[] = [];
    for (const b of chunk) {
      switch (this.state) {
        case 'data':
          if (b === IAC) {
            this.state = 'iac';
          } else if (this.afterCr && b === NUL && !this.binary.remote) {
            this.afterCr = false; // NVT padding after CR
          } else {
            this.afterCr = b === CR;
            data[n++] = b;
          }
          break;
        case 'iac':
          this.state = 'data';
          if (b === IAC) {
            data[n++] = IAC;
            this.afterCr = false;
          } else if (b === WILL) this.state = 'will';
          else if (b === WONT) this.state = 'wont';
          else if (b === DO) this.state = 'do';
          else if (b === DONT) this.state = 'dont';
          else if (b === SB) this.state = 'sb';
          // Any other two-byte command (NOP, DM, GA, BRK, AYT, IP…) carries nothing for a console stream.
          break;
        case 'will':
          this.onWill(b, reply);
          this.state = 'data';
          break;
        case 'wont':
          this.onWont(b, reply);
          this.state = 'data';
          break;
        case 'do':
          this.onDo(b, reply);
          this.state = 'data';
          break;
        case 'dont':
          this.onDont(b, reply);
          this.state = 'data';
          break;
        case 'sb':
          if (b === IAC) this.state = 'sb-iac';
          break;
        case 'sb-iac':
          // IAC SE ends the sub-negotiation; IAC IAC is an escaped 0xff inside it.
          this.state = b === SE ? 'data' : 'sb';
          break;
      }
    }
    return { data: data.subarray(0, n), reply: Uint8Array.from(reply) };
  }

  /** Encodes user bytes: 0xff doubled; NVT `CR` → `CR NUL` while BINARY is off on our side. */
  encode(data: Uint8Array): Uint8Array {
    const nvt = !this.binary.local;
    let extra = 0;
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      if (b === IAC || (nvt && b === CR && data[i + 1] !== LF)) extra++;
    }
    if (extra === 0) return data;
    const out = new Uint8Array(data.length + extra);
    let j = 0;
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      out[j++] = b;
      if (b === IAC) out[j++] = IAC;
      else if (nvt && b === CR && data[i + 1] !== LF) out[j++] = NUL;
    }
    return out;
  }

  // The server offers to perform `opt`.
  private onWill(opt: number, reply: number[]): void {
    const s = this.remote.get(opt) ?? 'no';
    if (!this.accepted.has(opt)) {
      reply.push(IAC, DONT, opt);
      return;
    }
    if (s === 'no') reply.push(IAC, DO, opt);
    this.remote.set(opt, 'yes');
  }

  // The server will not (or no longer) perform `opt`.
  private onWont(opt: number, reply: number[]): void {
    const s = this.remote.get(opt) ?? 'no';
    if (s === 'yes') reply.push(IAC, DONT, opt);
    this.remote.set(opt, 'no');
  }

  // The server asks us to perform `opt`.
  private onDo(opt: number, reply: number[]): void {
    const s = this.local.get(opt) ?? 'no';
    if (!this.accepted.has(opt)) {
      reply.push(IAC, WONT, opt);
      return;
    }
    if (s === 'no') reply.push(IAC, WILL, opt);
    this.local.set(opt, 'yes');
  }

  // The server asks us to stop performing `opt`.
  private onDont(opt: number, reply: number[]): void {
    const s = this.local.get(opt) ?? 'no';
    if (s === 'yes') reply.push(IAC, WONT, opt);
    this.local.set(opt, 'no');
  }
}
