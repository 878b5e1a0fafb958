// Boot-to-login benchmark of the Linux guest image under TCG: N runs per kernel path, median.
//   node --import tsx bench/boot.ts [RUNS=5]
// Measures from QemuMachine.start() (QEMU spawned paused, console and QMP wired, `cont`) until the
// getty's `login:` prompt on ttyS0. Compare with FACTS.md (2.2–2.5 s vmlinux, 5.0–5.5 s bzImage).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuMachine, defaultImagesDir, resolveImage } from '../emulator/src/index.js';

const runs = Number(process.argv[2] ?? 5);
const image = await resolveImage(defaultImagesDir(), 'linux');
const dir = mkdtempSync(join(tmpdir(), 'tg-bootbench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const kernel of ['vmlinux', 'bzImage'] as const) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const m = await QemuMachine.start({ name: `boot${i}`, stateDir: join(dir, `${kernel}-${i}`), image: { kind: 'linux', image, kernel }, console: 'own' });
      try {
        await m.waitForOutput(/login: $/m, { timeoutMs: 120_000, what: 'login prompt' });
        times.push(Math.round(performance.now() - t0));
      } finally {
        await m.stop();
      }
    }
    console.log(`${kernel}: boot to login: ${times.join(', ')} ms; median ${median(times)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
