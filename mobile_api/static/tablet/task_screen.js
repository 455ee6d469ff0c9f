// One task: the enterprise and what to check (left, or on top when upright), and the visit
// itself (right, or below): check-in, checklist, evidence, findings, signature and result.
// Every action is saved on the tablet first and synced when the network allows.

import SignaturePad from 'signature_pad';

import * as store from './store.js';
import * as sync from './sync.js';
import * as visit from './inspection.js';
import { call, describe, settings } from './api.js';
import { currentPosition, fence } from './geo.js';
import { formatDistance, formatTime, shanghaiToday, t } from './i18n.js';
import { askText, confirm, fill, h, notice } from './ui.js';

const SIGNER_ROLES = ['Legal representative (role)', 'Person in charge', 'On-site manager', 'Other'];

function fact(label, value, testid = null) {
  return [h('dt', { text: label }), h('dd', { text: value ?? '—', dataset: testid ? { testid } : null })];
}

function card(title, testid, ...children) {
  return h('section', { class: 'card', dataset: { testid } }, h('h2', { text: title }), children);
}

// --- the task (read-only) ----------------------------------------------------------------

function taskInfo(task) {
  const place = task.enterprise.location;
  return [
    card(t('Enterprise'), 'enterprise',
      h('p', { class: 'enterprise-name', text: task.enterprise.name }),
      h('dl', { class: 'facts' },
        fact(t('USCC'), task.enterprise.uscc),
        fact(t('Address'), task.enterprise.address),
        fact(t('Legal representative'), task.enterprise.legal_representative),
        fact(t('Location'), place ? `${place.lat.toFixed(5)}, ${place.lon.toFixed(5)}` : t('No location on record')),
        fact(t('Plan'), `${task.plan.title} (${task.plan.code})`),
        fact(t('Due {date}', { date: '' }).trim(), task.due_date))),
    card(t('Team'), 'team', h('ul', { class: 'plain' }, task.team.map((member) => h('li', {},
      `${member.name} · ${member.credential_no} · ${t(member.role)}`)))),
    card(t('Checklist'), 'checklist-info', h('ol', { class: 'items' }, task.checklist.map((item) => h('li', {},
      h('strong', { text: item.name }), ' ', h('span', { class: 'muted', text: item.code }),
      item.legal_basis ? h('div', { class: 'small muted', text: `${t('Legal basis')}: ${item.legal_basis}` }) : null)))),
    card(t('Previous results'), 'previous', task.previous.length === 0 ? h('p', { class: 'muted', text: t('None') })
      : h('ul', { class: 'plain' }, task.previous.map((entry) => h('li', {},
        `${formatTime(entry.finished_at)} · ${t(entry.result || '—')} · ${t('{n} findings', { n: entry.findings })}`)))),
  ];
}

// --- the visit ---------------------------------------------------------------------------

