import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeTelnetData, IAC_BREAK, sysrqSequence, TelnetNegotiationStripper } from './telnet-codec.js';

const QEMU_OPENING = [0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00];
const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

describe('escapeTelnetData', () => {
  it('doubles every 0xff', () => {
    assert.deepEqual(escapeTelnetData(bytes(1, 0xff, 2, 0xff, 0xff)), bytes(1, 0xff, 0xff, 2, 0xff, 0xff, 0xff, 0xff));
  });
  it('returns data without 0xff unchanged (same buffer, no copy)', () => {
    const d = text('login\r');
    assert.equal(escapeTelnetData(d), d);
  });
  it('handles empty input', () => {
    assert.deepEqual(escapeTelnetData(bytes()), bytes());
  });
});

describe('IAC_BREAK', () => {
  it('is IAC BRK', () => assert.deepEqual(IAC_BREAK, bytes(0xff, 0xf3)));
});

describe('TelnetNegotiationStripper', () => {
  it("strips QEMU's opening negotiation in one chunk", () => {
    const s = new TelnetNegotiationStripper();
    assert.deepEqual(s.push(bytes(...QEMU_OPENING, ...text('Linux version'))), text('Linux version'));
    assert.equal(s.passthrough, true);
  });
  it('strips it when split byte by byte', () => {
    const s = new TelnetNegotiationStripper();
    for (const b of QEMU_OPENING) assert.deepEqual(s.push(bytes(b)), bytes());
    assert.equal(s.passthrough, false);
    assert.deepEqual(s.push(text('ok')), text('ok'));
  });
  it('passes later 0xff bytes through untouched (QEMU does not escape guest output)', () => {
    const s = new TelnetNegotiationStripper();
    s.push(bytes(...QEMU_OPENING, 0x41));
    assert.deepEqual(s.push(bytes(0xff, 0xfb, 0x01, 0xff)), bytes(0xff, 0xfb, 0x01, 0xff));
  });
  it('passes everything through when no negotiation comes first', () => {
    const s = new TelnetNegotiationStripper();
    assert.deepEqual(s.push(text('abc')), text('abc'));
  });
  it('skips subnegotiation and two-byte commands', () => {
    const s = new TelnetNegotiationStripper();
    assert.deepEqual(s.push(bytes(0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0, 0xff, 0xf1, 0x42)), bytes(0x42));
  });
  it('treats IAC IAC at the start as one data byte 0xff', () => {
    const s = new TelnetNegotiationStripper();
    assert.deepEqual(s.push(bytes(0xff, 0xff, 0x43)), bytes(0xff, 0x43));
  });
});

describe('sysrqSequence', () => {
  it('sends one BREAK before each key', () => {
    assert.deepEqual(sysrqSequence('reisub').length, 6);
    assert.deepEqual(sysrqSequence('h'), [bytes(0xff, 0xf3, 0x68)]);
    assert.deepEqual(sysrqSequence('sb')[1], bytes(0xff, 0xf3, 0x62));
  });
  it('rejects keys outside 0-9a-z and empty input', () => {
    assert.throws(() => sysrqSequence(''), RangeError);
    assert.throws(() => sysrqSequence('H'), /invalid SysRq keys/);
    assert.throws(() => sysrqSequence('h\r'), /invalid SysRq keys/);
  });
});
