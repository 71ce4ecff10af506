// A person's details as forms: 'Add a person' (searched for first, so that no one is added twice:
// seed 002 has duplicates merged, better never made) and 'Change person details' (seed 003: "The
// child's legal name should be recorded exactly as it appears on their birth certificate ... Any
// other or alternative names should be added under Other Names"; CP-IS matches a child on the legal
// name and date of birth, so a plan held back for a mismatch is put right here). An unborn child is
// added from the mother's record, with the expected date of delivery and no NHS number of its own.
import { get, post, put, session } from '../api.js';
import { formatDate, html, render } from '../html.js';
import { FormFaults, attempt, button, choices, dateInput, onSubmit, readDates, textInput, textarea } from '../forms.js';
import { go, notify } from '../main.js';

export const GENDERS = { female: 'Female', male: 'Male', indeterminate: 'Indeterminate', 'not-known': 'Not known' };
// Those who may change a person's record (records' person_writers): add people, correct their
// details, record a new NHS number.
// The records daemon's allocators: who allocate key workers and teams, and see the people still
// allocated to a key worker who has left.
export const ALLOCATOR_ROLES = ['admin', 'system-support', 'team-manager', 'mash-manager', 'head-of-service'];
export const PERSON_WRITER_ROLES = ['admin', 'system-support', 'mash-admin', 'mash-manager', 'social-worker', 'senior-practitioner', 'team-manager', 'early-help-worker', 'safeguarding-admin', 'emergency-duty', 'business-information-admin', 'head-of-service'];

// The fields both forms share, each answering for the API's field of the same name.
function personFields(p, { unborn, withNumber }) {
  const legal = p.legal_name || {};
  return html`${textInput({ id: 'details-given', name: 'given', label: unborn ? 'Given names (if chosen)' : 'Given names', field: 'legal_name.given', value: legal.given || '', hint: unborn ? '' : 'Exactly as on the birth certificate.' })}
    ${textInput({ id: 'details-family', name: 'family', label: 'Family name', field: 'legal_name.family', value: legal.family || '', hint: unborn ? '' : 'Exactly as on the birth certificate.' })}
    ${textarea({ id: 'details-other-names', name: 'other_names', label: 'Other names (optional)', field: 'other_names', value: (p.other_names || []).join('\n'), hint: 'Any other or alternative name they are known by, one to a line.', rows: 3 })}
    ${unborn
      ? dateInput({ id: 'details-edd', name: 'expected_delivery_date', legend: 'Expected date of delivery', field: 'expected_delivery_date', value: p.expected_delivery_date || '' })
      : dateInput({ id: 'details-dob', name: 'date_of_birth', legend: 'Date of birth', field: 'date_of_birth', value: p.date_of_birth || '', hint: 'Leave empty if not known.' })}
    ${choices({ id: 'details-gender', name: 'gender', legend: 'Gender', field: 'gender', options: Object.entries(GENDERS).map(([value, title]) => ({ value, title })), value: p.gender })}
    ${withNumber ? textInput({ id: 'details-nhs-number', name: 'nhs_number', label: 'NHS number (optional)', field: 'nhs_number', hint: '10 digits, for example 485 777 3456.', classes: 'govuk-input--width-10' }) : ''}`;
}

// The details as the API takes them: every one, as a PUT replaces them as a whole. A date that is not
// one is thrown as the form's fault (FormFaults), for attempt() to show; nothing is sent.
function personBody(form, data, unborn) {
  const { values, faults } = readDates(form);
  if (faults.length) throw new FormFaults(faults);
  const body = {
    legal_name: { given: data.get('given').trim(), family: data.get('family').trim() },
    other_names: data.get('other_names').split('\n').map((n) => n.trim()).filter(Boolean),
    date_of_birth: unborn ? null : values.date_of_birth || null,
    gender: data.get('gender') || '',
  };
  if (unborn) body.expected_delivery_date = values.expected_delivery_date || '';
  return body;
}

export async function personDetailsPage({ app, params, isCurrent }) {
  const person = await get(`/api/v1/people/${params[0]}`);
  if (!isCurrent()) return;
  const title = person.title || person.display_name;
  document.title = `Change person details - ${title} - Tessera`;
  render(
    app,
    html`<a class="govuk-back-link" href="#/people/${person.id}">Back to ${title}</a>
    <span class="govuk-caption-l">${title}</span>
    <h1 class="govuk-heading-l">Change person details</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <form id="details-form" novalidate>
      ${personFields(person, { unborn: person.unborn })}
      <div class="govuk-button-group">
        ${button('Save details')}
        <a class="govuk-link" href="#/people/${person.id}">Cancel</a>
      </div>
    </form>
    </div></div>`,
  );
  const form = document.getElementById('details-form');
  onSubmit(form, async (data) => {
    // Every fault comes back from the API at once, each next to its field.
    const saved = await attempt(() => put(`/api/v1/people/${person.id}/details`, personBody(form, data, person.unborn)), { scope: form });
    if (!saved) return;
    notify(`${saved.display_name}'s details saved.`);
    go(`/people/${person.id}`);
  });
}

