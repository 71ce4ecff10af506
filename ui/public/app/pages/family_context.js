// Family Context (seed 004): find a person by name and date of birth, or by case ID (a direct
// match, straight to the person), giving the reason for the access that the audit keeps with every
// search and view (X-Access-Reason); then their service involvement source by source, our own
// records and the other services' batch files, each with its contact, when it was last
// synchronised and the dates it covers. In the linked-individuals journey a child's page lists the
// individuals linked to the child, each opening their own involvement.
//
// The API does not say beforehand which search modes the council allows: both forms are shown and
// a refused mode's error (search_mode_not_allowed) is shown next to its field.
import { ApiError, getWithReason, session } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table, tag } from '../html.js';
import { attempt, button, dateInput, onSubmit, readDate, showErrors, textInput, textarea } from '../forms.js';
import { go } from '../main.js';
import { nhs } from './people.js';

const REASON_KEY = 'tessera.family-context.reason';
const NAMES_KEY = 'tessera.family-context.names';
const JOURNEY_KEY = 'tessera.family-context.journey';

const SOURCE_TITLES = {
  'childrens-social-care': "Children's social care",
  'early-help': 'Early help',
  'adult-social-care': 'Adult social care',
  school: 'School',
  housing: 'Housing',
  police: 'Police',
};

const WITHHELD = {
  'outside-age-rule': 'Not shown: the person is outside the ages this source may be shown for.',
  'age-unknown': 'Not shown: no date of birth is recorded, and this source may be shown only for certain ages.',
};

// The reason is the signed-in worker's, for this session's Family Context searches and views.
function savedReason() {
  const text = sessionStorage.getItem(REASON_KEY);
  const saved = text ? JSON.parse(text) : null;
  return saved && saved.worker === session.worker?.id ? saved.reason : '';
}

function saveReason(reason) {
  sessionStorage.setItem(REASON_KEY, JSON.stringify({ worker: session.worker?.id, reason }));
}

// Display names of people already shown in a search or a linked list, so that a restricted
// person's refused view can still say whose record it is without reading it again.
function rememberNames(people) {
  const names = JSON.parse(sessionStorage.getItem(NAMES_KEY) || '{}');
  for (const p of people) names[p.id] = p.display_name;
  sessionStorage.setItem(NAMES_KEY, JSON.stringify(names));
}

function rememberedName(id) {
  return JSON.parse(sessionStorage.getItem(NAMES_KEY) || '{}')[id] || '';
}

function reasonField(value) {
  return textarea({
    id: 'reason',
    name: 'reason',
    field: 'X-Access-Reason',
    label: 'Reason for access',
    hint: 'Why you need to see this service involvement, for example the case you are working on. It is recorded in the audit with each search and view.',
    value,
    rows: 2,
  });
}

function missingReason() {
  return { field: 'X-Access-Reason', message: 'Enter your reason for looking at this service involvement' };
}

// From a child's list of linked individuals, the link carries the child, for the way back.
function personLink(p, child) {
  return html`<a class="govuk-link" href="#/family-context/people/${p.id}${child ? `?child=${child}` : ''}">${p.title}</a>${p.restricted ? html` ${tag('Restricted', 'red')}` : ''}`;
}

function dateOfBirth(p) {
  if (p.name_only) return 'Not shown';
  if (p.date_of_birth_missing) return tag('No date of birth', 'yellow');
  return formatDate(p.date_of_birth);
}

function candidatesTable(items) {
  return table(
    `People found (${items.length})`,
    ['Name', 'Date of birth', 'Known to'],
    items.map((p) => [
      personLink(p),
      dateOfBirth(p),
      p.name_only ? 'Not shown' : (p.known_to || []).map((k) => SOURCE_TITLES[k] || k).join(', ') || 'No service involvement',
    ]),
    { empty: 'No one matches. Check the spelling and the date of birth, or search by case ID.' },
  );
}

