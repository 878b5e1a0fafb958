import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripTerminalQueries } from './terminal-queries.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('stripTerminalQueries', () => {
  it('removes cursor-position and status reports and device-attributes queries', () => {
    assert.equal(text(stripTerminalQueries(bytes('operator@vm:~$ \x1b[6n'))), 'operator@vm:~$ ');
    assert.equal(text(stripTerminalQueries(bytes('a\x1b[5nb\x1b[cc\x1b[0cd\x1b[>ce\x1b[>0cf\x1b[=cg'))), 'abcdefg');
  });

  it('keeps every other escape sequence and 8-bit byte as it was', () => {
    const s = '\x1b[1;32mgreen\x1b[0m \x1b[2J\x1b[H\x1b[6;1H\xff\x00\x1b[6m';
    const input = bytes(s);
    assert.equal(stripTerminalQueries(input), input, 'the same array: nothing to strip');
    assert.equal(text(stripTerminalQueries(bytes(`${s}\x1b[6n`))), s);
  });
});
