// attachTerminal: bridges a local terminal (raw mode) to a console, with a Ctrl+] escape menu.

import type { Event } from '../util/event.js';

export interface TerminalTarget {
  onData: Event<Uint8Array>;
  write(data: Uint8Array): Promise<void>;
  sendBreak(): Promise<void>;
  sysrq(keys: string): Promise<void>;
  /** More menu entries: key → [label, action]. */
  extra?: Record<string, [string, () => Promise<void>]>;
  /** How messages from the menu are labelled (default `ttygate-emu`). */
  label?: string;
}

/** Ctrl+] as in telnet and `ttygate connect`. */
const ESCAPE = 0x1d;

/**
 * Copies target output to `output` and `input` to the target until the user quits from the menu
 * (or `input` ends). In the menu: b BREAK, s then a key for SysRq, q quit, plus `extra`; any other
 * key leaves the menu. Ctrl+] twice sends a literal Ctrl+].
 */
export async function attachTerminal(target: TerminalTarget, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<void> {
  const raw = input.isTTY === true;
  if (raw) input.setRawMode(true);
  const sub = target.onData((d) => output.write(d));
  const note = (s: string) => output.write(`\r\n[${target.label ?? 'ttygate-emu'}] ${s}\r\n`);
  let menu: 'none' | 'menu' | 'sysrq' = 'none';
  const entries = Object.entries(target.extra ?? {});
  const menuText = ['b BREAK', 's SysRq (then a key)', ...entries.map(([k, [label]]) => `${k} ${label}`), 'q quit'].join(', ');

  const run = (label: string, fn: () => Promise<void>) =>
    fn().then(
      () => note(`${label}: done`),
      (err: Error) => note(`${label}: ${err.message}`),
    );

  try {
    await new Promise<void>((resolve) => {
      const onInput = (chunk: Buffer) => {
        for (let i = 0; i < chunk.length; i++) {
          const b = chunk[i]!;
          if (menu === 'none') {
            if (b === ESCAPE) {
              // Send what came before the escape, then open the menu.
              if (i > 0) void target.write(chunk.subarray(0, i));
              chunk = chunk.subarray(i + 1);
              i = -1;
              menu = 'menu';
              note(`menu: ${menuText}`);
            }
            continue;
          }
          const key = String.fromCharCode(b).toLowerCase();
          if (menu === 'sysrq') {
            menu = 'none';
            void run(`SysRq ${key}`, () => target.sysrq(key));
          } else if (b === ESCAPE) {
            menu = 'none';
            void target.write(Uint8Array.of(ESCAPE));
          } else if (key === 'q') {
            input.off('data', onInput);
            resolve();
            return;
          } else if (key === 'b') {
            menu = 'none';
            void run('BREAK', () => target.sendBreak());
          } else if (key === 's') {
            menu = 'sysrq';
            note('SysRq: press the key (h for help)');
          } else if (target.extra?.[key]) {
            menu = 'none';
            const [label, fn] = target.extra[key];
            void run(label, fn);
          } else {
            menu = 'none';
          }
          chunk = chunk.subarray(i + 1);
          i = -1;
        }
        if (menu === 'none' && chunk.length > 0) void target.write(chunk);
      };
      input.on('data', onInput);
      input.once('end', () => resolve());
      input.resume();
    });
  } finally {
    sub.dispose();
    if (raw) input.setRawMode(false);
    input.pause();
  }
}
