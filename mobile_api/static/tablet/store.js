// Everything the tablet keeps: one IndexedDB database (through the small `idb` wrapper).
//
//   kv           auth (token, user), the task-feed cursor, the cached credential, sync state
//   tasks        the inspector's tasks as last received (keyPath uuid)
//   inspections  the local state of each inspection (keyPath uuid, index task): written only
//                by the inspector's actions
//   remote       what the server last said about each inspection (keyPath uuid): its record,
//                verdicts and flags, whether the check-in needs a reason; written only by sync
//   queue        operations waiting for POST /api/v1/batch, in the order they were made
//                (keyPath seq; index id: the operation's client UUID)
//   blobs        evidence files not yet uploaded, addressed by their SHA-256
//   rejected     operations the server refused for good, kept to show the inspector
//
// A change to an inspection and the operation that sends it are written in one transaction,
// so the tablet can never show a change it will not send, or send one it does not show.

import { openDB } from 'idb';

const NAME = 'suijian-tablet';
const VERSION = 1;

let opened = null;

export function database() {
  if (!opened) {
    opened = openDB(NAME, VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('kv');
          db.createObjectStore('tasks', { keyPath: 'uuid' });
          db.createObjectStore('inspections', { keyPath: 'uuid' }).createIndex('task', 'task');
          db.createObjectStore('remote', { keyPath: 'uuid' });
          const queue = db.createObjectStore('queue', { keyPath: 'seq', autoIncrement: true });
          queue.createIndex('id', 'id', { unique: true });
          queue.createIndex('inspection', 'inspection');
          db.createObjectStore('blobs', { keyPath: 'sha256' });
          db.createObjectStore('rejected', { keyPath: 'id' });
        }
      },
      blocking() {
        // A newer version of the app (another tab) wants to upgrade: let it.
        opened?.then((db) => db.close());
        opened = null;
      },
    });
  }
  return opened;
}

// --- key/value ---------------------------------------------------------------------------

export async function get(key) {
  return (await database()).get('kv', key);
}

export async function set(key, value) {
  return (await database()).put('kv', value, key);
}

export async function remove(key) {
  return (await database()).delete('kv', key);
}

// --- tasks -------------------------------------------------------------------------------

export async function allTasks() {
  return (await database()).getAll('tasks');
}

export async function getTask(uuid) {
  return (await database()).get('tasks', uuid);
}

/** One page of GET /my/tasks: changed tasks, tombstones and the new cursor, atomically. */
export async function applyTaskPage(page) {
  const db = await database();
  const tx = db.transaction(['tasks', 'kv'], 'readwrite');
  const tasks = tx.objectStore('tasks');
  for (const task of page.tasks) await tasks.put(task);
  for (const uuid of page.deleted) await tasks.delete(uuid);
  await tx.objectStore('kv').put(page.cursor, 'cursor');
  await tx.objectStore('kv').put(new Date().toISOString(), 'tasksUpdatedAt');
  await tx.done;
}

// --- inspections -------------------------------------------------------------------------

export async function getInspection(uuid) {
  return (await database()).get('inspections', uuid);
}

export async function inspectionForTask(taskUuid) {
  const found = await (await database()).getAllFromIndex('inspections', 'task', taskUuid);
  // One visit per task; should there be two (a replaced tablet), the newest is the one in use.
  found.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  return found[0];
}

export async function allInspections() {
  return (await database()).getAll('inspections');
}

export async function putInspection(inspection) {
  return (await database()).put('inspections', inspection);
}

/**
 * Save the changed inspection and queue the operation that sends the change, atomically.
 * With `replace`, a pending operation on the same path is dropped: its body is superseded
 * (the answers and the signature are replaced whole on the server).
 */
export async function commit(inspection, operation, { replace = false } = {}) {
  const db = await database();
  const tx = db.transaction(['inspections', 'queue'], 'readwrite');
  inspection.updated_at = new Date().toISOString();
  await tx.objectStore('inspections').put(inspection);
  const queue = tx.objectStore('queue');
  if (replace) {
    let cursor = await queue.index('inspection').openCursor(operation.inspection);
    while (cursor) {
      if (cursor.value.path === operation.path && cursor.value.state === 'pending') {
        await cursor.delete();
      }
      cursor = await cursor.continue();
    }
  }
  await queue.add({
    state: 'pending', attempts: 0, created_at: new Date().toISOString(), blobs: [], ...operation,
  });
  await tx.done;
}

// --- the server's view of inspections ---------------------------------------------------

export async function getRemote(uuid) {
  return (await database()).get('remote', uuid);
}

/** Change the server's view of an inspection with `change(record)` in one transaction. */
export async function updateRemote(uuid, change) {
  const db = await database();
  const tx = db.transaction('remote', 'readwrite');
  const record = (await tx.store.get(uuid)) ?? { uuid, server: null, needs_reason: false };
  await tx.store.put(change(record) ?? record);
  await tx.done;
}

// --- the queue ---------------------------------------------------------------------------

export async function operations() {
  return (await database()).getAll('queue');
}

export async function operationCount() {
  return (await database()).count('queue');
}

async function withOperation(id, change) {
  const db = await database();
  const tx = db.transaction('queue', 'readwrite');
  const key = await tx.store.index('id').getKey(id);
  if (key !== undefined) {
    const operation = await tx.store.get(key);
    const changed = change(operation);
    if (changed === null) await tx.store.delete(key);
    else await tx.store.put(changed);
  }
  await tx.done;
}

export function dropOperation(id) {
  return withOperation(id, () => null);
}

export function updateOperation(id, fields) {
  return withOperation(id, (operation) => ({ ...operation, ...fields }));
}

// --- evidence files ----------------------------------------------------------------------

export async function putBlob(record) {
  const db = await database();
  const existing = await db.get('blobs', record.sha256);
  if (!existing) await db.put('blobs', { uploaded: false, error: null, ...record });
}

export async function getBlob(sha256) {
  return (await database()).get('blobs', sha256);
}

export async function allBlobs() {
  return (await database()).getAll('blobs');
}

export async function deleteBlob(sha256) {
  return (await database()).delete('blobs', sha256);
}

export async function updateBlob(sha256, fields) {
  const db = await database();
  const tx = db.transaction('blobs', 'readwrite');
  const record = await tx.store.get(sha256);
  if (record) await tx.store.put({ ...record, ...fields });
  await tx.done;
}

// --- refused operations ------------------------------------------------------------------

export async function reject(operation, status, error) {
  const db = await database();
  const tx = db.transaction(['queue', 'rejected'], 'readwrite');
  const key = await tx.objectStore('queue').index('id').getKey(operation.id);
  if (key !== undefined) await tx.objectStore('queue').delete(key);
  await tx.objectStore('rejected').put({
    ...operation, state: 'rejected', status, error, rejected_at: new Date().toISOString(),
  });
  await tx.done;
}

export async function rejectedOperations() {
  return (await database()).getAll('rejected');
}

export async function dismissRejected(id) {
  return (await database()).delete('rejected', id);
}

// --- signing out -------------------------------------------------------------------------

/** Forget everything (another inspector is taking the tablet). */
export async function clearAll() {
  const db = await database();
  const stores = ['kv', 'tasks', 'inspections', 'remote', 'queue', 'blobs', 'rejected'];
  const tx = db.transaction(stores, 'readwrite');
  await Promise.all(stores.map((name) => tx.objectStore(name).clear()));
  await tx.done;
}