// #/people/{id}/birth: an unborn child born (seed 003: "Once the child reaches the expected date of
// delivery the system will require an NHS number to be added to the child's record"). The legal
// name as on the birth certificate, the date of birth, gender and the child's own NHS number if
// known; the record is the child's from then on, still linked to the mother.
export async function personBirthPage({ app, params, isCurrent }) {
  const person = await get(`/api/v1/people/${params[0]}`);
  if (!isCurrent()) return;
  const title = person.title || person.display_name;
  document.title = `Record the birth - ${title} - Tessera`;
  const back = html`<a class="govuk-back-link" href="#/people/${person.id}">Back to ${title}</a>`;
  if (!person.unborn) {
    render(app, html`${back}<h1 class="govuk-heading-l">Record the birth</h1>
      <p class="govuk-body" id="birth-recorded-already">${title} is not recorded as an unborn child: correct their details with <a class="govuk-link" href="#/people/${person.id}/details">Change details</a>.</p>`);
    return;
  }
  render(
    app,
    html`${back}
    <span class="govuk-caption-l">${title}</span>
    <h1 class="govuk-heading-l">Record the birth</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <p class="govuk-body">Expected on ${formatDate(person.expected_delivery_date)}. Until the birth is recorded, CP-IS uses the mother's NHS number; after it, the child's own.</p>
    <form id="birth-form" novalidate>
      ${personFields({ ...person, date_of_birth: '' }, { unborn: false, withNumber: true })}
      <div class="govuk-button-group">
        ${button('Record the birth')}
        <a class="govuk-link" href="#/people/${person.id}">Cancel</a>
      </div>
    </form>
    </div></div>`,
  );
  const form = document.getElementById('birth-form');
  onSubmit(form, async (data) => {
    // Every fault comes back from the API at once, each next to its field.
    const saved = await attempt(() => {
      const body = personBody(form, data, false);
      body.date_of_birth = body.date_of_birth || '';
      const number = (data.get('nhs_number') || '').trim();
      if (number) body.nhs_number = number;
      return put(`/api/v1/people/${person.id}/birth`, body);
    }, { scope: form });
    if (!saved) return;
    notify(`The birth of ${saved.display_name} is recorded.`);
    go(`/people/${person.id}`);
  });
}

// #/people/new, or #/people/new?mother=ID for an unborn child recorded against the mother.
export async function personAddPage({ app, query, isCurrent }) {
  const mother = query.mother ? await get(`/api/v1/people/${query.mother}`) : null;
  if (!isCurrent()) return;
  const unborn = !!mother;
  const heading = unborn ? 'Add an unborn child' : 'Add a person';
  document.title = `${heading} - Tessera`;
  const back = unborn
    ? html`<a class="govuk-back-link" href="#/people/${mother.id}">Back to ${mother.title}</a>`
    : html`<a class="govuk-back-link" href="#/people">Back to Find a person</a>`;
  render(
    app,
    html`${back}${unborn ? html`<span class="govuk-caption-l">Mother: ${mother.title}</span>` : ''}
    <h1 class="govuk-heading-l">${heading}</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${unborn
      ? html`<p class="govuk-body">An unborn child is recorded against the mother: CP-IS shares an unborn child protection plan under the mother's NHS number until the expected date of delivery, and the child's own number is needed from that day.</p>`
      : html`<p class="govuk-body">Search for the person first: a second record of someone already recorded has to be merged later.</p>`}
    <form id="person-add-form" novalidate>
      ${personFields(unborn ? { legal_name: { family: mother.legal_name?.family || '' }, gender: 'not-known' } : {}, { unborn, withNumber: !unborn })}
      <div class="govuk-button-group">
        ${button(heading)}
        <a class="govuk-link" href="${unborn ? `#/people/${mother.id}` : '#/people'}">Cancel</a>
      </div>
    </form>
    </div></div>`,
  );
  const form = document.getElementById('person-add-form');
  onSubmit(form, async (data) => {
    const added = await attempt(() => {
      const body = personBody(form, data, unborn);
      if (unborn) {
        body.unborn = true;
        body.mother_id = mother.id;
        delete body.date_of_birth;
      } else if (data.get('nhs_number').trim()) {
        body.nhs_number = data.get('nhs_number').trim();
      }
      if (!body.date_of_birth) delete body.date_of_birth;
      return post('/api/v1/people', body);
    }, { scope: form });
    if (!added) return;
    notify(`${added.display_name} added${added.unborn ? `, expected on ${formatDate(added.expected_delivery_date)}` : ''}.`);
    go(`/people/${added.id}`);
  });
}

// Who may add people: the link on Find a person and, on a woman's record, 'Add an unborn child'.
export const canAddPeople = () => session.hasRole(...PERSON_WRITER_ROLES);