export async function familyContextPage({ app, query, isCurrent }) {
  const byCase = !!query.case_id;
  const searching = byCase || !!query.name || !!query.dob;
  const reason = savedReason();
  document.title = 'Family Context - Tessera';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <span class="govuk-caption-l">Family Context</span>
    <h1 class="govuk-heading-l">Find a person's service involvement</h1>
    ${sessionStorage.getItem(JOURNEY_KEY) === 'linked-individuals'
      ? html`<div class="govuk-inset-text">Search for a child on your caseload. Their page lists the individuals linked to them in records, each with their own service involvement.</div>`
      : ''}
    <form id="fc-search" novalidate>
      ${reasonField(reason)}
      <fieldset class="govuk-fieldset">
        <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">Search by name and date of birth</legend>
        ${textInput({ id: 'fc-name', name: 'name', label: 'Name', value: query.name || '', hint: 'Any of their names; spelling mistakes and missing parts are allowed.', classes: 'govuk-!-width-two-thirds' })}
        ${dateInput({ id: 'fc-dob', name: 'dob', legend: 'Date of birth', field: 'dob', value: query.dob || '', hint: 'People with no date of birth recorded are still found by name.' })}
        ${button('Search by name', { name: 'mode', value: 'name' })}
      </fieldset>
      <fieldset class="govuk-fieldset">
        <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">Search by case ID</legend>
        ${textInput({ id: 'fc-case-id', name: 'case_id', label: 'Case ID', value: query.case_id || '', hint: "The person's ID in Tessera. It opens their record directly.", classes: 'govuk-input--width-10' })}
        ${button('Search by case ID', { name: 'mode', value: 'case-id' })}
      </fieldset>
    </form>
    <div id="fc-results"></div>
    </div></div>`,
  );
  const searchForm = document.getElementById('fc-search');
  onSubmit(searchForm, (data, submitter) => {
    const given = data.get('reason').trim();
    const name = data.get('name').trim();
    const { value: dob, fault: dobFault } = readDate(searchForm, 'dob');
    const caseId = data.get('case_id').trim();
    // Enter in the case ID field submits with the form's first button: the filled field decides.
    const mode = submitter?.value === 'case-id' || (!name && !dob && caseId) ? 'case-id' : 'name';
    const missing = given ? [] : [missingReason()];
    if (mode === 'case-id' && !caseId) missing.push({ field: 'case_id', message: 'Enter a case ID' });
    if (mode === 'name' && !name) missing.push({ field: 'name', message: 'Enter a name to search for' });
    if (mode === 'name' && dobFault) missing.push(dobFault);
    if (missing.length) return showErrors(missing);
    saveReason(given);
    go(mode === 'case-id' ? `/family-context?case_id=${encodeURIComponent(caseId)}` : `/family-context?name=${encodeURIComponent(name)}&dob=${encodeURIComponent(dob)}`);
  });
  if (!searching) return;
  if (!reason) return showErrors([missingReason()]);
  const found = await attempt(() =>
    getWithReason('/api/v1/family-context/search', byCase ? { case_id: query.case_id } : { name: query.name, dob: query.dob, limit: 20 }, reason),
  );
  if (!found || !isCurrent()) return;
  if (found.match === 'direct') {
    // A case ID is a direct match: no list to choose from, and Back skips this search.
    rememberNames([found.person]);
    location.replace(`#/family-context/people/${found.person.id}`);
    return;
  }
  rememberNames(found.items);
  sessionStorage.setItem(JOURNEY_KEY, found.journey);
  const results = document.getElementById('fc-results');
  render(results, candidatesTable(found.items));
  // The results, not the form above them, are what the worker reads next.
  const heading = results.querySelector('caption, h2');
  heading.tabIndex = -1;
  heading.focus();
}

function ageRule(rule) {
  const { min, max } = rule || {};
  if (min !== null && min !== undefined && max !== null && max !== undefined) return `${min} to ${max}`;
  if (min !== null && min !== undefined) return `${min} and over`;
  if (max !== null && max !== undefined) return `Up to ${max}`;
  return 'Any age';
}

function contact(s) {
  const c = s.contact;
  if (!s.external) return 'This system: see the worker or team in each involvement';
  if (!s.last_synchronised && !c?.name) return 'No file has been loaded from this service yet';
  return html`${c.name || 'No name given'}${c.role ? html`, ${c.role}` : ''}
    ${c.telephone ? html`<br>Telephone: ${c.telephone}` : ''}
    ${c.email ? html`<br>E-mail: <a class="govuk-link" href="mailto:${c.email}">${c.email}</a>` : ''}`;
}

function coverage(c) {
  if (!c?.from && !c?.to) return '';
  return `${c.from ? formatDate(c.from) : 'the start'} to ${c.to ? formatDate(c.to) : 'now'}`;
}

