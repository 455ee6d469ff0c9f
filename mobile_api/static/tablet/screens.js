// The screens other than a task's: sign in, my tasks, the e-credential (亮证), sync status.
// Each screen is `render(main, params, app)` and may return a function that tears it down.

import * as store from './store.js';
import * as auth from './auth.js';
import * as sync from './sync.js';
import { ApiError, NetworkError, call, describe } from './api.js';
import { formatTime, shanghaiToday, t } from './i18n.js';
import { confirm, fill, h } from './ui.js';

// --- sign in -----------------------------------------------------------------------------

export function login(main, params, app) {
  const username = h('input', {
    name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none',
    value: auth.user()?.username || '', dataset: { testid: 'login-username' },
  });
  const password = h('input', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    dataset: { testid: 'login-password' },
  });
  const error = h('p', { class: 'error', role: 'alert', dataset: { testid: 'login-error' } });
  const button = h('button', { type: 'submit', class: 'primary wide', dataset: { testid: 'login-submit' } }, t('Sign in'));
  const expired = sync.status().authExpired;
  const form = h('form', {
    class: 'card login',
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = '';
      if (!navigator.onLine) {
        error.textContent = t('Signing in needs the network.');
        return;
      }
      const previous = auth.user()?.username;
      const waiting = await store.operationCount();
      if (previous && previous !== username.value.trim() && waiting > 0) {
        const ok = await confirm(t(
          '{n} changes by {user} have not been synced. Signing in as someone else discards them. Continue?',
          { n: waiting, user: previous },
        ));
        if (!ok) return;
      }
      button.disabled = true;
      button.textContent = t('Signing in…');
      try {
        await auth.signIn(username.value.trim(), password.value);
        app.signedIn();
      } catch (problem) {
        error.textContent = problem instanceof ApiError && problem.code === 'not_an_inspector'
          ? t('Only inspectors use the tablet app.')
          : problem instanceof NetworkError ? t('Signing in needs the network.') : describe(problem);
        button.disabled = false;
        button.textContent = t('Sign in');
      }
    },
  },
  h('h1', {}, t('Suijian'), ' · ', t('Field inspection')),
  expired ? h('p', { class: 'warning', text: t('Your sign-in has expired. Sign in again; nothing waiting to sync is lost.') }) : null,
  h('label', { class: 'field' }, h('span', { text: t('Username') }), username),
  h('label', { class: 'field' }, h('span', { text: t('Password') }), password),
  error, button);
  fill(main, form);
  (username.value ? password : username).focus();
}

// --- my tasks ----------------------------------------------------------------------------

const STATUS_ORDER = { in_progress: 0, open: 1, standby: 2, done: 3, cancelled: 4 };

export function tasks(main, params, app) {
  const list = h('div', { class: 'task-list', dataset: { testid: 'task-list' } });
  const updated = h('span', { class: 'muted' });
  const refresh = h('button', {
    type: 'button', class: 'secondary', dataset: { testid: 'refresh' },
    onclick: () => sync.syncNow(),
  }, t('Refresh'));
  fill(main, h('div', { class: 'screen-head' }, h('h1', { text: t('My tasks') }), updated, refresh), list);

  async function draw() {
    const [all, inspections, updatedAt] = await Promise.all(
      [store.allTasks(), store.allInspections(), store.get('tasksUpdatedAt')],
    );
    updated.textContent = updatedAt ? t('Last updated {time}', { time: formatTime(updatedAt) }) : '';
    const byTask = new Map(inspections.map((inspection) => [inspection.task, inspection]));
    const today = shanghaiToday();
    all.sort((a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9)
      || a.due_date.localeCompare(b.due_date) || a.enterprise.name.localeCompare(b.enterprise.name));
    if (all.length === 0) {
      fill(list, h('div', { class: 'empty card' },
        h('p', { text: t('No tasks yet.') }), h('p', { class: 'muted', text: t('Tasks are loaded when the tablet is online.') })));
      return;
    }
    fill(list, all.map((task) => {
      const local = byTask.get(task.uuid);
      let localState = null;
      if (local?.status === 'finished' && task.status !== 'done') localState = t('Finished here, waiting to sync');
      else if (local && task.status === 'open') localState = t('In progress here');
      const overdue = task.status !== 'done' && task.due_date < today;
      return h('a', {
        class: `task-card status-${task.status}`, href: `#/task/${task.uuid}`,
        dataset: { testid: 'task-card', task: task.uuid },
      },
      h('div', { class: 'task-top' },
        h('strong', { class: 'name', text: task.enterprise.name }),
        h('span', { class: `chip ${task.status}`, text: t(task.status) })),
      h('div', { class: 'muted', text: task.enterprise.address || '' }),
      h('div', { class: 'task-meta' },
        h('span', { text: task.plan.title }),
        h('span', { class: overdue ? 'overdue' : '', text: t('Due {date}', { date: task.due_date }) + (overdue ? ` · ${t('Overdue')}` : '') }),
        task.my_role ? h('span', { text: t(task.my_role) }) : null),
      localState ? h('div', { class: 'local-state', text: localState }) : null);
    }));
  }

  draw();
  return sync.subscribe((reason) => {
    if (reason === 'tasks' || reason === 'done') draw();
  });
}

// --- the e-credential (亮证) --------------------------------------------------------------

