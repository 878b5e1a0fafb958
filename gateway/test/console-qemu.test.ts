// A `qemu` device through the gateway: a real guest (TCG) booted by the emulator, driven over wss://.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultImagesDir, readCredentials, resolveImage } from '@ttygate/emulator';
import { startTestGateway, type ConsoleClient, type TestGateway } from './support/harness.js';

async function guestImage(): Promise<{ user: string; password: string } | { skip: string }> {
  try {
    return await readCredentials(await resolveImage(defaultImagesDir(), 'linux'));
  } catch (err) {
    return { skip: `no linux guest image (${(err as Error).message}); make test builds it` };
  }
}
const creds = await guestImage();

describe('a qemu device through the gateway', { skip: 'skip' in creds ? creds.skip : false, concurrency: false }, () => {
  const { user, password } = creds as { user: string; password: string };
  let gw: TestGateway;
  let token: string;
  let c: ConsoleClient;

  before(async () => {
    gw = await startTestGateway('devices:\n  - { id: vm1, kind: qemu, image: linux, group: vms }');
    token = await gw.tokenFor('operator1', 'vm-contributor', '/groups/vms');
    c = await gw.connect('vm1', token);
    await c.untilControl('hello');
    await c.untilText(/login: $/m, 60_000);
  });
  after(async () => {
    c?.close();
    await gw?.close();
  });

  it('replays the boot from the first kernel line (no boot byte lost)', () => {
    assert.match(c.text, /^\[ *0\.0+\] Linux version \d/);
  });

  it('logs in with the password and runs a command', async () => {
    const mark = c.bytes.length;
    c.sendBytes(`${user}\r`);
    await c.untilText('Password: ', 10_000, mark);
    c.sendBytes(`${password}\r`);
    await c.untilText(/\$ /, 10_000, mark); // ash follows its prompt with ESC[6n: no end anchor
    const m2 = c.bytes.length;
    c.sendBytes('echo $((6*7)) $(hostname)\r');
    await c.untilText(/42 vm1/, 10_000, m2);
  });

  it('SysRq h over a WebSocket control message prints the help', async () => {
    const mark = c.bytes.length;
    c.sendControl({ type: 'sysrq', keys: 'h' });
    await c.untilText(/sysrq: HELP/, 10_000, mark);
  });

  it('NMI over REST shows in the guest output and is audited', async () => {
    const mark = c.bytes.length;
    const r = await gw.api('POST', '/api/v1/devices/vm1/nmi', token, {});
    assert.equal(r.status, 200, r.text);
    await c.untilText(/NMI received/, 10_000, mark);
    assert.ok(gw.audit.query({ action: 'device.nmi', target: 'vm1', limit: 5 }).rows.some((row) => row.actor === 'operator1'));
  });

  it('a screenshot is a PNG', async () => {
    const r = await gw.api('GET', '/api/v1/devices/vm1/boot-diagnostics/screenshot', token);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.ok(r.text.startsWith('\uFFFDPNG'));
  });

  it('reset over REST: the stream says rebooting and shows the guest booting again', async () => {
    const mark = c.bytes.length;
    const r = await gw.api('POST', '/api/v1/devices/vm1/power', token, { action: 'reset' });
    assert.equal(r.status, 200, r.text);
    await c.untilControl('device', (m) => m.state === 'rebooting', 10_000);
    await c.untilText(/Linux version \d/, 30_000, mark);
    await c.untilText(/login: $/m, 60_000, mark);
    const log = await gw.api('GET', '/api/v1/devices/vm1/boot-diagnostics/serial-log?tail=200000', token);
    assert.equal(log.text.match(/Linux version \d/g)?.length, 2, 'the capture holds both boots');
  });
});

describe('a qemu scale set through the gateway', { skip: 'skip' in creds ? creds.skip : false, concurrency: false }, () => {
  let gw: TestGateway;
  let token: string;
  before(async () => {
    gw = await startTestGateway('devices:\n  - { id: web-vmss, kind: qemu, image: linux, instances: 2 }');
    token = await gw.tokenFor('vmss-op', 'vm-contributor', '/groups/web-vmss');
  });
  after(() => gw?.close());

  it('lists instances web-vmss/0 and /1 in group web-vmss; each is its own guest', async () => {
    const list = await gw.api('GET', '/api/v1/devices', token);
    assert.deepEqual(
      list.body.devices.map((d: { id: string; group: string }) => [d.id, d.group]),
      [['web-vmss/0', 'web-vmss'], ['web-vmss/1', 'web-vmss']],
    );
    const one = await gw.api('GET', '/api/v1/devices/web-vmss%2F1', token);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.id, 'web-vmss/1');
    const consoles = await Promise.all(['web-vmss/0', 'web-vmss/1'].map((id) => gw.connect(id, token)));
    await Promise.all(consoles.map((c, i) => c.untilText(new RegExp(`web-vmss-${i} login: $`, 'm'), 90_000)));
    for (const c of consoles) c.close();
  });
});
