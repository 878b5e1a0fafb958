// Tests for control-message parsing (client and server side), error codes and JSON schemas.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CLIENT_CONTROL_TYPES,
  type ControlParseResult,
  ErrorCode,
  MAX_CONTROL_TEXT_LENGTH,
  SERVER_CONTROL_TYPES,
  SYSRQ_KEYS_PATTERN,
  clientControlSchema,
  clientControlSchemas,
  controlErrorMessage,
  isValidSysrqKeys,
  parseClientControl,
  parseServerControl,
  serverControlSchema,
  serverControlSchemas,
} from './control.js';

function expectOk<M>(r: ControlParseResult<M>): M {
  assert.equal(r.ok, true, `expected ok, got ${JSON.stringify(r)}`);
  if (!r.ok) throw new Error('unreachable');
  return r.msg;
}

function expectCode<M>(r: ControlParseResult<M>, code: string): void {
  assert.equal(r.ok, false, `expected failure, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.code, code);
  assert.equal(typeof r.message, 'string');
  assert.ok(r.message.length > 0);
}

describe('ErrorCode', () => {
  test('each constant equals its own name (stable wire values)', () => {
    for (const [k, v] of Object.entries(ErrorCode)) assert.equal(v, k);
  });

  test('includes the three parse failure codes', () => {
    assert.deepEqual([ErrorCode.MalformedControl, ErrorCode.UnknownControl, ErrorCode.InvalidControl], ['MalformedControl', 'UnknownControl', 'InvalidControl']);
  });
});

describe('parseClientControl: valid messages', () => {
  test('break', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"break"}')), { type: 'break' });
  });

  test('takeover', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"takeover"}')), { type: 'takeover' });
  });

  test('ping', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"ping"}')), { type: 'ping' });
  });

  test('sysrq with one key', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"sysrq","keys":"h"}')), { type: 'sysrq', keys: 'h' });
  });

  test('sysrq with a sequence', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"sysrq","keys":"reisub"}')), { type: 'sysrq', keys: 'reisub' });
  });

  test('sysrq with digits (log levels)', () => {
    assert.deepEqual(expectOk(parseClientControl('{"type":"sysrq","keys":"9"}')), { type: 'sysrq', keys: '9' });
  });

  test('sysrq with exactly 32 keys', () => {
    const keys = 'a'.repeat(32);
    assert.deepEqual(expectOk(parseClientControl(JSON.stringify({ type: 'sysrq', keys }))), { type: 'sysrq', keys });
  });

  test('field order does not matter', () => {
    assert.deepEqual(expectOk(parseClientControl('{"keys":"s","type":"sysrq"}')), { type: 'sysrq', keys: 's' });
  });

  test('surrounding whitespace is accepted', () => {
    assert.deepEqual(expectOk(parseClientControl(' \n{"type":"ping"}\t')), { type: 'ping' });
  });

  test('a text of exactly the maximum length is accepted', () => {
    const text = '{"type":"ping"}'.padEnd(MAX_CONTROL_TEXT_LENGTH, ' ');
    assert.equal(text.length, MAX_CONTROL_TEXT_LENGTH);
    expectOk(parseClientControl(text));
  });

  test('returns a fresh object, not the parsed one', () => {
    const msg = expectOk(parseClientControl('{"type":"sysrq","keys":"b"}'));
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    assert.deepEqual(Object.keys(msg), ['type', 'keys']);
  });

  test('every client type listed in CLIENT_CONTROL_TYPES parses', () => {
    for (const type of CLIENT_CONTROL_TYPES) {
      const text = type === 'sysrq' ? '{"type":"sysrq","keys":"h"}' : JSON.stringify({ type });
      assert.equal(expectOk(parseClientControl(text)).type, type);
    }
  });
});

describe('parseClientControl: MalformedControl', () => {
  for (const [name, text] of [
    ['empty text', ''],
    ['whitespace only', '   '],
    ['not JSON', 'break'],
    ['truncated JSON', '{"type":"break"'],
    ['trailing garbage', '{"type":"break"} x'],
    ['two objects', '{"type":"break"}{"type":"ping"}'],
    ['single quotes', "{'type':'break'}"],
    ['a JSON array', '[{"type":"break"}]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"break"'],
    ['JSON true', 'true'],
  ] as const) {
    test(name, () => expectCode(parseClientControl(text), 'MalformedControl'));
  }

  test('a text one character over the maximum', () => {
    const text = '{"type":"ping"}'.padEnd(MAX_CONTROL_TEXT_LENGTH + 1, ' ');
    expectCode(parseClientControl(text), 'MalformedControl');
  });

  test('a huge text is rejected without parsing', () => {
    expectCode(parseClientControl(`{"type":"ping","x":"${'a'.repeat(1_000_000)}"}`), 'MalformedControl');
  });

  test('a non-string argument does not throw', () => {
    expectCode(parseClientControl(undefined as unknown as string), 'MalformedControl');
    expectCode(parseClientControl({ type: 'ping' } as unknown as string), 'MalformedControl');
  });

  test('deeply nested JSON within the limit does not throw', () => {
    const text = '['.repeat(2000) + ']'.repeat(2000);
    expectCode(parseClientControl(text), 'MalformedControl');
  });
});

describe('parseClientControl: UnknownControl', () => {
  for (const type of ['resize', 'BREAK', 'Ping', '', 'hello', 'pong', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    test(`type ${JSON.stringify(type)}`, () => expectCode(parseClientControl(JSON.stringify({ type })), 'UnknownControl'));
  }

  test('the message quotes the type, cut short', () => {
    const r = parseClientControl(JSON.stringify({ type: 'x'.repeat(500) }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.message.length < 120, r.message);
  });
});

describe('parseClientControl: InvalidControl', () => {
  for (const [name, text] of [
    ['missing type', '{}'],
    ['type is a number', '{"type":1}'],
    ['type is null', '{"type":null}'],
    ['type is an array', '{"type":["ping"]}'],
    ['sysrq without keys', '{"type":"sysrq"}'],
    ['sysrq with empty keys', '{"type":"sysrq","keys":""}'],
    ['sysrq with 33 keys', JSON.stringify({ type: 'sysrq', keys: 'a'.repeat(33) })],
    ['sysrq with an uppercase key', '{"type":"sysrq","keys":"REISUB"}'],
    ['sysrq with a space', '{"type":"sysrq","keys":"r e"}'],
    ['sysrq with punctuation', '{"type":"sysrq","keys":"h!"}'],
    ['sysrq with a newline', '{"type":"sysrq","keys":"h\\n"}'],
    ['sysrq with a non-ASCII letter', '{"type":"sysrq","keys":"é"}'],
    ['sysrq with numeric keys', '{"type":"sysrq","keys":5}'],
    ['sysrq with keys null', '{"type":"sysrq","keys":null}'],
    ['sysrq with keys as an array', '{"type":"sysrq","keys":["h"]}'],
    ['break with an extra field', '{"type":"break","duration":250}'],
    ['ping with an extra field', '{"type":"ping","id":1}'],
    ['takeover with an extra field', '{"type":"takeover","force":true}'],
    ['sysrq with an extra field', '{"type":"sysrq","keys":"h","delay":1}'],
    ['a __proto__ field', '{"type":"ping","__proto__":{"x":1}}'],
  ] as const) {
    test(name, () => expectCode(parseClientControl(text), 'InvalidControl'));
  }

  test('the message names the offending field', () => {
    const r = parseClientControl('{"type":"break","duration":250}');
    assert.ok(!r.ok && r.message.includes('duration'), JSON.stringify(r));
  });

  test('the message says what keys must look like', () => {
    const r = parseClientControl('{"type":"sysrq","keys":"?"}');
    assert.ok(!r.ok && r.message.includes('[0-9a-z]'), JSON.stringify(r));
  });
});

describe('parseServerControl', () => {
  test('hello', () => {
    const msg = { type: 'hello', sessionId: 's1', mode: 'write', offset: 2 ** 33 };
    assert.deepEqual(expectOk(parseServerControl(JSON.stringify(msg))), msg);
  });

  test('lease', () => {
    const msg = { type: 'lease', holder: 's2', mode: 'read' };
    assert.deepEqual(expectOk(parseServerControl(JSON.stringify(msg))), msg);
  });

  test('device', () => {
    assert.deepEqual(expectOk(parseServerControl('{"type":"device","state":"rebooting"}')), { type: 'device', state: 'rebooting' });
  });

  test('error', () => {
    const msg = { type: 'error', code: 'SlowConsumer', message: 'viewer too slow' };
    assert.deepEqual(expectOk(parseServerControl(JSON.stringify(msg))), msg);
  });

  test('pong', () => {
    assert.deepEqual(expectOk(parseServerControl('{"type":"pong"}')), { type: 'pong' });
  });

  test('ignores and drops extra fields from a newer server', () => {
    assert.deepEqual(expectOk(parseServerControl('{"type":"pong","rttHint":3}')), { type: 'pong' });
  });

  test('an unknown server type is UnknownControl', () => {
    expectCode(parseServerControl('{"type":"resize"}'), 'UnknownControl');
  });

  test('a client type is not a server message', () => {
    expectCode(parseServerControl('{"type":"ping"}'), 'UnknownControl');
  });

  test('hello with a negative offset is invalid', () => {
    expectCode(parseServerControl('{"type":"hello","sessionId":"s","mode":"read","offset":-1}'), 'InvalidControl');
  });

  test('hello with a fractional offset is invalid', () => {
    expectCode(parseServerControl('{"type":"hello","sessionId":"s","mode":"read","offset":1.5}'), 'InvalidControl');
  });

  test('hello with an unknown mode is invalid', () => {
    expectCode(parseServerControl('{"type":"hello","sessionId":"s","mode":"admin","offset":0}'), 'InvalidControl');
  });

  test('hello with an empty session id is invalid', () => {
    expectCode(parseServerControl('{"type":"hello","sessionId":"","mode":"read","offset":0}'), 'InvalidControl');
  });

  test('device with an unknown state is invalid', () => {
    expectCode(parseServerControl('{"type":"device","state":"exploded"}'), 'InvalidControl');
  });

  test('error without a message is invalid', () => {
    expectCode(parseServerControl('{"type":"error","code":"X"}'), 'InvalidControl');
  });

  test('bad JSON is MalformedControl', () => {
    expectCode(parseServerControl('{'), 'MalformedControl');
  });

  test('every server type listed in SERVER_CONTROL_TYPES has a schema', () => {
    assert.deepEqual(Object.keys(serverControlSchemas).sort(), [...SERVER_CONTROL_TYPES].sort());
  });
});

describe('controlErrorMessage', () => {
  test('turns a parse failure into an error control message', () => {
    const r = parseClientControl('nope');
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(controlErrorMessage(r), { type: 'error', code: 'MalformedControl', message: r.message });
  });
});

describe('isValidSysrqKeys', () => {
  test('accepts reisub', () => assert.equal(isValidSysrqKeys('reisub'), true));
  test('rejects uppercase', () => assert.equal(isValidSysrqKeys('R'), false));
  test('rejects a non-string', () => assert.equal(isValidSysrqKeys(1), false));
});

describe('client JSON schemas', () => {
  test('there is one schema per client type', () => {
    assert.deepEqual(Object.keys(clientControlSchemas).sort(), [...CLIENT_CONTROL_TYPES].sort());
  });

  test('every schema pins its type with const', () => {
    for (const [type, schema] of Object.entries(clientControlSchemas)) assert.deepEqual(schema.properties.type, { const: type });
  });

  test('every schema forbids extra fields, like the validator', () => {
    for (const schema of Object.values(clientControlSchemas)) assert.equal(schema.additionalProperties, false);
  });

  test('every schema requires exactly the fields it declares', () => {
    for (const schema of Object.values(clientControlSchemas)) {
      assert.deepEqual([...schema.required].sort(), Object.keys(schema.properties).sort());
    }
  });

  test('the sysrq pattern is the one the validator uses', () => {
    const re = new RegExp(clientControlSchemas.sysrq.properties.keys.pattern);
    for (const keys of ['h', 'reisub', '0', 'a'.repeat(32), '', 'A', 'a'.repeat(33), 'h!']) {
      assert.equal(re.test(keys), isValidSysrqKeys(keys), keys);
    }
    assert.equal(clientControlSchemas.sysrq.properties.keys.pattern, SYSRQ_KEYS_PATTERN);
  });

  test('the combined schema lists every message schema', () => {
    assert.equal(clientControlSchema.oneOf.length, CLIENT_CONTROL_TYPES.length);
  });

  test('server schemas require exactly their declared fields (notice: secondsLeft is optional)', () => {
    for (const schema of Object.values(serverControlSchemas)) {
      const optional = schema.$id === 'ttygate:control/server/notice' ? ['secondsLeft'] : [];
      assert.deepEqual([...schema.required].sort(), Object.keys(schema.properties).filter((k) => !optional.includes(k)).sort());
    }
    assert.equal(serverControlSchema.oneOf.length, SERVER_CONTROL_TYPES.length);
  });

  test('schemas are plain JSON (survive a JSON round trip)', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(clientControlSchema)), clientControlSchema);
    assert.deepEqual(JSON.parse(JSON.stringify(serverControlSchema)), serverControlSchema);
  });
});
