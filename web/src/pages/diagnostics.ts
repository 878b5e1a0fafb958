// Boot diagnostics: the captured serial log (search, follow, download) and, for VMs, the screenshot.

import { ApiError, api, describeError, enc, getDevice } from '../api.js';
import { href, type Page } from '../app.js';
import { clear, h } from '../dom.js';
import type { DeviceInfo } from '../types.js';

const FOLLOW_MS = 2000;
/** First load: the last 1 MiB (the whole capture can be downloaded). */
const TAIL_BYTES = 1024 * 1024;
/** Control characters other than tab and newline make a log unreadable; shown as nothing. */
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;

export function cleanLog(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(CONTROL, '');
}

export async function diagnosticsPage(main: HTMLElement, id: string): Promise<Page> {
  const title = `Boot diagnostics: ${id}`;
  main.append(h('h1', {}, title));
  let device: DeviceInfo;
  try {
    device = await getDevice(id);
  } catch (err) {
    main.append(h('p', { className: 'error', role: 'alert' }, describeError(err)));
    return { title };
  }
  const links = h('p', {}, h('a', { href: href({ name: 'devices' }) }, 'Devices'), ' · ', h('a', { href: href({ name: 'console', id }) }, 'Open the console'));

  // ---- serial log
  const search = h('input', { type: 'search', id: 'log-search', placeholder: 'Text to find' });
  const findNext = h('button', { type: 'button', className: 'secondary' }, 'Find next');
  const follow = h('input', { type: 'checkbox', id: 'log-follow' });
  const download = h('button', { type: 'button', className: 'secondary', id: 'log-download' }, 'Download the whole log');
  const matches = h('span', { className: 'hint', role: 'status', id: 'log-matches' });
  const pre = h('pre', { className: 'serial-log', id: 'serial-log', tabindex: '0', 'aria-label': `Serial log of ${id}` });
  const logInfo = h('p', { className: 'hint', id: 'log-info' });
  let text = '';
  let endOffset: number | undefined;
  let hit = -1;

  const draw = () => {
    const q = search.value;
    clear(pre);
    if (!q) {
      pre.textContent = text;
      matches.textContent = '';
      return;
    }
    const lower = text.toLowerCase();
    const needle = q.toLowerCase();
    let at = 0;
    let count = 0;
    const marks: HTMLElement[] = [];
    for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, i + needle.length)) {
      pre.append(text.slice(at, i));
      const m = h('mark', {}, text.slice(i, i + q.length));
      marks.push(m);
      pre.append(m);
      at = i + q.length;
      count++;
    }
    pre.append(text.slice(at));
    matches.textContent = count === 0 ? `No match for “${q}”.` : `${count} match${count === 1 ? '' : 'es'} for “${q}”.`;
    if (marks.length) {
      hit = (hit + 1) % marks.length;
      marks[hit]!.className = 'current';
      marks[hit]!.scrollIntoView({ block: 'center' });
    }
  };
  const load = async (since?: number) => {
    const res = await api<Response>('GET', `/api/v1/devices/${enc(id)}/boot-diagnostics/serial-log?${since === undefined ? `tail=${TAIL_BYTES}` : `since=${since}`}`, undefined, { raw: true });
    const body = cleanLog(await res.text());
    const start = Number(res.headers.get('x-log-start-offset'));
    endOffset = Number(res.headers.get('x-log-end-offset'));
    if (since === undefined) {
      text = body;
      logInfo.textContent = `Bytes ${start} to ${endOffset} of the capture${start > 0 ? ' (older output: download the whole log)' : ''}.`;
    } else {
      text += body;
    }
    return body.length > 0;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      if (await load(endOffset)) {
        hit = -1;
        draw();
        pre.scrollTop = pre.scrollHeight;
      }
    } catch (err) {
      logInfo.textContent = `Following stopped: ${describeError(err)}`;
      follow.checked = false;
      return;
    }
    if (follow.checked) timer = setTimeout(() => void tick(), FOLLOW_MS);
  };
  follow.addEventListener('change', () => {
    clearTimeout(timer);
    if (follow.checked) void tick();
  });
  search.addEventListener('input', () => {
    hit = -1;
    draw();
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      draw();
    }
  });
  findNext.addEventListener('click', draw);
  download.addEventListener('click', async () => {
    try {
      const res = await api<Response>('GET', `/api/v1/devices/${enc(id)}/boot-diagnostics/serial-log?since=0`, undefined, { raw: true });
      const blob = await res.blob();
      const a = h('a', { href: URL.createObjectURL(blob), download: `${id.replace(/\//g, '_')}-serial.log` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      logInfo.textContent = `Download failed: ${describeError(err)}`;
    }
  });

  const logSection = h(
    'section',
    { 'aria-labelledby': 'log-title' },
    h('h2', { id: 'log-title' }, 'Serial log'),
    h('p', { className: 'hint' }, 'Everything the device printed, captured whether or not anybody was attached.'),
    h('div', { className: 'toolbar' }, h('label', { for: search.id }, 'Search'), search, findNext, h('span', { className: 'checkbox' }, follow, h('label', { for: follow.id }, 'Follow new output')), download),
    matches,
    logInfo,
    pre,
  );

  // ---- screenshot
  const shot = h('section', { 'aria-labelledby': 'shot-title' }, h('h2', { id: 'shot-title' }, 'Screenshot'));
  const caps = device.capabilities;
  let shotUrl: string | undefined;
  const loadShot = async () => {
    const holder = h('div', { id: 'screenshot' });
    try {
      const res = await api<Response>('GET', `/api/v1/devices/${enc(id)}/boot-diagnostics/screenshot`, undefined, { raw: true });
      if (shotUrl) URL.revokeObjectURL(shotUrl);
      shotUrl = URL.createObjectURL(await res.blob());
      holder.append(h('img', { src: shotUrl, alt: `Screenshot of the VGA console of ${id}, taken ${new Date().toLocaleTimeString()}`, id: 'screenshot-img' }));
    } catch (err) {
      holder.append(h('p', { className: 'error' }, err instanceof ApiError ? describeError(err) : 'The screenshot could not be taken.'));
    }
    shot.querySelector('#screenshot')?.remove();
    shot.append(holder);
  };
  if (caps && !caps.screenshot.supported) shot.append(h('p', {}, `No screenshot for this device: ${caps.screenshot.reason}`));
  else {
    const again = h('button', { type: 'button', className: 'secondary' }, 'Take a new screenshot');
    again.addEventListener('click', () => void loadShot());
    shot.append(again);
    void loadShot();
  }

  main.append(links, logSection, shot);
  try {
    await load();
    draw();
    pre.scrollTop = pre.scrollHeight;
  } catch (err) {
    logInfo.textContent = describeError(err);
  }
  return {
    title,
    dispose() {
      clearTimeout(timer);
      if (shotUrl) URL.revokeObjectURL(shotUrl);
    },
  };
}
