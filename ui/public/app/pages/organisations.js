// Organisations: find one by name or id; its summary page with its work steps, and Start, where
// a MASH admin starts a Front Door Consultation (seed 000). An organisation not yet recorded is
// asked for (seed 001's 'Adding new organisations': a manager starts the request, system support
// act on it) and added by system support ('Add an organisation').
import { get, post, session } from '../api.js';
import { formatDate, html, render, stepStateTag, summaryList, table } from '../html.js';
import { attempt, button, choices, onSubmit, showErrors, textInput } from '../forms.js';
import { go, notify } from '../main.js';

// Who adds an organisation (records' organisation writers).
const ORGANISATION_WRITER_ROLES = ['admin', 'system-support'];

export async function organisationsPage({ app, query, isCurrent }) {
  const q = query.q || '';
  const [found, requests] = await Promise.all([
    q ? get('/api/v1/organisations', { q, limit: 50 }) : null,
    q ? startableSteps('none').then((types) => types.filter((t) => t.type === 'add-organisation')).catch(() => []) : [],
  ]);
  if (!isCurrent()) return;
  const canAdd = session.hasRole(...ORGANISATION_WRITER_ROLES);
  document.title = 'Find organisation - Tessera';
  render(
    app,
    html`<h1 class="govuk-heading-l">Find organisation</h1>
    <form id="org-search" novalidate>
      ${textInput({ id: 'q', name: 'q', label: 'Organisation name or ID', value: q, hint: "Any part of the name, for example Hampden, or 'Consultation' when the referring organisation is not recorded.", classes: 'govuk-!-width-two-thirds' })}
      ${button('Search')}
    </form>
    ${found
      ? table(
          `Organisations matching '${q}'`,
          ['Organisation', 'Address', 'Telephone'],
          found.items.map((o) => [html`<a class="govuk-link" href="#/organisations/${o.id}">${o.title}</a>`, o.address, o.telephone]),
          { empty: `No organisation matches '${q}'. Check the spelling, or use the 'Consultation' organisation.` },
        )
      : ''}
    ${found && canAdd ? html`<p class="govuk-body">Not recorded yet? <a class="govuk-link" id="add-organisation" href="#/organisations/new">Add an organisation</a></p>` : ''}
    ${found && requests.length
      ? html`<div class="govuk-!-margin-top-6"><p class="govuk-body">Not recorded yet? Ask system support to add it: start the request, give its full name, address and telephone number, and pass it to system support.</p>${startForm(requests)}</div>`
      : ''}`,
  );
  if (requests.length) wireStartForm(null);
  onSubmit(document.getElementById('org-search'), (data) => {
    const text = data.get('q').trim();
    if (!text) return showErrors([{ field: 'q', message: 'Enter an organisation name or ID' }]);
    go(`/organisations?q=${encodeURIComponent(text)}`);
  });
}

// A step's link names the step and its start for a screen reader too: an organisation's steps share
// their titles (six 'Consultation (CSSW)'), which the row's other cells tell apart by sight.
function stepCells(s) {
  return [
    html`<a class="govuk-link" href="#/steps/${s.id}">${s.title}<span class="govuk-visually-hidden"> (step ${s.id}, started ${formatDate(s.started_at)})</span></a>`,
    stepStateTag(s.state),
    formatDate(s.started_at),
    formatDate(s.completed_at),
    s.assigned_to?.name || '',
  ];
}

// A record's work steps, newest first. A summary page brings the newest 50; where there are older ones
// (next: its steps_next_cursor; the 'Consultation' organisation gathers hundreds), 'Show older work
// steps' adds them below, a page at a time (wireMoreSteps).
export function stepsTable(caption, steps, next) {
  return html`<div id="work-steps">${table(caption, ['Step', 'State', 'Started', 'Completed', 'Assigned to'], steps.map(stepCells), { empty: 'No work steps.' })}
    ${next ? html`<p class="govuk-body" id="more-steps-row"><button type="button" class="govuk-button govuk-button--secondary" id="more-steps" data-cursor="${next}">Show older work steps</button></p>` : ''}</div>`;
}

export function wireMoreSteps(subject) {
  const more = document.getElementById('more-steps');
  if (!more) return;
  more.addEventListener('click', async () => {
    if (more.dataset.busy) return;
    more.dataset.busy = '1';
    more.setAttribute('aria-disabled', 'true');
    try {
      const page = await attempt(() => get('/api/v1/steps', { subject_kind: subject.kind, subject_id: subject.id, limit: 50, cursor: more.dataset.cursor }));
      if (!page) return;
      const rows = document.querySelector('#work-steps tbody');
      rows.insertAdjacentHTML('beforeend', String(html`${page.items.map((s) => html`<tr class="govuk-table__row">${stepCells(s).map((c) => html`<td class="govuk-table__cell">${c}</td>`)}</tr>`)}`));
      if (page.next_cursor) more.dataset.cursor = page.next_cursor;
      else document.getElementById('more-steps-row').replaceChildren(Object.assign(document.createElement('span'), { textContent: 'Every work step is listed.' }));
    } finally {
      delete more.dataset.busy;
      more.removeAttribute('aria-disabled');
    }
  });
}

