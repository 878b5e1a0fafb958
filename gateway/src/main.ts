// Composition root: load config, pick implementations, listen, handle signals. The only module that
// chooses implementations; everything else receives them.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { SqliteAuditLog } from './audit/sqlite-audit-log.js';
import type { AuditInput } from './audit/audit-log.js';
import { CaptureRegistry } from './capture/capture-registry.js';
import { loadConfig, processEnvironment, type GatewayConfig } from './config.js';
import { openDatabase, DATABASE_FILE, type Db } from './db/database.js';
import { LoopbackDriver } from './devices/loopback/loopback-driver.js';
import { QemuDriver } from './devices/qemu/qemu-driver.js';
import { QemuSocketDriver } from './devices/qemu-socket/qemu-socket-driver.js';
import { AzureDriver } from './devices/azure/azure-driver.js';
import { DriverRegistry } from './devices/registry.js';
import { SerialPortDriver } from './devices/serial/serialport-driver.js';
import { TcpDriver } from './devices/tcp/tcp-driver.js';
import { GW_ERR } from './errors.js';
import { buildApp } from './http/app.js';
import type { AccessChange, AuditWriter } from './http/app-deps.js';
import { createAuthenticator } from './http/authenticator.js';
import { GatewayMetrics } from './http/metrics.js';
import { httpsOptions, loadTls } from './http/tls.js';
import { Emitter } from './core/event.js';
import { ConsoleTickets } from './identity/console-tickets.js';
import { IdentityStore } from './identity/identity-store.js';
import { LoginThrottle } from './identity/login-throttle.js';
import { WebSessionStore } from './identity/web-session-store.js';
import { settingsFromConfig } from './settings/runtime-settings.js';
import { SettingsStore } from './settings/settings-store.js';
import { DeviceManager } from './runtime/device-manager.js';
import { SqliteDeviceStore } from './runtime/sqlite-device-store.js';

export interface GatewayOptions {
  configFile?: string;
  dataDir?: string;
  /** Override the listen port (tests use 0). */
  port?: number;
  /** Where progress and the first-start secrets go (default: stderr / stdout). */
  log?: (line: string) => void;
  logger?: boolean | object;
  /** Replace the config (tests). */
  config?: GatewayConfig;
  /** Clock of the console tickets, epoch ms (tests age tickets with it). */
  clock?: () => number;
  /** The built web UI (default: web/dist of this checkout or install). */
  webRoot?: string;
}

/** web/dist beside this package: from gateway/dist/src (built) or gateway/src (tsx). */
function defaultWebRoot(): string | undefined {
  return ['../../../web/dist', '../../web/dist'].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((d) => existsSync(join(d, 'index.html')));
}

export interface RunningGateway {
  app: FastifyInstance;
  config: GatewayConfig;
  url: string;
  port: number;
  fingerprint256: string;
  devices: DeviceManager;
  identity: IdentityStore;
  webSessions: WebSessionStore;
  audit: SqliteAuditLog;
  db: Db;
  /** Set on the first start only: the generated admin password (printed once). */
  adminPassword?: string;
  close(): Promise<void>;
}

/** The audit log as the HTTP layer sees it: a failed write becomes AuditUnavailable (fail closed). */
function auditWriter(log: SqliteAuditLog): AuditWriter {
  return {
    append(entry) {
      try {
        log.append(entry as AuditInput);
      } catch (err) {
        throw GW_ERR.auditUnavailable(err);
      }
    },
  };
}

/**
 * On the first start (no users yet) creates `admin`, owner on `/`, with a generated password:
 * user, grant and audit row in one transaction, so a crash leaves either all or nothing (and the
 * next start tries again). Returns the password to print once, or undefined if users exist.
 */
async function createFirstOwner(identity: IdentityStore, auditLog: SqliteAuditLog): Promise<string | undefined> {
  if (identity.listUsers().length > 0) return undefined;
  const password = randomBytes(15).toString('base64url');
  try {
    await identity.addUser('admin', password, {
      audit: (admin) => {
        identity.assignRole(admin.id, 'owner', '/');
        auditLog.append({ actor: 'system', action: 'user.create', target: 'admin', outcome: 'ok', details: { role: 'owner', scope: '/', firstStart: true } } as AuditInput);
      },
    });
  } catch (err) {
    // Another process (`ttygate users add` on the same data) made the first user meanwhile.
    if ((err as { code?: string }).code === 'UserExists' && identity.listUsers().length > 0) return undefined;
    throw err;
  }
  return password;
}

