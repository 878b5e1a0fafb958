// Unit tests of the telnet codec: negotiation answers, IAC unescaping, split sequences, NVT CR handling.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRK, DO, DONT, IAC, OPT_BINARY, OPT_ECHO, OPT_SGA, SB, SE, TELNET_BREAK, TelnetStream, WILL, WONT } from './telnet-stream.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const OPT_NAWS = 31;
const OPT_LINEMODE = 34;

describe('TelnetStream', () => {
  it('offers BINARY and SGA both ways at start, once', () => {
    const t = new TelnetStream();
    assert.equal(hex(t.start()), hex(b(IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY, IAC, WILL, OPT_SGA, IAC, DO, OPT_SGA)));
    assert.equal(t.start().length, 0);
  });

  it('acknowledges nothing when the server agrees to our offers (no loop)', () => {
    const t = new TelnetStream();
    t.start();
    const r = t.receive(b(IAC, DO, OPT_BINARY, IAC, WILL, OPT_BINARY, IAC, DO, OPT_SGA, IAC, WILL, OPT_SGA));
    assert.equal(r.reply.length, 0);
    assert.equal(r.data.length, 0);
    assert.deepEqual(t.binary, { local: true, remote: true });
  });

  it('answers ser2net-style opening negotiation: accepts BINARY/SGA, refuses ECHO, LINEMODE, NAWS', () => {
    const t = new TelnetStream();
    const r = t.receive(b(IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA, IAC, DO, OPT_LINEMODE, IAC, DO, OPT_NAWS, IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY));
    assert.equal(hex(r.reply), hex(b(IAC, DONT, OPT_ECHO, IAC, DO, OPT_SGA, IAC, WONT, OPT_LINEMODE, IAC, WONT, OPT_NAWS, IAC, DO, OPT_BINARY, IAC, WILL, OPT_BINARY)));
    assert.equal(t.isEnabled('remote', OPT_SGA), true);
    assert.equal(t.isEnabled('remote', OPT_ECHO), false);
    assert.deepEqual(t.binary, { local: true, remote: true });
    // the same offers again change nothing, so nothing is answered
    assert.equal(t.receive(b(IAC, WILL, OPT_SGA, IAC, DO, OPT_BINARY)).reply.length, 0);
  });

  it('answers WONT/DONT only for an option that was on', () => {
    const t = new TelnetStream();
    t.receive(b(IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY));
    assert.equal(hex(t.receive(b(IAC, WONT, OPT_BINARY, IAC, DONT, OPT_BINARY)).reply), hex(b(IAC, DONT, OPT_BINARY, IAC, WONT, OPT_BINARY)));
    assert.equal(t.receive(b(IAC, WONT, OPT_BINARY, IAC, DONT, OPT_ECHO)).reply.length, 0);
    assert.deepEqual(t.binary, { local: false, remote: false });
  });

  it('a refused offer (WONT after our DO) needs no answer', () => {
    const t = new TelnetStream();
    t.start();
    assert.equal(t.receive(b(IAC, WONT, OPT_BINARY, IAC, DONT, OPT_SGA)).reply.length, 0);
    assert.equal(t.binary.remote, false);
  });

  it('unescapes ff ff in data and keeps 0x00', () => {
    const t = new TelnetStream();
    t.receive(b(IAC, WILL, OPT_BINARY));
    const r = t.receive(b(0x41, IAC, IAC, 0x00, 0x42, IAC, IAC));
    assert.equal(hex(r.data), hex(b(0x41, 0xff, 0x00, 0x42, 0xff)));
  });

  it('handles IAC sequences split across chunks', () => {
    const t = new TelnetStream();
    const chunks = [b(0x61, IAC), b(IAC, 0x62, IAC), b(WILL), b(OPT_ECHO, 0x63, IAC), b(SB, OPT_NAWS, 0, 80, IAC), b(IAC, 0, 24, IAC), b(SE, 0x64)];
    let data = '';
    let reply = '';
    for (const c of chunks) {
      const r = t.receive(c);
      data += hex(r.data);
      reply += hex(r.reply);
    }
    assert.equal(data, hex(b(0x61, 0xff, 0x62, 0x63, 0x64)));
    assert.equal(reply, hex(b(IAC, DONT, OPT_ECHO)));
  });

  it('drops two-byte commands (NOP, GA, BRK, AYT) from the data', () => {
    const t = new TelnetStream();
    assert.equal(hex(t.receive(b(0x31, IAC, 0xf1, 0x32, IAC, 0xf9, IAC, BRK, IAC, 0xf6, 0x33)).data), hex(b(0x31, 0x32, 0x33)));
  });

  it('NVT (no BINARY from the server): CR NUL arrives as CR, CR LF stays, even across chunks', () => {
    const t = new TelnetStream();
    assert.equal(hex(t.receive(b(0x61, 0x0d, 0x00, 0x62, 0x0d, 0x0a)).data), hex(b(0x61, 0x0d, 0x62, 0x0d, 0x0a)));
    assert.equal(hex(t.receive(b(0x0d)).data), '0d');
    assert.equal(hex(t.receive(b(0x00, 0x00)).data), '00');
  });

  it('BINARY from the server: NUL after CR is data', () => {
    const t = new TelnetStream();
    t.receive(b(IAC, WILL, OPT_BINARY));
    assert.equal(hex(t.receive(b(0x0d, 0x00)).data), hex(b(0x0d, 0x00)));
  });

  it('encodes: doubles 0xff; CR alone becomes CR NUL until BINARY is agreed', () => {
    const t = new TelnetStream();
    assert.equal(hex(t.encode(b(0x41, 0xff, 0x0d, 0x0d, 0x0a, 0x00))), hex(b(0x41, 0xff, 0xff, 0x0d, 0x00, 0x0d, 0x0a, 0x00)));
    t.receive(b(IAC, DO, OPT_BINARY));
    assert.equal(hex(t.encode(b(0xff, 0x0d))), hex(b(0xff, 0xff, 0x0d)));
    const plain = b(1, 2, 3);
    assert.equal(t.encode(plain), plain, 'nothing to escape: the same array');
  });

  it('BREAK is IAC BRK', () => {
    assert.equal(hex(TELNET_BREAK), 'fff3');
  });
});
