// People: find a person by name (misspellings allowed) and date of birth; a person's summary with
// demographics, relationships, allocations, case notes (one recorded in error removed by system
// support, on a page of its own), work steps and the CP-IS plans shared with
// the NHS (with a form to record one), a form to record a new NHS number, the person's addresses and
// their history (with forms to add and end one), and the record's retention
// (seed 002: each closed service's flag, the date the whole record is kept until, a hold for an
// ongoing inquiry) with the forms to flag it and to hold it. A restricted record the worker may not
// open shows its display name only, as the API gives it (information governance may still hold it).
import { ApiError, api, get, post, put, session } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table, tag, userText } from '../html.js';
import { FormFaults, attempt, button, choices, dateInput, findWorkersInto, onSubmit, readDate, reasonForm, select, showErrors, textInput, textarea, wireReasonForm } from '../forms.js';
import { officeToday } from '../clock.js';
import { go, notify } from '../main.js';
import { startableSteps, startForm, stepsTable, wireMoreSteps, wireStartForm } from './organisations.js';
import { ALLOCATOR_ROLES, GENDERS, PERSON_WRITER_ROLES, canAddPeople } from './person_forms.js';
import { canRestrict, restrictionReason } from './restriction.js';
import { RETENTION_ROLES, SERVICES, criterionTitle, serviceList, serviceTitle } from './retention.js';

const NOTE_TYPES = [
  ['contact', 'Contact'],
  ['visit', 'Visit'],
  ['telephone-call', 'Telephone call'],
  ['meeting', 'Meeting'],
  ['email', 'E-mail'],
  ['letter', 'Letter'],
  ['supervision', 'Supervision'],
  ['management-oversight', 'Management oversight'],
  ['cp-is-follow-up', 'CP-IS Follow Up'],
  ['other', 'Other'],
].map(([value, title]) => ({ value, title }));
const noteType = (type) => NOTE_TYPES.find((t) => t.value === type)?.title || type;

// Who works with CP-IS plans (the cpis daemon's plan writers).
// Who allocates a key worker or a team (records' allocators).
const PLAN_ROLES = ['social-worker', 'senior-practitioner', 'team-manager', 'mash-manager', 'head-of-service', 'safeguarding-admin', 'admin', 'system-support'];
// Who removes a case note recorded in error: system support, at a manager's request (seed 001's
// 'Case note deletion'; records' case_note_removers).
const canRemoveNote = () => session.hasRole('system-support');
const REMOVAL_REASONS = [
  { value: 'wrong-person', title: "It was recorded on the wrong person's record" },
  { value: 'inaccurate', title: 'It has been found to be inaccurate' },
  { value: 'other', title: 'It was recorded in error for another reason', hint: 'Explain below.' },
];
const PLAN_TYPES = [
  ['child-protection-plan', 'Child protection plan'],
  ['child-in-care', 'Child in care'],
  ['unborn-child-protection-plan', 'Unborn child protection plan'],
].map(([value, title]) => ({ value, title }));
const LEGAL_STATUSES = [
  ['s31-full-care-order', 'Full care order (s31)'],
  ['s38-interim-care-order', 'Interim care order (s38)'],
  ['s20-voluntary', 'Voluntary accommodation (s20)'],
].map(([value, title]) => ({ value, title }));

// People listed a page of a search.
const PEOPLE_PAGE = 50;

export function nhs(number) {
  return number ? number.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3') : '';
}

export async function peoplePage({ app, query, isCurrent }) {
  const name = query.name || '';
  const dob = query.dob || '';
  const found = name || dob ? await get('/api/v1/people', { name, dob, limit: PEOPLE_PAGE, cursor: query.cursor }) : null;
  // More than a page found (a common family name): the next page, and the way back to the first.
  const search = `name=${encodeURIComponent(name)}&dob=${encodeURIComponent(dob)}`;
  if (!isCurrent()) return;
  document.title = 'Find a person - Tessera';
  render(
    app,
    html`<h1 class="govuk-heading-l">Find a person</h1>
    <form id="person-search" novalidate>
      ${textInput({ id: 'name', name: 'name', label: 'Name or person ID', value: name, hint: 'Any of their names; spelling mistakes are allowed.', classes: 'govuk-!-width-two-thirds' })}
      ${dateInput({ id: 'dob', name: 'dob', legend: 'Date of birth', value: dob })}
      ${button('Search')}
    </form>
    ${found
      ? table(
          'People found',
          ['Name', 'Date of birth', 'Gender', 'NHS number'],
          found.items.map((p) => [
            html`<a class="govuk-link" href="#/people/${p.id}">${p.title}</a>${p.name_only ? html` ${tag('Restricted', 'red')}` : ''}`,
            formatDate(p.date_of_birth),
            GENDERS[p.gender] || p.gender || '',
            nhs(p.nhs_number),
          ]),
          { empty: 'No one matches. Check the name and date of birth.' },
        )
      : ''}
    ${found && canAddPeople()
      ? html`<p class="govuk-body">Not the person you are looking for? <a class="govuk-link" id="add-person" href="#/people/new">Add a person</a></p>`
      : ''}
    ${found?.next_cursor || query.cursor
      ? html`<nav class="govuk-body" aria-label="More people found">${found.next_cursor
          ? html`<a class="govuk-link govuk-!-margin-right-4" href="#/people?${search}&cursor=${encodeURIComponent(found.next_cursor)}">Next ${PEOPLE_PAGE} people</a>`
          : ''}${query.cursor ? html`<a class="govuk-link" href="#/people?${search}">Back to the first ${PEOPLE_PAGE}</a>` : ''}
          ${found.next_cursor ? html`<p class="govuk-hint">More than ${PEOPLE_PAGE} people match: a date of birth narrows the search.</p>` : ''}</nav>`
      : ''}`,
  );
  const searchForm = document.getElementById('person-search');
  onSubmit(searchForm, (data) => {
    const n = data.get('name').trim();
    const { value: d, fault } = readDate(searchForm, 'dob');
    if (fault) return showErrors([fault]);
    if (!n && !d) return showErrors([{ field: 'name', message: 'Enter a name, a person ID or a date of birth' }]);
    go(`/people?name=${encodeURIComponent(n)}&dob=${encodeURIComponent(d)}`);
  });
}

