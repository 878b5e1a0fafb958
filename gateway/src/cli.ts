// The ttygate CLI: serve the gateway, administer its data directory, and drive a remote gateway.

import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import WebSocket from 'ws';
import { attachTerminal, Emitter } from '@ttygate/emulator';
import { ApiClient, ApiError, checkPin, tlsOptions, type ApiClientOptions } from './client/api-client.js';
import { auditExport } from './audit/audit-export.js';
import { ConfigError } from './config.js';
import { auditVerify, formatVerifyResult, tokensCreate, usersAdd, usersGrant, usersList, usersPasswd, usersSetDisabled } from './identity/admin-cli.js';
import { startGateway } from './main.js';
import { parseServerControl } from './protocol/control.js';
import { stripTerminalQueries } from './client/terminal-queries.js';

const USAGE = `ttygate: self-hosted serial-console gateway

Gateway:
  ttygate serve [--config FILE] [--data DIR]        run the gateway (no config: the embedded demo)
Administration, straight on the data directory (default ./data; safe while the gateway serves):
  ttygate users add NAME [--role ROLE] [--scope SCOPE] [--password-stdin] [--data DIR]
  ttygate users list | disable NAME | enable NAME | passwd NAME [--password-stdin] [--data DIR]
  ttygate users grant|revoke NAME ROLE [--scope SCOPE] [--data DIR]
  ttygate tokens create USER [--name LABEL] [--expires-days N] [--data DIR]
  ttygate audit verify [--data DIR]
  ttygate audit export [--data DIR] [--out FILE] [--format jsonl]
Remote (TTYGATE_URL, TTYGATE_TOKEN; TTYGATE_FINGERPRINT or TTYGATE_CA for a self-signed gateway):
  ttygate devices                                    list the devices you may see
  ttygate connect DEVICE [--read-only] [--reason TEXT]  raw terminal on the console (Ctrl+] for the menu)
  ttygate logs DEVICE [--tail BYTES | --since OFFSET]
  ttygate break DEVICE | sysrq DEVICE KEYS | nmi DEVICE [--reason TEXT]
  ttygate power DEVICE restart|reset|off|on [--reason TEXT]   (a reason: free text or a ticket number)

Run "ttygate COMMAND --help" for details.`;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function remote(): ApiClientOptions {
  const url = process.env.TTYGATE_URL;
  const token = process.env.TTYGATE_TOKEN;
  if (!url || !token) throw new UsageError('set TTYGATE_URL (e.g. https://127.0.0.1:8443) and TTYGATE_TOKEN (from `ttygate tokens create USER`)');
  return {
    url,
    token,
    ...(process.env.TTYGATE_FINGERPRINT ? { fingerprint: process.env.TTYGATE_FINGERPRINT } : {}),
    ...(process.env.TTYGATE_CA ? { caFile: process.env.TTYGATE_CA } : {}),
  };
}

const enc = (id: string) => encodeURIComponent(id);

