// The sync loop: evidence files first, then the queued operations through POST /api/v1/batch,
// then the task feed. It runs when the app starts, when the browser says it is online again,
// after each change, and every few seconds while anything waits (with backoff after failures).
//
// What happens to a queued operation after a batch:
//   2xx                       removed (the server has it; a replay would answer the same)
//   409 / 412                 kept as a conflict the inspector sees and resolves
//   422 outside_reason (check-in)  kept until the inspector gives the reason
//   404 under an inspection whose check-in did not go through   kept (it will, later)
//   408 / 425 / 429 / 5xx     kept, retried
//   any other 4xx             removed for good and listed as "not accepted"
// Operations under an inspection whose check-in waits for a reason or a decision are held
// back, and so are those referring to an evidence file not uploaded yet.

import * as store from './store.js';
import { ApiError, NetworkError, call, describe, hasToken } from './api.js';

export const BATCH_LIMIT = 500;
const PERIOD_MS = 10000; // how often waiting operations are retried
const PULL_EVERY_MS = 60000; // how often the task feed is asked when nothing else happens
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const RETRYABLE = new Set([408, 425, 429]);

const listeners = new Set();
const state = {
  running: false,
  lastSuccess: null,
  lastError: null,
  authExpired: false,
};
let running = null;
let again = false;
let backoffMs = 0;
let nextAttempt = 0;
let lastPull = 0;
let forced = false;

export function status() {
  return { ...state, online: navigator.onLine };
}

/** Call `listener(reason)` after every sync round and on network changes. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(reason) {
  for (const listener of listeners) {
    try {
      listener(reason);
    } catch (error) {
      console.error(error);
    }
  }
}

export function start() {
  window.addEventListener('online', () => {
    backoffMs = 0;
    nextAttempt = 0;
    notify('network');
    syncNow();
  });
  window.addEventListener('offline', () => notify('network'));
  setInterval(() => {
    if (Date.now() >= nextAttempt) syncNow({ force: false });
  }, PERIOD_MS);
  store.get('lastSync').then((value) => {
    state.lastSuccess = value || null;
  });
  syncNow();
}

/** A change was queued: tell the screens, and send it if the network allows. */
export function queued() {
  notify('queued');
  if (navigator.onLine) syncNow();
}

/**
 * Run a round now (or right after the one running). Resolves when the queue has been tried.
 * The periodic retry (`force: false`) asks the task feed only once a minute.
 */
export function syncNow({ force = true } = {}) {
  forced = forced || force;
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    state.running = true;
    notify('start');
    try {
      do {
        again = false;
        await round();
      } while (again && navigator.onLine && !state.authExpired);
    } finally {
      state.running = false;
      running = null;
      notify('done');
    }
  })();
  return running;
}

async function round() {
  if (!navigator.onLine || !hasToken() || state.authExpired) return;
  const pull = forced || Date.now() - lastPull >= PULL_EVERY_MS;
  forced = false;
  try {
    await uploadEvidence();
    const sent = await sendOperations();
    if (pull || sent > 0) {
      await pullTasks();
      await fetchMissingInspections();
      lastPull = Date.now();
    }
    await pruneEvidence();
    state.lastSuccess = new Date().toISOString();
    state.lastError = null;
    await store.set('lastSync', state.lastSuccess);
    backoffMs = 0;
    nextAttempt = 0;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      state.authExpired = true; // the queue stays; signing in again resumes it
      notify('auth');
    }
    state.lastError = describe(error);
    backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(PERIOD_MS, backoffMs * 2));
    // Jitter: many tablets coming back online together do not retry in step.
    nextAttempt = Date.now() + backoffMs * (0.5 + Math.random() / 2);
    if (!(error instanceof NetworkError) && !(error instanceof ApiError)) console.error(error);
  }
}

export function signedIn() {
  state.authExpired = false;
  backoffMs = 0;
  nextAttempt = 0;
}

// --- evidence files ----------------------------------------------------------------------

const DEFINITIVE_UPLOAD_FAILURES = new Set([400, 413, 415, 422]);

function asciiName(name) {
  // A header value must be Latin-1; the file's own name matters little (content-addressed).
  return (name || 'evidence').replace(/[^\x20-\x7e]/g, '_').slice(0, 200);
}