function sourceCard(s, index) {
  const id = `source-${index + 1}`;
  let involvement;
  if (s.withheld) involvement = html`<p class="govuk-body">${WITHHELD[s.withheld] || `Not shown (${s.withheld}).`}</p>`;
  else if (!s.records.length) involvement = html`<p class="govuk-body">No involvement recorded.</p>`;
  else
    involvement = table(
      `${s.title}: involvement`,
      ['What', 'Detail', 'From', 'To'],
      s.records.map((r) => [r.title, r.detail, formatDate(r.start_date), r.end_date ? formatDate(r.end_date) : 'Open']),
      { captionClass: 'govuk-table__caption--s' },
    );
  return html`<section class="govuk-summary-card" id="${id}" aria-labelledby="${id}-title">
    <div class="govuk-summary-card__title-wrapper">
      <h2 class="govuk-summary-card__title" id="${id}-title">${s.title}
        ${s.external ? tag('Batch file', 'blue') : tag('This system', 'green')}
        ${s.records.length && !s.withheld ? tag(`${s.records.length} record${s.records.length === 1 ? '' : 's'}`, 'grey') : ''}</h2>
    </div>
    <div class="govuk-summary-card__content">
      ${summaryList([
        ['Contact', contact(s)],
        ['Last synchronised', s.external ? (s.last_synchronised ? formatDateTime(s.last_synchronised) : 'Never loaded') : 'Live'],
        ['Coverage', s.external ? coverage(s.coverage) : 'All of this system’s records'],
        ['Ages shown', ageRule(s.age_rule)],
      ])}
      ${involvement}
    </div>
  </section>`;
}

// The reason for access, asked for before a view when none has been given in this session.
function reasonPage(app, path, errors = []) {
  document.title = 'Reason for access - Family Context - Tessera';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <span class="govuk-caption-l">Family Context</span>
    <h1 class="govuk-heading-l">Why are you looking at this service involvement?</h1>
    <form id="fc-reason" novalidate>${reasonField(savedReason())}${button('Continue')}</form>
    </div></div>`,
  );
  onSubmit(document.getElementById('fc-reason'), (data) => {
    const given = data.get('reason').trim();
    if (!given) return showErrors([missingReason()]);
    saveReason(given);
    go(path);
  });
  if (errors.length) showErrors(errors);
}

export async function familyContextPersonPage({ app, params, query, isCurrent }) {
  const path = `/family-context/people/${params[0]}`;
  const reason = savedReason();
  if (!reason) return reasonPage(app, path);
  let view;
  try {
    view = await getWithReason(`/api/v1${path}`, undefined, reason);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.field === 'X-Access-Reason') return reasonPage(app, path, [{ field: error.field, message: error.message }]);
    if (error.status !== 403 || error.code !== 'restricted_record') throw error;
    if (!isCurrent()) return;
    // A restricted record: its display name only, and the refusal (which the audit has kept).
    const name = rememberedName(params[0]) || `Case ID ${params[0]}`;
    document.title = `${name} - Family Context - Tessera`;
    render(
      app,
      html`<span class="govuk-caption-l">Family Context</span>
      <h1 class="govuk-heading-l">${name}</h1>
      <div class="govuk-warning-text">
        <span class="govuk-warning-text__icon" aria-hidden="true">!</span>
        <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
          This record is restricted. You can see the name only. Your attempt to open it has been recorded.</strong>
      </div>
      <p class="govuk-body">${error.message}</p>
      <p class="govuk-body"><a class="govuk-link" href="#/family-context">New search</a></p>`,
    );
    return;
  }
  if (!isCurrent()) return;
  const p = view.person;
  sessionStorage.setItem(JOURNEY_KEY, view.journey);
  // Only a child on the caseload has a list of linked individuals (an adult's view has none).
  const linked = view.on_caseload ? view.linked_individuals : null;
  if (linked) rememberNames(linked);
  const child = /^\d+$/.test(query.child || '') && query.child !== p.id ? query.child : '';
  document.title = `${p.title} - Family Context - Tessera`;
  render(
    app,
    html`<span class="govuk-caption-l">Family Context: service involvement</span>
    <h1 class="govuk-heading-l">${p.title}</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${summaryList([
      ['Date of birth', p.date_of_birth_missing ? html`${tag('No date of birth', 'yellow')} Not recorded in Tessera` : formatDate(p.date_of_birth)],
      ['NHS number', nhs(p.nhs_number)],
      ['Reason for access', reason],
    ])}
    ${p.restricted
      ? html`<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
          <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>Restricted record: you have access to it.</strong></div>`
      : ''}
    </div></div>
    ${linked
      ? table(
          'Individuals linked to the child',
          ['Name', 'Relationship', 'Date of birth'],
          linked.map((l) => [personLink(l, p.id), (l.relationship || '').replaceAll('-', ' '), dateOfBirth(l)]),
          { empty: 'No one is linked to the child in records. Link them to the child in records to see their involvement here.' },
        )
      : ''}
    <h2 class="govuk-heading-l govuk-!-margin-top-6">Service involvement</h2>
    ${view.sources.map(sourceCard)}
    <p class="govuk-body">${child
      ? html`<a class="govuk-link" href="#/family-context/people/${child}">Back to ${rememberedName(child) || 'the child'}</a> | `
      : ''}<a class="govuk-link" href="#/family-context">New search</a></p>`,
  );
}
