// Workers, for admin and system support (seed 002's account management): find an account, add a
// starter's (with the DBS check, training, acceptable-use and conflict-of-interest declaration dates
// the governance document asks for), change a mover's roles and teams, record those dates and each
// conflict of interest a worker declares, set a forgotten password, and end a leaver's account.
// Every rule is the accounts daemon's; the page shows its answers.
import { api, get, post, put } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table, tag } from '../html.js';
import { FormFaults, attempt, button, choices, dateInput, onSubmit, readDates, showErrors, textInput, textarea } from '../forms.js';
import { go, notify } from '../main.js';

export const WORKER_ADMIN_ROLES = ['admin', 'system-support'];

// The suite's roles (accounts_roles), in words.
const ROLES = [
  ['social-worker', 'Social worker'],
  ['senior-practitioner', 'Senior practitioner'],
  ['team-manager', 'Team manager'],
  ['mash-admin', 'MASH admin'],
  ['mash-manager', 'MASH manager'],
  ['early-help-worker', 'Early help worker'],
  ['safeguarding-admin', 'Safeguarding admin'],
  ['emergency-duty', 'Emergency duty'],
  ['head-of-service', 'Head of service'],
  ['director', 'Director'],
  ['performance-analyst', 'Performance analyst'],
  ['business-information-admin', 'Business information admin'],
  ['auditor', 'Auditor'],
  ['system-support', 'System support'],
  ['admin', 'Admin'],
].map(([value, title]) => ({ value, title }));
const ROLE_TITLES = Object.fromEntries(ROLES.map((r) => [r.value, r.title]));

// Seed 002: an enhanced DBS check "needs to include both the adult and child barred list check".
const BARRED_LISTS = [
  { value: 'both', title: "Both the adults' and the children's" },
  { value: 'children', title: "The children's only" },
  { value: 'adults', title: "The adults' only" },
];
const BARRED_TITLES = Object.fromEntries(BARRED_LISTS.map((b) => [b.value, b.title]));

// What signing in would meet now, in words, and its tag's colour.
const STATES = {
  active: ['Active', 'green'],
  ended: ['Ended', 'grey'],
  contract_ended: ['Contract ended', 'grey'],
  dbs_out_of_date: ['DBS check out of date', 'red'],
  dbs_barred_list_missing: ['DBS check of one barred list only', 'red'],
  training_not_done: ['Training not recorded', 'yellow'],
  aup_not_signed: ['Acceptable-use policy not signed', 'yellow'],
  conflicts_not_declared: ['Conflicts of interest not declared', 'yellow'],
};

function stateTag(state) {
  const [text, colour] = STATES[state] || [state, 'grey'];
  return tag(text, colour);
}

function roleNames(roles) {
  return (roles || []).map((r) => ROLE_TITLES[r] || r).join(', ');
}

function teamNames(teams) {
  return (teams || []).map((t) => t.name).join(', ');
}

export async function workersPage({ app, query, isCurrent }) {
  const q = query.q || '';
  const found = await get('/api/v1/workers', { q, limit: 100 });
  if (!isCurrent()) return;
  document.title = 'Workers - Tessera';
  render(
    app,
    html`<h1 class="govuk-heading-l">Workers</h1>
    <p class="govuk-body"><a class="govuk-link" href="#/workers/new" id="add-worker">Add a worker</a></p>
    <form id="worker-search" novalidate>
      ${textInput({ id: 'q', name: 'q', label: 'Name, username or worker ID', value: q, classes: 'govuk-!-width-two-thirds' })}
      ${button('Search')}
    </form>
    ${table(
      `Accounts (${found.items.length}${found.next_cursor ? '+' : ''})`,
      ['Name', 'Username', 'Roles', 'Teams', 'State', 'Last signed in'],
      found.items.map((w) => [
        html`<a class="govuk-link" href="#/workers/${w.id}">${w.name}</a>`,
        w.username || '',
        roleNames(w.roles),
        teamNames(w.teams),
        w.state ? stateTag(w.state) : '',
        w.last_login_at ? formatDateTime(w.last_login_at) : 'Never',
      ]),
      { empty: 'No account matches.' },
    )}`,
  );
  onSubmit(document.getElementById('worker-search'), async (data) => {
    go(`/workers?q=${encodeURIComponent(data.get('q').trim())}`);
  });
}