async function uploadEvidence() {
  for (const record of await store.allBlobs()) {
    if (record.uploaded || record.error) continue;
    try {
      const answer = await call('POST', 'evidence', {
        blob: record.blob,
        // The server refuses bytes that do not hash to what the tablet's operations name.
        headers: { 'X-Filename': asciiName(record.name), 'X-Content-SHA256': record.sha256 },
        timeout: 300000,
      });
      if (answer.sha256 !== record.sha256) {
        throw new Error(`the server stored ${answer.sha256}, expected ${record.sha256}`);
      }
      await store.updateBlob(record.sha256, {
        uploaded: true, media_type: answer.media_type, uploaded_at: new Date().toISOString(),
      });
    } catch (error) {
      if (error instanceof ApiError && DEFINITIVE_UPLOAD_FAILURES.has(error.status)) {
        await store.updateBlob(record.sha256, { error: describe(error) });
        // What refers to a refused file cannot succeed: say so rather than wait forever.
        for (const operation of await store.operations()) {
          if (operation.blobs.includes(record.sha256)) {
            await store.reject(operation, error.status, describe(error));
          }
        }
        continue;
      }
      throw error;
    }
  }
}

/**
 * Forget the files of inspections the server holds as finished: they are uploaded, nothing
 * queued refers to them, and the server serves them when they are looked at again.
 */
async function pruneEvidence() {
  const waiting = new Set((await store.operations()).flatMap((op) => op.blobs));
  for (const record of await store.allBlobs()) {
    if (!record.uploaded || waiting.has(record.sha256)) continue;
    const remote = await store.getRemote(record.inspection);
    if (remote?.server?.status === 'finished') await store.deleteBlob(record.sha256);
  }
}

// --- operations --------------------------------------------------------------------------

function isCheckIn(operation) {
  return operation.kind === 'checkin';
}

// The server's dependency order (mobile_api/api/batch.py): check-ins, then attachments, then
// the rest, then results. Sending in that order keeps a split queue (over 500) consistent.
const RANK = { checkin: 0, evidence: 1, result: 3 };

function byDependency(a, b) {
  return (RANK[a.kind] ?? 2) - (RANK[b.kind] ?? 2) || a.seq - b.seq;
}

/** Operations that may go now, in the order they were made, at most `limit`. */
async function sendable(exclude, limit) {
  const operations = await store.operations();
  const blobs = new Map((await store.allBlobs()).map((record) => [record.sha256, record]));
  const blocked = new Set(
    operations.filter((op) => isCheckIn(op) && op.state !== 'pending').map((op) => op.inspection),
  );
  return operations.filter((op) => op.state === 'pending'
    && !exclude.has(op.id)
    && !(blocked.has(op.inspection) && !isCheckIn(op))
    // A file no longer on the tablet was uploaded (and pruned): the server has it.
    && op.blobs.every((sha256) => !blobs.has(sha256) || blobs.get(sha256).uploaded))
    .sort(byDependency).slice(0, limit);
}

/** Send what may go, 500 at a time; returns how many operations were sent. */
async function sendOperations() {
  const tried = new Set();
  for (;;) {
    const batch = await sendable(tried, BATCH_LIMIT);
    if (batch.length === 0) return tried.size;
    for (const op of batch) tried.add(op.id);
    const results = await sendBatch(batch);
    await applyResults(batch, results);
  }
}

/** POST /batch; a batch the server refuses as a whole is split to find the operation at fault. */
async function sendBatch(batch) {
  const operations = batch.map((op) => {
    const sent = { id: op.id, method: op.method, path: op.path, body: op.body };
    if (op.if_match) sent.if_match = op.if_match;
    return sent;
  });
  try {
    const answer = await call('POST', 'batch', { json: { operations }, timeout: 120000 });
    return answer.results;
  } catch (error) {
    if (!(error instanceof ApiError) || ![400, 413, 422].includes(error.status)) throw error;
    if (batch.length === 1) {
      return [{ id: batch[0].id, status: error.status, body: error.body }];
    }
    const half = Math.ceil(batch.length / 2);
    return [...await sendBatch(batch.slice(0, half)), ...await sendBatch(batch.slice(half))];
  }
}

function errorText(body, status) {
  const error = body?.error;
  if (!error) return `HTTP ${status}`;
  const fields = Object.entries(error.fields || {}).map(([name, reason]) => `${name}: ${reason}`);
  return fields.length ? `${error.message} (${fields.join('; ')})` : error.message;
}