// Workers' and teams' names for allocations (the API gives their ids).
async function directory() {
  const names = { worker: {}, team: {} };
  const workers = await get('/api/v1/workers', { limit: 200 }).catch(() => ({ items: [] }));
  for (const w of workers.items) {
    names.worker[w.id] = w.name;
    for (const t of w.teams || []) names.team[t.id] = t.name;
  }
  return names;
}

// A restricted record the worker may not open: the API refuses the summary (and audits the try);
// a search by its id gives the display name, which is all that is shown.
async function restrictedPerson(id, refusal) {
  const found = await get('/api/v1/people', { name: id, limit: 1 });
  const person = found.items.find((p) => p.id === id);
  if (!person || !person.restricted) throw refusal;
  return { ...person, name_only: true, refusal: refusal.message };
}

export async function personPage({ app, params, isCurrent }) {
  let person;
  try {
    person = await get(`/api/v1/people/${params[0]}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    person = await restrictedPerson(params[0], error);
  }
  if (!isCurrent()) return;
  document.title = `${person.title || person.display_name} - Tessera`;
  if (person.name_only) {
    // Seed 002: "Staff requiring access not in those groups, will need to contact MOSAIC support":
    // the request for access, a step that asks for nothing of the record.
    const requests = (await startableSteps('person').catch(() => [])).filter((t) => t.subject_access === 'name-only');
    if (!isCurrent()) return;
    render(
      app,
      html`<span class="govuk-caption-l">Person</span>
      <h1 class="govuk-heading-l">${person.display_name}</h1>
      <div class="govuk-warning-text">
        <span class="govuk-warning-text__icon" aria-hidden="true">!</span>
        <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
          This record is restricted. You can see the name only. Your attempt to open it has been recorded.</strong>
      </div>
      ${person.refusal ? html`<p class="govuk-body">${person.refusal}</p>` : ''}
      ${requests.length
        ? html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
            <p class="govuk-body">If you need access to this record, ask system support: start the request, say why you need it, and pass it to them.</p>
            ${startForm(requests)}</div></div>`
        : ''}
      ${session.hasRole(...RETENTION_ROLES)
        ? html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">${holdForms(null, { nameOnly: true })}</div></div>`
        : ''}`,
    );
    if (requests.length) wireStartForm({ kind: 'person', id: person.id });
    if (session.hasRole(...RETENTION_ROLES)) wireHoldForms(person);
    return;
  }
  const withPlans = session.hasRole(...PLAN_ROLES);
  // A child's own number once born, or a new one for a number the NHS reported inactive (seed 003):
  // an unborn child's care is matched through the mother's number until the expected date of
  // delivery, and from that day the child's own number is needed (the API refuses it before).
  const withNumber = session.hasRole(...PERSON_WRITER_ROLES) && (!person.unborn || (person.expected_delivery_date || '') <= officeToday());
  const withDetails = session.hasRole(...PERSON_WRITER_ROLES);
  // Allocating a key worker or a team (records' allocators): the key worker is who CP-IS
  // notifications about a child go to (seed 003), and who opens a restricted record (seed 002).
  const withAllocate = session.hasRole(...ALLOCATOR_ROLES);
  // Retention (seed 002): shown to a reader who may open the record; flagged, at a case's closure,
  // by those who may change it; held past its time by information governance.
  const retention = person.retention || null;
  const withFlag = !!retention && session.hasRole(...PERSON_WRITER_ROLES);
  const withHold = !!retention && session.hasRole(...RETENTION_ROLES);
  // Addresses: shown to a reader who may open the record (the API leaves them out otherwise).
  const addresses = person.addresses || null;
  const withAddress = !!addresses && session.hasRole(...PERSON_WRITER_ROLES);
  // A case note recorded in error (seed 002) is removed by system support.
  const withNoteRemoval = (person.case_notes || []).length > 0 && canRemoveNote();
  const [names, types, plans, schedule] = await Promise.all([
    directory(),
    startableSteps('person').catch(() => []),
    withPlans ? get('/api/v1/cpis/plans', { person_id: person.id }).catch(() => null) : null,
    withFlag ? get('/api/v1/retention/schedule').catch(() => null) : null,
  ]);
  if (!isCurrent()) return;
  const legal = person.legal_name || {};
  render(
    app,
    html`<span class="govuk-caption-l">Person</span>
    <h1 class="govuk-heading-l">${person.title}</h1>
    ${person.restricted
      ? html`<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
          <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
          Restricted record (${restrictionReason(person.restriction?.reason) || 'restricted'}; review by ${formatDate(person.restriction?.review_date)}).</strong></div>`
      : ''}
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <h2 class="govuk-heading-m">Demographics</h2>
    ${summaryList([
      ['Given name', legal.given],
      ['Family name', legal.family],
      ['Other names', (person.other_names || []).join(', ')],
      ['Date of birth', formatDate(person.date_of_birth)],
      ['Gender', GENDERS[person.gender] || person.gender],
      ['NHS number', nhs(person.nhs_number)],
      ...(person.unborn ? [['Expected delivery date', formatDate(person.expected_delivery_date)]] : []),
    ])}
    ${withDetails || canRestrict()
      ? html`<p class="govuk-body">${withDetails
          ? html`<a class="govuk-link govuk-!-margin-right-4" id="change-details" href="#/people/${person.id}/details">Change details<span class="govuk-visually-hidden"> of ${person.display_name}</span></a>`
          : ''}${withDetails && person.unborn
          ? html`<a class="govuk-link govuk-!-margin-right-4" id="record-birth" href="#/people/${person.id}/birth">Record the birth<span class="govuk-visually-hidden"> of ${person.display_name}</span></a>`
          : ''}${withDetails && person.gender === 'female' && !person.unborn
          ? html`<a class="govuk-link govuk-!-margin-right-4" id="add-unborn-child" href="#/people/new?mother=${person.id}">Add an unborn child<span class="govuk-visually-hidden"> of ${person.display_name}</span></a>`
          : ''}${canRestrict()
          ? html`<a class="govuk-link" id="restriction-link" href="#/people/${person.id}/restriction">${person.restricted ? 'Change or lift the restriction' : 'Restrict the record'}</a>`
          : ''}</p>`
      : ''}
    ${addresses ? addressesSection(addresses, withAddress) : ''}
    ${table(
      'Relationships',
      ['Person', 'Relationship'],
      (person.relationships || []).map((r) => [html`<a class="govuk-link" href="#/people/${r.person_id}">${r.display_name}</a>`, r.type_title || r.type.replaceAll('-', ' ')]),
      { empty: 'No relationships recorded.' },
    )}
    ${table(
      'Allocations',
      ['Worker or team', 'Role', 'Service', 'From', 'To', ...(withAllocate ? ['Action'] : [])],
      (person.allocations || []).map((a) => [
        allocatedName(a, names),
        a.role === 'key-worker' ? 'Key worker' : 'Team',
        a.service,
        formatDate(a.start_date),
        formatDate(a.end_date),
        ...(withAllocate
          ? [html`<form class="app-end-allocation" data-id="${a.id}" data-name="${allocatedName(a, names)}" novalidate>${button(html`End<span class="govuk-visually-hidden"> the allocation of ${allocatedName(a, names)}</span>`, { secondary: true, classes: 'govuk-!-margin-bottom-0' })}</form>`]
          : []),
      ]),
      { empty: 'Not allocated.' },
    )}
    ${table(
      `Case notes (latest ${(person.case_notes || []).length} of ${person.case_notes_total ?? (person.case_notes || []).length})`,
      ['When', 'Type', 'Title', 'Note', 'Recorded by', ...(withNoteRemoval ? ['Action'] : [])],
      (person.case_notes || []).map((n) => [
        formatDateTime(n.occurred_at),
        noteType(n.type),
        userText(n.title),
        userText(n.body || '', { pre: true }),
        names.worker[n.recorded_by] || n.recorded_by,
        ...(withNoteRemoval
          ? [html`<a class="govuk-link" href="#/people/${person.id}/case-notes/${n.id}/remove">Remove<span class="govuk-visually-hidden"> case note ${n.title}</span></a>`]
          : []),
      ]),
      { empty: 'No case notes.' },
    )}
    ${person.steps === null
      ? html`<h2 class="govuk-heading-m">Work steps</h2><p class="govuk-body">${person.steps_unavailable || 'Work steps cannot be shown just now.'}</p>`
      : stepsTable('Work steps', person.steps || [], person.steps_next_cursor)}
    ${withPlans ? plansTable(plans) : ''}
    ${retention ? retentionSection(retention, names) : ''}
    </div>
    <div class="govuk-grid-column-one-third">${startForm(types)}${caseNoteForm()}${withAllocate ? allocationForm(names) : ''}${withPlans ? planForm(person) : ''}${withNumber ? nhsNumberForm(person) : ''}${withAddress ? addressForm() : ''}${
      withFlag ? [flagForm(retention, schedule), removeFlagForm(retention)] : ''}${withHold ? holdForms(retention.hold) : ''}</div>
    </div>`,
  );
  wireStartForm({ kind: 'person', id: person.id });
  wireMoreSteps({ kind: 'person', id: person.id });
  wireCaseNoteForm(person);
  if (withPlans) wirePlanForm(person);
  if (withNumber) wireNhsNumberForm(person);
  if (withAllocate) wireAllocations(person);
  if (addresses) wireAddresses(person, withAddress);
  if (withFlag) wireFlagForms(person, schedule);
  if (withHold) wireHoldForms(person);
}

// The record's retention: each service's flag, set when its case closed; the date the whole record
// is kept until (the latest of the flags': where a record relates to more than one service the
// longest period applies); a hold for an ongoing inquiry; and which services are still open, or
// closed and not yet flagged (a record is due for disposal only once every service is flagged).
function retentionSection(r, names) {
  const who = (id) => names.worker[id] || `Worker ${id}`;
  const hold = r.hold;
  return html`<h2 class="govuk-heading-m" id="retention">Retention</h2>
    ${summaryList([
      ['Record kept until', r.keep_until
        ? html`${formatDate(r.keep_until)}<div class="govuk-hint govuk-!-margin-bottom-0">The latest of its flags: the longest period applies to the whole record.</div>`
        : 'Not flagged yet'],
      ['Hold', hold
        ? html`${tag('Held', 'yellow')} <span class="app-pre" dir="auto">${hold.reason}</span><br>${hold.review_date ? `Review by ${formatDate(hold.review_date)}. ` : ''}Held by ${who(hold.held_by)} on ${formatDateTime(hold.held_at)}.`
        : 'None'],
      ['Cases still open', serviceList(r.open_services) || 'None'],
      ['Closed, not flagged yet', serviceList(r.unflagged_services) || 'None'],
    ])}
    ${table(
      'Retention flags',
      ['Service', 'Criterion', 'Case closed on', 'Keep until'],
      (r.flags || []).map((f) => [
        serviceTitle(f.service),
        html`${f.criterion_title}<div class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">Flagged by ${who(f.flagged_by)} on ${formatDateTime(f.flagged_at)}</div>`,
        formatDate(f.closed_on),
        formatDate(f.keep_until),
      ]),
      { empty: 'No service has flagged the record for retention yet.', captionClass: 'govuk-table__caption--s' },
    )}`;
}

// The criteria of the schedule for a service, as a select's options (none until a service is chosen).
function criterionOptions(schedule, service, value = '') {
  const criteria = service ? schedule.criteria.filter((c) => c.service === service) : [];
  return html`<option value="">${service ? '-- Please Select --' : 'Select the service first'}</option>
    ${criteria.map((c) => html`<option value="${c.code}"${c.code === value ? ' selected' : ''}>${criterionTitle(c)}</option>`)}`;
}

// At a case's closure: the service (one whose case is closed, or flagged already: flagging it again
// replaces its flag), the criterion of the council's schedule for it, and the day it closed. A
// service's flag is set by those who worked its case (the API says whom to ask otherwise); one that
// would keep the record less long than the flag it replaces is for the case's managers or system
// support, saying why (the reason, asked for when the record has a flag to replace).
function flagForm(r, schedule) {
  const heading = html`<h2 class="govuk-heading-m">Flag the record for retention</h2>`;
  if (!schedule) return html`${heading}<p class="govuk-body">The council's retention schedule cannot be shown just now.</p>`;
  if (!schedule.criteria?.length) return html`${heading}<p class="govuk-body">Tessera has no retention schedule yet: system support set it up.</p>`;
  const flagged = new Set((r.flags || []).map((f) => f.service));
  const services = SERVICES.filter((s) => flagged.has(s.value) || (r.unflagged_services || []).includes(s.value)).map((s) => ({
    value: s.value,
    title: flagged.has(s.value) ? `${s.title} (flagged)` : s.title,
  }));
  if (!services.length) {
    return html`${heading}<p class="govuk-body">No case is closed yet. A record is flagged when a service's case closes: all its involvements and allocations have ended.</p>`;
  }
  const chosen = services.length === 1 ? services[0].value : '';
  return html`${heading}
    <form id="retention-form" novalidate>
      ${select({ id: 'retention-service', name: 'service', label: 'Service', field: 'service', options: services, value: chosen, hint: 'A service whose case has closed. Flagging one again replaces its flag.' })}
      <div class="govuk-form-group">
        <label class="govuk-label" for="retention-criterion">Retention criterion</label>
        <div id="retention-criterion-hint" class="govuk-hint">From the council's retention schedule for the service.</div>
        <select class="govuk-select" id="retention-criterion" name="criterion" data-field="criterion" aria-describedby="retention-criterion-hint">${criterionOptions(schedule, chosen)}</select>
      </div>
      ${dateInput({ id: 'retention-closed-on', name: 'closed_on', legend: 'Case closed on (optional)', subject: 'The day the case closed', field: 'closed_on', hint: "Leave empty for the day the service's last involvement ended." })}
      ${flagged.size
        ? textarea({ id: 'retention-reason', name: 'reason', label: 'Why the flag is shortened (if it is)', field: 'reason', rows: 2, hint: "Needed when the criterion keeps the record less long than the service's flag does now: only the managers of the service's case and system support can shorten it." })
        : ''}
      ${button('Flag for retention')}
    </form>`;
}

// A flag taken off (the case reopened, or flagged in error): the record is then not due until the
// service flags it again. For the managers of the service's case and system support, saying why,
// which the audit trail keeps; anyone else is told whom to ask.
function removeFlagForm(r) {
  const flagged = SERVICES.filter((s) => (r.flags || []).some((f) => f.service === s.value));
  if (!flagged.length) return '';
  return html`<h2 class="govuk-heading-m">Remove a retention flag</h2>
    <form id="remove-flag-form" novalidate>
      <p class="govuk-body">For the managers of the service's case and system support. The record is not due for disposal until the service flags it again.</p>
      ${select({ id: 'remove-flag-service', name: 'service', label: 'Service', field: 'service', options: flagged, value: flagged.length === 1 ? flagged[0].value : '' })}
      ${textarea({ id: 'remove-flag-reason', name: 'reason', label: 'Why the flag is removed', field: 'reason', rows: 2, hint: 'For example, the case reopened, or the record was flagged in error.' })}
      ${button('Remove flag', { secondary: true })}
    </form>`;
}

function wireFlagForms(person, schedule) {
  const form = document.getElementById('retention-form');
  if (form) {
    const service = document.getElementById('retention-service');
    const criterion = document.getElementById('retention-criterion');
    // The criteria follow the service chosen (by the arrow keys too, which change it at once).
    let shown = service.value;
    const follow = () => {
      if (service.value === shown) return;
      shown = service.value;
      render(criterion, criterionOptions(schedule, service.value, criterion.value));
    };
    service.addEventListener('change', follow);
    service.addEventListener('input', follow);
    onSubmit(form, async (data) => {
      const chosen = data.get('service');
      const body = { criterion: data.get('criterion') };
      const missing = [];
      const closed = readDate(form, 'closed_on');
      if (!chosen) missing.push({ field: 'service', message: 'Select the service whose case has closed' });
      if (!body.criterion) missing.push({ field: 'criterion', message: 'Select the retention criterion that applies' });
      if (closed.fault) missing.push(closed.fault);
      if (missing.length) return showErrors(missing, form);
      if (closed.value) body.closed_on = closed.value;
      const reason = (data.get('reason') || '').trim();
      if (reason) body.reason = reason;
      const r = await attempt(() => put(`/api/v1/people/${person.id}/retention/${chosen}`, body), { scope: form });
      if (!r) return;
      const flag = (r.flags || []).find((f) => f.service === chosen);
      notify(`${serviceTitle(chosen)} flagged for retention${flag ? `: '${flag.criterion_title}', kept until ${formatDate(flag.keep_until)}` : ''}. The record is kept until ${formatDate(r.keep_until)}.`);
      go(`/people/${person.id}?flagged=${chosen}`);
    });
  }
  const remove = document.getElementById('remove-flag-form');
  if (remove) {
    onSubmit(remove, async (data) => {
      const chosen = data.get('service');
      const reason = (data.get('reason') || '').trim();
      const missing = [];
      if (!chosen) missing.push({ field: 'service', message: 'Select the service whose flag is removed' });
      if (!reason) missing.push({ field: 'reason', message: 'Enter why the flag is removed' });
      if (missing.length) return showErrors(missing, remove);
      const done = await attempt(() => api('DELETE', `/api/v1/people/${person.id}/retention/${chosen}`, { body: { reason } }), { scope: remove });
      if (done === undefined) return;
      notify(`The ${serviceTitle(chosen)} retention flag is removed.`);
      go(`/people/${person.id}?unflagged=${chosen}`);
    });
  }
}

// Information governance keeps a record past its retention for an ongoing inquiry: a held record
// is never due for disposal. On a restricted record the worker may not open, whether it is held
// cannot be shown: releasing one that is not says so.
function holdForms(hold, { nameOnly = false } = {}) {
  return html`<h2 class="govuk-heading-m">${hold ? 'Change the hold' : 'Hold the record'}</h2>
    <form id="hold-form" novalidate>
      <p class="govuk-body">${nameOnly
        ? 'Keep this record past its retention for an ongoing inquiry. You can hold it without seeing it.'
        : 'Keep the record past its retention for an ongoing inquiry. A held record is never due for disposal.'}</p>
      ${textarea({ id: 'hold-reason', name: 'reason', label: 'Why the record is kept', field: 'reason', value: hold?.reason || '', rows: 3, hint: 'The inquiry it is kept for.' })}
      ${dateInput({ id: 'hold-review-date', name: 'review_date', legend: 'Review date (optional)', subject: 'The review date', field: 'review_date', value: hold?.review_date || '' })}
      ${button(hold ? 'Change the hold' : 'Hold the record', { secondary: !!hold })}
    </form>
    ${hold || nameOnly
      ? html`<h2 class="govuk-heading-m">Release the hold</h2>
    <form id="release-form" novalidate>
      <p class="govuk-body">Once the inquiry has ended: the record is then disposed of when its retention is reached.</p>
      ${button('Release the hold', { secondary: true })}
    </form>`
      : ''}`;
}

function wireHoldForms(person) {
  const form = document.getElementById('hold-form');
  onSubmit(form, async (data) => {
    const body = { reason: data.get('reason').trim() };
    const review = readDate(form, 'review_date');
    const missing = [];
    if (!body.reason) missing.push({ field: 'reason', message: 'Enter why the record is kept: the inquiry it is kept for' });
    if (review.fault) missing.push(review.fault);
    if (missing.length) return showErrors(missing, form);
    if (review.value) body.review_date = review.value;
    const r = await attempt(() => put(`/api/v1/people/${person.id}/retention-hold`, body), { scope: form });
    if (!r) return;
    notify(`The record is held${r.hold?.review_date ? ` (review by ${formatDate(r.hold.review_date)})` : ''}: it is not due for disposal while it is held.`);
    go(`/people/${person.id}?held=1`);
  });
  const release = document.getElementById('release-form');
  if (!release) return;
  onSubmit(release, async () => {
    const done = await attempt(() => api('DELETE', `/api/v1/people/${person.id}/retention-hold`), { scope: release });
    if (done === undefined) return;
    notify('The hold is released: the record is due for disposal once its retention is reached.');
    go(`/people/${person.id}?released=1`);
  });
}

// The plans shared with the NHS through CP-IS (seed 003), with the last file that carried each and,
// while one is held back (its details would not match the NHS's), why.
function plansTable(plans) {
  if (plans === null) return html`<h2 class="govuk-heading-m">CP-IS plans</h2><p class="govuk-body">CP-IS plans cannot be shown just now.</p>`;
  return table(
    'CP-IS plans (shared with the NHS)',
    ['Plan', 'From', 'To', 'Last shared', 'Held back'],
    (plans.items || []).map((p) => [
      p.legal_status_title ? `${p.plan_type_title}: ${p.legal_status_title}` : p.plan_type_title,
      formatDate(p.start_date),
      formatDate(p.end_date),
      p.last_file ? `File ${p.last_file.file_sequence_number}${p.last_file.response_code ? ` (${p.last_file.response_code})` : ''}` : 'Not yet',
      (p.held_back || []).map((h) => h.reason).join(' ') || 'No',
    ]),
    { empty: 'No CP-IS plans recorded.' },
  );
}

function planForm(person) {
  const types = PLAN_TYPES.filter((t) => (t.value === 'unborn-child-protection-plan') === !!person.unborn);
  return html`<h2 class="govuk-heading-m">Record a CP-IS plan</h2>
    <form id="plan-form" novalidate>
      ${select({ id: 'plan-type', name: 'plan_type', label: 'Plan', field: 'plan_type', options: types })}
      ${person.unborn
        ? ''
        : select({ id: 'plan-legal-status', name: 'legal_status', label: 'Legal status', field: 'legal_status', options: LEGAL_STATUSES, placeholder: 'None (not in care)', hint: 'For a child in care only.' })}
      ${dateInput({ id: 'plan-start-date', name: 'start_date', legend: 'Start date', subject: 'The start date', field: 'start_date' })}
      ${button('Record plan')}
    </form>`;
}

function wirePlanForm(person) {
  const form = document.getElementById('plan-form');
  onSubmit(form, async (data) => {
    const start = readDate(form, 'start_date');
    const body = { person_id: String(person.id), plan_type: data.get('plan_type'), start_date: start.value };
    const missing = [];
    if (!body.plan_type) missing.push({ field: 'plan_type', message: 'Select the plan' });
    if (start.fault) missing.push(start.fault);
    else if (!body.start_date) missing.push({ field: 'start_date', message: 'Enter the date the plan started' });
    if (missing.length) return showErrors(missing);
    if (data.get('legal_status')) body.legal_status = data.get('legal_status');
    const plan = await attempt(() => post('/api/v1/cpis/plans', body));
    if (!plan) return;
    notify(`${plan.plan_type_title} recorded for CP-IS.`);
    go(`/people/${person.id}?plan=${plan.id}`);
  });
}

const ADDRESS_TYPES = [
  { value: 'main', title: 'Main address' },
  { value: 'temporary', title: 'Temporary address' },
  { value: 'correspondence', title: 'Correspondence address' },
];
const addressType = (type) => ADDRESS_TYPES.find((t) => t.value === type)?.title || type;
const addressText = (a) => [...(a.lines || []), a.town, a.postcode].filter(Boolean).join(', ');

function addressRows(list, { withEnd = false } = {}) {
  return list.map((a) => [
    addressType(a.type),
    addressText(a),
    formatDate(a.start_date),
    a.end_date ? formatDate(a.end_date) : 'Current',
    ...(withEnd
      ? [html`<form class="app-end-address" data-id="${a.id}" novalidate>${button(html`End<span class="govuk-visually-hidden"> ${addressType(a.type).toLowerCase()} ${addressText(a)}</span>`, { secondary: true, classes: 'govuk-!-margin-bottom-0' })}</form>`]
      : []),
  ]);
}

// Where the person lives now (a move keeps the address before as history, shown on request: reading
// it is an audited read of the record).
function addressesSection(addresses, canChange) {
  return html`${table(
    'Addresses',
    ['Type', 'Address', 'From', 'To', ...(canChange ? ['Action'] : [])],
    addressRows(addresses, { withEnd: canChange }),
    { empty: 'No current address recorded.' },
  )}
    <form id="address-history-form" novalidate>${button('Show the address history', { secondary: true })}</form>
    <div id="address-history"></div>`;
}

function addressForm() {
  return html`<h2 class="govuk-heading-m">Add an address</h2>
    <form id="address-form" novalidate>
      ${select({ id: 'address-type', name: 'type', label: 'Type of address', field: 'type', options: ADDRESS_TYPES, value: 'main', hint: 'A new main address ends the current one the day before.' })}
      ${textInput({ id: 'address-line-1', name: 'line1', label: 'Address line 1', field: 'lines', autocomplete: 'address-line1' })}
      ${textInput({ id: 'address-line-2', name: 'line2', label: 'Address line 2 (optional)', autocomplete: 'address-line2' })}
      ${textInput({ id: 'address-line-3', name: 'line3', label: 'Address line 3 (optional)', autocomplete: 'address-line3' })}
      ${textInput({ id: 'address-town', name: 'town', label: 'Town or city', field: 'town', classes: 'govuk-!-width-two-thirds' })}
      ${textInput({ id: 'address-postcode', name: 'postcode', label: 'Postcode (optional)', field: 'postcode', classes: 'govuk-input--width-10', hint: 'Leave empty for an address abroad.' })}
      ${dateInput({ id: 'address-start-date', name: 'start_date', legend: 'Living here from', subject: 'The date they started living here', field: 'start_date' })}
      ${button('Add address')}
    </form>`;
}

function wireAddresses(person, canChange) {
  const history = document.getElementById('address-history-form');
  onSubmit(history, async () => {
    const list = await attempt(() => get(`/api/v1/people/${person.id}/addresses`), { scope: history });
    if (!list) return;
    const box = document.getElementById('address-history');
    render(box, table('Address history', ['Type', 'Address', 'From', 'To'], addressRows(list.items || []), { empty: 'No address has been recorded.', captionClass: 'govuk-table__caption--s' }));
    box.querySelector('caption')?.setAttribute('tabindex', '-1');
    box.querySelector('caption')?.focus();
  });
  if (!canChange) return;
  const form = document.getElementById('address-form');
  onSubmit(form, async (data) => {
    // Every fault at once comes from the API, each next to its field (a date that is not one first).
    const saved = await attempt(() => {
      const start = readDate(form, 'start_date');
      if (start.fault) throw new FormFaults([start.fault]);
      const body = {
        type: data.get('type'),
        lines: ['line1', 'line2', 'line3'].map((k) => data.get(k).trim()).filter(Boolean),
        town: data.get('town').trim(),
        start_date: start.value,
      };
      if (data.get('postcode').trim()) body.postcode = data.get('postcode').trim();
      return post(`/api/v1/people/${person.id}/addresses`, body);
    }, { scope: form });
    if (!saved) return;
    notify(`${addressType(saved.type)} ${addressText(saved)} recorded from ${formatDate(saved.start_date)}.`);
    go(`/people/${person.id}?address=${saved.id}`);
  });
  for (const end of document.querySelectorAll('form.app-end-address')) {
    onSubmit(end, async () => {
      const ended = await attempt(() => post(`/api/v1/people/${person.id}/addresses/${end.dataset.id}/end`, {}), { scope: end });
      if (!ended) return;
      notify(`${addressType(ended.type)} ${addressText(ended)} ended on ${formatDate(ended.end_date)}.`);
      go(`/people/${person.id}?ended=${ended.id}`);
    });
  }
}

const allocatedName = (a, names) => (a.worker_id ? names.worker[a.worker_id] || `Worker ${a.worker_id}` : names.team[a.team_id] || `Team ${a.team_id}`);
const byName = (map) => Object.entries(map).map(([value, title]) => ({ value, title })).sort((x, y) => x.title.localeCompare(y.title));
const ALLOCATION_SERVICES = [
  { value: 'CSSW', title: "Children's social work (CSSW)" },
  { value: 'EH', title: 'Early Help' },
  { value: 'ASC', title: "Adult social care (ASC)" },
];

// A key worker or a team for a service. The workers listed are the directory's first ones by name;
// 'Find' looks further, as a council has more workers than a list can show.
function allocationForm(names) {
  return html`<h2 class="govuk-heading-m">Allocate</h2>
    <form id="allocation-find-form" novalidate>
      ${textInput({ id: 'allocation-find', name: 'q', label: 'Find a worker', field: 'q', hint: 'Part of their name; the list below shows who is found.' })}
      ${button('Find worker', { secondary: true })}
      <p class="govuk-body" id="allocation-find-status" role="status"></p>
    </form>
    <form id="allocation-form" novalidate>
      ${choices({ id: 'allocation-role', name: 'role', legend: 'Who to allocate', field: 'role', value: 'key-worker', small: true, options: [{ value: 'key-worker', title: 'A key worker' }, { value: 'team', title: 'A team' }] })}
      ${select({ id: 'allocation-worker', name: 'worker_id', label: 'Key worker', field: 'worker_id', options: byName(names.worker) })}
      ${select({ id: 'allocation-team', name: 'team_id', label: 'Team', field: 'team_id', options: byName(names.team) })}
      ${select({ id: 'allocation-service', name: 'service', label: 'Service', field: 'service', options: ALLOCATION_SERVICES, value: 'CSSW', placeholder: null })}
      ${button('Allocate')}
    </form>`;
}

function wireAllocations(person) {
  const find = document.getElementById('allocation-find-form');
  onSubmit(find, async (data) => {
    const q = data.get('q').trim();
    const status = document.getElementById('allocation-find-status');
    if (!q) return showErrors([{ field: 'q', message: 'Enter part of the worker\'s name' }], find);
    await findWorkersInto({ q, scope: find, list: document.getElementById('allocation-worker'), status, listName: 'Key worker' });
  });
  const form = document.getElementById('allocation-form');
  onSubmit(form, async (data) => {
    const role = data.get('role');
    const body = { role, service: data.get('service') };
    if (role === 'team') body.team_id = data.get('team_id');
    else body.worker_id = data.get('worker_id');
    if (role === 'team' && !body.team_id) return showErrors([{ field: 'team_id', message: 'Select the team' }], form);
    if (role !== 'team' && !body.worker_id) return showErrors([{ field: 'worker_id', message: 'Select the key worker' }], form);
    const made = await attempt(() => post(`/api/v1/people/${person.id}/allocations`, body), { scope: form });
    if (!made) return;
    const chosen = role === 'team' ? document.getElementById('allocation-team') : document.getElementById('allocation-worker');
    notify(`${chosen.options[chosen.selectedIndex]?.text || 'The allocation'} allocated for ${made.service}.`);
    go(`/people/${person.id}?allocated=${made.id}`);
  });
  for (const end of document.querySelectorAll('form.app-end-allocation')) {
    onSubmit(end, async () => {
      const ended = await attempt(() => api('DELETE', `/api/v1/people/${person.id}/allocations/${end.dataset.id}`), { scope: end });
      if (ended === undefined) return;
      notify(`The allocation of ${end.dataset.name} has ended.`);
      go(`/people/${person.id}?deallocated=${end.dataset.id}`);
    });
  }
}

// CP-IS matches a child by NHS number: a number the NHS reported inactive stops the child's plan
// uploads until a new one is recorded here, and the key worker is asked to record it.
function nhsNumberForm(person) {
  return html`<h2 class="govuk-heading-m">${person.nhs_number ? 'Record a new NHS number' : 'Record the NHS number'}</h2>
    <form id="nhs-number-form" novalidate>
      ${textInput({ id: 'nhs-number', name: 'nhs_number', label: 'NHS number', field: 'nhs_number', hint: person.nhs_number ? `Replaces ${nhs(person.nhs_number)}. 10 digits, for example 485 777 3456.` : '10 digits, for example 485 777 3456.', classes: 'govuk-input--width-10' })}
      ${button('Record NHS number')}
    </form>`;
}

function wireNhsNumberForm(person) {
  onSubmit(document.getElementById('nhs-number-form'), async (data) => {
    const number = data.get('nhs_number').trim();
    if (!number) return showErrors([{ field: 'nhs_number', message: 'Enter the NHS number' }]);
    const saved = await attempt(() => put(`/api/v1/people/${person.id}/nhs-number`, { nhs_number: number }));
    if (!saved) return;
    notify(`NHS number ${nhs(saved.nhs_number)} recorded.`);
    go(`/people/${person.id}?nhs=${saved.nhs_number}`);
  });
}

function caseNoteForm() {
  return html`<h2 class="govuk-heading-m">Add a case note</h2>
    <form id="case-note-form" novalidate>
      ${select({ id: 'note-type', name: 'type', label: 'Type', options: NOTE_TYPES })}
      ${textInput({ id: 'note-title', name: 'title', label: 'Title' })}
      ${textarea({ id: 'note-body', name: 'body', label: 'Note', rows: 6 })}
      ${dateInput({ id: 'note-occurred-at', name: 'occurred_at', legend: 'When it happened', subject: 'When it happened', field: 'occurred_at', time: true, hint: 'Leave empty for now.' })}
      ${button('Add case note')}
    </form>`;
}

function wireCaseNoteForm(person) {
  const form = document.getElementById('case-note-form');
  onSubmit(form, async (data) => {
    const body = { type: data.get('type'), title: data.get('title').trim() };
    // The time the office's clock showed, whatever this computer's zone.
    const when = readDate(form, 'occurred_at');
    const missing = [];
    if (!body.type) missing.push({ field: 'type', message: 'Select the type of case note' });
    if (!body.title) missing.push({ field: 'title', message: 'Enter a title for the case note' });
    if (when.fault) missing.push(when.fault);
    if (missing.length) return showErrors(missing);
    const text = data.get('body').trim();
    if (text) body.body = text;
    if (when.value) body.occurred_at = when.value;
    const note = await attempt(() => post(`/api/v1/people/${person.id}/case-notes`, body, { idempotent: true }));
    if (!note) return;
    notify(`Case note '${note.title}' added.`);
    go(`/people/${person.id}?added=${note.id}`);
  });
}

// Seed 002: a case note recorded on the wrong person's record, or found to be inaccurate, is removed
// by system support at a manager's request (seed 001). The page shows whose record and which note, so that the
// right one goes; the API deletes its words and keeps the removal, with its reason, in the audit trail.
async function findCaseNote(person, noteId) {
  const latest = (person.case_notes || []).find((n) => n.id === noteId);
  if (latest) return latest;
  let cursor;
  for (let page = 0; page < 20; page++) {
    const list = await get(`/api/v1/people/${person.id}/case-notes`, { limit: 200, cursor });
    const found = (list.items || []).find((n) => n.id === noteId);
    if (found || !list.next_cursor) return found || null;
    cursor = list.next_cursor;
  }
  return null;
}

export async function caseNoteRemovePage({ app, params, isCurrent }) {
  const [personId, noteId] = params;
  const person = await get(`/api/v1/people/${personId}`);
  const [note, names] = await Promise.all([findCaseNote(person, noteId), directory()]);
  if (!isCurrent()) return;
  document.title = `Remove a case note - ${person.title || person.display_name} - Tessera`;
  const back = html`<a class="govuk-back-link" href="#/people/${person.id}">Back to ${person.title || person.display_name}</a>`;
  if (!note) {
    render(
      app,
      html`${back}<h1 class="govuk-heading-l">Case note not found</h1>
      <p class="govuk-body">This record has no case note ${noteId}. It may have been removed already.</p>`,
    );
    return;
  }
  render(
    app,
    html`${back}<span class="govuk-caption-l">${person.title || person.display_name}</span>
    <h1 class="govuk-heading-l">Remove a case note recorded in error</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${summaryList([
      ['When', formatDateTime(note.occurred_at)],
      ['Type', noteType(note.type)],
      ['Title', note.title],
      ['Note', userText(note.body || '', { pre: true })],
      ['Recorded by', names.worker[note.recorded_by] || note.recorded_by],
    ])}
    <div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
      <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
      The note's title and text will be deleted from this record and cannot be brought back. The audit trail keeps that it was removed, by whom and why.</strong></div>
    ${reasonForm({ prefix: 'removal', legend: 'Why is it being removed?', reasons: REMOVAL_REASONS, hint: "For example, whose record it should have been on. Do not repeat the note's content.", action: 'Remove case note', cancelHref: `#/people/${person.id}` })}
    </div></div>`,
  );
  wireReasonForm(
    'removal',
    'case note',
    (body) => post(`/api/v1/people/${person.id}/case-notes/${note.id}/remove`, body),
    () => {
      notify(`Case note '${note.title}' removed.`);
      go(`/people/${person.id}?removed=${note.id}`);
    },
  );
}
