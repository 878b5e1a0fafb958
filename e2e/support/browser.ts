// Chromium from Debian through playwright-core: launch, sign in, read the terminal, check
// accessibility with axe-core, leave screenshots. Polls instead of sleeping.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
export const CHROMIUM = process.env.TTYGATE_CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // launch() gives Chromium a fresh temporary profile of its own (removed on close).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** A context per user (own cookies), with console errors and CSP violations collected. */
export async function newUserContext(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ baseURL, ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

export async function signIn(page: Page, user: { name: string; password: string }): Promise<void> {
  await page.goto('/#/signin');
  await page.getByLabel('User name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
}

/** The whole terminal buffer as text (scrollback included). */
export function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => window.ttygateConsole?.terminalText() ?? '');
}

/** Waits until `pattern` appears in the terminal after character `from`; returns the text. */
export async function waitForTerminal(page: Page, pattern: RegExp, opts: { from?: number; timeoutMs?: number } = {}): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let text = '';
  for (;;) {
    text = await terminalText(page);
    if (pattern.test(text.slice(opts.from ?? 0))) return text;
    if (Date.now() > deadline) throw new Error(`terminal: timed out waiting for ${pattern}; last output:\n${text.slice(-600)}`);
    await page.waitForTimeout(100);
  }
}

/** Types a line into the terminal (focus first) and presses Enter. */
export async function typeLine(page: Page, line: string): Promise<void> {
  await page.locator('#terminal textarea').focus();
  await page.keyboard.type(line, { delay: 5 });
  await page.keyboard.press('Enter');
}

/** Logs in to the guest at a fresh `login:` prompt (press Enter to get one). */
export async function guestLogin(page: Page, user: string, password: string): Promise<void> {
  let mark = (await terminalText(page)).length;
  await typeLine(page, '');
  await waitForTerminal(page, /login: *$/m, { from: mark, timeoutMs: 60_000 });
  mark = (await terminalText(page)).length;
  await typeLine(page, user);
  await waitForTerminal(page, /Password: */, { from: mark });
  mark = (await terminalText(page)).length;
  await typeLine(page, password);
  await waitForTerminal(page, /\$ */, { from: mark });
}

/** A shell prompt on the guest: logs in if the console is at `login:` (another test may have left it logged in). */
export async function ensureShell(page: Page, user: string, password: string): Promise<void> {
  const mark = (await terminalText(page)).length;
  await typeLine(page, '');
  await waitForTerminal(page, /(login: *|\$ *)$/m, { from: mark, timeoutMs: 60_000 });
  if (/login: *$/m.test((await terminalText(page)).slice(mark))) await guestLogin(page, user, password);
}

export interface AxeSummary {
  page: string;
  violations: { id: string; impact: string | null | undefined; nodes: number; help: string }[];
}
export const axeResults: AxeSummary[] = [];

/** Runs axe-core (WCAG 2.1 A/AA rules); returns the serious and critical violations. */
export async function checkAccessibility(page: Page, name: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const summary: AxeSummary = { page: name, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })) };
  axeResults.push(summary);
  writeFileSync(join(ARTIFACTS, `axe-${name}.json`), JSON.stringify({ summary, violations: result.violations }, null, 2));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}

export async function finalScreenshot(page: Page, name: string): Promise<string> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

declare global {
  interface Window {
    ttygateConsole?: { terminalText(): string; nextOffset(): number | undefined; sessionId(): string | undefined; mode(): string };
  }
}