// The step types this worker may start against a subject of this kind, with their variants.
export async function startableSteps(kind) {
  const defs = await get('/api/v1/workflow/definitions');
  return defs.items.filter((d) => d.you_may_start && (d.subjects || []).includes(kind));
}

export function startForm(types) {
  if (!types.length) return '';
  const options = [];
  for (const t of types) {
    if (t.variants?.length) {
      for (const v of t.variants) options.push({ value: `${t.type}:${v.key}`, title: `${t.title} (${v.key})`, hint: v.title });
    } else options.push({ value: `${t.type}:`, title: t.title });
  }
  return html`<h2 class="govuk-heading-m">Start</h2>
    <form id="start-step" novalidate>
      ${choices({ id: 'step-type', name: 'step', legend: 'Select the work step to start', field: 'type', options, small: true })}
      ${button('Start')}
    </form>`;
}

export function wireStartForm(subject) {
  const form = document.getElementById('start-step');
  if (!form) return;
  onSubmit(form, async (data) => {
    const chosen = data.get('step');
    if (!chosen) return showErrors([{ field: 'type', message: 'Select the work step to start' }]);
    const [type, variant] = chosen.split(':');
    // A step about nothing in particular (a support request) has no subject.
    const body = subject ? { type, subject } : { type };
    if (variant) body.variant = variant;
    const step = await attempt(() => post('/api/v1/steps', body, { idempotent: true }), { field: 'type' });
    if (!step) return;
    // Started where its definition sends it (a CPIS Follow up: the CP-IS Worker's queue, or System
    // Support's for a restricted record), it is not in the starter's own work.
    const sent = step.assigned_to && step.assigned_to.kind !== 'worker';
    notify(sent ? `${step.title} started and sent to ${step.assigned_to.name}.` : `${step.title} started. It is in your Current work.`);
    go(`/steps/${step.id}`);
  });
}

export async function organisationPage({ app, params, isCurrent }) {
  const [org, types] = await Promise.all([get(`/api/v1/organisations/${params[0]}`), startableSteps('organisation')]);
  if (!isCurrent()) return;
  document.title = `${org.title} - Tessera`;
  render(
    app,
    html`<span class="govuk-caption-l">Organisation</span>
    <h1 class="govuk-heading-l">${org.title}</h1>
    <div class="govuk-grid-row">
      <div class="govuk-grid-column-two-thirds">
        ${summaryList([
          ['Name', org.name],
          ['ID', org.id],
          ['Address', org.address],
          ['Telephone', org.telephone],
        ])}
        ${stepsTable('Work steps', org.steps || [], org.steps_next_cursor)}
      </div>
      <div class="govuk-grid-column-one-third">${startForm(types)}</div>
    </div>`,
  );
  wireStartForm({ kind: 'organisation', id: org.id });
  wireMoreSteps({ kind: 'organisation', id: org.id });
}


// #/organisations/new: system support add an organisation (seed 001: full name, address, telephone).
export async function organisationAddPage({ app, isCurrent }) {
  if (!isCurrent()) return;
  document.title = 'Add an organisation - Tessera';
  render(
    app,
    html`<a class="govuk-back-link" href="#/organisations">Back to Find organisation</a>
    <h1 class="govuk-heading-l">Add an organisation</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <p class="govuk-body">Search for it first: an organisation recorded twice splits its consultations between the two in the reports.</p>
    <form id="organisation-form" novalidate>
      ${textInput({ id: 'organisation-name', name: 'name', label: 'Full organisation name', field: 'name' })}
      ${textInput({ id: 'organisation-address', name: 'address', label: 'Address', field: 'address', autocomplete: 'street-address' })}
      ${textInput({ id: 'organisation-telephone', name: 'telephone', label: 'Telephone number', field: 'telephone', type: 'tel', classes: 'govuk-!-width-one-half', hint: 'With the area code, for example 020 7974 4444.' })}
      <div class="govuk-button-group">
        ${button('Add organisation')}
        <a class="govuk-link" href="#/organisations">Cancel</a>
      </div>
    </form>
    </div></div>`,
  );
  const form = document.getElementById('organisation-form');
  onSubmit(form, async (data) => {
    const body = { name: data.get('name').trim() };
    for (const key of ['address', 'telephone']) if (data.get(key).trim()) body[key] = data.get(key).trim();
    // Every fault comes back from the API, each next to its field.
    const added = await attempt(() => post('/api/v1/organisations', body), { scope: form });
    if (!added) return;
    notify(`${added.title} added.`);
    go(`/organisations/${added.id}`);
  });
}
