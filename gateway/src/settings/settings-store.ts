// SettingsStore: the runtime settings, persisted in the gateway database over the config file's values.

import type { Db } from '../db/database.js';
import { Emitter, type Event } from '../core/event.js';
import { diffSettings, SETTING_KEYS, withSetting, type RuntimeSettings, type SettingChange, type SettingsPatch } from './runtime-settings.js';

/**
 * The config file gives the defaults; a change made over the API is stored and wins from then on
 * (across restarts), so an owner's "console off" cannot be undone by a restart. Reads are from
 * memory (the console path checks a switch on every attach).
 */
export class SettingsStore {
  private settings: RuntimeSettings;
  private readonly _onChange = new Emitter<readonly SettingChange[]>();
  /** Fires after a committed change, with what changed. */
  readonly onChange: Event<readonly SettingChange[]> = this._onChange.event;

  constructor(
    private readonly db: Db,
    defaults: RuntimeSettings,
    private readonly now: () => Date = () => new Date(),
  ) {
    let s = defaults;
    const rows = db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    for (const row of rows) {
      if (!(SETTING_KEYS as readonly string[]).includes(row.key)) continue;
      try {
        s = withSetting(s, row.key as (typeof SETTING_KEYS)[number], JSON.parse(row.value));
      } catch {
        // A row that is not JSON is ignored; the default stands.
      }
    }
    this.settings = s;
  }

  get current(): RuntimeSettings {
    return this.settings;
  }

  /**
   * Applies a patch in one transaction with `audit` (called with the changes, inside it: if the
   * audit row cannot be written nothing changes). Returns the changes (empty: nothing to do, no audit).
   */
  change(patch: SettingsPatch, actor: string, audit: (changes: readonly SettingChange[]) => void): readonly SettingChange[] {
    const changes = diffSettings(this.settings, patch);
    if (changes.length === 0) return changes;
    this.db
      .transaction(() => {
        const upsert = this.db.prepare(
          'INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by',
        );
        for (const c of changes) upsert.run(c.key, JSON.stringify(c.new), this.now().toISOString(), actor);
        audit(changes);
      })
      .immediate();
    let s = this.settings;
    for (const c of changes) s = withSetting(s, c.key, c.new);
    this.settings = s;
    this._onChange.fire(changes);
    return changes;
  }
}
