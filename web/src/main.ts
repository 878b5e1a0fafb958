// Entry point: who is signed in, the header, and the page for the current hash route.

import { ApiError, api, getMe, setUnauthenticatedHandler } from './api.js';
import { canAdminister, canAudit, currentUser, href, parseRoute, setCurrentUser, type Page } from './app.js';
import { clear, h } from './dom.js';
import { adminPage } from './pages/admin.js';
import { auditPage } from './pages/audit.js';
import { consolePage } from './pages/console-page.js';
import { devicesPage } from './pages/devices.js';
import { diagnosticsPage } from './pages/diagnostics.js';
import { signinPage } from './pages/signin.js';

const main = document.getElementById('main')!;
let current: Page | undefined;
let rendering = 0;

function renderHeader(): void {
  const header = document.getElementById('app-header')!;
  const nav = document.getElementById('main-nav')!;
  const userBox = document.getElementById('user-box')!;
  const me = currentUser();
  header.hidden = !me;
  clear(nav);
  clear(userBox);
  if (!me) return;
  const route = parseRoute(location.hash);
  const link = (label: string, target: string, active: boolean) => h('a', { href: target, ...(active ? { 'aria-current': 'page' } : {}) }, label);
  nav.append(
    link('Devices', href({ name: 'devices' }), ['devices', 'console', 'diagnostics'].includes(route.name)),
    ...(canAudit() ? [link('Audit', href({ name: 'audit' }), route.name === 'audit')] : []),
    ...(canAdminister() ? [link('Administration', href({ name: 'admin' }), route.name === 'admin')] : []),
  );
  const signOut = h('button', { type: 'button', className: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    try {
      await api('POST', '/api/v1/auth/logout', {});
    } catch {
      // Signed out already, or the session expired: either way the page forgets the user.
    }
    setCurrentUser(undefined);
    location.hash = href({ name: 'signin' });
  });
  userBox.append(h('span', {}, 'Signed in as ', h('strong', {}, me.name)), signOut);
}

async function render(): Promise<void> {
  const token = ++rendering;
  current?.dispose?.();
  current = undefined;
  let route = parseRoute(location.hash);
  if (!currentUser() && route.name !== 'signin') {
    try {
      setCurrentUser(await getMe());
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        clear(main);
        main.append(h('h1', {}, 'ttygate'), h('p', { className: 'error', role: 'alert' }, `The gateway cannot be reached: ${(err as Error).message}`));
        return;
      }
      sessionStorage.setItem('ttygate.next', location.hash);
      location.replace(href({ name: 'signin' }));
      return;
    }
  }
  if (token !== rendering) return;
  if (route.name === 'signin' && currentUser()) route = { name: 'devices' };
  renderHeader();
  clear(main);
  document.body.dataset['page'] = route.name;
  const page = await (async (): Promise<Page> => {
    switch (route.name) {
      case 'signin':
        return signinPage(main, async () => {
          setCurrentUser(await getMe());
          const next = sessionStorage.getItem('ttygate.next');
          sessionStorage.removeItem('ttygate.next');
          location.hash = next && next !== href({ name: 'signin' }) ? next : href({ name: 'devices' });
        });
      case 'devices':
        return devicesPage(main);
      case 'console':
        return consolePage(main, route.id);
      case 'diagnostics':
        return diagnosticsPage(main, route.id);
      case 'audit':
        return auditPage(main);
      case 'admin':
        return adminPage(main);
    }
  })();
  if (token !== rendering) {
    page.dispose?.();
    return;
  }
  current = page;
  document.title = `${page.title} — ttygate`;
  // Move focus to the new content for keyboard and screen-reader users (not on the console: it focuses its terminal).
  if (route.name !== 'console' && route.name !== 'signin') main.focus({ preventScroll: true });
}

setUnauthenticatedHandler(() => {
  if (parseRoute(location.hash).name === 'signin') return;
  setCurrentUser(undefined);
  sessionStorage.setItem('ttygate.next', location.hash);
  location.hash = href({ name: 'signin' });
});
window.addEventListener('hashchange', () => void render());
void render();
