// Magic SysRq keys worth knowing, with what they do (Linux Documentation/admin-guide/sysrq.rst).

export interface SysrqKey {
  readonly key: string;
  readonly name: string;
  readonly what: string;
  readonly dangerous?: boolean;
}

export const COMMON_SYSRQ: readonly SysrqKey[] = [
  { key: 'h', name: 'Help', what: 'prints the list of SysRq keys on the console (harmless)' },
  { key: 'w', name: 'Blocked tasks', what: 'lists tasks in uninterruptible (blocked) state' },
  { key: 't', name: 'Task list', what: 'dumps the current tasks and their state' },
  { key: 'm', name: 'Memory', what: 'dumps memory information' },
  { key: 'l', name: 'Backtrace', what: 'shows a stack backtrace of all active CPUs' },
  { key: 's', name: 'Sync', what: 'writes all mounted file systems to disk' },
  { key: 'u', name: 'Remount read-only', what: 'remounts all file systems read-only' },
  { key: 'e', name: 'Terminate', what: 'sends SIGTERM to all processes except init', dangerous: true },
  { key: 'i', name: 'Kill', what: 'sends SIGKILL to all processes except init', dangerous: true },
  { key: 'f', name: 'OOM kill', what: 'calls the out-of-memory killer to kill one memory hog', dangerous: true },
  { key: 'b', name: 'Reboot', what: 'reboots at once, without syncing or unmounting', dangerous: true },
  { key: 'o', name: 'Power off', what: 'powers off at once', dangerous: true },
  { key: 'c', name: 'Crash', what: 'crashes the kernel on purpose (a crash dump, if configured)', dangerous: true },
];

/** The safe-reboot sequence: "Reboot Even If System Utterly Broken". */
export const REISUB = { keys: 'reisub', what: 'unRaw, tErminate, kIll, Sync, Unmount, reBoot: the gentlest reboot of a hung Linux' };

export function describeKeys(keys: string): string {
  if (keys === REISUB.keys) return REISUB.what;
  return [...keys].map((k) => COMMON_SYSRQ.find((s) => s.key === k)?.name ?? k).join(', ');
}

export function isDangerous(keys: string): boolean {
  return [...keys].some((k) => COMMON_SYSRQ.find((s) => s.key === k)?.dangerous || k === 'r');
}
