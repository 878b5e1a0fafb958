// TLS 1.2 minimum (proved with openssl s_client), plain HTTP refused, and config validation messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { ConfigError, parseConfig } from '../src/config.js';
import { startTestGateway, type TestGateway } from './support/harness.js';


/** Runs `openssl s_client` with stdin closed (it then quits after the handshake). */
function sClient(port: number, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.stdin.end();
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, out });
    });
  });
}

describe('TLS', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw?.close());

  it('refuses TLS 1.1 even from a client that offers it', async () => {
    const r = await sClient(gw.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.equal(r.ok, false, r.out);
    assert.match(r.out, /alert protocol version|no protocols available|unsupported protocol|wrong version number/i);
  });

  it('accepts TLS 1.2 and TLS 1.3', async () => {
    for (const [flag, proto] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
      const r = await sClient(gw.port, [flag]);
      assert.equal(r.ok, true, r.out);
      assert.match(r.out, new RegExp(`Protocol\\s*:\\s*${proto.replace('.', '\\.')}|New, ${proto}`), r.out);
    }
  });

  it('refuses plain HTTP on the same port', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/healthz' }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.end();
    });
    assert.notEqual(outcome, 'status 200');
    assert.match(outcome, /^error|status 400/);
  });

  it('serves /healthz without a token and everything else only with one', async () => {
    assert.equal((await gw.api('GET', '/healthz', undefined)).status, 200);
    const r = await gw.api('GET', '/api/v1/devices', undefined);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'Unauthenticated');
    assert.equal((await gw.api('GET', '/api/v1/devices', 'ttg_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status, 401);
  });

  it('exposes Prometheus metrics to a token holder', async () => {
    const owner = await gw.tokenFor('metrics-owner', 'owner');
    const r = await gw.api('GET', '/metrics', owner);
    assert.equal(r.status, 200);
    assert.match(r.text, /ttygate_device_bytes_received_total|# HELP ttygate_sessions/);
  });
});

describe('config validation', () => {
  const bad = (yaml: string) => {
    try {
      parseConfig(yaml, 'ttygate.yaml', '/tmp');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('expected a ConfigError');
  };
  it('names the field of a wrong type', () => {
    assert.equal(bad('devices:\n  - { id: b1, kind: serial, path: /dev/ttyUSB0, baudRate: fast }'), 'ttygate.yaml: config.devices[0].baudRate: must be integer');
  });
  it('names an unknown field', () => {
    assert.equal(bad('listen: { host: 0.0.0.0, prot: 8443 }'), 'ttygate.yaml: config.listen: unknown field "prot"');
  });
  it('names an unknown device kind', () => {
    assert.match(bad('devices:\n  - { id: b1, kind: modem }'), /config\.devices\[0\]\.kind: must be one of/);
  });
  it('names a missing field', () => {
    assert.equal(bad('devices:\n  - { id: b1, kind: tcp, host: h }'), 'ttygate.yaml: config.devices[0]: missing required field "port"');
  });
  it('refuses duplicate ids and bad YAML', () => {
    assert.match(bad('devices:\n  - { id: a, kind: tcp, host: h, port: 1 }\n  - { id: a, kind: tcp, host: h, port: 2 }'), /duplicate device id "a"/);
    assert.match(bad('devices: [\n'), /not valid YAML/);
  });
  it('fills safe defaults', () => {
    const c = parseConfig('devices: []', 'x.yaml', '/srv');
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8443 });
    assert.equal(c.dataDir, '/srv/data');
    assert.equal(c.serialConsole.enabled, true);
  });
});

describe('the gateway-wide console switch', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway('serialConsole: { enabled: false }\ndevices:\n  - { id: lb, kind: loopback, echo: true }');
  });
  after(() => gw?.close());

  it('refuses attach with ConsoleDisabled when serialConsole.enabled is false', async () => {
    const token = await gw.tokenFor('sw', 'vm-contributor');
    await assert.rejects(gw.connect('lb', token), (e: { status?: number; body?: string }) => e.status === 409 && /ConsoleDisabled.*whole gateway/.test(e.body ?? ''));
  });
});
