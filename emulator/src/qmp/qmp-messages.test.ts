// Unit tests for parseQmpMessage / serializeQmpCommand (pure).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseQmpMessage, serializeQmpCommand, MAX_LINE_EXCERPT } from './qmp-messages.js';
import { QmpError, QmpProtocolError } from './qmp-errors.js';

// Verbatim from QEMU 7.2 on this machine.
const GREETING =
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}';

describe('parseQmpMessage', () => {
  it('parses a greeting', () => {
    assert.deepEqual(parseQmpMessage(GREETING), {
      kind: 'greeting',
      version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' },
      capabilities: ['oob'],
    });
  });

  it('parses a return with and without id; the id may be any JSON value', () => {
    assert.deepEqual(parseQmpMessage('{"return": {"status": "prelaunch", "running": false}, "id": "ttygate#00002"}'), {
      kind: 'return',
      return: { status: 'prelaunch', running: false },
      id: 'ttygate#00002',
    });
    const noId = parseQmpMessage('{"return": {}}');
    assert.deepEqual(noId, { kind: 'return', return: {} });
    assert.equal('id' in noId, false);
    assert.deepEqual(parseQmpMessage('{"return": [], "id": {"x": [1]}}'), { kind: 'return', return: [], id: { x: [1] } });
  });

  it('parses an error reply', () => {
    assert.deepEqual(
      parseQmpMessage('{"id": "a", "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}'),
      { kind: 'error', error: { class: 'CommandNotFound', desc: 'The command nope has not been found' }, id: 'a' },
    );
  });

  it('parses events with and without data', () => {
    assert.deepEqual(parseQmpMessage('{"timestamp": {"seconds": 1795646031, "microseconds": 260006}, "event": "STOP"}'), {
      kind: 'event',
      event: 'STOP',
      timestamp: { seconds: 1795646031, microseconds: 260006 },
    });
    assert.deepEqual(
      parseQmpMessage(
        '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}',
      ),
      {
        kind: 'event',
        event: 'SHUTDOWN',
        data: { guest: false, reason: 'host-qmp-quit' },
        timestamp: { seconds: 1, microseconds: 2 },
      },
    );
  });

  it('ignores unknown extra keys, as the QMP spec asks', () => {
    assert.deepEqual(parseQmpMessage('{"return": 5, "future": true}'), { kind: 'return', return: 5 });
  });

  it('throws QmpProtocolError with the line for malformed JSON', () => {
    assert.throws(
      () => parseQmpMessage('{"return": '),
      (err: unknown) =>
        err instanceof QmpProtocolError &&
        err instanceof QmpError &&
        err.code === 'QMP_ERR_PROTOCOL' &&
        err.message.includes('{"return": ') &&
        err.line === '{"return": ' &&
        err.cause instanceof SyntaxError,
    );
  });

  it('truncates a long offending line in the message', () => {
    const line = `{"junk": "${'x'.repeat(5000)}"`;
    assert.throws(
      () => parseQmpMessage(line),
      (err: unknown) =>
        err instanceof QmpProtocolError && err.message.length < MAX_LINE_EXCERPT + 100 && err.message.includes('5011 chars'),
    );
  });

  for (const [label, line] of [
    ['unknown shape', '{"hello": "world"}'],
    ['an array', '[1, 2]'],
    ['a bare string', '"return"'],
    ['null', 'null'],
    ['two shapes at once', '{"return": {}, "error": {"class": "X", "desc": "y"}}'],
    ['an error without desc', '{"error": {"class": "GenericError"}}'],
    ['an event without timestamp', '{"event": "STOP"}'],
    ['an event with non-object data', '{"event": "STOP", "data": 3, "timestamp": {"seconds": 1, "microseconds": 0}}'],
    ['a greeting without version', '{"QMP": {"capabilities": []}}'],
    ['a greeting with string version numbers', '{"QMP": {"version": {"qemu": {"major": "7", "minor": 2, "micro": 0}, "package": ""}, "capabilities": []}}'],
    ['a greeting without capabilities', '{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""}}}'],
  ] as const) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseQmpMessage(line), (err: unknown) => err instanceof QmpProtocolError && err.message.includes(line));
    });
  }
});

describe('serializeQmpCommand', () => {
  it('writes one JSON line, arguments only when given', () => {
    assert.equal(serializeQmpCommand({ execute: 'cont', id: 'ttygate#00001' }), '{"execute":"cont","id":"ttygate#00001"}\n');
    const line = serializeQmpCommand({ execute: 'screendump', arguments: { filename: '/tmp/a.png' }, id: 'i' });
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(JSON.parse(line), { execute: 'screendump', arguments: { filename: '/tmp/a.png' }, id: 'i' });
  });
});
