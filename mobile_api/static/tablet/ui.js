// Small DOM helpers: element building, modal dialogs and passing notices. No framework.

import { t } from './i18n.js';

/**
 * h('button', {class: 'big', onclick: fn, dataset: {testid: 'x'}}, 'text', child, …)
 * Attributes named on… become listeners; `text` sets textContent; null children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'text') {
      element.textContent = value;
    } else if (name === 'value' || name === 'checked' || name === 'disabled' || name === 'selected') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replace the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * A modal dialog. `actions` are [{label, value, primary}]; resolves with the chosen value
 * (or null when dismissed). `validate(value)` may return an error text to keep it open.
 */
export function dialog({ title, body = [], actions, testid = 'dialog', validate = null }) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'error', role: 'alert' });
    const buttons = actions.map((action) => h('button', {
      type: 'button',
      class: action.primary ? 'primary' : 'secondary',
      dataset: { testid: `${testid}-${action.value ?? 'cancel'}` },
      onclick: () => {
        const problem = action.value !== null && validate ? validate(action.value) : null;
        if (problem) {
          error.textContent = problem;
          return;
        }
        element.close();
        element.remove();
        resolve(action.value);
      },
    }, action.label));
    const element = h('dialog', { class: 'modal', dataset: { testid } },
      h('h2', { text: title }), body, error, h('div', { class: 'actions' }, buttons));
    element.addEventListener('cancel', (event) => {
      event.preventDefault(); // only the buttons close it: an answer is always explicit
    });
    document.getElementById('dialog-root').append(element);
    element.showModal();
    element.querySelector('textarea, input, select')?.focus();
  });
}

export async function confirm(message, { okLabel = t('Confirm'), testid = 'confirm' } = {}) {
  const answer = await dialog({
    title: message,
    testid,
    actions: [
      { label: t('Cancel'), value: null },
      { label: okLabel, value: 'ok', primary: true },
    ],
  });
  return answer === 'ok';
}

/** Ask for a required text (the reason of an outside check-in). Null when cancelled. */
export async function askText({ title, message, label, testid = 'ask' }) {
  const input = h('textarea', { rows: 4, maxlength: 1000, dataset: { testid: `${testid}-text` } });
  const answer = await dialog({
    title,
    testid,
    body: [h('p', { text: message }), h('label', { class: 'field' }, h('span', { text: label }), input)],
    actions: [
      { label: t('Cancel'), value: null },
      { label: t('Submit'), value: 'ok', primary: true },
    ],
    validate: () => (input.value.trim() ? null : t('A reason is required.')),
  });
  return answer === 'ok' ? input.value.trim() : null;
}

let noticeTimer = null;

/** A passing message at the bottom of the screen. */
export function notice(text, { error = false } = {}) {
  let element = document.getElementById('notice');
  if (!element) {
    element = h('div', { id: 'notice', role: 'status', dataset: { testid: 'notice' } });
    document.body.append(element);
  }
  element.textContent = text;
  element.className = error ? 'show error' : 'show';
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    element.className = '';
  }, 4000);
}
