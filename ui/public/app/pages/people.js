// People: find a person by name (misspellings allowed) and date of birth; a person's summary with
// demographics, relationships, allocations, case notes and work steps. A restricted record the
// worker may not open shows its display name only, as the API gives it.
import { ApiError, get } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table, tag } from '../html.js';
import { button, onSubmit, showErrors, textInput } from '../forms.js';
import { go } from '../main.js';
import { startableSteps, startForm, stepsTable, wireStartForm } from './organisations.js';

const GENDERS = { female: 'Female', male: 'Male', indeterminate: 'Indeterminate', 'not-known': 'Not known' };
const REASONS = {
  'conflict-of-interest': 'Conflict of interest',
  'high-risk': 'High risk',
  'case-review': 'Case review',
  'high-profile': 'High profile',
  'mappa-marac-lado': 'MAPPA, MARAC or LADO',
  'adoption-fostering': 'Adoption or fostering',
};

function nhs(number) {
  return number ? number.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3') : '';
}

export async function peoplePage({ app, query, isCurrent }) {
  const name = query.name || '';
  const dob = query.dob || '';
  const found = name || dob ? await get('/api/v1/people', { name, dob, limit: 50 }) : null;
  if (!isCurrent()) return;
  document.title = 'Find a person - Tessera';
  render(
    app,
    html`<h1 class="govuk-heading-l">Find a person</h1>
    <form id="person-search" novalidate>
      ${textInput({ id: 'name', name: 'name', label: 'Name or person ID', value: name, hint: 'Any of their names; spelling mistakes are allowed.', classes: 'govuk-!-width-two-thirds' })}
      ${textInput({ id: 'dob', name: 'dob', label: 'Date of birth', type: 'date', value: dob, classes: 'govuk-!-width-one-third' })}
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
      : ''}`,
  );
  onSubmit(document.getElementById('person-search'), (data) => {
    const n = data.get('name').trim();
    const d = data.get('dob');
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
    render(
      app,
      html`<span class="govuk-caption-l">Person</span>
      <h1 class="govuk-heading-l">${person.display_name}</h1>
      <div class="govuk-warning-text">
        <span class="govuk-warning-text__icon" aria-hidden="true">!</span>
        <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
          This record is restricted. You can see the name only. Your attempt to open it has been recorded.</strong>
      </div>
      ${person.refusal ? html`<p class="govuk-body">${person.refusal}</p>` : ''}`,
    );
    return;
  }
  const [names, types] = await Promise.all([directory(), startableSteps('person').catch(() => [])]);
  if (!isCurrent()) return;
  const legal = person.legal_name || {};
  render(
    app,
    html`<span class="govuk-caption-l">Person</span>
    <h1 class="govuk-heading-l">${person.title}</h1>
    ${person.restricted
      ? html`<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
          <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
          Restricted record (${REASONS[person.restriction?.reason] || person.restriction?.reason || 'restricted'}; review by ${formatDate(person.restriction?.review_date)}).</strong></div>`
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
    ${table(
      'Relationships',
      ['Person', 'Relationship'],
      (person.relationships || []).map((r) => [html`<a class="govuk-link" href="#/people/${r.person_id}">${r.display_name}</a>`, r.type_title || r.type.replaceAll('-', ' ')]),
      { empty: 'No relationships recorded.' },
    )}
    ${table(
      'Allocations',
      ['Worker or team', 'Role', 'Service', 'From', 'To'],
      (person.allocations || []).map((a) => [
        a.worker_id ? names.worker[a.worker_id] || `Worker ${a.worker_id}` : names.team[a.team_id] || `Team ${a.team_id}`,
        a.role === 'key-worker' ? 'Key worker' : 'Team',
        a.service,
        formatDate(a.start_date),
        formatDate(a.end_date),
      ]),
      { empty: 'Not allocated.' },
    )}
    ${table(
      `Case notes (latest ${(person.case_notes || []).length} of ${person.case_notes_total ?? (person.case_notes || []).length})`,
      ['When', 'Type', 'Title', 'Note', 'Recorded by'],
      (person.case_notes || []).map((n) => [
        formatDateTime(n.occurred_at),
        n.type.replaceAll('-', ' '),
        n.title,
        html`<span class="app-pre">${n.body || ''}</span>`,
        names.worker[n.recorded_by] || n.recorded_by,
      ]),
      { empty: 'No case notes.' },
    )}
    ${person.steps === null
      ? html`<h2 class="govuk-heading-m">Work steps</h2><p class="govuk-body">${person.steps_unavailable || 'Work steps cannot be shown just now.'}</p>`
      : stepsTable('Work steps', person.steps || [])}
    </div>
    <div class="govuk-grid-column-one-third">${startForm(types)}</div>
    </div>`,
  );
  wireStartForm({ kind: 'person', id: person.id });
}
