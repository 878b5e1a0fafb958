// The ttygate CLI: administration on the data directory, serve's config errors, remote commands.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PtyPair, startTestGateway, tempDir, waitFor, type TestGateway } from './support/harness.js';

const CLI = ['--import', 'tsx', new URL('./support/run-cli.ts', import.meta.url).pathname];
const cli = (args: string[], input = '', env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, ...env } });

/** Async variant, for commands that talk to a gateway running in this process. */
function cliAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('ttygate administration commands', () => {
  const tmp = tempDir('cli');
  after(() => tmp.remove());

  it('prints help and rejects unknown commands with exit code 2', () => {
    const h = cli(['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /ttygate serve/);
    const u = cli(['frob']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown command "frob"/);
  });

  it('users add with a password from stdin, tokens create prints only the token, audit verify passes', () => {
    const data = join(tmp.dir, 'data');
    const add = cli(['users', 'add', 'alice', '--role', 'vm-contributor', '--scope', '/groups/lab', '--password-stdin', '--data', data], 'correct horse battery\n');
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stderr, /added user "alice" as vm-contributor on \/groups\/lab/);
    assert.equal(add.stdout, '', 'no password is printed when one was given');
    const tok = cli(['tokens', 'create', 'alice', '--data', data]);
    assert.equal(tok.status, 0, tok.stderr);
    assert.match(tok.stdout, /^ttg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/, 'exactly the token and a newline');
    const gen = cli(['users', 'add', 'bob', '--data', data]);
    assert.equal(gen.status, 0, gen.stderr);
    assert.match(gen.stdout, /^\S{12,}\n$/, 'a generated password, printed once');
    const v = cli(['audit', 'verify', '--data', data]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /ok/i);
  });

  it('serve stops on an invalid config with a message naming the field', () => {
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(file, 'listen: { port: "eighty" }\n');
    const r = cli(['serve', '--config', file, '--data', join(tmp.dir, 'd2')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid configuration: .*bad\.yaml: config\.listen\.port: must be integer/);
  });
});

describe('ttygate remote commands against a running gateway', { concurrency: false }, () => {
  const tmp = tempDir('cli-remote');
  const pty = new PtyPair(tmp.dir);
  let gw: TestGateway;
  let env: Record<string, string>;
  before(async () => {
    await pty.start();
    gw = await startTestGateway(`devices:\n  - { id: b1, kind: serial, path: ${pty.device} }`);
    env = { TTYGATE_URL: gw.url, TTYGATE_TOKEN: await gw.tokenFor('ops', 'vm-contributor'), TTYGATE_FINGERPRINT: gw.fingerprint256 };
    while (gw.devices.get('b1')!.state !== 'connected') await new Promise((r) => setTimeout(r, 20));
  });
  after(async () => {
    await gw?.close();
    await pty.stop();
    tmp.remove();
  });

  it('lists devices and reads logs, trusting the gateway by its pinned fingerprint', async () => {
    await pty.print('hello from b1\r\n');
    const d = await cliAsync(['devices'], env);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /^b1\tserial\t-\tconnected\t0 attached$/m);
    let logs = await cliAsync(['logs', 'b1'], env);
    for (let i = 0; i < 50 && !logs.stdout.includes('hello from b1'); i++) logs = await cliAsync(['logs', 'b1'], env);
    assert.match(logs.stdout, /hello from b1/);
  });

  it('refuses a gateway whose certificate does not match the pin, before sending the token', async () => {
    const user = gw.identity.findUserByName('ops')!;
    const fresh = gw.identity.createToken(user.id, 'pin-test');
    const r = await cliAsync(['devices'], { ...env, TTYGATE_TOKEN: fresh.secret, TTYGATE_FINGERPRINT: 'AA:'.repeat(31) + 'AA' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not the pinned/);
    const info = gw.identity.listTokens(user.id).find((t) => t.id === fresh.id)!;
    assert.equal(info.lastUsedAt, undefined, 'the gateway never received the token');
    // Control: the same token with the right pin is used (so the check above can fail).
    assert.equal((await cliAsync(['devices'], { ...env, TTYGATE_TOKEN: fresh.secret })).status, 0);
    assert.ok(gw.identity.listTokens(user.id).find((t) => t.id === fresh.id)!.lastUsedAt);
  });

  it('connect, in a terminal: replayed history comes without terminal queries (nothing answers them into the device); live ones pass', async (t) => {
    await pty.print('old prompt $ \x1b[6n');
    await waitFor(async () => ((await cliAsync(['logs', 'b1'], env)).stdout.includes('old prompt $ ') ? true : undefined), 10_000, 'the old prompt in the capture');
    // `script` gives the CLI a pseudo-terminal of its own, as a user's terminal would.
    const command = [process.execPath, ...CLI, 'connect', 'b1'].map((a) => `'${a}'`).join(' ');
    const p = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    t.after(() => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    p.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    await waitFor(async () => (out.includes('attached to b1') && out.includes('old prompt $ ') ? true : undefined), 20_000, `the replay: ${JSON.stringify(out)}`);
    await pty.print('live prompt $ \x1b[6n');
    await waitFor(async () => (/live prompt \$ \x1b\[6n/.test(out) ? true : undefined), 10_000, `live output: ${JSON.stringify(out)}`);
    const replayed = out.slice(0, out.indexOf('live prompt'));
    assert.ok(replayed.includes('old prompt $ '), 'the replay is shown');
    assert.ok(!replayed.includes('\x1b[6n'), `no cursor query in the replay: ${JSON.stringify(replayed)}`);
  });

  it('reports a control the device cannot do with its code', async () => {
    const r = await cliAsync(['nmi', 'b1'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nmi: NotSupported: .*NMI/);
  });
});