function prerequisiteInputs(prefix, pre = {}) {
  return html`${dateInput({ id: `${prefix}dbs`, name: 'dbs_checked_on', legend: 'Enhanced DBS check done on', subject: 'The date of the DBS check', field: `${prefix ? 'prerequisites.' : ''}dbs_checked_on`, value: pre.dbs_checked_on || '', hint: 'Renewed every 3 years. A starter’s must be at most 2 years old.' })}
    ${choices({ kind: 'radios', id: `${prefix}barred`, name: 'dbs_barred_lists', legend: 'Barred lists the DBS check included', field: `${prefix ? 'prerequisites.' : ''}dbs_barred_lists`, options: BARRED_LISTS, value: pre.dbs_barred_lists || '', hint: 'Both are needed for the account to be used.', small: true })}
    ${choices({ kind: 'checkboxes', id: `${prefix}risk`, name: 'risk_assessment_approved', legend: 'Risk assessment', field: `${prefix ? 'prerequisites.' : ''}risk_assessment_approved`, options: [{ value: 'true', title: 'HR has approved a risk assessment while the new DBS check is pending' }], value: pre.risk_assessment_approved ? ['true'] : [], small: true })}
    ${dateInput({ id: `${prefix}training`, name: 'training_completed_on', legend: 'Training completed on', subject: 'The date the training was completed', field: `${prefix ? 'prerequisites.' : ''}training_completed_on`, value: pre.training_completed_on || '' })}
    ${dateInput({ id: `${prefix}aup`, name: 'aup_signed_on', legend: 'Acceptable-use policy signed on', subject: 'The date the acceptable-use policy was signed', field: `${prefix ? 'prerequisites.' : ''}aup_signed_on`, value: pre.aup_signed_on || '' })}
    ${dateInput({ id: `${prefix}conflicts`, name: 'conflicts_declared_on', legend: 'Conflicts of interest declared on', subject: 'The date conflicts of interest were declared', field: `${prefix ? 'prerequisites.' : ''}conflicts_declared_on`, value: pre.conflicts_declared_on || '', hint: 'When the worker said whether anyone they know (family, friends, neighbours) may be on the system, so that their records can be restricted. Nothing to declare counts. Record each person they name under Conflicts of interest.' })}
    ${prefix ? '' : dateInput({ id: 'returned', name: 'returned_from_leave_on', legend: 'Back from parental leave or a career break on', subject: 'The date back from leave', field: 'returned_from_leave_on', value: pre.returned_from_leave_on || '', hint: 'A DBS check done before this date no longer counts: record the new one.' })}`;
}

// The prerequisites as the API takes them; its dates, and those that are not dates (dates.faults).
function prerequisitesFrom(form, data) {
  const dates = readDates(form);
  const pre = { risk_assessment_approved: data.get('risk_assessment_approved') === 'true' };
  if (data.get('dbs_barred_lists')) pre.dbs_barred_lists = data.get('dbs_barred_lists');
  for (const key of ['dbs_checked_on', 'training_completed_on', 'aup_signed_on', 'conflicts_declared_on', 'returned_from_leave_on']) if (dates.values[key]) pre[key] = dates.values[key];
  return { pre, faults: dates.faults };
}