/** CLI entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return await serve([sub, ...rest].filter((x): x is string => x !== undefined));
      case 'users':
        if (sub === 'add') return await usersAddCommand(rest);
        return await usersCommand(sub, rest);
      case 'tokens':
        if (sub !== 'create') throw new UsageError('usage: ttygate tokens create USER [--name LABEL] [--expires-days N] [--data DIR]');
        return await tokensCreateCommand(rest);
      case 'audit':
        if (sub === 'export') return await auditExportCommand(rest);
        if (sub !== 'verify') throw new UsageError('usage: ttygate audit verify [--data DIR] | ttygate audit export [--data DIR] [--out FILE] [--format jsonl]');
        return await auditVerifyCommand(rest);
      case 'devices':
      case 'logs':
      case 'break':
      case 'sysrq':
      case 'nmi':
      case 'power':
        return await remoteCommand(cmd, [sub, ...rest].filter((x): x is string => x !== undefined));
      case 'connect':
        return await connectCommand([sub, ...rest].filter((x): x is string => x !== undefined));
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`ttygate: ${err.message}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`ttygate: invalid configuration: ${err.message}`);
      return 2;
    }
    const code = (err as { code?: string }).code;
    console.error(`ttygate: error${code ? ` [${code}]` : ''}: ${(err as Error).message}`);
    return 1;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, data: { type: 'string' } });
  if (values.help) {
    console.log('ttygate serve [--config FILE] [--data DIR]\n\nServes HTTPS (TLS 1.2+) and the console WebSocket. Without --config: the embedded default\n(one emulated Linux VM "demo-linux", data in ./data, a self-signed certificate, an "admin" owner).');
    return 0;
  }
  const gw = await startGateway({
    ...(values.config ? { configFile: resolve(values.config) } : {}),
    ...(values.data ? { dataDir: values.data } : {}),
    logger: { level: process.env.TTYGATE_LOG_LEVEL ?? 'warn' },
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`ttygate: serving ${gw.url}  (data: ${gw.config.dataDir})`);
  out(`ttygate: TLS certificate SHA-256 fingerprint ${gw.fingerprint256}`);
  out(`ttygate: web console: open ${gw.url}/ in a browser and sign in${gw.adminPassword ? ' as admin' : ''}`);
  if (gw.adminPassword) {
    const first = await gw.identity.findUserByName('admin');
    const token = gw.identity.createToken(first!.id, 'first-start', {
      audit: (t) => gw.audit.append({ actor: 'system', action: 'token.create', target: t.id, outcome: 'ok', details: { name: 'first-start', user: 'admin' } }),
    });
    out('ttygate: first start: created the owner "admin"; these are shown once:');
    out(`  admin password: ${gw.adminPassword}`);
    out(`  admin API token: ${token.secret}`);
    out('ttygate: try it:');
    out(`  export TTYGATE_URL=${gw.url} TTYGATE_FINGERPRINT=${gw.fingerprint256} TTYGATE_TOKEN=<the token>`);
    out('  node gateway/bin/ttygate.js devices; node gateway/bin/ttygate.js connect demo-linux');
  }
  out(`ttygate: devices: ${gw.devices.all().map((r) => r.spec.id).join(', ') || '(none)'}`);
  const stop = async (signal: string) => {
    out(`ttygate: ${signal}: stopping`);
    await gw.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await new Promise(() => undefined);
  return 0;
}

async function usersAddCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { role: { type: 'string' }, scope: { type: 'string' }, 'password-stdin': { type: 'boolean' }, data: { type: 'string' } });
  if (values.help || positionals.length !== 1) {
    console.log('ttygate users add NAME [--role ROLE] [--scope SCOPE] [--password-stdin] [--data DIR]\n\nRoles: reader, console-viewer, vm-contributor, contributor, owner, auditor.\nScopes: /, /groups/NAME, /devices/ID (default /). Without --password-stdin a password is generated and printed once.');
    return values.help ? 0 : 2;
  }
  const password = values['password-stdin'] ? await readStdin() : undefined;
  const r = await usersAdd({
    dataDir: resolve(values.data ?? 'data'),
    name: positionals[0]!,
    ...(values.role ? { role: values.role } : {}),
    ...(values.scope ? { scope: values.scope } : {}),
    passwordStdin: password,
  });
  console.error(`ttygate: added user "${r.user.name}"${r.assignment ? ` as ${r.assignment.role} on ${r.assignment.scope}` : ''}`);
  if (r.generatedPassword) {
    console.error('ttygate: generated password (shown once):');
    console.log(r.generatedPassword);
  }
  return 0;
}

const USERS_USAGE = `ttygate users list [--data DIR]
ttygate users add NAME [--role ROLE] [--scope SCOPE] [--password-stdin] [--data DIR]
ttygate users disable NAME | enable NAME [--data DIR]
ttygate users passwd NAME [--password-stdin] [--data DIR]
ttygate users grant NAME ROLE [--scope SCOPE] [--data DIR]
ttygate users revoke NAME ROLE [--scope SCOPE] [--data DIR]

Administration straight on the data directory (default ./data), safe while the gateway serves;
every change is audited with the actor "cli". The last enabled owner on "/" can be neither
disabled nor stripped of that role. Roles: reader, console-viewer, vm-contributor, contributor,
owner, auditor. Scopes: /, /groups/NAME, /devices/ID (default /).`;

async function usersCommand(sub: string | undefined, args: string[]): Promise<number> {
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') return (console.log(USERS_USAGE), sub === undefined ? 2 : 0);
  const { values, positionals } = parse(args, { scope: { type: 'string' }, 'password-stdin': { type: 'boolean' }, data: { type: 'string' } });
  const dataDir = resolve(values.data ?? 'data');
  const want = (n: number) => {
    if (positionals.length !== n) throw new UsageError(USERS_USAGE);
  };
  if (values.help) return (console.log(USERS_USAGE), 0);
  switch (sub) {
    case 'list': {
      want(0);
      for (const { user, roles } of await usersList({ dataDir })) {
        const grants = roles.map((a) => `${a.role}@${a.scope}`).join(', ') || '(no roles)';
        console.log(`${user.name}${user.disabled ? ' (disabled)' : ''}\t${grants}`);
      }
      return 0;
    }
    case 'disable':
    case 'enable': {
      want(1);
      const u = await usersSetDisabled({ dataDir, name: positionals[0]!, disabled: sub === 'disable' });
      console.error(`ttygate: user "${u.name}" is ${u.disabled ? 'disabled: their logins and tokens no longer work' : 'enabled'}`);
      return 0;
    }
    case 'passwd': {
      want(1);
      const password = values['password-stdin'] ? await readStdin() : undefined;
      const r = await usersPasswd({ dataDir, name: positionals[0]!, passwordStdin: password });
      console.error(`ttygate: new password set for "${r.user.name}"; their browser sessions have ended`);
      if (r.generatedPassword) {
        console.error('ttygate: generated password (shown once):');
        console.log(r.generatedPassword);
      }
      return 0;
    }
    case 'grant':
    case 'revoke': {
      want(2);
      const [name, role] = positionals as [string, string];
      const scope = values.scope ?? '/';
      const changed = await usersGrant({ dataDir, name, role, scope, revoke: sub === 'revoke' });
      console.error(`ttygate: ${name}: ${role} on ${scope} ${sub === 'grant' ? (changed ? 'granted' : 'was already granted') : changed ? 'revoked' : 'was not granted'}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown users command "${sub}"\n\n${USERS_USAGE}`);
  }
}

async function tokensCreateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { name: { type: 'string' }, 'expires-days': { type: 'string' }, data: { type: 'string' } });
  if (values.help || positionals.length !== 1) {
    console.log('ttygate tokens create USER [--name LABEL] [--expires-days N] [--data DIR]\n\nCreates an API token acting as USER and prints it (and nothing else) on standard output.');
    return values.help ? 0 : 2;
  }
  const days = values['expires-days'] ? Number(values['expires-days']) : undefined;
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) throw new UsageError('--expires-days must be a positive whole number');
  const r = await tokensCreate({
    dataDir: resolve(values.data ?? 'data'),
    user: positionals[0]!,
    name: values.name ?? 'cli',
    ...(days ? { expiresAt: new Date(Date.now() + days * 86_400_000) } : {}),
  });
  console.log(r.secret);
  return 0;
}

async function auditVerifyCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { data: { type: 'string' } });
  if (values.help) return (console.log('ttygate audit verify [--data DIR]\n\nChecks the audit log hash chain and names the first broken row.'), 0);
  const r = await auditVerify({ dataDir: resolve(values.data ?? 'data') });
  console.log(formatVerifyResult(r));
  return r.ok ? 0 : 1;
}

async function auditExportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { data: { type: 'string' }, out: { type: 'string' }, format: { type: 'string' } });
  if (values.help || positionals.length !== 0) {
    console.log(
      'ttygate audit export [--data DIR] [--out FILE] [--format jsonl]\n\nWrites the whole audit log as JSON Lines (to FILE, else standard output): a header line with the row\ncount, the last hash and the hash recipe, then one row per line. The bundle can be verified without ttygate.',
    );
    return values.help ? 0 : 2;
  }
  if (values.format !== undefined && values.format !== 'jsonl') throw new UsageError(`--format: only "jsonl" is supported, not "${values.format}"`);
  const header = await auditExport({ dataDir: resolve(values.data ?? 'data'), ...(values.out !== undefined ? { out: resolve(values.out) } : {}) });
  console.error(`ttygate: exported ${header.rows} audit rows${values.out !== undefined ? ` to ${values.out}` : ''}; chain head ${header.lastHash}`);
  return 0;
}

async function remoteCommand(cmd: string, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { tail: { type: 'string' }, since: { type: 'string' }, reason: { type: 'string' } });
  if (values.help) return (console.log(USAGE), 0);
  const api = new ApiClient(remote());
  const reason = values.reason !== undefined ? { reason: values.reason } : {};
  const device = positionals[0];
  if (cmd !== 'devices' && !device) throw new UsageError(`usage: ttygate ${cmd} DEVICE …`);
  try {
    switch (cmd) {
      case 'devices': {
        const { data } = await api.request<{ devices: Array<{ id: string; kind: string; group: string | null; state: string; sessions: unknown[] }> }>('GET', '/api/v1/devices');
        for (const d of data.devices) console.log(`${d.id}\t${d.kind}\t${d.group ?? '-'}\t${d.state}\t${d.sessions.length} attached`);
        return 0;
      }
      case 'logs': {
        const q = values.tail ? `?tail=${Number(values.tail)}` : values.since ? `?since=${Number(values.since)}` : '';
        const { data } = await api.request<string>('GET', `/api/v1/devices/${enc(device!)}/boot-diagnostics/serial-log${q}`, undefined, 'text');
        process.stdout.write(data);
        return 0;
      }
      case 'break':
      case 'nmi':
        await api.request('POST', `/api/v1/devices/${enc(device!)}/${cmd}`, reason);
        break;
      case 'sysrq':
        if (!positionals[1]) throw new UsageError('usage: ttygate sysrq DEVICE KEYS (e.g. h, or reisub)');
        await api.request('POST', `/api/v1/devices/${enc(device!)}/sysrq`, { keys: positionals[1], ...reason });
        break;
      case 'power':
        if (!positionals[1]) throw new UsageError('usage: ttygate power DEVICE restart|reset|off|on');
        await api.request('POST', `/api/v1/devices/${enc(device!)}/power`, { action: positionals[1], ...reason });
        break;
    }
    console.error(`ttygate: ${cmd} ${positionals.join(' ')}: done`);
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`ttygate: ${cmd}: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function connectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'read-only': { type: 'boolean' }, reason: { type: 'string' } });
  if (values.help || positionals.length !== 1) {
    console.log('ttygate connect DEVICE [--read-only] [--reason TEXT]\n\nA raw-mode terminal on the device console. Ctrl+] opens the menu: b BREAK, s SysRq key, n NMI,\nr reset, p restart (graceful), q quit. --reason: the justification (free text or a ticket number),\nrequired for writing and power when the gateway says so; it goes into the audit log.');
    return values.help ? 0 : 2;
  }
  const o = remote();
  const api = new ApiClient(o);
  const device = positionals[0]!;
  // Where the device's output stands now: what comes before it on the socket is replay.
  const replayEndOffset = await api.request<{ capture: { endOffset: number } }>('GET', `/api/v1/devices/${enc(device)}`).then(
    (r) => r.data.capture.endOffset,
    () => 0,
  );
  const reasonQuery = values.reason !== undefined ? `&reason=${encodeURIComponent(values.reason)}` : '';
  const url = new URL(`/api/v1/devices/${enc(device)}/console?mode=${values['read-only'] ? 'read' : 'write'}${reasonQuery}`, o.url.replace(/^http/, 'ws'));
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${o.token}` }, ...tlsOptions(o) });
  ws.once('upgrade', (res) => {
    const err = checkPin(o, res.socket as import('node:tls').TLSSocket);
    if (err) ws.terminate();
  });
  const data = new Emitter<Uint8Array>();
  const opened = new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('unexpected-response', (_req, r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        let msg = `HTTP ${r.statusCode}`;
        try {
          msg = (JSON.parse(Buffer.concat(chunks).toString()) as { error: { code: string; message: string } }).error.message;
        } catch {
          // Not our JSON error: keep the status.
        }
        rej(new Error(msg));
      });
    });
    ws.once('error', rej);
  });
  await opened;
  const note = (s: string) => process.stderr.write(`\r\n[ttygate] ${s}\r\n`);
  // Bytes before replayEndOffset are replayed history: terminal queries in them are stripped, or
  // the local terminal would answer them now and the answer would be typed into the device.
  let position = 0;
  ws.on('message', (msg: Buffer, isBinary: boolean) => {
    if (isBinary) {
      const chunk = new Uint8Array(msg);
      const replayed = position < replayEndOffset;
      position += chunk.length;
      return data.fire(replayed ? stripTerminalQueries(chunk) : chunk);
    }
    const r = parseServerControl(msg.toString('utf8'));
    if (!r.ok) return;
    const m = r.msg;
    if (m.type === 'hello') {
      position = m.offset;
      note(`attached to ${device} as ${m.mode}; Ctrl+] for the menu`);
    } else if (m.type === 'notice') note(m.message);
    else if (m.type === 'lease') note(m.mode === 'read' ? `${m.holder ?? 'another session'} took over: you are now a viewer` : 'you hold the write lease');
    else if (m.type === 'device') note(`device ${m.state}`);
    else if (m.type === 'error') note(`${m.code}: ${m.message}`);
  });
  const closed = new Promise<void>((r) => ws.once('close', (code, reason) => (note(`disconnected (${code}${reason.length ? ` ${reason.toString()}` : ''})`), r())));
  const post = (path: string, body: unknown) => api.request('POST', `/api/v1/devices/${enc(device)}/${path}`, body).then(() => undefined);
  await Promise.race([
    attachTerminal(
      {
        label: 'ttygate',
        onData: data.event,
        write: async (d) => void ws.send(d, { binary: true }),
        sendBreak: async () => void ws.send(JSON.stringify({ type: 'break' })),
        sysrq: async (keys) => void ws.send(JSON.stringify({ type: 'sysrq', keys })),
        extra: {
          n: ['NMI', () => post('nmi', {})],
          r: ['reset (forced)', () => post('power', { action: 'reset', ...(values.reason !== undefined && { reason: values.reason }) })],
          p: ['restart (graceful)', () => post('power', { action: 'restart', ...(values.reason !== undefined && { reason: values.reason }) })],
          t: ['take over the write lease', async () => void ws.send(JSON.stringify({ type: 'takeover' }))],
        },
      },
      process.stdin,
      process.stdout,
    ),
    closed,
  ]);
  ws.close();
  process.exit(0);
}
