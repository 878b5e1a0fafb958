// Tests for SettingsStore over a real SQLite file: defaults, persisted overrides, audit hook, fail closed.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../db/database.js';
import type { RuntimeSettings, SettingChange } from './runtime-settings.js';
import { SettingsStore } from './settings-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const defaults: RuntimeSettings = {
  serialConsole: { enabled: true },
  requireJustification: false,
  console: { idleTimeoutSeconds: 1800, idleWarningSeconds: 60, maxSessionSeconds: 43200 },
};

describe('SettingsStore', () => {
  test('starts from the defaults, and a change survives a reopen (it wins over the config file)', () => {
    const file = join(dir, 'a.db');
    const db = openDatabase(file);
    const store = new SettingsStore(db, defaults);
    assert.deepEqual(store.current, defaults);
    const audited: SettingChange[][] = [];
    const changes = store.change({ serialConsole: { enabled: false }, console: { idleTimeoutSeconds: 600 } }, 'olivia', (c) => audited.push([...c]));
    assert.deepEqual(changes, [
      { key: 'serialConsole.enabled', old: true, new: false },
      { key: 'console.idleTimeoutSeconds', old: 1800, new: 600 },
    ]);
    assert.deepEqual(audited, [changes]);
    db.close();
    const reopened = new SettingsStore(openDatabase(file), defaults);
    assert.deepEqual(reopened.current, { ...defaults, serialConsole: { enabled: false }, console: { ...defaults.console, idleTimeoutSeconds: 600 } });
  });

  test('an unchanged value is no change and is not audited', () => {
    const store = new SettingsStore(openDatabase(join(dir, 'b.db')), defaults);
    let calls = 0;
    assert.deepEqual(store.change({ requireJustification: false }, 'x', () => calls++), []);
    assert.equal(calls, 0);
  });

  test('fail closed: when the audit hook throws, nothing is stored and nothing changes', () => {
    const file = join(dir, 'c.db');
    const store = new SettingsStore(openDatabase(file), defaults);
    assert.throws(() => store.change({ serialConsole: { enabled: false } }, 'x', () => { throw new Error('audit log unwritable'); }), /unwritable/);
    assert.equal(store.current.serialConsole.enabled, true);
    assert.deepEqual(new SettingsStore(openDatabase(file), defaults).current, defaults);
  });

  test('fires onChange after a committed change', () => {
    const store = new SettingsStore(openDatabase(join(dir, 'd.db')), defaults);
    const seen: (readonly SettingChange[])[] = [];
    store.onChange((c) => seen.push(c));
    store.change({ requireJustification: true }, 'x', () => undefined);
    assert.deepEqual(seen, [[{ key: 'requireJustification', old: false, new: true }]]);
  });

  test('a hand-edited row of the wrong type is ignored', () => {
    const db = openDatabase(join(dir, 'e.db'));
    db.prepare("INSERT INTO settings VALUES ('serialConsole.enabled', '\"no\"', 'now', 'x'), ('console.maxSessionSeconds', 'not json', 'now', 'x')").run();
    assert.deepEqual(new SettingsStore(db, defaults).current, defaults);
  });
});
