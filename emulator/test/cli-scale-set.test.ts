// `ttygate-emu run --instances 2` end to end: JSON lines, independent guests, SIGTERM cleanup.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ChardevConsole } from '../src/console/chardev-console.js';
import { GuestSession } from './support/guest-session.js';
import { hasQemu, linuxImage, tempStateDir, type GuestFixture } from './support/fixtures.js';

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

describe('ttygate-emu run with a disk image', { skip: hasQemu() ? false : 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' }, () => {
  const state = tempStateDir('clidisk');
  after(() => state.remove());

  it('a guest that prints nothing within --boot-timeout stops with EMU_ERR_BOOT_TIMEOUT and exit code 3', () => {
    const blank = join(state.dir, 'blank.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', blank, '8M']);
    const r = cli(['run', '--image', blank, '--name', 'never', '--state-dir', state.dir, '--boot-timeout', '2']);
    assert.equal(r.status, 3, r.stderr);
    const info = JSON.parse(r.stdout.split('\n')[0]!) as { serial: string; pid: number };
    assert.match(r.stderr, /never: error \[EMU_ERR_BOOT_TIMEOUT\]: no output on the serial console within 2\.0 s; the guest printed nothing/);
    assert.equal(existsSync(info.serial), false, 'sockets removed');
    assert.throws(() => process.kill(info.pid, 0), 'QEMU is gone');
  });

  it('--cloud-init attaches a NoCloud seed with the user and prints the generated password once', () => {
    const blank = join(state.dir, 'cloud.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '8M']);
    const r = cli(['run', '--image', blank, '--name', 'cloud', '--state-dir', state.dir, '--cloud-init', '--user', 'alice', '--boot-timeout', '1']);
    assert.equal(r.status, 3, r.stderr); // a blank disk prints nothing: the boot timeout ends the run
    const m = /cloud-init cloud: user "alice", password (\S+) \(also in (\S+)\)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const creds = JSON.parse(readFileSync(m[2]!, 'utf8')) as { user: string; password: string };
    assert.deepEqual(creds, { user: 'alice', password: m[1] });
    assert.equal(statSync(m[2]!).mode & 0o777, 0o600);
    const seed = join(state.dir, 'cloud', '0', 'seed.iso');
    const userData = execFileSync('isoinfo', ['-i', seed, '-R', '-x', '/user-data'], { encoding: 'utf8' });
    assert.match(userData, /^#cloud-config/);
    assert.match(userData, /- name: "?alice"?\n/);
    assert.match(userData, /\$6\$/, 'a SHA-512 crypt hash');
    assert.ok(!userData.includes(creds.password), 'the seed holds the hash, never the password');
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
      for (const s of sessions) assert.match(s.guest.output, /^\[ *0\.0+\] Linux version \d/);
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
