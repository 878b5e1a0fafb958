// FakeAzure: local HTTPS fakes of Entra ID, ARM, the serial console service and blob storage, on their own loopback addresses.
//
// Each endpoint family listens on its own 127.0.0.x address (Linux routes all of 127/8 to lo), so
// "which host got the request" is as real as with Azure's separate hosts. One self-signed certificate
// covers them all; tests trust it through the cloud's `caFile`. Every request is logged.

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FakeArm, type FakeVm } from './fake-arm.js';
import { makeFakeCert, type FakeCert } from './fake-tls.js';
import { FakeLogin } from './fake-login.js';
import { FakeSerialConsole } from './fake-serial-console.js';
import { FakeStorage } from './fake-storage.js';
import { RequestLog, type LoggedRequest } from './request-log.js';

const HOSTS = { login: '127.0.0.2', arm: '127.0.0.3', console: '127.0.0.4', storage: '127.0.0.5', evil: '127.0.0.6' } as const;
type Family = keyof typeof HOSTS;

export const FAKE_TENANT = '00000000-0000-0000-0000-00000000000t';
export const FAKE_CLIENT = '00000000-0000-0000-0000-0000000000cc';
export const FAKE_SECRET = 'fake-client-secret-value';

export class FakeAzure {
  readonly log = new RequestLog();
  readonly login: FakeLogin;
  readonly arm: FakeArm;
  readonly console: FakeSerialConsole;
  readonly storage: FakeStorage;
  private readonly servers = new Map<Family, Server>();
  private readonly ports = new Map<Family, number>();
  private readonly evilWss = new WebSocketServer({ noServer: true, skipUTF8Validation: true });

  private constructor(readonly cert: FakeCert) {
    this.login = new FakeLogin(() => this.origin('login'), FAKE_TENANT);
    this.login.clients.set(FAKE_CLIENT, FAKE_SECRET);
    this.console = new FakeSerialConsole(() => this.origin('console'), this.login, () => this.arm);
    this.storage = new FakeStorage(() => this.origin('storage'));
    this.arm = new FakeArm(() => this.origin('arm'), this.login, {
      newConsoleSession: (vm) => this.console.newSession(vm, vm.consoleHost === 'evil' ? this.host('evil') : this.host('console')),
      powerChanged: (vm, action) => {
        if (action === 'powerOff') this.console.drop(vm);
        if (action === 'restart') this.console.print(vm, Buffer.from('\r\n[    0.000000] Linux version 6.1.0-azure (fake) (restart)\r\n', 'latin1'));
      },
      sasUri: (vm, which) => this.storage.sasUri(vm, which),
    });
  }

  static async start(): Promise<FakeAzure> {
    const fake = new FakeAzure(makeFakeCert(Object.values(HOSTS)));
    for (const family of Object.keys(HOSTS) as Family[]) await fake.listen(family);
    return fake;
  }

  host(f: Family): string {
    return `${HOSTS[f]}:${this.ports.get(f)}`;
  }

  origin(f: Family): string {
    return `https://${this.host(f)}`;
  }

  /** The gateway config's cloud entry for this fake (consoleHosts/storageHosts name exactly the fake's hosts). */
  cloudYaml(name = 'fake', extra = ''): string {
    return [
      `    ${name}:`,
      `      armEndpoint: ${this.origin('arm')}`,
      `      authorityHost: ${this.origin('login')}`,
      `      consoleHosts: ['${this.host('console')}']`,
      `      storageHosts: ['${this.host('storage')}']`,
      `      caFile: ${this.cert.certPath}`,
      extra,
    ].filter(Boolean).join('\n');
  }

  addVm(v: Partial<FakeVm> & { subscriptionId: string; resourceGroup: string; name: string }): FakeVm {
    return this.arm.addVm(v);
  }

  private async listen(family: Family): Promise<void> {
    const server = createServer({ key: this.cert.key, cert: this.cert.cert, minVersion: 'TLSv1.2' });
    server.on('request', (req, res) => {
      const entry = this.log.add({ server: family, host: req.headers.host ?? '', method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      void entry;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (family === 'login') this.login.handle(req, res, body);
        else if (family === 'arm') this.arm.handle(req, res);
        else if (family === 'console') this.console.handle(req, res, body);
        else if (family === 'storage') this.storage.handle(req, res);
        else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    server.on('upgrade', (req, socket, head) => {
      const entry: LoggedRequest = this.log.add({ server: family, host: req.headers.host ?? '', method: 'UPGRADE', url: req.url ?? '', authorization: req.headers.authorization });
      socket.on('error', () => undefined);
      if (family === 'console') return this.console.upgrade(req, socket, head, entry);
      if (family === 'evil') {
        // Off the allow-list: records whatever a client would send, so a test can prove nothing came.
        return this.evilWss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d: Buffer) => (entry.firstFrame ??= d.toString('latin1'))));
      }
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, HOSTS[family], resolve));
    this.servers.set(family, server);
    this.ports.set(family, (server.address() as AddressInfo).port);
  }

  async stop(): Promise<void> {
    for (const s of this.servers.values()) s.closeAllConnections();
    for (const c of this.evilWss.clients) c.terminate();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.cert.remove();
  }
}