export function credential(main) {
  const box = h('div', { class: 'credential card', dataset: { testid: 'credential' } });
  fill(main, h('div', { class: 'screen-head' }, h('h1', { text: t('E-credential') })), box);
  let timer = null;
  let shown = null;

  function show(record, cached) {
    if (shown) URL.revokeObjectURL(shown);
    // As an image, the server's SVG is only ever drawn, never run.
    shown = URL.createObjectURL(new Blob([record.qr_svg], { type: 'image/svg+xml' }));
    const image = h('img', { class: 'qr', alt: record.verify_url || 'QR', src: shown, dataset: { testid: 'credential-qr' } });
    fill(box,
      h('div', { class: 'qr-frame' }, image),
      h('div', { class: 'credential-facts' },
        h('p', { class: 'who', text: record.name }),
        h('dl', {},
          h('dt', { text: t('Credential number') }), h('dd', { text: record.credential_no, dataset: { testid: 'credential-no' } }),
          h('dt', { text: t('Department') }), h('dd', { text: record.department || '' }),
          h('dt', { text: t('Valid until') }), h('dd', { text: record.expires_on || '' })),
        h('p', { class: 'muted', text: t('Show this code to the enterprise: scanning it checks the credential with the server.') }),
        cached ? h('p', { class: 'warning', text: t('Shown from this tablet\'s copy of {time}.', { time: formatTime(record.fetched_at) }) }) : null));
  }

  async function load() {
    const cached = await store.get('credential');
    if (navigator.onLine) {
      try {
        const record = { ...(await call('GET', 'me/credential')), fetched_at: new Date().toISOString() };
        await store.set('credential', record);
        show(record, false);
        // The QR token is short-lived: ask for a fresh one before it runs out.
        const expires = Date.parse(record.token_expires_at || '') || (Date.now() + 300000);
        clearTimeout(timer);
        timer = setTimeout(load, Math.max(30000, expires - Date.now() - 60000));
        return;
      } catch (error) {
        if (!cached) fill(box, h('p', { class: 'error', text: describe(error) }));
      }
    }
    if (cached) show(cached, true);
    else fill(box, h('p', { class: 'muted', text: t('The credential is loaded when the tablet is online.') }));
  }

  load();
  const unsubscribe = sync.subscribe((reason) => {
    if (reason === 'network' && navigator.onLine) load();
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
    if (shown) URL.revokeObjectURL(shown);
  };
}

// --- sync status -------------------------------------------------------------------------

function operationLabel(op) {
  return `${t(op.kind === 'checkin' ? 'check-in' : op.kind)} · ${op.method} ${op.path.replace('/api/v1', '')}`;
}

export function syncScreen(main) {
  const summary = h('div', { class: 'card', dataset: { testid: 'sync-summary' } });
  const waiting = h('div', { class: 'card', dataset: { testid: 'sync-waiting' } });
  const refused = h('div', { class: 'card', dataset: { testid: 'sync-rejected' } });
  fill(main, h('div', { class: 'screen-head' }, h('h1', { text: t('Sync status') }),
    h('button', { type: 'button', class: 'primary', dataset: { testid: 'sync-now' }, onclick: () => sync.syncNow() }, t('Sync now'))),
  summary, waiting, refused);

  async function draw() {
    const status = sync.status();
    const operations = await store.operations();
    const rejected = await store.rejectedOperations();
    fill(summary,
      h('p', { text: status.online ? t('Online') : t('Offline') }),
      h('p', { text: status.lastSuccess ? t('Last sync {time}', { time: formatTime(status.lastSuccess) }) : t('Never synced') }),
      status.lastError ? h('p', { class: 'error', text: t('Last error: {error}', { error: status.lastError }) }) : null);
    fill(waiting, h('h2', { text: `${t('Waiting')} (${operations.length})` }),
      operations.length === 0 ? h('p', { class: 'muted', text: t('Nothing waiting.') }) : h('ul', { class: 'ops' },
        operations.map((op) => h('li', { class: `op ${op.state}`, dataset: { testid: 'sync-op', state: op.state } },
          h('span', { text: operationLabel(op) }),
          op.state === 'conflict' ? h('span', { class: 'chip conflict', text: t('Conflicts') }) : null,
          op.error ? h('div', { class: 'error small', text: op.error }) : null,
          op.state === 'conflict' ? h('button', {
            type: 'button', class: 'secondary', dataset: { testid: 'use-server-version' },
            onclick: async () => {
              if (await confirm(t('The server holds another version. Keep the server\'s version?'))) {
                await sync.acceptServerVersion(op.id);
                draw();
              }
            },
          }, t('Use the server\'s version')) : null))));
    fill(refused, h('h2', { text: `${t('Not accepted')} (${rejected.length})` }),
      rejected.length === 0 ? h('p', { class: 'muted', text: t('None') }) : h('ul', { class: 'ops' },
        rejected.map((op) => h('li', { class: 'op rejected', dataset: { testid: 'rejected-op' } },
          h('span', { text: `${operationLabel(op)} · HTTP ${op.status}` }),
          h('div', { class: 'error small', text: op.error || '' }),
          h('button', {
            type: 'button', class: 'secondary',
            onclick: async () => {
              await store.dismissRejected(op.id);
              draw();
            },
          }, t('Dismiss'))))));
  }

  draw();
  return sync.subscribe(() => draw());
}
