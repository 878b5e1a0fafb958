// sysrqKeys: validates a Magic SysRq key sequence (`h`, `reisub`) and splits it into keys.

/** Pause between the keys of a sequence, so each command finishes first (e.g. `s` sync before `u`). */
export const SYSRQ_KEY_GAP_MS = 100;

/** The SysRq keys Linux knows are digits and lower-case letters (Documentation/admin-guide/sysrq.rst). */
const SYSRQ_KEYS = /^[0-9a-z]+$/;

/** Returns the keys of `keys`; throws RangeError for an empty or invalid sequence. */
export function sysrqKeys(keys: string): string[] {
  if (!SYSRQ_KEYS.test(keys)) {
    throw new RangeError(`invalid SysRq keys ${JSON.stringify(keys)}: use one or more of 0-9 and a-z, e.g. "h" or "reisub"`);
  }
  return [...keys];
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
