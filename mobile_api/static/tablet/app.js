// The tablet app: start-up, the service worker, the header and the screens (routed on the
// URL fragment, so the one cached shell page serves every screen offline).

import * as store from './store.js';
import * as auth from './auth.js';
import * as sync from './sync.js';
import { settings } from './api.js';
import { locale, setLocale, t } from './i18n.js';
import { confirm, fill, h, notice } from './ui.js';
import * as screens from './screens.js';
import { taskScreen } from './task_screen.js';

const ROUTES = [
  [/^#\/task\/([0-9a-f-]+)$/, taskScreen],
  [/^#\/credential$/, screens.credential],
  [/^#\/sync$/, screens.syncScreen],
  [/^#\/tasks$/, screens.tasks],
];

const main = document.getElementById('view');
const statusBar = document.getElementById('status');
const nav = document.getElementById('top-nav');
let leave = null;

const app = {
  signedIn() {
    drawNav();
    sync.syncNow();
    if (location.hash === '#/tasks') route();
    else location.hash = '#/tasks';
  },
};

function route() {
  if (typeof leave === 'function') leave();
  leave = null;
  document.getElementById('dialog-root').replaceChildren();
  if (!auth.signedInAs() || (sync.status().authExpired && location.hash !== '#/sync')) {
    leave = screens.login(main, [], app);
    drawNav();
    return;
  }
  const hash = location.hash || '#/tasks';
  for (const [pattern, screen] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      leave = screen(main, match.slice(1), app);
      drawNav();
      window.scrollTo(0, 0);
      return;
    }
  }
  location.hash = '#/tasks';
}

function drawNav() {
  const hash = location.hash || '#/tasks';
  const link = (href, label, testid) => h('a', {
    href, class: `nav ${hash.startsWith(href) ? 'active' : ''}`, dataset: { testid },
  }, label);
  const other = locale() === 'zh-CN' ? 'en' : 'zh-CN';
  const language = h('button', {
    type: 'button', class: 'nav', lang: other, dataset: { testid: 'language' },
    onclick: () => {
      setLocale(other);
      route();
      drawStatus();
    },
  }, other === 'en' ? 'English' : '中文');
  if (!auth.signedInAs()) {
    fill(nav, language);
    return;
  }
  fill(nav,
    link('#/tasks', t('Tasks'), 'nav-tasks'),
    link('#/credential', t('Credential'), 'nav-credential'),
    link('#/sync', t('Sync'), 'nav-sync'),
    language,
    h('button', { type: 'button', class: 'nav', dataset: { testid: 'sign-out' }, onclick: signOut }, t('Sign out')));
}

async function signOut() {
  const waiting = await store.operationCount();
  const question = waiting > 0
    ? t('{n} changes have not been synced yet. Sign out and discard them?', { n: waiting })
    : t('Sign out of this tablet?');
  if (!await confirm(question, { okLabel: t('Sign out') })) return;
  await auth.signOut();
  route();
}

async function drawStatus() {
  const status = sync.status();
  const waiting = auth.signedInAs() ? await store.operationCount() : 0;
  const parts = [status.online ? t('Online') : t('Offline')];
  if (status.running) parts.push(t('Syncing…'));
  else if (waiting > 0) parts.push(t('{n} waiting to sync', { n: waiting }));
  else if (auth.signedInAs()) parts.push(t('All synced'));
  statusBar.textContent = parts.join(' · ');
  statusBar.className = `status ${status.online ? 'online' : 'offline'}`;
  statusBar.dataset.online = String(status.online);
  statusBar.dataset.pending = String(waiting);
  statusBar.dataset.running = String(status.running);
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    const hadController = Boolean(navigator.serviceWorker.controller);
    await navigator.serviceWorker.register(settings.sw, { scope: settings.scope, type: 'classic' });
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      // A new build took over: offer to reload rather than pull the page from under a form.
      if (hadController) {
        notice(t('A new version of the app is ready.'));
        statusBar.after(h('button', {
          type: 'button', class: 'nav', onclick: () => location.reload(),
        }, t('Reload')));
      }
    });
  } catch (error) {
    console.error('service worker registration failed', error);
  }
}

async function start() {
  setLocale(locale());
  await store.database();
  await auth.load();
  sync.subscribe(() => drawStatus());
  sync.subscribe((reason) => {
    if (reason === 'auth') route();
  });
  window.addEventListener('hashchange', route);
  route();
  drawStatus();
  sync.start();
  registerServiceWorker();
  document.body.dataset.ready = 'true';
}

start();
