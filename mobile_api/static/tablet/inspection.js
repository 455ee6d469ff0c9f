// What an inspector does during a visit, as local changes plus queued API operations.
// Every record gets its UUID here (crypto.randomUUID), so a replayed operation is recognised
// by the server and lands once. Evidence files are hashed here too: operations can name them
// by SHA-256 before they are uploaded.

import * as store from './store.js';
import { queued } from './sync.js';

const API = '/api/v1';

export const ANSWERS = ['compliant', 'non_compliant', 'not_applicable'];
export const SEVERITIES = ['minor', 'serious', 'critical'];
export const RESULTS = ['no_problem', 'rectification_ordered', 'case_filed', 'suspected_crime'];

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function operation(inspection, kind, path, body, blobs = []) {
  return {
    id: crypto.randomUUID(),
    kind,
    inspection: inspection.uuid,
    method: 'PUT',
    path: `${API}/inspections/${inspection.uuid}${path}`,
    body,
    blobs,
  };
}

function kick() {
  // Not awaited: the change is safe in IndexedDB; the network may take its time.
  queued();
}

/** Start the inspection of `task` from `position` (WGS-84, from the browser). */
export async function checkIn(task, position, localFence, reason = null) {
  const uuid = crypto.randomUUID();
  const checkin = {
    lon: position.lon,
    lat: position.lat,
    accuracy_m: Math.round(position.accuracy_m * 10) / 10,
    device_time: new Date().toISOString(),
    crs: 'wgs84',
  };
  if (reason) checkin.outside_reason = reason;
  const inspection = {
    uuid,
    task: task.uuid,
    created_at: checkin.device_time,
    status: 'in_progress',
    checkin: { ...checkin, outside_reason: reason },
    local_fence: localFence,
    answers: {},
    findings: [],
    evidence: [],
    signature: null,
    result: null,
  };
  await store.commit(inspection, operation(inspection, 'checkin', '', { task: task.uuid, checkin }));
  kick();
  return inspection;
}

/** Set one checklist answer (the whole set is sent: the server replaces it). */
export async function answer(inspection, code, value, note) {
  inspection.answers = {
    ...inspection.answers,
    [code]: { answer: value, note: note ?? inspection.answers[code]?.note ?? '' },
  };
  await store.commit(
    inspection,
    operation(inspection, 'answers', '/answers', { answers: inspection.answers }),
    { replace: true },
  );
  kick();
}

/** Keep a photo (or any evidence file) on the tablet and attach it to the inspection. */
export async function addEvidence(inspection, file, caption = '') {
  const sha256 = await sha256Hex(file);
  await store.putBlob({
    sha256,
    blob: file,
    name: file.name || 'photo.jpg',
    type: file.type,
    inspection: inspection.uuid,
    created_at: new Date().toISOString(),
  });
  const existing = inspection.evidence.find((item) => item.sha256 === sha256);
  if (existing) return existing; // the same photo twice: the server keeps one attachment
  const item = {
    uuid: crypto.randomUUID(),
    sha256,
    caption: caption.slice(0, 300),
    // A camera photo's file time is when it was taken; the EXIF, if any, is read by the server.
    captured_at: new Date(file.lastModified || Date.now()).toISOString(),
    media_type: file.type,
  };
  inspection.evidence = [...inspection.evidence, item];
  const body = { sha256, caption: item.caption, captured_at: item.captured_at };
  await store.commit(inspection, operation(inspection, 'evidence', `/evidence/${item.uuid}`, body, [sha256]));
  kick();
  return item;
}

/** Record a problem found (findings are never edited: each is its own record). */
export async function addFinding(inspection, { item_code, description, severity, evidence }) {
  const finding = {
    uuid: crypto.randomUUID(),
    item_code,
    description: description.trim(),
    severity,
    evidence: [...evidence],
    created_at: new Date().toISOString(),
  };
  inspection.findings = [...inspection.findings, finding];
  const body = {
    item_code, description: finding.description, severity, evidence: finding.evidence,
  };
  await store.commit(
    inspection,
    operation(inspection, 'finding', `/findings/${finding.uuid}`, body, finding.evidence),
  );
  kick();
  return finding;
}

/** The inspected party's signature (a PNG from the pad), or the refusal to sign. */
export async function sign(inspection, { signer_name, signer_role, png = null, refused = false }) {
  let image_sha256 = null;
  if (png) {
    image_sha256 = await sha256Hex(png);
    await store.putBlob({
      sha256: image_sha256,
      blob: png,
      name: 'signature.png',
      type: 'image/png',
      inspection: inspection.uuid,
      created_at: new Date().toISOString(),
    });
  }
  const signed_at = new Date().toISOString();
  inspection.signature = { signer_name, signer_role, image_sha256, refused, signed_at };
  const body = { signer_name, signer_role, signed_at };
  if (refused) body.refused = true;
  else body.image_sha256 = image_sha256;
  await store.commit(
    inspection,
    operation(inspection, 'signature', '/signature', body, image_sha256 ? [image_sha256] : []),
    { replace: true },
  );
  kick();
}

/** What still keeps the inspection from being finished (the server's rules, checked early). */
export function missingForFinish(inspection, task, result = null, due = null) {
  const problems = [];
  const unanswered = (task?.checklist || []).filter((item) => !inspection.answers[item.code]);
  if (unanswered.length) {
    problems.push(['Answer every checklist item first ({n} left).', { n: unanswered.length }]);
  }
  if (!inspection.signature) problems.push(['The signature (or the refusal) is missing.', {}]);
  if (result === null) problems.push(['Choose the result.', {}]);
  if (result === 'rectification_ordered' && !due) problems.push(['Set the rectification deadline.', {}]);
  if (result && result !== 'no_problem' && inspection.findings.length === 0) {
    problems.push(['A problem result needs at least one finding.', {}]);
  }
  if (result === 'no_problem' && inspection.findings.length > 0) {
    problems.push(['Findings were recorded: the result cannot be "no problem".', {}]);
  }
  return problems;
}

/** Enter the result and finish: the record is then frozen. */
export async function finish(inspection, { result, note, rectification_due }) {
  const body = { result, finished_at: new Date().toISOString() };
  if (note && note.trim()) body.note = note.trim();
  if (result === 'rectification_ordered' && rectification_due) body.rectification_due = rectification_due;
  inspection.result = { ...body };
  inspection.status = 'finished';
  await store.commit(inspection, operation(inspection, 'result', '/result', body), { replace: true });
  kick();
}

/** Whether the server already holds the signature (it cannot be replaced then). */
export function signatureSynced(remote) {
  return Boolean(remote?.server?.signature);
}
