// Test helper process for sqlite-audit-log.test.ts: appends audit rows and prints each committed id.
//
// Usage: node --import tsx append-worker.fixture.ts DB_PATH COUNT ACTOR [PACE]
// Prints "ready", waits for a line on stdin (so several workers start together), then appends
// COUNT rows (0: until killed), writing each row's id on its own line only after append returned.
// PACE `tight` (default) appends back to back; `timer` waits one timer tick between appends, as a
// gateway does other work between audit events (back-to-back writers starve each other, because
// SQLite's busy handler sleeps and polls instead of queueing).

import { writeSync } from 'node:fs';
import { openDatabase } from '../db/database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';

const [path, countText, actor, pace = 'tight'] = process.argv.slice(2);
if (!path || !countText || !actor) {
  process.stderr.write('usage: append-worker.fixture.ts DB_PATH COUNT ACTOR [tight|timer]\n');
  process.exit(2);
}
const count = Number(countText);
const db = openDatabase(path);
const log = new SqliteAuditLog(db);

// writeSync on fd 1: the line leaves this process before the next append starts.
writeSync(1, 'ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();

for (let i = 0; count === 0 || i < count; i++) {
  const row = log.append({
    action: 'console.detach',
    actor,
    source: '192.0.2.1',
    target: 'lab-board-1',
    details: { seq: i, bytesIn: i * 7, bytesOut: i * 13, mode: 'write' },
  });
  writeSync(1, `${row.id}\n`);
  if (pace === 'timer') await new Promise((resolve) => setTimeout(resolve, 0));
}
db.close();
