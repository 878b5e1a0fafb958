// runPowerHook: runs one configured power command (argv, no shell) for a relay- or PDU-switched board.

import { execFile } from 'node:child_process';

/** How long a relay or PDU command may take before it is killed. */
export const POWER_HOOK_TIMEOUT_MS = 30_000;
/** The stderr kept in an error message. */
const STDERR_KEEP = 2000;

/**
 * Runs `argv[0]` with `argv.slice(1)` directly (never through a shell, so no quoting or injection).
 * Resolves on exit status 0; otherwise rejects with an Error holding the command's stderr.
 */
export function runPowerHook(argv: readonly string[], opts: { timeoutMs?: number; what: string }): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') return Promise.reject(new Error(`${opts.what}: the command is empty`));
  const timeout = opts.timeoutMs ?? POWER_HOOK_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, killSignal: 'SIGKILL', windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) {
        resolve();
        return;
      }
      const tail = String(stderr).trim().slice(-STDERR_KEEP);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      let how: string;
      if (e.code === 'ENOENT') how = `cannot run ${JSON.stringify(file)}: not found`;
      else if (e.killed) how = `timed out after ${timeout / 1000} s and was killed`;
      else if (typeof e.code === 'number') how = `exited with status ${e.code}`;
      else how = e.message;
      reject(new Error(`${opts.what} (${JSON.stringify(argv)}) ${how}${tail ? `: ${tail}` : ''}`, { cause: err }));
    });
  });
}
