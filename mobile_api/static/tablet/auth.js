// Signing in and out. The bearer token lives in IndexedDB with the rest of the tablet's data,
// so a restart offline keeps the inspector signed in and the queue usable.

import * as store from './store.js';
import { ApiError, call, setToken } from './api.js';
import { signedIn } from './sync.js';

let current = null;

export function user() {
  return current?.user ?? null;
}

export function signedInAs() {
  return current;
}

export async function load() {
  current = (await store.get('auth')) ?? null;
  setToken(current?.token ?? null);
  return current;
}

/** POST /tokens; only inspectors (accounts with an inspector record) use the tablet. */
export async function signIn(username, password) {
  const answer = await call('POST', 'tokens', {
    json: { username, password, label: `tablet ${navigator.platform || ''}`.trim().slice(0, 100) },
  });
  if (!answer.user.inspector_id) {
    setToken(answer.token);
    await call('DELETE', 'tokens/current').catch(() => null);
    setToken(current?.token ?? null);
    throw new ApiError(403, { error: { code: 'not_an_inspector', message: null, fields: {} } });
  }
  const previous = current?.user?.username;
  if (previous && previous !== answer.user.username) {
    await store.clearAll(); // another inspector's tasks and queue (the caller confirmed)
  }
  current = { token: answer.token, expires_at: answer.expires_at, user: answer.user };
  await store.set('auth', current);
  setToken(current.token);
  signedIn();
  return current;
}

/** Revoke the token if the network allows, then forget everything on this tablet. */
export async function signOut() {
  if (navigator.onLine) await call('DELETE', 'tokens/current').catch(() => null);
  current = null;
  setToken(null);
  await store.clearAll();
}
