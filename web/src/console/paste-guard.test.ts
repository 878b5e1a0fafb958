import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PASTE_UNPACED_BYTES, analysePaste, pasteChunks } from './paste-guard.js';

describe('analysePaste', () => {
  it('a single word is sent at once without asking', () => {
    const a = analysePaste('uptime', false);
    assert.equal(a.data, 'uptime');
    assert.equal(a.lines, 1);
    assert.equal(a.needsConfirmation, false);
    assert.equal(a.paced, false);
  });
  it('multi-line text asks first and turns line ends into carriage returns', () => {
    const a = analysePaste('echo 1\r\necho 2\n', false);
    assert.equal(a.data, 'echo 1\recho 2\r');
    assert.equal(a.lines, 2);
    assert.equal(a.needsConfirmation, true);
  });
  it('one line with a trailing newline still asks (it would run at once)', () => {
    assert.equal(analysePaste('rm -rf /tmp/x\n', false).needsConfirmation, true);
  });
  it('bracketed paste mode wraps the text', () => {
    assert.equal(analysePaste('a\nb', true).data, '\x1b[200~a\rb\x1b[201~');
  });
  it('long pastes are paced', () => {
    assert.equal(analysePaste('x'.repeat(PASTE_UNPACED_BYTES + 1), false).paced, true);
  });
});

describe('pasteChunks', () => {
  it('keeps every byte, in order, in chunks no larger than asked', () => {
    const text = 'ab€cd'.repeat(100);
    const chunks = pasteChunks(text, 7);
    assert.ok(chunks.every((c) => c.length <= 7 && c.length > 0));
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(joined), text);
    // No chunk starts inside a character.
    assert.ok(chunks.every((c) => (c[0]! & 0xc0) !== 0x80));
  });
});
