// SqliteDeviceStore: devices created over the REST API, kept in the gateway database.

import type { Db } from '../db/database.js';
import type { DeviceSpec } from '../devices/device-spec.js';
import type { DeviceStore } from './device-manager.js';

export class SqliteDeviceStore implements DeviceStore {
  constructor(private readonly db: Db) {}

  list(): DeviceSpec[] {
    const rows = this.db.prepare('SELECT spec FROM devices ORDER BY created_at, id').all() as Array<{ spec: string }>;
    return rows.map((r) => JSON.parse(r.spec) as DeviceSpec);
  }

  put(spec: DeviceSpec): void {
    this.db
      .prepare('INSERT INTO devices (id, spec, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET spec = excluded.spec')
      .run(spec.id, JSON.stringify(spec), new Date().toISOString());
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM devices WHERE id = ?').run(id);
  }
}