export async function newWorkerPage({ app }) {
  document.title = 'Add a worker - Tessera';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Add a worker</h1>
      <form id="worker-form" novalidate>
        ${textInput({ id: 'worker-name', name: 'name', label: 'Full name', field: 'name', autocomplete: 'off' })}
        ${textInput({ id: 'worker-username', name: 'username', label: 'Username', field: 'username', hint: 'Lower-case letters, digits, full stops, hyphens or underscores, for example sam.jones.', classes: 'govuk-!-width-one-half' })}
        ${textInput({ id: 'worker-email', name: 'email', label: 'Work e-mail address (optional)', field: 'email', type: 'email', hint: 'For e-mail notices of new work.' })}
        ${textInput({ id: 'worker-password', name: 'password', label: 'First password', field: 'password', type: 'password', hint: 'At least 12 characters (a service account’s, such as the spine poller’s: a generated secret of at least 32). Give it to the worker in person; they can change it under Change password.', classes: 'govuk-!-width-one-half', autocomplete: 'new-password' })}
        ${choices({ kind: 'checkboxes', id: 'worker-roles', name: 'roles', legend: 'Roles', field: 'roles', options: ROLES, value: [], small: true })}
        ${textInput({ id: 'worker-teams', name: 'teams', label: 'Teams (optional)', field: 'teams', hint: 'Names of existing teams, separated by commas, for example MASH Manager.' })}
        <h2 class="govuk-heading-m">Access prerequisites</h2>
        <p class="govuk-body">The account signs in once the DBS check, training, the acceptable-use policy and the declaration of conflicts of interest are all recorded.</p>
        ${prerequisiteInputs('new-')}
        ${button('Add worker')}
      </form>
    </div></div>`,
  );
  const form = document.getElementById('worker-form');
  onSubmit(form, async (data) => {
    const { pre, faults } = prerequisitesFrom(form, data);
    const body = {
      name: data.get('name').trim(),
      username: data.get('username').trim(),
      password: data.get('password'),
      roles: data.getAll('roles'),
      teams: data.get('teams').split(',').map((t) => t.trim()).filter(Boolean),
      prerequisites: pre,
    };
    if (data.get('email').trim()) body.email = data.get('email').trim();
    const missing = [];
    if (!body.name) missing.push({ field: 'name', message: 'Enter the worker’s full name' });
    if (!body.username) missing.push({ field: 'username', message: 'Enter a username' });
    if (!body.password) missing.push({ field: 'password', message: 'Enter a first password' });
    missing.push(...faults);
    if (missing.length) return showErrors(missing);
    const worker = await attempt(() => post('/api/v1/workers', body, { idempotent: true }));
    if (!worker) return;
    notify(`${worker.name}’s account is added.`);
    go(`/workers/${worker.id}`);
  });
}

export async function workerPage({ app, params, isCurrent }) {
  const w = await get(`/api/v1/workers/${params[0]}`);
  if (!isCurrent()) return;
  document.title = `${w.name} - Workers - Tessera`;
  const pre = w.prerequisites || {};
  const open = w.state !== 'ended';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <span class="govuk-caption-l">Worker ${w.id}</span>
      <h1 class="govuk-heading-l">${w.name}</h1>
      ${summaryList([
        ['Username', w.username],
        ['State', stateTag(w.state)],
        ['Roles', roleNames(w.roles) || 'None'],
        ['Teams', teamNames(w.teams) || 'None'],
        ['Line manager', w.manager ? w.manager.name : 'None'],
        ['Work e-mail', w.email || 'None'],
        ['Enhanced DBS check', pre.dbs_checked_on ? `${formatDate(pre.dbs_checked_on)} (renewal due ${formatDate(pre.dbs_renewal_due)})` : 'Not recorded'],
        ['Barred lists checked', BARRED_TITLES[pre.dbs_barred_lists] || 'Not recorded'],
        ...(pre.returned_from_leave_on ? [['Back from leave', formatDate(pre.returned_from_leave_on)]] : []),
        ['Risk assessment', pre.risk_assessment_approved ? 'Approved by HR' : 'None'],
        ['Training completed', pre.training_completed_on ? formatDate(pre.training_completed_on) : 'Not recorded'],
        ['Acceptable-use policy signed', pre.aup_signed_on ? formatDate(pre.aup_signed_on) : 'Not recorded'],
        ['Conflicts of interest declared', pre.conflicts_declared_on ? formatDate(pre.conflicts_declared_on) : 'Not recorded'],
        ['Account added', formatDateTime(w.created_at)],
        ['Last signed in', w.last_login_at ? formatDateTime(w.last_login_at) : 'Never'],
        ...(w.sign_in_paused_until ? [['Signing in', html`Paused until ${formatDateTime(w.sign_in_paused_until)} after wrong passwords`]] : []),
        ...(w.ended_at ? [['Ended', `${formatDateTime(w.ended_at)}: ${w.ended_reason || ''}`]] : []),
      ])}
      ${w.sign_in_paused_until
        ? html`<form id="unpause-form" novalidate>
        <p class="govuk-body">If the wrong passwords were not the worker's, or you have spoken to them, let them sign in again now. Their password does not change.</p>
        ${button('Lift the pause', { secondary: true })}
      </form>`
        : ''}
      ${open
        ? html`<h2 class="govuk-heading-m">Roles and teams</h2>
      <form id="roles-form" novalidate>
        <p class="govuk-body">For a mover: from their next action the worker has the new roles and teams, and loses what the old ones allowed.</p>
        ${choices({ kind: 'checkboxes', id: 'move-roles', name: 'roles', legend: 'Roles', field: 'roles', options: ROLES, value: w.roles || [], small: true })}
        ${textInput({ id: 'move-teams', name: 'teams', label: 'Teams', field: 'teams', value: (w.teams || []).map((t) => t.name).join(', '), hint: 'Names of existing teams, separated by commas.' })}
        ${button('Change roles and teams', { secondary: true })}
      </form>
      <h2 class="govuk-heading-m">Access prerequisites</h2>
      <form id="prerequisites-form" novalidate>
        ${prerequisiteInputs('', pre)}
        ${button('Record prerequisites', { secondary: true })}
      </form>
      <h2 class="govuk-heading-m">Conflicts of interest</h2>
      <form id="conflict-form" novalidate>
        <p class="govuk-body">Someone the worker knows whose record is on the system. From then on the worker cannot open the record, their work about the person goes to system support, and system support are told, so that they can restrict the record.</p>
        ${textInput({ id: 'conflict-person', name: 'person_id', label: 'Person ID', field: 'person_id', classes: 'govuk-input--width-10' })}
        ${textInput({ id: 'conflict-relationship', name: 'relationship', label: 'How the worker knows them', field: 'relationship', hint: 'For example, sister, friend or neighbour.' })}
        ${button('Record conflict of interest', { secondary: true })}
      </form>
      <h2 class="govuk-heading-m">Set a new password</h2>
      <form id="reset-form" novalidate>
        <p class="govuk-body">For a worker who has forgotten theirs. It signs them out everywhere and lifts a pause after wrong passwords.</p>
        ${textInput({ id: 'reset-password', name: 'new_password', label: 'New password', field: 'new_password', type: 'password', hint: 'At least 12 characters, not containing the username (a service account’s: a generated secret of at least 32). Give it to the worker in person.', classes: 'govuk-!-width-one-half', autocomplete: 'new-password' })}
        ${button('Set password', { secondary: true })}
      </form>
      <h2 class="govuk-heading-m">End the account</h2>
      <form id="end-form" novalidate>
        <div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
          <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>For a leaver: the worker is signed out at once and the account cannot be used again.</strong></div>
        ${textarea({ id: 'end-reason', name: 'reason', label: 'Why the account ends', field: 'reason', rows: 2 })}
        ${button('End account', { classes: 'govuk-button--warning' })}
      </form>`
        : ''}
      <p class="govuk-body"><a class="govuk-link" href="#/workers">Back to workers</a></p>
    </div></div>`,
  );
  const unpause = document.getElementById('unpause-form');
  if (unpause) {
    onSubmit(unpause, async () => {
      const done = await attempt(() => api('DELETE', `/api/v1/workers/${w.id}/sign-in-pause`), { scope: unpause });
      if (!done) return;
      notify(`${w.name} can sign in again.`);
      go(`/workers/${w.id}`);
    });
  }
  if (!open) return;
  onSubmit(document.getElementById('roles-form'), async (data) => {
    const body = { roles: data.getAll('roles'), teams: data.get('teams').split(',').map((t) => t.trim()).filter(Boolean) };
    const done = await attempt(() => put(`/api/v1/workers/${w.id}`, body), { scope: document.getElementById('roles-form') });
    if (!done) return;
    notify(`${w.name}’s roles and teams are changed.`);
    go(`/workers/${w.id}`);
  });
  onSubmit(document.getElementById('prerequisites-form'), async (data) => {
    const form = document.getElementById('prerequisites-form');
    const done = await attempt(() => {
      const { pre, faults } = prerequisitesFrom(form, data);
      if (faults.length) throw new FormFaults(faults);
      return put(`/api/v1/workers/${w.id}/prerequisites`, pre);
    }, { scope: form });
    if (!done) return;
    notify(`${w.name}’s prerequisites are recorded.`);
    go(`/workers/${w.id}`);
  });
  onSubmit(document.getElementById('conflict-form'), async (data) => {
    const form = document.getElementById('conflict-form');
    const body = { person_id: data.get('person_id').trim(), relationship: data.get('relationship').trim() };
    const missing = [];
    if (!body.person_id) missing.push({ field: 'person_id', message: 'Enter the person ID' });
    if (!body.relationship) missing.push({ field: 'relationship', message: 'Say how the worker knows them' });
    if (missing.length) return showErrors(missing, form);
    const done = await attempt(() => post(`/api/v1/workers/${w.id}/conflicts`, body), { scope: form });
    if (!done) return;
    notify(`${w.name}’s conflict of interest is recorded.`);
    go(`/workers/${w.id}`);
  });
  onSubmit(document.getElementById('reset-form'), async (data) => {
    const password = data.get('new_password');
    if (!password) return showErrors([{ field: 'new_password', message: 'Enter the new password' }], document.getElementById('reset-form'));
    const done = await attempt(() => put(`/api/v1/workers/${w.id}/password`, { new_password: password }), { scope: document.getElementById('reset-form') });
    if (!done) return;
    notify(`${w.name}’s password is set, and they are signed out everywhere.`);
    go(`/workers/${w.id}`);
  });
  onSubmit(document.getElementById('end-form'), async (data) => {
    const reason = data.get('reason').trim();
    if (!reason) return showErrors([{ field: 'reason', message: 'Say why the account ends' }], document.getElementById('end-form'));
    const done = await attempt(() => post(`/api/v1/workers/${w.id}/end`, { reason }), { scope: document.getElementById('end-form') });
    if (!done) return;
    notify(`${w.name}’s account has ended.`);
    go(`/workers/${w.id}`);
  });
}
