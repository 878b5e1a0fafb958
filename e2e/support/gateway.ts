// A real gateway for the browser tests: the gateway suite's test harness (HTTPS on port 0, a temp
// data dir, an API client that trusts the self-signed certificate), real QEMU guests, and users
// made through the administration API with the owner's token.

import { startTestGateway, type TestGateway } from '../../gateway/test/support/harness.js';

export interface E2eGateway {
  gw: TestGateway;
  url: string;
  ownerToken: string;
  ownerPassword: string;
  /** HTTPS JSON call with a bearer token (the harness's client, which checks the gateway's CA). */
  api: TestGateway['api'];
  /** Creates a user with a password and one role on `scope`, through the API as the owner. */
  addUser(name: string, role: string, scope: string): Promise<{ name: string; password: string }>;
  close(): Promise<void>;
}

export async function startE2eGateway(yaml: string): Promise<E2eGateway> {
  const gw = await startTestGateway(yaml);
  const ownerPassword = gw.adminPassword!;
  // The owner's first API token, as `ttygate tokens create admin` makes it.
  const admin = gw.identity.findUserByName('admin')!;
  const ownerToken = gw.identity.createToken(admin.id, 'e2e').secret;
  const api: TestGateway['api'] = (...args) => gw.api(...args);
  return {
    gw,
    url: gw.url,
    ownerToken,
    ownerPassword,
    api,
    async addUser(name, role, scope) {
      const password = `${name}-e2e-password-long-enough`;
      const r = await api('POST', '/api/v1/users', ownerToken, { name, password, role, scope });
      if (r.status !== 201) throw new Error(`adding user ${name}: ${r.status} ${r.text}`);
      return { name, password };
    },
    close: () => gw.close(),
  };
}
