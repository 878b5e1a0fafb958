// The xterm.js terminal: fitted to its box, Ctrl+F6 moves focus out, style nonce for the CSP.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

/** The per-page nonce the gateway allows for <style> elements (see gateway routes/web-ui.ts). */
function styleNonce(): string | undefined {
  return document.querySelector<HTMLMetaElement>('meta[name="ttygate-style-nonce"]')?.content || undefined;
}

/**
 * Runs `fn` with every <style> element created during it carrying the page's nonce. xterm.js
 * creates its three style elements (theme, dimensions, scrollbar) inside `open()`; a strict CSP
 * without 'unsafe-inline' blocks them otherwise. Scoped to the call, then restored.
 */
function withStyleNonce<T>(fn: () => T): T {
  const nonce = styleNonce();
  if (!nonce) return fn();
  const original = document.createElement;
  document.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
    const el = original.call(this, tag, options);
    if (tag.toLowerCase() === 'style') (el as HTMLStyleElement).nonce = nonce;
    return el;
  } as typeof document.createElement;
  try {
    return fn();
  } finally {
    document.createElement = original;
  }
}

export interface TerminalViewOptions {
  /** Ctrl+F6: where focus goes when the user leaves the terminal. */
  onEscapeFocus: () => void;
  onData: (data: string) => void;
  onPaste: (text: string) => void;
}

export class TerminalView {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly resize: ResizeObserver;

  constructor(
    readonly host: HTMLElement,
    opts: TerminalViewOptions,
  ) {
    this.term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      scrollback: 10000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      // 1.0 clips underscores of some monospace fonts in the DOM renderer.
      lineHeight: 1.2,
      // Contrast for low vision; the theme is also WCAG AA against the background.
      minimumContrastRatio: 4.5,
      theme: { background: '#0c0c0c', foreground: '#e6e6e6', cursor: '#e6e6e6' },
    });
    this.term.loadAddon(this.fit);
    // Ctrl+F6 leaves the terminal (as in Azure's portal); every other key goes to the device.
    this.term.attachCustomKeyEventHandler((e) => {
      if (e.ctrlKey && e.key === 'F6') {
        if (e.type === 'keydown') opts.onEscapeFocus();
        return false;
      }
      return true;
    });
    this.term.onData(opts.onData);
    // Pastes are intercepted before xterm sends them, for the paste guard (capture phase).
    host.addEventListener(
      'paste',
      (e) => {
        const text = e.clipboardData?.getData('text/plain');
        e.preventDefault();
        e.stopImmediatePropagation();
        if (text) opts.onPaste(text);
      },
      true,
    );
    withStyleNonce(() => this.term.open(host));
    const textarea = host.querySelector('textarea');
    textarea?.setAttribute('aria-label', 'Serial console input. Press Control+F6 to move focus out of the terminal.');
    this.resize = new ResizeObserver(() => this.fitNow());
    this.resize.observe(host);
    this.fitNow();
  }

  fitNow(): void {
    if (this.host.clientWidth > 0 && this.host.clientHeight > 0) this.fit.fit();
  }

  write(bytes: Uint8Array, done?: () => void): void {
    this.term.write(bytes, done);
  }

  /** A line from the UI itself (not the device), dimmed, on its own line. */
  note(text: string): void {
    this.term.write(`\r\n\x1b[2m[ttygate] ${text}\x1b[0m\r\n`);
  }

  /** The whole buffer as text (scrollback included), wrapped lines joined. */
  text(): string {
    const b = this.term.buffer.active;
    let out = '';
    for (let i = 0; i < b.length; i++) {
      const line = b.getLine(i);
      if (!line) continue;
      if (i > 0 && !line.isWrapped) out += '\n';
      out += line.translateToString(true);
    }
    return out;
  }

  focus(): void {
    this.term.focus();
  }

  dispose(): void {
    this.resize.disconnect();
    this.term.dispose();
  }
}