export function taskScreen(main, params) {
  const uuid = params[0];
  let task = null;
  let inspection = null; // ours: changed only by the inspector's actions on this screen
  let remote = null; // the server's view, refreshed after each sync
  let teardown = [];
  let askedForReason = false;
  const info = h('div', { class: 'info' });
  const work = h('div', { class: 'work', dataset: { testid: 'work' } });

  fill(main,
    h('div', { class: 'screen-head' },
      h('a', { class: 'button secondary', href: '#/tasks', dataset: { testid: 'back' } }, `‹ ${t('Back')}`),
      h('h1', { dataset: { testid: 'task-title' } })),
    h('div', { class: 'task-layout' }, info, work));

  async function load() {
    task = await store.getTask(uuid);
    inspection = await store.inspectionForTask(uuid);
    if (!inspection && task?.inspection) inspection = await store.getInspection(task.inspection);
    remote = inspection ? await store.getRemote(inspection.uuid) : null;
  }

  async function drawAll() {
    await load();
    for (const undo of teardown) undo();
    teardown = [];
    if (!task) {
      fill(info);
      fill(work, h('p', { class: 'card warning', text: t('This task is no longer assigned to you.') }));
      return;
    }
    main.querySelector('[data-testid=task-title]').textContent = task.enterprise.name;
    fill(info, taskInfo(task));
    if (!inspection) {
      fill(work, checkInCard());
      return;
    }
    const finished = inspection.status === 'finished';
    fill(work,
      await banners(),
      checkinSummary(),
      checklistCard(finished),
      evidenceCard(finished),
      findingsCard(finished),
      signatureCard(finished),
      resultCard(finished));
    await drawEvidenceList();
    maybeAskReason();
  }

  // Refresh only what the sync changes (server verdicts, upload states), not the inputs.
  async function onSync(reason) {
    if (reason !== 'done' && reason !== 'tasks') return;
    if (!inspection) {
      // Another tablet of the team may have checked in: show its inspection.
      const fresh = (await store.getTask(uuid))?.inspection;
      if (fresh && await store.getInspection(fresh)) drawAll();
      return;
    }
    // Never reload `inspection` here: a change being saved would be overwritten.
    remote = await store.getRemote(inspection.uuid);
    const head = work.querySelector('[data-testid=banners]');
    if (head) head.replaceWith(await banners());
    work.querySelector('[data-testid=checkin-summary]')?.replaceWith(checkinSummary());
    await drawEvidenceList();
    const record = work.querySelector('[data-testid=record]');
    if (record) record.replaceWith(recordButton());
    maybeAskReason();
  }

  // --- check-in --------------------------------------------------------------------------

  function checkInCard() {
    const message = h('p', { class: 'muted', dataset: { testid: 'checkin-message' } });
    const closed = task.status === 'done' || task.status === 'cancelled';
    const button = h('button', {
      type: 'button', class: 'primary huge', disabled: closed, dataset: { testid: 'checkin' },
      onclick: async () => {
        button.disabled = true;
        message.className = 'muted';
        message.textContent = t('Getting your position…');
        try {
          const position = await currentPosition();
          const local = fence(position, task.enterprise.location, settings.geofence_radius_m);
          let reason = null;
          if (local.verdict === 'outside') {
            reason = await askText({
              title: t('You appear to be outside the enterprise'),
              message: t('You are {distance} from the enterprise (allowed {radius}). Say why you are checking in from here; supervisors will see it.', {
                distance: formatDistance(local.distance_m), radius: formatDistance(local.radius_m),
              }),
              label: t('Reason'),
              testid: 'outside-reason',
            });
            if (reason === null) {
              message.textContent = '';
              button.disabled = false;
              return;
            }
          }
          await visit.checkIn(task, position, local, reason);
          await drawAll();
        } catch (error) {
          message.className = 'error';
          message.textContent = error.denied ? t('Allow location access to check in.')
            : t('Position unavailable: {reason}', { reason: error.message });
          button.disabled = false;
        }
      },
    }, t('Check in here'));
    return card(t('Check in'), 'checkin-card', message, button);
  }

  function checkinSummary() {
    const server = remote?.server?.checkin;
    const fenceInfo = server?.geofence ?? inspection.local_fence;
    const reason = server?.outside_reason ?? inspection.checkin.outside_reason;
    const verdict = fenceInfo?.verdict;
    return h('section', { class: 'card', dataset: { testid: 'checkin-summary', verdict: verdict || '', source: server ? 'server' : 'local' } },
      h('h2', { text: t('Check in') }),
      h('p', {}, t('Checked in at {time}', { time: formatTime(inspection.checkin.device_time) }), ' · ',
        t('Accuracy ±{m} m', { m: Math.round(inspection.checkin.accuracy_m) })),
      fenceInfo ? h('p', {},
        h('span', { class: `chip ${verdict}`, text: t(verdict) }), ' ',
        t('Distance {distance}', { distance: formatDistance(fenceInfo.distance_m) }),
        server ? '' : ` ${t('(checked on this tablet)')}`) : null,
      reason ? h('p', { text: t('Outside reason: {reason}', { reason }) }) : null,
      server?.flagged ? h('p', { class: 'warning', dataset: { testid: 'flagged' }, text: t('Flagged to supervisors') }) : null);
  }

  async function banners() {
    const operations = (await store.operations()).filter((op) => op.inspection === inspection.uuid);
    const conflicts = operations.filter((op) => op.state === 'conflict');
    return h('div', { dataset: { testid: 'banners' } },
      remote?.needs_reason ? h('div', { class: 'banner warning', dataset: { testid: 'needs-reason' } },
        h('span', { text: t('The server places this check-in outside the enterprise. Say why; supervisors will see it.') }),
        h('button', { type: 'button', class: 'primary', onclick: () => askReason() }, t('Give the reason'))) : null,
      conflicts.length ? h('div', { class: 'banner error', dataset: { testid: 'conflict-banner' } },
        conflicts.map((op) => h('p', { text: `${t(op.kind === 'checkin' ? 'check-in' : op.kind)}: ${op.error}` })),
        h('a', { class: 'button secondary', href: '#/sync' }, t('Sync status'))) : null,
      operations.length ? h('p', { class: 'muted small', dataset: { testid: 'pending-here' }, text: t('{n} waiting to sync', { n: operations.length }) }) : null);
  }

  async function askReason() {
    const reason = await askText({
      title: t('You appear to be outside the enterprise'),
      message: t('The server places this check-in outside the enterprise. Say why; supervisors will see it.'),
      label: t('Reason'),
      testid: 'outside-reason',
    });
    if (reason) {
      await sync.giveReason(inspection.uuid, reason);
      askedForReason = false;
      await drawAll();
    }
  }

  function maybeAskReason() {
    if (remote?.needs_reason && !askedForReason) {
      askedForReason = true;
      askReason();
    }
  }

  // --- checklist -------------------------------------------------------------------------

  function checklistCard(finished) {
    const progress = h('p', { class: 'muted', dataset: { testid: 'checklist-progress' } });
    const showProgress = () => {
      const done = task.checklist.filter((item) => inspection.answers[item.code]).length;
      progress.textContent = t('{done} of {total} answered', { done, total: task.checklist.length });
    };
    showProgress();
    const rows = task.checklist.map((item) => {
      const current = inspection.answers[item.code];
      const buttons = visit.ANSWERS.map((value) => h('button', {
        type: 'button',
        class: `choice ${value}`,
        'aria-pressed': String(current?.answer === value),
        disabled: finished,
        dataset: { testid: `answer-${item.code}-${value}` },
        onclick: async (event) => {
          for (const sibling of event.currentTarget.parentElement.children) sibling.setAttribute('aria-pressed', 'false');
          event.currentTarget.setAttribute('aria-pressed', 'true');
          await visit.answer(inspection, item.code, value, note.value);
          showProgress();
          refreshFindingItems();
        },
      }, t(value)));
      const note = h('input', {
        type: 'text', placeholder: t('Note'), maxlength: 2000, value: current?.note || '', disabled: finished,
        dataset: { testid: `note-${item.code}` },
        onchange: async () => {
          const chosen = inspection.answers[item.code]?.answer;
          if (chosen) await visit.answer(inspection, item.code, chosen, note.value);
        },
      });
      return h('li', { class: 'check-item', dataset: { testid: 'check-item', code: item.code } },
        h('div', { class: 'check-name' }, h('strong', { text: item.name }), ' ', h('span', { class: 'muted small', text: item.code })),
        h('div', { class: 'choices' }, buttons),
        note);
    });
    return card(t('Checklist'), 'checklist', progress, h('ol', { class: 'check-list' }, rows));
  }

  // --- evidence --------------------------------------------------------------------------

  const thumbnails = new Map();

  async function thumbnail(sha256) {
    if (thumbnails.has(sha256)) return thumbnails.get(sha256);
    const local = await store.getBlob(sha256);
    let blob = local?.blob;
    if (!blob && navigator.onLine) blob = await call('GET', `evidence/${sha256}`).catch(() => null);
    const url = blob instanceof Blob ? URL.createObjectURL(blob) : null;
    thumbnails.set(sha256, url);
    return url;
  }

  function evidenceCard(finished) {
    const caption = h('input', { type: 'text', maxlength: 300, placeholder: t('Caption'), dataset: { testid: 'evidence-caption' } });
    const input = h('input', {
      type: 'file', accept: 'image/*', capture: 'environment', multiple: true, class: 'visually-hidden',
      id: 'evidence-input', dataset: { testid: 'evidence-input' },
      onchange: async () => {
        for (const file of input.files) await visit.addEvidence(inspection, file, caption.value.trim());
        input.value = '';
        caption.value = '';
        await drawEvidenceList();
        refreshFindingEvidence();
      },
    });
    return card(t('Evidence'), 'evidence',
      finished ? null : h('div', { class: 'row' }, caption,
        h('label', { class: 'button primary', for: 'evidence-input', dataset: { testid: 'take-photo' } }, t('Take a photo')), input),
      h('ul', { class: 'thumbs', dataset: { testid: 'evidence-list' } }));
  }

  async function drawEvidenceList() {
    const list = work.querySelector('[data-testid=evidence-list]');
    if (!list) return;
    if (inspection.evidence.length === 0) {
      fill(list, h('li', { class: 'muted', text: t('No evidence yet.') }));
      return;
    }
    const items = [];
    for (const item of inspection.evidence) {
      const local = await store.getBlob(item.sha256);
      const uploaded = !local || local.uploaded;
      const state = local?.error ? t('Rejected by the server: {reason}', { reason: local.error })
        : uploaded ? t('Uploaded') : t('Waiting to upload');
      const url = await thumbnail(item.sha256);
      // The server compares the photo's EXIF time and place with the check-in.
      const exif = (remote?.exif?.[item.sha256] ?? item.exif_check)?.verdict;
      items.push(h('li', { class: 'thumb', dataset: { testid: 'evidence-item', sha256: item.sha256, uploaded: String(uploaded) } },
        url ? h('img', { src: url, alt: item.caption || item.sha256.slice(0, 12) }) : h('div', { class: 'noimg', text: item.sha256.slice(0, 8) }),
        h('div', { class: 'small', text: item.caption || '' }),
        h('div', { class: `small ${local?.error ? 'error' : 'muted'}`, text: state }),
        exif && exif !== 'not_applicable' ? h('div', { class: `small ${exif === 'consistent' ? 'muted' : 'warning'}`, text: t(`exif.${exif}`) }) : null));
    }
    fill(list, items);
  }

  // --- findings --------------------------------------------------------------------------

  let refreshFindingItems = () => {};
  let refreshFindingEvidence = () => {};

  function findingsCard(finished) {
    const names = Object.fromEntries(task.checklist.map((item) => [item.code, item.name]));
    const list = h('ul', { class: 'findings', dataset: { testid: 'finding-list' } });
    const drawList = () => fill(list, inspection.findings.length === 0
      ? h('li', { class: 'muted', text: t('No findings.') })
      : inspection.findings.map((finding) => h('li', { class: `finding ${finding.severity}`, dataset: { testid: 'finding' } },
        h('strong', { text: names[finding.item_code] || finding.item_code }), ' ',
        h('span', { class: `chip ${finding.severity}`, text: t(finding.severity) }),
        h('p', { text: finding.description }),
        finding.evidence.length ? h('p', { class: 'small muted', text: `${t('Evidence')}: ${finding.evidence.length}` }) : null)));
    drawList();
    if (finished) return card(t('Findings'), 'findings', list);

    const item = h('select', { dataset: { testid: 'finding-item' } });
    refreshFindingItems = () => {
      const chosen = item.value;
      // Items answered "non compliant" first: that is where findings come from.
      const ordered = [...task.checklist].sort((a, b) => (inspection.answers[b.code]?.answer === 'non_compliant')
        - (inspection.answers[a.code]?.answer === 'non_compliant'));
      fill(item, ordered.map((entry) => h('option', { value: entry.code, selected: entry.code === chosen }, entry.name)));
    };
    refreshFindingItems();
    let severity = 'minor';
    const severities = h('div', { class: 'choices' }, visit.SEVERITIES.map((value) => h('button', {
      type: 'button', class: `choice ${value}`, 'aria-pressed': String(value === severity),
      dataset: { testid: `severity-${value}` },
      onclick: (event) => {
        severity = value;
        for (const sibling of severities.children) sibling.setAttribute('aria-pressed', 'false');
        event.currentTarget.setAttribute('aria-pressed', 'true');
      },
    }, t(value))));
    const description = h('textarea', { rows: 3, maxlength: 4000, dataset: { testid: 'finding-description' } });
    const evidence = h('div', { class: 'pick-evidence', dataset: { testid: 'finding-evidence' } });
    refreshFindingEvidence = () => fill(evidence, inspection.evidence.map((entry) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: entry.sha256, dataset: { testid: 'finding-evidence-option' } }),
      h('span', { text: entry.caption || entry.sha256.slice(0, 12) }))));
    refreshFindingEvidence();
    const error = h('p', { class: 'error', role: 'alert' });
    const add = h('button', {
      type: 'button', class: 'primary', dataset: { testid: 'add-finding' },
      onclick: async () => {
        if (!description.value.trim()) {
          error.textContent = t('Describe the problem.');
          return;
        }
        error.textContent = '';
        const chosen = [...evidence.querySelectorAll('input:checked')].map((box) => box.value);
        await visit.addFinding(inspection, {
          item_code: item.value, description: description.value, severity, evidence: chosen,
        });
        description.value = '';
        refreshFindingEvidence();
        drawList();
      },
    }, t('Add a finding'));
    return card(t('Findings'), 'findings', list,
      h('div', { class: 'form' },
        h('label', { class: 'field' }, h('span', { text: t('Item') }), item),
        h('div', { class: 'field' }, h('span', { text: t('Severity') }), severities),
        h('label', { class: 'field' }, h('span', { text: t('Description') }), description),
        h('div', { class: 'field' }, h('span', { text: t('Evidence for this finding') }), evidence),
        error, add));
  }

  // --- signature -------------------------------------------------------------------------

  function signatureCard(finished) {
    const signature = inspection.signature;
    if (signature) {
      const summary = signature.refused
        ? t('The inspected party refused to sign ({time}).', { time: formatTime(signature.signed_at) })
        : t('Signed by {name} ({role}) at {time}', {
          name: signature.signer_name, role: signature.signer_role || '—', time: formatTime(signature.signed_at),
        });
      const image = h('img', { class: 'signature-image', alt: '' });
      if (signature.image_sha256) thumbnail(signature.image_sha256).then((url) => { if (url) image.src = url; });
      const again = !finished && !visit.signatureSynced(remote) ? h('button', {
        type: 'button', class: 'secondary', dataset: { testid: 'sign-again' },
        onclick: () => {
          inspection.signature = null;
          work.querySelector('[data-testid=signature]').replaceWith(signatureCard(false));
        },
      }, t('Sign again')) : null;
      return card(t('Signature of the inspected party'), 'signature',
        h('p', { dataset: { testid: 'signature-summary' }, text: summary }), signature.image_sha256 ? image : null, again);
    }
    if (finished) return card(t('Signature of the inspected party'), 'signature', h('p', { class: 'muted', text: t('None') }));

    const name = h('input', { type: 'text', maxlength: 100, dataset: { testid: 'signer-name' } });
    const role = h('select', { dataset: { testid: 'signer-role' } },
      SIGNER_ROLES.map((label) => h('option', { value: t(label) }, t(label))));
    const canvas = h('canvas', { class: 'pad', dataset: { testid: 'signature-pad' } });
    const error = h('p', { class: 'error', role: 'alert' });
    let pad = null;
    const frame = h('div', { class: 'pad-frame' }, h('span', { class: 'pad-hint', text: t('Sign here') }), canvas);

    function fitCanvas() {
      if (!pad || canvas.offsetWidth === 0) return;
      // The canvas holds device pixels; the pad draws in CSS pixels (sharp on any screen).
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      const data = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext('2d').scale(ratio, ratio);
      pad.clear();
      pad.fromData(data);
    }
    requestAnimationFrame(() => {
      pad = new SignaturePad(canvas, { backgroundColor: 'rgb(255,255,255)', penColor: '#111', minWidth: 1, maxWidth: 3 });
      fitCanvas();
      const observer = new ResizeObserver(() => fitCanvas());
      observer.observe(canvas);
      teardown.push(() => {
        observer.disconnect();
        pad.off();
      });
    });

    const signerValid = () => {
      if (!name.value.trim()) {
        error.textContent = t('Enter the signer\'s name.');
        return false;
      }
      return true;
    };
    const save = h('button', {
      type: 'button', class: 'primary', dataset: { testid: 'save-signature' },
      onclick: async () => {
        if (!signerValid()) return;
        if (!pad || pad.isEmpty()) {
          error.textContent = t('Draw the signature first.');
          return;
        }
        const png = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
        await visit.sign(inspection, { signer_name: name.value.trim(), signer_role: role.value, png });
        work.querySelector('[data-testid=signature]').replaceWith(signatureCard(false));
      },
    }, t('Save signature'));
    const refuse = h('button', {
      type: 'button', class: 'secondary', dataset: { testid: 'refuse-signature' },
      onclick: async () => {
        if (!signerValid()) return;
        if (!await confirm(t('Record the refusal'))) return;
        await visit.sign(inspection, { signer_name: name.value.trim(), signer_role: role.value, refused: true });
        work.querySelector('[data-testid=signature]').replaceWith(signatureCard(false));
      },
    }, t('Refused to sign'));
    return card(t('Signature of the inspected party'), 'signature',
      h('div', { class: 'row' },
        h('label', { class: 'field grow' }, h('span', { text: t('Signer name') }), name),
        h('label', { class: 'field' }, h('span', { text: t('Signer role') }), role)),
      frame,
      error,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'secondary', dataset: { testid: 'clear-signature' }, onclick: () => pad?.clear() }, t('Clear')),
        refuse, save));
  }

  // --- result ----------------------------------------------------------------------------

  function recordButton() {
    const ready = remote?.server?.status === 'finished';
    return h('div', { dataset: { testid: 'record' } }, ready ? h('button', {
      type: 'button', class: 'secondary',
      onclick: async () => {
        try {
          const pdf = await call('GET', `inspections/${inspection.uuid}/record.pdf`);
          window.open(URL.createObjectURL(pdf), '_blank');
        } catch (error) {
          notice(describe(error), { error: true });
        }
      },
    }, t('On-site record (PDF)')) : null);
  }

  function resultCard(finished) {
    if (finished) {
      const result = inspection.result || {};
      return card(t('Result'), 'result',
        h('p', { dataset: { testid: 'finished' }, class: 'done', text: t('Inspection finished at {time}.', { time: formatTime(result.finished_at) }) }),
        h('p', { text: t(result.result || '—') }),
        result.note ? h('p', { text: result.note }) : null,
        result.rectification_due ? h('p', { text: `${t('Rectification due')}: ${result.rectification_due}` }) : null,
        recordButton());
    }
    let chosen = null;
    const due = h('input', { type: 'date', min: shanghaiToday(), dataset: { testid: 'rectification-due' } });
    const dueField = h('label', { class: 'field', hidden: true }, h('span', { text: t('Rectification due') }), due);
    const choices = h('div', { class: 'choices wrap' }, visit.RESULTS.map((value) => h('button', {
      type: 'button', class: 'choice', 'aria-pressed': 'false', dataset: { testid: `result-${value}` },
      onclick: (event) => {
        chosen = value;
        for (const sibling of choices.children) sibling.setAttribute('aria-pressed', 'false');
        event.currentTarget.setAttribute('aria-pressed', 'true');
        dueField.hidden = value !== 'rectification_ordered';
      },
    }, t(value))));
    const note = h('textarea', { rows: 3, maxlength: 4000, dataset: { testid: 'result-note' } });
    const problems = h('ul', { class: 'error', dataset: { testid: 'finish-problems' } });
    const button = h('button', {
      type: 'button', class: 'primary huge', dataset: { testid: 'finish' },
      onclick: async () => {
        const missing = visit.missingForFinish(inspection, task, chosen, due.value);
        fill(problems, missing.map(([key, args]) => h('li', { text: t(key, args) })));
        if (missing.length) return;
        if (!await confirm(t('Finish now? The record cannot be changed afterwards.'), { testid: 'confirm-finish' })) return;
        await visit.finish(inspection, { result: chosen, note: note.value, rectification_due: due.value });
        await drawAll();
      },
    }, t('Finish the inspection'));
    return card(t('Result'), 'result', choices, dueField,
      h('label', { class: 'field' }, h('span', { text: t('Note') }), note), problems, button);
  }

  drawAll();
  const unsubscribe = sync.subscribe(onSync);
  return () => {
    unsubscribe();
    for (const undo of teardown) undo();
    for (const url of thumbnails.values()) if (url) URL.revokeObjectURL(url);
  };
}
