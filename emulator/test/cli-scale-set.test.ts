// `ttygate-emu run --instances 2` end to end: JSON lines, independent guests, SIGTERM cleanup.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ChardevConsole } from '../src/console/chardev-console.js';
import { GuestSession } from './support/guest-session.js';
import { linuxImage, tempStateDir, type GuestFixture } from './support/fixtures.js';

const fixture = await linuxImage();
const skip = 'skip' in fixture ? fixture.skip : false;
const CLI = ['--import', 'tsx', new URL('./support/run-cli.ts', import.meta.url).pathname];

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
}

describe('ttygate-emu CLI', () => {
  it('prints help for every command and exits 0', () => {
    for (const args of [['--help'], ['run', '--help'], ['image', 'build', '--help'], ['console', '--help']]) {
      const r = cli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /ttygate-emu/);
    }
  });

  it('rejects bad options with a message and exit code 2', () => {
    const r = cli(['run', '--image', 'linux', '--name', 'x', '--serial-ports', '3']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--serial-ports must be a whole number from 1 to 2, not "3"/);
    const r2 = cli(['run', '--name', 'x']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /--image is required/);
    const r3 = cli(['frobnicate']);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /unknown command "frobnicate"/);
  });

  it('says how to build the image when it is missing', () => {
    const state = tempStateDir('cli');
    try {
      const r = cli(['run', '--image', 'linux', '--name', 'x', '--images', state.dir, '--state-dir', state.dir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /ttygate-emu image build linux/);
    } finally {
      state.remove();
    }
  });
});

describe('ttygate-emu run --instances 2 (a scale set)', { skip }, () => {
  const { user, password } = fixture as GuestFixture;
  const state = tempStateDir('vmss');
  after(() => state.remove());

  it('boots two instances that each log in independently, and SIGTERM removes their sockets', async () => {
    const child = spawn(process.execPath, [...CLI, 'run', '--image', 'linux', '--name', 'vmss', '--instances', '2', '--state-dir', state.dir, '--wait-for-console'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const infos: Array<Record<string, unknown>> = [];
      for await (const line of lines) {
        infos.push(JSON.parse(line) as Record<string, unknown>);
        if (infos.length === 2) break;
      }
      assert.deepEqual(infos.map((i) => [i.name, i.instance]), [['vmss', 0], ['vmss', 1]]);
      for (const i of infos) {
        assert.deepEqual(Object.keys(i).sort(), ['accel', 'instance', 'name', 'pid', 'qmp', 'serial', 'serialLog']);
        assert.equal(i.accel, 'tcg');
      }
      assert.notEqual(infos[0]!.serial, infos[1]!.serial);

      const sessions = await Promise.all(
        infos.map(async (i) => {
          const con = await ChardevConsole.connect(i.serial as string);
          const guest = new GuestSession(con.onData, (s) => con.write(s));
          await guest.login(user, password, 90_000);
          return { con, guest, hostname: (await guest.run('hostname')).trim() };
        }),
      );
      assert.deepEqual(sessions.map((s) => s.hostname), ['vmss-0', 'vmss-1']);
      // Each saw its own boot from the first byte (wait-for-console held it paused until we came).
      for (const s of sessions) assert.match(s.guest.output, /^Linux version \d/);
      await Promise.all(sessions.map((s) => s.con.close()));

      child.kill('SIGTERM');
      assert.equal(await exited, 143, stderr);
      for (const i of infos) {
        assert.equal(existsSync(i.serial as string), false, 'serial socket removed');
        assert.equal(existsSync(i.qmp as string), false, 'QMP socket removed');
        assert.throws(() => process.kill(i.pid as number, 0), 'QEMU is gone');
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
