// Fake Microsoft Entra ID (login) endpoint: OIDC discovery and the v2.0 client-credentials token endpoint.
//
// Rules and their sources:
// - `GET /{tenant}/v2.0/.well-known/openid-configuration` answers the OpenID metadata, issuer on the
//   same host (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri).
// - `POST /{tenant}/oauth2/v2.0/token`, form-encoded, grant_type=client_credentials with client_id,
//   client_secret (or client_assertion) and scope `RESOURCE/.default`; success is 200
//   `{token_type: "Bearer", expires_in, ext_expires_in, access_token}`; a wrong secret is 401
//   `{error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided…"}`
//   (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#successful-response and #error-response;
//   AADSTS codes: learn.microsoft.com/entra/identity-platform/reference-error-codes).
// Tokens are opaque random strings bound to the scope's resource (the ARM fake checks the audience).

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface IssuedToken {
  token: string;
  audience: string;
  clientId: string;
}

export class FakeLogin {
  readonly tokens = new Map<string, IssuedToken>();
  /** client id -> its secret; a client not listed gets invalid_client. */
  readonly clients = new Map<string, string>();

  constructor(
    private readonly origin: () => string,
    readonly tenantId: string,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', this.origin());
    const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname);
    if (!m) return json(res, 404, { error: 'not_found', error_description: `no such endpoint ${url.pathname}` });
    const tenant = m[1]!;
    if (tenant !== this.tenantId) return json(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
    const base = `${this.origin()}/${tenant}`;
    if (m[2]!.startsWith('v2.0')) {
      return json(res, 200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${this.origin()}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid'],
        tenant_region_scope: 'NA',
      });
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'invalid_request', error_description: 'AADSTS900561: The endpoint only accepts POST requests.' });
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: the app requested an unsupported grant type' });
    const clientId = form.get('client_id') ?? '';
    const expected = this.clients.get(clientId);
    if (expected === undefined) {
      return json(res, 400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'.` });
    }
    if (form.get('client_secret') !== expected) {
      return json(res, 401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`, error_codes: [7000215] });
    }
    const scope = form.get('scope') ?? '';
    const resource = scope.split(' ').find((s) => s.endsWith('/.default'))?.slice(0, -'/.default'.length);
    if (!resource) return json(res, 400, { error: 'invalid_scope', error_description: `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.` });
    const token = `fake-arm-token.${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, { token, audience: resource, clientId });
    return json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