async function applyResults(batch, results) {
  const byId = new Map(results.map((result) => [result.id, result]));
  // Inspections whose check-in is still to get through: their 404s are not final.
  const checkInFailed = new Set((await store.operations())
    .filter((op) => isCheckIn(op) && !(byId.get(op.id)?.status < 300))
    .map((op) => op.inspection));
  for (const op of batch) {
    const result = byId.get(op.id);
    if (!result) continue; // not answered: sent again next round
    const { status, body } = result;
    if (status >= 200 && status < 300) {
      await store.dropOperation(op.id);
      await rememberServerState(op, body);
    } else if (status === 409 || status === 412) {
      await store.updateOperation(op.id, {
        state: 'conflict', last_status: status, error: errorText(body, status),
        current: body?.current ?? null,
      });
    } else if (isCheckIn(op) && status === 422 && body?.error?.fields?.['checkin.outside_reason']) {
      await store.updateOperation(op.id, {
        state: 'needs_reason', last_status: status, error: errorText(body, status),
      });
      await markNeedsReason(op.inspection, true);
    } else if (status === 404 && checkInFailed.has(op.inspection) && !isCheckIn(op)) {
      await store.updateOperation(op.id, { attempts: op.attempts + 1, last_status: status });
    } else if (status >= 500 || RETRYABLE.has(status)) {
      await store.updateOperation(op.id, {
        attempts: op.attempts + 1, last_status: status, error: errorText(body, status),
      });
    } else {
      await store.reject(op, status, errorText(body, status));
    }
  }
}

/** Keep the server's view of an inspection (its verdict, flags, version) beside ours. */
async function rememberServerState(op, body) {
  if (!body) return;
  await store.updateRemote(op.inspection, (remote) => {
    if (body.uuid === op.inspection && body.version !== undefined) {
      if (!remote.server || (remote.server.version ?? 0) <= body.version) remote.server = body;
      if (isCheckIn(op)) remote.needs_reason = false;
    } else if (op.kind === 'evidence' && body.exif_check) {
      remote.exif = { ...remote.exif, [body.sha256]: body.exif_check };
    }
    return remote;
  });
}

async function markNeedsReason(uuid, value) {
  await store.updateRemote(uuid, (remote) => ({ ...remote, needs_reason: value }));
}

/** The check-in waiting for a reason gets it and goes again. */
export async function giveReason(inspectionUuid, reason) {
  const inspection = await store.getInspection(inspectionUuid);
  const operation = (await store.operations())
    .find((op) => op.inspection === inspectionUuid && isCheckIn(op));
  if (!inspection || !operation) return;
  inspection.checkin.outside_reason = reason;
  await markNeedsReason(inspectionUuid, false);
  // The check-in was refused, so nothing is stored under its UUID yet: same UUID, new body.
  await store.dropOperation(operation.id);
  await store.commit(inspection, {
    id: crypto.randomUUID(),
    kind: operation.kind,
    inspection: operation.inspection,
    method: operation.method,
    path: operation.path,
    body: { ...operation.body, checkin: { ...operation.body.checkin, outside_reason: reason } },
    blobs: operation.blobs,
  });
  return syncNow();
}

/** Drop our version of a conflicting change and take the server's. */
export async function acceptServerVersion(operationId) {
  const operation = (await store.operations()).find((op) => op.id === operationId);
  if (!operation) return;
  await store.dropOperation(operationId);
  if (navigator.onLine) {
    try {
      const server = await call('GET', `inspections/${operation.inspection}`);
      await keepFromServer(server, await store.getInspection(server.uuid));
    } catch (error) {
      state.lastError = describe(error);
    }
  }
  notify('conflict');
}

// --- the task feed -----------------------------------------------------------------------

async function pullTasks() {
  let cursor = (await store.get('cursor')) ?? 0;
  for (;;) {
    const page = await call('GET', `my/tasks?since=${encodeURIComponent(cursor)}&limit=${BATCH_LIMIT}`);
    await store.applyTaskPage(page);
    cursor = page.cursor;
    notify('tasks');
    if (!page.more) return;
  }
}

/** Inspections the server knows for our tasks but this tablet does not (a replaced tablet). */
async function fetchMissingInspections() {
  for (const task of await store.allTasks()) {
    if (!task.inspection || await store.getInspection(task.inspection)) continue;
    try {
      await keepFromServer(await call('GET', `inspections/${task.inspection}`));
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 403))) throw error;
    }
  }
}

/** Take the server's record of an inspection as ours (keeping what only the tablet knew). */
async function keepFromServer(server, local = null) {
  await store.putInspection({
    uuid: server.uuid,
    task: server.task,
    created_at: local?.created_at || server.checkin.received_at,
    status: server.status,
    checkin: {
      lon: server.checkin.lon,
      lat: server.checkin.lat,
      accuracy_m: server.checkin.accuracy_m,
      device_time: server.checkin.device_time,
      crs: 'wgs84',
      outside_reason: server.checkin.outside_reason ?? null,
    },
    local_fence: local?.local_fence ?? null,
    answers: server.answers || {},
    findings: server.findings || [],
    evidence: server.evidence || [],
    signature: server.signature || null,
    result: server.result || null,
    updated_at: new Date().toISOString(),
  });
  await store.updateRemote(server.uuid, (remote) => ({ ...remote, server, needs_reason: false }));
}
