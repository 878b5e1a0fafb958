/**
 * Small wrappers around child_process for the image builder: argument arrays only (never a
 * shell), optional stdin (how secrets reach `openssl`), AbortSignal support, and a
 * MissingToolError naming the Debian package when a tool is absent.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { MissingToolError } from './errors.js';

/** Which Debian package provides each host tool the builder runs. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'apt-cache': 'apt',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  tar: 'tar',
  xz: 'xz-utils',
  openssl: 'openssl',
  genisoimage: 'genisoimage',
  busybox: 'busybox-static',
  'qemu-system-x86_64': 'qemu-system-x86',
  zstd: 'zstd',
};

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signalName: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${signalName ?? 'a signal'}`;
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    super(`${command} ${how}${tail ? `: ${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

function missingTool(command: string): MissingToolError {
  return new MissingToolError(command, TOOL_PACKAGES[command] ?? command);
}

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Runs `command args…`, resolves with its output when it exits 0, rejects otherwise. */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      /* the child may exit before reading all of its input (EPIPE): its exit status tells */
    });
    let failed = false;
    child.on('error', (e) => {
      failed = true;
      if (isEnoent(e)) reject(missingTool(command));
      else if (opts.signal?.aborted) reject(opts.signal.reason ?? e);
      else reject(e);
    });
    child.on('close', (code, sig) => {
      if (failed) return;
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else if (opts.signal?.aborted) reject(opts.signal.reason);
      else reject(new CommandError(command, args, code, sig, stderr));
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * `xz -dc --single-stream` reading `file` from byte `offset` and writing `outFile`.
 * xz stops at the end of the first stream and ignores what follows.
 */
export function xzDecompressFrom(file: string, offset: number, outFile: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const child = spawn('xz', ['-dc', '--single-stream'], { stdio: ['pipe', 'pipe', 'pipe'], signal });
    const input = createReadStream(file, { start: offset });
    const output = createWriteStream(outFile, { mode: 0o644 });
    const err: Buffer[] = [];
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      input.destroy();
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', (e) => fail(isEnoent(e) ? missingTool('xz') : signal?.aborted ? (signal.reason ?? e) : e));
    child.stdin.on('error', () => {
      /* EPIPE once xz has read its single stream: expected */
    });
    input.on('error', fail);
    output.on('error', fail);
    child.stderr.on('data', (b: Buffer) => err.push(b));
    input.pipe(child.stdin);
    child.stdout.pipe(output);
    let exitCode: number | null | undefined;
    let exitSig: NodeJS.Signals | null = null;
    let outputDone = false;
    const finish = (): void => {
      if (failed || exitCode === undefined || !outputDone) return;
      input.destroy();
      if (exitCode === 0) resolve();
      else fail(new CommandError('xz', ['-dc', '--single-stream'], exitCode, exitSig, Buffer.concat(err).toString('utf8')));
    };
    output.on('close', () => {
      outputDone = true;
      finish();
    });
    child.on('close', (code, sig) => {
      exitCode = code;
      exitSig = sig;
      finish();
    });
  });
}

/**
 * `dpkg-deb --fsys-tarfile DEB | tar -x -C DIR --wildcards PATTERNS…`: unpacks only the
 * members the guest needs (no host install, no 400 MB module tree on disk).
 */
export function extractDebMembers(deb: string, dir: string, patterns: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const tarArgs = ['-x', '-C', dir, '--no-same-owner', '--wildcards', ...patterns];
    const dpkg = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const dpkgErr: Buffer[] = [];
    const tarErr: Buffer[] = [];
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      dpkg.kill('SIGKILL');
      tar?.kill('SIGKILL');
      reject(e);
    };
    dpkg.on('error', (e) => fail(isEnoent(e) ? missingTool('dpkg-deb') : signal?.aborted ? (signal.reason ?? e) : e));
    dpkg.stderr.on('data', (b: Buffer) => dpkgErr.push(b));
    // tar reads dpkg-deb's stdout pipe directly; the parent closes its copy so that dpkg-deb
    // gets SIGPIPE (instead of blocking) if tar exits early.
    let tar: ReturnType<typeof spawn> | undefined;
    try {
      tar = spawn('tar', tarArgs, { stdio: [dpkg.stdout, 'ignore', 'pipe'], signal });
    } catch (e) {
      fail(e);
      return;
    }
    dpkg.stdout.destroy();
    tar.stderr?.on('data', (b: Buffer) => tarErr.push(b));
    tar.on('error', (e) => fail(isEnoent(e) ? missingTool('tar') : signal?.aborted ? (signal.reason ?? e) : e));
    let pending = 2;
    let dpkgResult: [number | null, NodeJS.Signals | null] = [null, null];
    let tarResult: [number | null, NodeJS.Signals | null] = [null, null];
    const done = (): void => {
      if (--pending > 0 || failed) return;
      if (signal?.aborted) return fail(signal.reason);
      if (tarResult[0] !== 0) {
        return fail(new CommandError('tar', tarArgs, tarResult[0], tarResult[1], Buffer.concat(tarErr).toString('utf8')));
      }
      const dpkgStderr = Buffer.concat(dpkgErr).toString('utf8');
      // If tar stops reading early, dpkg-deb dies of SIGPIPE: fine once tar succeeded.
      const dpkgOk = dpkgResult[0] === 0 || dpkgResult[1] === 'SIGPIPE' || /Broken pipe|SIGPIPE/i.test(dpkgStderr);
      if (!dpkgOk) return fail(new CommandError('dpkg-deb', ['--fsys-tarfile', deb], dpkgResult[0], dpkgResult[1], dpkgStderr));
      resolve();
    };
    dpkg.on('close', (code, sig) => {
      dpkgResult = [code, sig];
      done();
    });
    tar.on('close', (code, sig) => {
      tarResult = [code, sig];
      done();
    });
  });
}

/** Finds an executable on PATH (or checks an absolute path). */
export async function which(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const candidates = isAbsolute(command)
    ? [command]
    : (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, command));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Throws MissingToolError for the first of `commands` that is not installed. */
export async function requireTools(commands: readonly string[]): Promise<void> {
  for (const c of commands) {
    if (!(await which(c))) throw missingTool(c);
  }
}