/** Starts the gateway: database, identity, devices, HTTPS listener. */
export async function startGateway(opts: GatewayOptions = {}): Promise<RunningGateway> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const config = opts.config ?? (await loadConfig(opts.configFile, opts.dataDir ? { dataDir: opts.dataDir } : {}));
  if (opts.port !== undefined) config.listen.port = opts.port;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  const db = openDatabase(join(config.dataDir, DATABASE_FILE));
  const identity = new IdentityStore(db);
  const auditLog = new SqliteAuditLog(db);
  const audit = auditWriter(auditLog);

  const webSessions = new WebSessionStore(db, { idleMs: config.auth.session.idleMinutes * 60_000, absoluteMs: config.auth.session.maxHours * 3_600_000 });
  const settings = new SettingsStore(db, settingsFromConfig(config));
  const throttle = config.auth.loginThrottle;
  const loginThrottle = new LoginThrottle({
    perUser: { maxFailures: throttle.perUser, windowMs: throttle.windowSeconds * 1000 },
    perSource: { maxFailures: throttle.perSource, windowMs: throttle.windowSeconds * 1000 },
  });

  const adminPassword = await createFirstOwner(identity, auditLog);

  const tls = await loadTls(config.tls, config.dataDir, [config.listen.host]);
  const drivers = new DriverRegistry()
    .register(new SerialPortDriver())
    .register(new TcpDriver())
    .register(new QemuSocketDriver())
    .register(new QemuDriver({ stateDir: join(config.dataDir, 'vms'), accel: config.emulator.accel, ...(config.emulator.imagesDir ? { imagesDir: config.emulator.imagesDir } : {}) }))
    .register(new AzureDriver({ azure: config.azure, env: processEnvironment(), ...(config.azure.pollIntervalMs !== undefined ? { pollIntervalMs: config.azure.pollIntervalMs } : {}) }))
    .register(new LoopbackDriver());
  const captures = new CaptureRegistry(join(config.dataDir, 'captures'));
  let devices: DeviceManager | undefined;
  const metrics = new GatewayMetrics(() => devices);
  const onError = (err: unknown) => log(`ttygate: ${(err as Error).stack ?? String(err)}`);
  captures.onError((e) => log(`ttygate: capture: ${e.message}`));

  devices = new DeviceManager(
    drivers,
    captures,
    new SqliteDeviceStore(db),
    (spec) => {
      // Bound once per device: the byte path runs per chunk, so no label lookup there.
      const fromDevice = metrics.bytesFromDevice.labels({ device: spec.id });
      const toDevice = metrics.bytesToDevice.labels({ device: spec.id });
      return {
        historyBytes: config.console.historyBytes,
        viewerMaxBufferedBytes: config.console.viewerMaxBufferedBytes,
        createSessionId: randomUUID,
        onError,
        onBytes: (dir, n) => (dir === 'fromDevice' ? fromDevice : toDevice).inc(n),
      };
    },
    (runtime) => {
      const id = runtime.spec.id;
      runtime.onLineEvent((e) => {
        if (e.type === 'disconnected') metrics.disconnects.inc({ device: id });
        if (e.type === 'reconnected') metrics.reconnects.inc({ device: id });
        const action = e.type === 'open-failed' ? 'device.open.failed' : `device.${e.type}`;
        try {
          auditLog.append({ actor: 'system', action, target: id, outcome: e.type === 'open-failed' ? 'failed' : 'ok', reason: e.error } as AuditInput);
        } catch (err) {
          onError(err);
        }
        if (e.type === 'disconnected' || e.type === 'reconnected' || e.type === 'open-failed') log(`ttygate: device ${id}: ${e.type}${e.error ? `: ${e.error}` : ''}`);
      });
      runtime.broker.onSessionEnd((s) => {
        if (s.reason === 'slow-consumer') metrics.viewerDrops.inc({ device: id });
        try {
          auditLog.append({
            actor: s.principal ?? 'unknown',
            action: 'console.detach',
            target: id,
            outcome: 'ok',
            details: { sessionId: s.sessionId, mode: s.mode, reason: s.reason, bytesToViewer: s.bytesToViewer, bytesToDevice: s.bytesToDevice, durationMs: s.durationMs },
          } as AuditInput);
        } catch (err) {
          onError(err);
        }
      });
      runtime.broker.onTakeover((t) => {
        try {
          auditLog.append({ actor: t.principal ?? 'unknown', action: 'console.takeover', target: id, outcome: 'ok', details: { sessionId: t.sessionId, previous: t.previous, previousPrincipal: t.previousPrincipal } } as AuditInput);
        } catch (err) {
          onError(err);
        }
      });
    },
  );
  await devices.start(config.devices);

  const app = await buildApp({
    config,
    devices,
    auth: createAuthenticator(identity, webSessions),
    audit,
    webSessions,
    tickets: new ConsoleTickets(opts.clock ? { now: opts.clock } : {}),
    loginThrottle,
    settings,
    accessChanges: new Emitter<AccessChange>(),
    metrics,
    identity,
    auditLog,
    https: httpsOptions(tls),
    webRoot: opts.webRoot ?? defaultWebRoot(),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;

  let closed = false;
  return {
    app,
    config,
    url: `https://${host}:${port}`,
    port,
    fingerprint256: tls.fingerprint256,
    devices,
    identity,
    webSessions,
    audit: auditLog,
    db,
    ...(adminPassword ? { adminPassword } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await devices.stopAll();
      await captures.closeAll();
      db.close();
    },
  };
}
