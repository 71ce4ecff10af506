// A work step (e.g. a Front Door Consultation, seed 000): its sections, drawn from the definition's
// fields; its requests with their status history, and acting on those sent to you; a new request,
// sent when the worker next saves, as the seed describes; next actions and Finish; Assign; and, for
// system support, deleting a step recorded in error.
import { ApiError, get, post, put, session } from '../api.js';
import { formatDate, formatDateTime, html, raw, render, stepStateTag, summaryList, table, tag, userText } from '../html.js';
import { FormFaults, attempt, button, choices, clearErrors, dateInput, onSubmit, readDate, reasonForm, select, showErrors, textInput, textarea, wireReasonForm } from '../forms.js';
import { draftFor, forgetDraft, formValues, keepDraft, restoreForm, sameValues, whileShown } from '../drafts.js';
import { go, notify } from '../main.js';
import { MANAGER_ROLES, subjectLink } from './workview.js';

const OPEN_STATES = ['started', 'reopened'];

// A new request refused as it was sent (a section to complete first), by step: offered again as it was
// typed when a section of the step's with the New request form is next drawn, so that following the
// error's link to the section to complete loses nothing. Saving a section forgets it.
const pendingRequests = new Map();

function mine(step, me) {
  return OPEN_STATES.includes(step.state) && step.assigned_to?.kind === 'worker' && step.assigned_to.id === me.id;
}

// Whether the worker may act on a request sent, as the API decides it: its recipient worker, a member
// of its recipient team, or a worker whose role works its recipient virtual worker (the System
// Support queue: system support); and, where its type names the roles that act on it
// (acted_on_by_roles: a 'Pass to MASH Social Worker' to the MASH team, its social workers, not its
// admin), one with such a role. A virtual worker whose roles are not known here (the definitions could
// not be read) is left to the API to refuse.
function mayAct(request, me, step) {
  const to = request.to || {};
  const hasRole = (roles) => roles.some((r) => (me.roles || []).includes(r));
  const works =
    to.kind === 'worker'
      ? to.id === me.id
      : to.kind === 'team'
        ? (me.teams || []).some((t) => t.id === to.id)
        : to.kind === 'virtual_worker' && (!step.virtualWorkers?.has(to.key) || hasRole(step.virtualWorkers.get(to.key)));
  const by = (step.request_types || []).find((t) => t.type === request.type)?.acted_on_by_roles;
  return works && (!by || hasRole(by));
}

// The roles that work each virtual worker (GET /api/v1/workflow/definitions), asked for only when a
// request waits with one; null when they cannot be read.
async function virtualWorkerRoles(step) {
  if (!(step.requests || []).some((r) => r.status === 'sent' && r.to?.kind === 'virtual_worker')) return null;
  try {
    const defs = await get('/api/v1/workflow/definitions', { type: step.type });
    return new Map((defs.virtual_workers || []).map((v) => [v.key, v.worked_by_roles || []]));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return null;
  }
}

function fieldId(section, field) {
  return `s${section.number}-${field.name.replaceAll('_', '-')}`;
}

function workerOptions(recipients) {
  return recipients.filter((r) => r.kind === 'worker').map((r) => ({ value: r.id, title: r.name }));
}

// When a field is required only as another of its section stands (required_when), in words.
function requiredWhen(section, field) {
  const when = field.required_when;
  if (!when) return undefined;
  const other = (section.fields || []).find((f) => f.name === when.field);
  if (!other) return undefined;
  if (when.filled !== undefined) return `Required if ${other.title} is ${when.filled ? 'given' : 'not given'}.`;
  const titles = when.is.map((v) => `'${(other.options || []).find((o) => o.value === v)?.title || v}'`);
  return `Required if ${other.title} is ${titles.join(' or ')}.`;
}

function fieldInput(section, field, saved, recipients) {
  // A worker field the definition defaults to the current worker shows them until saved otherwise.
  const value = saved ?? (field.type === 'worker' && field.default === 'current-worker' ? session.worker.id : undefined);
  const id = fieldId(section, field);
  const label = field.required ? `${field.title} (required)` : field.title;
  const common = { id, name: field.name, label, field: `data.${field.name}`, hint: requiredWhen(section, field) };
  switch (field.type) {
    case 'long-text':
      return textarea({ ...common, value: value ?? '' });
    // The Design System's date input (day, month, year; hour and minute on the office's clock).
    case 'datetime':
    case 'date':
      return dateInput({
        id,
        name: field.name,
        legend: label,
        subject: field.title,
        field: `data.${field.name}`,
        value: value ?? '',
        time: field.type === 'datetime',
        hint: [common.hint, field.not_future ? 'It must be in the past.' : ''].filter(Boolean).join(' ') || undefined,
      });
    case 'telephone':
      return textInput({ ...common, type: 'tel', value: value ?? '', classes: 'govuk-!-width-one-half', autocomplete: 'off' });
    case 'email':
      return textInput({ ...common, type: 'email', value: value ?? '', classes: 'govuk-!-width-two-thirds', autocomplete: 'off' });
    case 'number':
      return textInput({ ...common, value: value ?? '', classes: 'govuk-input--width-10' });
    case 'picklist':
      return select({ ...common, options: field.options || [], value: value ?? '' });
    case 'multi-picklist':
      return choices({ kind: 'checkboxes', id, name: field.name, legend: label, field: `data.${field.name}`, options: field.options || [], value: value || [], small: true });
    case 'worker':
      // One the definition defaults to the current worker is saved as them when left empty (the API
      // fills it in), so 'Not recorded' is not offered there: it could not be kept.
      return select({ ...common, options: workerOptions(recipients), value: value ?? '', placeholder: field.default === 'current-worker' ? null : '-- Not recorded --' });
    case 'boolean':
      return choices({ kind: 'checkboxes', id, name: field.name, legend: field.title, field: `data.${field.name}`, options: [{ value: 'true', title: 'Yes' }], value: value ? ['true'] : [], small: true });
    default:
      return textInput({ ...common, value: value ?? '', classes: 'govuk-!-width-two-thirds' });
  }
}

function fieldValue(field, value, recipients) {
  if (value === undefined || value === null || value === '') return '';
  const title = (v) => (field.options || []).find((o) => o.value === v)?.title || v;
  switch (field.type) {
    case 'datetime':
      return formatDateTime(value);
    case 'date':
      return formatDate(value);
    case 'picklist':
      return title(value);
    case 'multi-picklist':
      return (value || []).map(title).join(', ');
    case 'worker':
      return recipients.find((r) => r.kind === 'worker' && r.id === value)?.name || value;
    case 'boolean':
      return value ? 'Yes' : 'No';
    case 'long-text':
      return userText(value, { pre: true });
    case 'text':
      return userText(value);
    default:
      return String(value);
  }
}

function readOnlyField(field, value, recipients) {
  return html`<div class="govuk-form-group"><p class="govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1">${field.title}</p><p class="govuk-body">${fieldValue(field, value, recipients) || 'Not recorded'}</p></div>`;
}

// The section's fields in runs: those a definition puts in a group (e.g. 'Details of person making
// contact', seed 000) together, under the group's name, the others one by one.
function fieldRuns(fields) {
  const runs = [];
  for (const field of fields || []) {
    const last = runs[runs.length - 1];
    if (field.group && last?.group === field.group) last.fields.push(field);
    else runs.push({ group: field.group || '', fields: [field] });
  }
  return runs;
}

// A read-only field once it holds a value (a CPIS Follow up's notification facts); one a step
// started by hand left empty is recorded by the first save, as the API allows.
function isFixed(section, field) {
  const v = section.data?.[field.name];
  return Boolean(field.read_only) && v !== undefined && v !== null && v !== '';
}

// The section's data from its form, as the API takes it; empty fields are left out. A date that is
// not one ('must include a month', a time the clocks skipped) is thrown as the form's own faults,
// every one at once, which attempt() shows as it shows the API's; nothing is sent.
function sectionData(section, form) {
  const data = {};
  const faults = [];
  for (const field of section.fields || []) {
    if (isFixed(section, field)) continue; // kept by the API as they were recorded
    if (field.type === 'date' || field.type === 'datetime') {
      // A date as YYYY-MM-DD; a date and time as the instant the office's clock showed it at.
      const { value, fault } = readDate(form, field.name);
      if (fault) faults.push(fault);
      else if (value) data[field.name] = value;
      continue;
    }
    const values = new FormData(form).getAll(field.name).map((v) => (typeof v === 'string' ? v.trim() : v));
    if (field.type === 'multi-picklist') data[field.name] = values;
    else if (field.type === 'boolean') data[field.name] = values.includes('true');
    else if (values[0]) {
      if (field.type === 'number') data[field.name] = Number(values[0]);
      else data[field.name] = values[0];
    }
  }
  if (faults.length) throw new FormFaults(faults);
  return data;
}

// A request's status and the actions in its status history, in the words of the seed's screens
// ('Sent to' MASH Manager, Completed, Returned); the API's own word for any other.
const STATUS_WORDS = { sent: 'Sent', completed: 'Completed', returned: 'Returned', acknowledged: 'Acknowledged' };
const ACTION_WORDS = { sent: 'Sent to', completed: 'Completed', returned: 'Returned', acknowledged: 'Acknowledged' };

function requestSummary(r) {
  return `${r.title}${r.required ? ' (Required)' : ''} - ${formatDateTime(r.sent_at)} (${r.to?.name || ''})`;
}

// The case note an acknowledgement records (seed 003: 'Please create a CP-IS case note re action
// taken'): required unless the note the request went with asks for one only if there are concerns
// (the DHU 111 text), which the step's care setting chooses, as the API does.
function acknowledgementCaseNote(step, r) {
  const type = (step.request_types || []).find((t) => t.type === r.type);
  const takes = type?.acknowledgement_case_note;
  if (!takes) return null;
  return { ...takes, required: (chosenTemplate(type, step)?.case_note || 'required') === 'required' };
}

// What the one a request was sent to may do with it, as its type says (seed 000: 'You may complete or
// return the request'; a CP-IS notification is acknowledged); all three where the type does not say.
const ACTIONS = [{ value: 'complete', title: 'Completed' }, { value: 'return', title: 'Returned' }, { value: 'acknowledge', title: 'Acknowledged' }];
const ACTION_VERBS = { complete: 'complete', return: 'return', acknowledge: 'acknowledge' };
function actionsLegend(allowed) {
  const verbs = allowed.map((a) => ACTION_VERBS[a]);
  return `You may ${verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} or ${verbs[verbs.length - 1]}` : verbs[0]} the request.`;
}

function requestBlock(r, me, editableRequests, step) {
  const canAct = r.status === 'sent' && mayAct(r, me, step);
  const allowed = (step?.request_types || []).find((t) => t.type === r.type)?.actions || ACTIONS.map((a) => a.value);
  const caseNote = canAct && step ? acknowledgementCaseNote(step, r) : null;
  const canAcknowledge = r.status === 'returned' && r.from?.id === me.id;
  const statusColour = { sent: 'blue', completed: 'green', returned: 'orange', acknowledged: 'grey' }[r.status];
  return html`<div class="govuk-summary-card" id="request-${r.id}">
    <div class="govuk-summary-card__title-wrapper"><h3 class="govuk-summary-card__title">${requestSummary(r)}</h3></div>
    <div class="govuk-summary-card__content">
      ${summaryList([
        ['Request ID', r.id],
        ['Request type', `${r.title}${r.required ? ' (Required)' : ''}`],
        ['Status', tag(STATUS_WORDS[r.status] || r.status, statusColour)],
        ['From', r.from?.name],
        ['Sent to', r.to?.name],
        ['Note', r.note ? userText(r.note, { pre: true }) : ''],
      ])}
      ${canAct && editableRequests
        ? html`<form class="request-action" data-request="${r.id}" novalidate>
            ${choices({ id: `request-${r.id}-status`, name: 'status', legend: actionsLegend(allowed), field: 'status', options: ACTIONS.filter((a) => allowed.includes(a.value)), small: true })}
            ${textarea({ id: `request-${r.id}-note`, name: 'note', label: 'Note', field: 'note', rows: 3, hint: allowed.includes('return') ? 'Returning it, say why: its sender is told only that you returned it, and this note.' : undefined })}
            ${caseNote
              ? textarea({
                  id: `request-${r.id}-case-note`,
                  name: 'case_note',
                  label: `${caseNote.title} case note${caseNote.required ? '' : ' (if you have concerns)'}`,
                  field: 'case_note',
                  rows: 4,
                  hint: caseNote.required
                    ? 'What was done as a result. Needed to acknowledge: it is recorded on the child\'s record as you acknowledge.'
                    : 'No further action is needed unless you have concerns. If you have, say what was done: it is recorded on the child\'s record as you acknowledge.',
                })
              : ''}
            ${button('OK')}
          </form>`
        : ''}
      ${canAcknowledge
        ? html`<form class="request-action" data-request="${r.id}" novalidate>
            <input type="hidden" name="status" value="acknowledge">
            ${textarea({ id: `request-${r.id}-note`, name: 'note', label: 'Note', field: 'note', rows: 3 })}
            ${button('Acknowledge')}
          </form>`
        : ''}
      ${table(
        'Status history',
        ['Date and time', 'Action', 'Worker/team', 'By', 'Note'],
        (r.history || []).map((h) => [formatDateTime(h.at), ACTION_WORDS[h.action] || h.action, h.worker_or_team, h.by?.name, h.note ? userText(h.note, { pre: true }) : '']),
        // Each request has one: its region is named for the request too.
        { captionClass: 'govuk-table__caption--s', label: `Status history: ${r.title}, request ${r.id}` },
      )}
    </div>
  </div>`;
}

// A request type's standard notes (e.g. CP-IS's for 111 calls and A&E): choosing one fills the note.
// Numbered as the seed numbers them ('Option 1' for DHU, 'Option 2' for A&E); the type's name first
// only where more than one type has them.
function noteTemplates(types) {
  const withNotes = types.filter((t) => t.note_templates?.length);
  const templates = withNotes.flatMap((t) =>
    t.note_templates.map((n, i) => ({ value: n.text, title: `${withNotes.length > 1 ? `${t.title}: ` : ''}Option ${i + 1}: ${n.title}` })),
  );
  if (!templates.length) return '';
  return select({ id: 'request-template', name: 'request_template', label: 'Standard note', field: 'note_template', options: templates, placeholder: '-- None --', hint: 'Choosing one puts its text in the note, to change as needed.' });
}

// The standard note the system gives a request of this type when its sender writes none: the
// template whose `when` matches what the step's sections hold (e.g. the care setting of a CP-IS
// notification), else the default one. Shown in the note so the sender sees it and may change it.
// What the section's form now holds counts first: the section is saved before the request is sent.
// A request type's note template for what the step holds (and the form, while it is being filled
// in): the first whose `when` matches, else the default; as the API chooses it.
function chosenTemplate(type, step, form) {
  const templates = type?.note_templates || [];
  const held = (name) =>
    [form?.elements.namedItem(name)?.value, ...(step.sections || []).map((s) => s.data?.[name])].find((v) => v !== undefined && v !== null && v !== '');
  return templates.find((t) => t.when && (t.when.values || []).includes(held(t.when.field))) || templates.find((t) => t.default);
}

function suggestedNote(type, step, form) {
  return chosenTemplate(type, step, form)?.text || '';
}

function keyWorkerHint(step, recipients) {
  if (!step.keyWorkers) return '';
  const names = step.keyWorkers.map((id) => recipients.find((r) => r.kind === 'worker' && r.id === id)?.name).filter(Boolean);
  return names.length ? `Current key worker of ${step.subject.name || step.subject.title}: ${names.join(', ')}. ` : `${step.subject.name || step.subject.title} has no current key worker. `;
}

function newRequestFields(step, recipients) {
  const types = step.request_types || [];
  if (!types.length) return '';
  return html`<details class="govuk-details" id="new-request"${step.pendingRequest ? ' open' : ''}>
    <summary class="govuk-details__summary"><span class="govuk-details__summary-text">New request</span></summary>
    <div class="govuk-details__text">
      ${choices({
        id: 'request-type',
        name: 'request_type',
        legend: 'Request type',
        field: 'type',
        options: [{ value: '', title: 'No request' }, ...types.map((t) => ({ value: t.type, title: `${t.title}${t.required ? ' (Required)' : ''}` }))],
        value: '',
        small: true,
      })}
      ${noteTemplates(types)}
      ${textarea({ id: 'request-note', name: 'request_note', label: 'Note', field: 'note', rows: types.some((t) => t.note_templates?.length) ? 7 : 4, hint: types.some((t) => t.note_templates?.length) ? 'A request type with standard notes fills this with the one for what the step records; change it as needed.' : undefined })}
      ${select({
        id: 'request-to',
        name: 'request_to',
        label: 'Pass to worker',
        field: 'to',
        options: recipients.map((r) => ({ value: `${r.kind}:${r.id}`, title: `${r.name} (${r.kind})` })),
        hint: `${keyWorkerHint(step, recipients)}This request will be sent when you next save.`,
      })}
      <div class="govuk-form-group">
        <label class="govuk-label" for="request-find">Find a worker or team</label>
        <div id="request-find-hint" class="govuk-hint">The list shows the first 50 workers and teams by name; type part of a name to find others.</div>
        <input class="govuk-input govuk-input--width-20" id="request-find" type="search" dir="auto" autocomplete="off" aria-describedby="request-find-hint request-find-status">
        <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" id="request-find-button" data-module="govuk-button">Find</button>
        <p id="request-find-status" class="govuk-body-s" aria-live="polite"></p>
      </div>
    </div>
  </details>`;
}

function formSection(step, section, recipients) {
  return html`<form id="section-form" novalidate>
    <h2 class="govuk-heading-m">${section.number}. ${section.title}</h2>
    ${fieldRuns(section.fields).map((run) =>
      // Read-only fields (a CPIS Follow up's child, from the notification, seed 003) are shown, not
      // offered for editing; the save leaves them as they are.
      run.fields.every((f) => isFixed(section, f))
        ? html`${run.group ? html`<h3 class="govuk-heading-s">${run.group}</h3>` : ''}${summaryList(run.fields.map((f) => [f.title, fieldValue(f, section.data?.[f.name], recipients)]))}`
        : run.group
          ? html`<fieldset class="govuk-fieldset govuk-!-margin-bottom-6">
              <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">${run.group}</legend>
              ${run.fields.map((f) => (isFixed(section, f) ? readOnlyField(f, section.data?.[f.name], recipients) : fieldInput(section, f, section.data?.[f.name], recipients)))}
            </fieldset>`
          : run.fields.map((f) => (isFixed(section, f) ? readOnlyField(f, section.data?.[f.name], recipients) : fieldInput(section, f, section.data?.[f.name], recipients))),
    )}
    ${choices({ kind: 'checkboxes', id: 'section-completed', name: 'completed', legend: 'Completion', field: `completed sections.${section.number}`, options: [{ value: 'true', title: 'Section completed' }], value: section.completed ? ['true'] : [], small: true })}
    ${newRequestFields(step, recipients)}
    <div class="govuk-button-group">
      ${button('Save', { name: 'then', value: 'stay' })}
      ${button('Save and close', { name: 'then', value: 'close', secondary: true })}
    </div>
  </form>`;
}

// A reason that records a case note on the person (a restricted child's CPIS Follow up finished by
// the key worker): the note is written here and recorded when the step finishes.
function caseNoteField(t, saved) {
  const noting = (t.reasons || []).filter((r) => r.case_note);
  if (!noting.length) return '';
  const title = noting[0].case_note.title;
  const values = noting.map((r) => r.value);
  // Shown only while such a reason is chosen (wireCaseNotes).
  return html`<div data-case-note-for="${t.action}" data-reasons="${values.join(' ')}"${values.includes(saved.reason) ? '' : ' hidden'}>
    ${textarea({
      id: `action-${t.action}-case_note`,
      name: `case_note:${t.action}`,
      label: `${title} case note`,
      field: `case_note:${t.action}`,
      rows: 4,
      hint: `What was done. Recorded on the person's record when the step finishes.`,
      value: saved.case_note || '',
    })}
  </div>`;
}

function wireCaseNotes(form) {
  for (const box of form.querySelectorAll('[data-case-note-for]')) {
    const reason = document.getElementById(`action-${box.dataset.caseNoteFor}-reason`);
    const reasons = box.dataset.reasons.split(' ');
    reason?.addEventListener('change', () => {
      box.hidden = !reasons.includes(reason.value);
    });
  }
}

function nextActionsSection(step, section) {
  const saved = section.data?.next_actions || [];
  const savedFor = (action) => saved.find((a) => a.action === action) || {};
  return html`<form id="next-actions-form" novalidate>
    <h2 class="govuk-heading-m">${section.number}. ${section.title}</h2>
    <div class="govuk-form-group">
      <fieldset class="govuk-fieldset">
        <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Next actions</legend>
        <div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes">
          ${(step.next_action_types || []).map(
            (t, i) => html`<div class="govuk-checkboxes__item">
              <input class="govuk-checkboxes__input" id="action-${t.action}" name="action" type="checkbox" value="${t.action}"
                ${saved.some((a) => a.action === t.action) ? 'checked' : ''}${i === 0 ? html` data-field="next_actions"` : ''}>
              <label class="govuk-label govuk-checkboxes__label" for="action-${t.action}">${t.title}</label>
            </div>`,
          )}
        </div>
      </fieldset>
    </div>
    ${(step.next_action_types || []).map(
      (t) => html`<fieldset class="govuk-fieldset govuk-!-margin-bottom-4" data-action-details="${t.action}">
        <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">${t.title}: details</legend>
        ${t.reasons?.length
          ? select({ id: `action-${t.action}-reason`, name: `reason:${t.action}`, label: t.reason_required ? 'Reason (required)' : 'Reason', field: `reason:${t.action}`, options: t.reasons.map((r) => ({ value: r.value ?? r.reason ?? r, title: r.title ?? r })), value: savedFor(t.action).reason || '' })
          : textInput({ id: `action-${t.action}-reason`, name: `reason:${t.action}`, label: t.reason_required ? 'Reason (required)' : 'Reason', field: `reason:${t.action}`, value: savedFor(t.action).reason || '' })}
        ${textarea({ id: `action-${t.action}-note`, name: `note:${t.action}`, label: 'Note', field: `note:${t.action}`, rows: 2, value: savedFor(t.action).note || '' })}
        ${caseNoteField(t, savedFor(t.action))}
        ${choices({ id: `action-${t.action}-priority`, name: `priority:${t.action}`, legend: 'Priority', field: `priority:${t.action}`, options: [{ value: 'urgent', title: 'Urgent' }, { value: 'normal', title: 'Normal' }, { value: 'low', title: 'Low' }], value: savedFor(t.action).priority || 'normal', small: true, inline: true })}
      </fieldset>`,
    )}
    <div class="govuk-button-group">
      ${button('Save', { name: 'then', value: 'stay', secondary: true })}
      ${button('Finish', { name: 'then', value: 'finish' })}
    </div>
  </form>`;
}

function readOnlySection(section, recipients) {
  return html`<h2 class="govuk-heading-m">${section.number}. ${section.title}</h2>${sectionValues(section, recipients, 'h3')}`;
}

// What a section holds, as read-only rows (a group's under its name, in a heading of level `sub`).
function sectionValues(section, recipients, sub) {
  if (section.kind === 'next-actions') {
    const actions = section.data?.next_actions || [];
    const titleOf = (a) => (section.next_action_types || []).find((t) => t.action === a.action)?.title;
    return actions.length ? summaryList(actions.map((a) => [a.title || titleOf(a) || a.action, [a.reason_title || a.reason, a.note].filter(Boolean).join(': ')])) : html`<p class="govuk-body">No next actions recorded.</p>`;
  }
  return fieldRuns(section.fields).map(
    (run) => html`${run.group ? html`<${raw(sub)} class="govuk-heading-s">${run.group}</${raw(sub)}>` : ''}
      ${summaryList(run.fields.map((f) => [f.title, fieldValue(f, section.data?.[f.name], recipients)]))}`,
  );
}

function assignForm(recipients, open) {
  return html`<details class="govuk-details" id="assign"${open ? ' open' : ''}>
    <summary class="govuk-details__summary"><span class="govuk-details__summary-text">Assign</span></summary>
    <div class="govuk-details__text">
      <form id="assign-form" novalidate>
        ${select({ id: 'assign-to', name: 'to', label: 'Assign to worker or team', field: 'worker_id', options: recipients.map((r) => ({ value: `${r.kind}:${r.id}`, title: `${r.name} (${r.kind})` })) })}
        ${button('Assign')}
      </form>
    </div>
  </details>`;
}

// The workers a page must be able to name whoever else the list holds: the subject's key workers,
// the worker signed in (a duty worker's default) and those saved in the step's worker fields. The
// list of the others is cut at 50 by name, and a council has more workers than that.
function namedWorkers(step, me) {
  const ids = new Set(step.keyWorkers || []);
  if (me?.id) ids.add(me.id);
  for (const section of step.sections || [])
    for (const field of section.fields || []) if (field.type === 'worker' && section.data?.[field.name]) ids.add(String(section.data[field.name]));
  return [...ids].slice(0, 20);
}

// Whom a request may go to; with its type, only those the API would send it to (whose roles act on it,
// and the teams with a member who does; the kinds it may go to).
function recipientsOf(stepId, named, q, type) {
  const query = new URLSearchParams();
  if (type) query.set('type', type);
  if (q) query.set('q', q);
  if (named.length) query.set('worker_ids', named.join(','));
  return get(`/api/v1/steps/${stepId}/recipients${query.size ? `?${query}` : ''}`).catch(() => ({ items: [] }));
}

function recipientBody(value) {
  const [kind, id] = value.split(':');
  return kind === 'team' ? { team_id: id } : { worker_id: id };
}

export async function stepPage({ app, params, query, isCurrent }) {
  const me = session.worker;
  const step = await get(`/api/v1/steps/${params[0]}`);
  if (!isCurrent()) return;
  const editable = mine(step, me);
  // A request that goes to a worker about a person (CP-IS's to the allocated worker, seed 003): the
  // person's current key workers, whom the sender would otherwise look up on the person's summary.
  const toWorkerOnly = (step.request_types || []).some((t) => t.may_send_to?.length === 1 && t.may_send_to[0] === 'worker');
  step.keyWorkers =
    editable && toWorkerOnly && step.subject?.kind === 'person'
      ? await get(`/api/v1/people/${step.subject.id}`)
          .then((p) => (p.allocations || []).filter((a) => a.role === 'key-worker' && !a.end_date && a.worker_id).map((a) => a.worker_id))
          .catch(() => null)
      : null;
  if (!isCurrent()) return;
  step.namedWorkers = namedWorkers(step, me);
  const [found, virtualWorkers] = await Promise.all([recipientsOf(step.id, step.namedWorkers, ''), virtualWorkerRoles(step)]);
  if (!isCurrent()) return;
  const recipients = found.items || [];
  step.virtualWorkers = virtualWorkers;
  // 'Pass to worker' offers, for the request type chosen, whom it may go to: asked for each type at
  // once, so that choosing one shows its list straight away.
  const types = editable ? step.request_types || [] : [];
  const typed = await Promise.all(types.map((t) => recipientsOf(step.id, step.namedWorkers, '', t.type)));
  if (!isCurrent()) return;
  step.recipientsByType = new Map(types.map((t, i) => [t.type, typed[i].items || []]));
  // A request refused as it was sent (a section to complete first) is offered again as it was typed.
  step.pendingRequest = editable ? pendingRequests.get(step.id) : undefined;
  const sections = step.sections || [];
  const current = sections.find((s) => s.number === query.section) || sections.find((s) => !s.completed) || sections[0];
  const open = !['completed', 'cancelled'].includes(step.state);
  // The section a refused Finish names (its fault's field is "sections"): the first required one not
  // completed, as the API looks for it. The error summary links to it.
  const toComplete = sections.find((s) => s.required && !s.completed && s.kind !== 'next-actions');
  // A refusal naming a section ("sections.1": complete it before sending the request) is shown by its
  // 'Section completed' while its form is on screen, and otherwise by its link here.
  const onScreen = (s) => s === current && editable && s.kind !== 'next-actions';
  const linkFields = (s) => [s === toComplete ? 'sections' : '', onScreen(s) ? '' : `sections.${s.number}`].filter(Boolean).join(' ');
  // Each section is a page of its own: its title and heading name it, as the section list does.
  const sectionName = current ? `${current.number}. ${current.title}` : '';
  document.title = `${sectionName ? `${sectionName} - ` : ''}${step.heading || step.title} - Tessera`;
  render(
    app,
    html`<span class="govuk-caption-l">${step.type_title || step.type}</span>
    <h1 class="govuk-heading-l">${step.heading || step.title}${sectionName ? html`<span class="govuk-visually-hidden">, section ${current.number}, ${current.title}</span>` : ''}</h1>
    ${summaryList([
      ['Subject', step.subject?.kind === 'none' ? 'None: a support request' : subjectLink(step.subject)],
      ['State', stepStateTag(step.state)],
      ['Assigned to', step.assigned_to?.name],
      ['Started', formatDateTime(step.started_at)],
      // Counted in its type's working hours, so the desk sees the deadline its service hours set.
      ...(open && step.due_at ? [['Due', html`${formatDateTime(step.due_at)} ${step.overdue ? tag('Overdue', 'red') : ''}`]] : []),
      ['Completed', formatDateTime(step.completed_at)],
      ...(step.state === 'cancelled' ? [['Why it was cancelled', step.cancelled_reason || '']] : []),
    ])}
    ${open && !editable
      ? html`<div class="govuk-inset-text">This step is not in your Current work. Resume it to record in it.
          <form id="resume-form" class="govuk-!-margin-top-3">${button('Resume work', { secondary: true })}</form></div>`
      : ''}
    ${(step.requests || []).length
      ? html`<h2 class="govuk-heading-m">Requests</h2>${step.requests.map((r) => requestBlock(r, me, true, step))}`
      : ''}
    <div class="govuk-grid-row">
      <div class="govuk-grid-column-one-third">
        <nav aria-labelledby="sections-heading">
          <h2 class="govuk-heading-m" id="sections-heading">Sections</h2>
          <ul class="govuk-list">${sections.map(
            (s) => html`<li class="${s === current ? 'app-section-list__item--current' : ''}">
              <a class="govuk-link" id="section-link-${s.number}" href="#/steps/${step.id}?section=${s.number}"${s === current ? html` aria-current="page"` : ''}${linkFields(s) ? html` data-field="${linkFields(s)}"` : ''}>${s.number}. ${s.title}</a>
              ${s.completed ? tag('Completed', 'green') : s.required ? html`<span class="govuk-body-s"> (required)</span>` : ''}
              ${s !== current && editable && draftFor(step.id, s.number, me.id) ? tag('Changes not saved', 'yellow') : ''}
            </li>`,
          )}</ul>
        </nav>
      </div>
      <div class="govuk-grid-column-two-thirds" id="section">
        ${current
          ? editable
            ? current.kind === 'next-actions'
              ? nextActionsSection(step, current)
              : formSection(step, current, recipients)
            : readOnlySection(current, recipients)
          : ''}
      </div>
    </div>
    ${open ? assignForm(recipients, query.assign === '1') : ''}
    <details class="govuk-details">
      <summary class="govuk-details__summary"><span class="govuk-details__summary-text">Step history</span></summary>
      <div class="govuk-details__text">${table('Step history', ['Date and time', 'What happened'], (step.history || []).map((h) => [formatDateTime(h.at), h.detail || h.action]), { captionClass: 'govuk-table__caption--s' })}</div>
    </details>
    ${closeForms(step, me)}
    ${session.hasRole('system-support')
      ? html`<p class="govuk-body"><a class="govuk-link" href="#/steps/${step.id}/delete">Delete this step (recorded in error)</a></p>`
      : ''}`,
  );
  wire(step, current, { app, query });
  keepWork(step, current, recipients, me, editable);
  wireCloseForms(step);
}

// ------------------------------------------------------------------------------------------------
// Work not lost (drafts.js): what the worker typed into the section on screen is kept when their
// session ends as they save, and when the section was saved by someone else (or in another tab)
// since they opened it; it is put back in the form when they next see the section, with the version
// saved meanwhile beside it, until they save it or discard it.

// Who saved a section last, in words: 'You' or their name.
function savedBy(section, me) {
  if (section.saved_by && section.saved_by === me.id) return 'You';
  return section.saved_by_name || 'Another worker';
}

function sectionForm(section) {
  return document.getElementById(section.kind === 'next-actions' ? 'next-actions-form' : 'section-form');
}

function keepWork(step, section, recipients, me, editable) {
  if (!section) return;
  const form = editable ? sectionForm(section) : null;
  const draft = draftFor(step.id, section.number, me.id);
  const initial = form ? formValues(form) : null;
  if (draft) showDraft(step, section, recipients, me, form, draft);
  if (!form) return;
  // When the session ends under the page (a save answered 401), what the form holds goes into a
  // draft, unless it is what was drawn and there was no draft to keep.
  whileShown(() => {
    if (!form.isConnected) return;
    const values = formValues(form);
    if (!draft && sameValues(values, initial)) return;
    keepDraft(step.id, section.number, { worker: me.id, revision: section.revision ?? 0, why: 'session-ended', values });
  });
}

function showDraft(step, section, recipients, me, form, draft) {
  const place = document.getElementById('section');
  const banner = document.createElement('div');
  banner.className = 'govuk-notification-banner';
  banner.id = 'draft-banner';
  banner.setAttribute('role', 'alert');
  banner.setAttribute('aria-labelledby', 'draft-banner-title');
  const changed = (section.revision ?? 0) !== (draft.revision ?? 0);
  const when = formatDateTime(section.saved_at);
  const who = savedBy(section, me);
  const cause = draft.why === 'section-changed' ? '' : 'Your session ended before they were saved. ';
  const since = changed
    ? who === 'You'
      ? `You saved this section in another tab or window at ${when}, after you opened it here: that version is shown below the form. `
      : `${who} saved this section at ${when}, after you opened it: their version is shown below the form. `
    : '';
  const what = form
    ? changed
      ? 'Check yours against it, then select Save to replace it with yours, or discard your changes to keep it.'
      : 'Check them, then select Save.'
    : OPEN_STATES.includes(step.state) || step.state === 'incoming'
      ? 'This step is not in your Current work: resume it to get them back in the form.'
      : `This step is ${step.state}, so they cannot be saved.`;
  render(
    banner,
    html`<div class="govuk-notification-banner__header"><h2 class="govuk-notification-banner__title" id="draft-banner-title">Important</h2></div>
      <div class="govuk-notification-banner__content">
        <p class="govuk-notification-banner__heading">${form ? `What you typed in section ${section.number} has been put back in the form. It has not been saved yet.` : `What you typed in section ${section.number} has not been saved.`}</p>
        <p class="govuk-body">${cause}${since}${what}</p>
        <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" id="discard-draft" data-module="govuk-button">Discard my changes</button>
      </div>`,
  );
  place.prepend(banner);
  banner.querySelector('#discard-draft').addEventListener('click', () => {
    forgetDraft(step.id, section.number);
    notify(`Your changes to section ${section.number} were discarded.`);
    reload(step, section);
  });
  if (!form) return;
  restoreForm(form, draft.values);
  if (form.querySelector('input[name="request_type"]:checked')?.value) document.getElementById('new-request')?.setAttribute('open', '');
  if (changed) {
    const theirs = document.createElement('div');
    theirs.className = 'govuk-summary-card';
    theirs.id = 'saved-version';
    render(
      theirs,
      html`<div class="govuk-summary-card__title-wrapper"><h3 class="govuk-summary-card__title">The version ${who === 'You' ? 'you saved in another tab or window' : `${who} saved`} at ${when}</h3></div>
        <div class="govuk-summary-card__content">${sectionValues({ ...section, next_action_types: step.next_action_types }, recipients, 'h4')}<p class="govuk-body">${section.completed ? 'Section completed.' : 'Section not completed.'}</p></div>`,
    );
    form.after(theirs);
  }
}

// A save refused because the section was saved since the page was drawn (409 section_changed):
// what the worker typed stays on the page, the error summary says who saved it and when, and offers
// the other version, which the page then shows beside the worker's own, put back in the form.
async function showSectionChanged(step, section, form, me, error) {
  let latest = null;
  try {
    latest = (await get(`/api/v1/steps/${step.id}`)).sections?.find((s) => s.number === section.number);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  if (!form.isConnected) return;
  const who = latest ? savedBy(latest, me) : '';
  const message = !latest
    ? error.message
    : who === 'You'
      ? `You saved section ${section.number} '${section.title}' in another tab or window at ${formatDateTime(latest.saved_at)}, after you opened it here. Your changes here have not been saved.`
      : `${who} saved section ${section.number} '${section.title}' at ${formatDateTime(latest.saved_at)}, after you opened it. Your changes have not been saved.`;
  showErrors([{ field: '', message }]);
  const body = document.querySelector('.govuk-error-summary .govuk-error-summary__body');
  const more = document.createElement('div');
  render(
    more,
    html`<p class="govuk-body">What you typed is still below. See the other version to compare it with yours: what you typed is kept, and you can then save yours over it or discard it.</p>
      <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-top-2 govuk-!-margin-bottom-0" id="see-other-version" data-module="govuk-button">See the other version</button>`,
  );
  body.append(more);
  more.querySelector('#see-other-version').addEventListener('click', () => {
    keepDraft(step.id, section.number, { worker: me.id, revision: section.revision ?? 0, why: 'section-changed', values: formValues(form) });
    reload(step, section);
  });
}

// A save of the section (or the finish, which saves the next actions): the API's refusals shown as
// attempt shows them, but for a section saved since (showSectionChanged) and the end of the session
// (the page leaves for sign in; what the form holds is kept, keepWork). The answer, or undefined.
async function saveSection(step, section, form, me, call, options = {}) {
  try {
    const saved = await call();
    forgetDraft(step.id, section.number);
    // The page stays on after a save when a request then sent is refused: its next save is of this one.
    const now = saved?.sections?.find((s) => s.number === section.number);
    if (now) section.revision = now.revision;
    return saved;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return undefined;
    if (error.code === 'section_changed') {
      await showSectionChanged(step, section, form, me, error);
      return undefined;
    }
    showErrors(
      error.errors.map((e) => ({ field: e.field || options.field || '', message: e.message, parts: e.parts })),
      options.scope,
    );
    return undefined;
  }
}

// Cancelling a step that is no longer needed (a reason kept in its history; final) and reopening a
// completed one to record more: for whoever works it and for managers (MANAGER_ROLES), as the API
// allows.

function closeForms(step, me) {
  const manager = session.hasRole(...MANAGER_ROLES);
  if (OPEN_STATES.includes(step.state) && (mine(step, me) || manager)) {
    return html`<details class="govuk-details" id="cancel-step">
      <summary class="govuk-details__summary"><span class="govuk-details__summary-text">Cancel this step</span></summary>
      <div class="govuk-details__text">
        <form id="cancel-form" novalidate>
          ${textarea({ id: 'cancel-reason', name: 'reason', label: 'Why is it cancelled?', field: 'reason', rows: 3, hint: 'For example, started by mistake or no longer needed. A cancelled step cannot be reopened.' })}
          ${button('Cancel step', { classes: 'govuk-button--warning' })}
        </form>
      </div>
    </details>`;
  }
  if (step.state === 'completed' && (step.assigned_to?.kind !== 'worker' || step.assigned_to.id === me.id || manager)) {
    return html`<form id="reopen-form" novalidate>${button('Reopen step', { secondary: true })}</form>`;
  }
  return '';
}

function wireCloseForms(step) {
  const cancel = document.getElementById('cancel-form');
  if (cancel) {
    onSubmit(cancel, async (data) => {
      const reason = data.get('reason').trim();
      if (!reason) return showErrors([{ field: 'reason', message: 'Say why the step is cancelled' }], cancel);
      const done = await attempt(() => post(`/api/v1/steps/${step.id}/cancel`, { reason }), { scope: cancel });
      if (!done) return;
      notify(`${done.heading || done.title} is cancelled.`);
      go(`/steps/${step.id}?cancelled=1`);
    });
  }
  const reopen = document.getElementById('reopen-form');
  if (reopen) {
    onSubmit(reopen, async () => {
      const done = await attempt(() => post(`/api/v1/steps/${step.id}/reopen`, {}), { scope: reopen });
      if (!done) return;
      notify(`${done.heading || done.title} is reopened. It is in your Current work.`);
      go(`/steps/${step.id}?reopened=1`);
    });
  }
}

// Seeds 001 and 002: a step recorded in error (against the wrong person or organisation, inaccurate,
// or a duplicate) is deleted by system support at a manager's 'Workflow step deletion' request. The
// page shows which step, asks why, and warns that everything recorded in it goes.
const DELETION_REASONS = [
  { value: 'wrong-record', title: 'It was recorded against the wrong person or organisation' },
  { value: 'inaccurate', title: 'It has been found to be inaccurate' },
  { value: 'duplicate', title: 'It is a duplicate of another step' },
  { value: 'other', title: 'It was recorded in error for another reason', hint: 'Explain below.' },
];

export async function stepDeletePage({ app, params, isCurrent }) {
  const step = await get(`/api/v1/steps/${params[0]}`);
  if (!isCurrent()) return;
  document.title = `Delete a work step - ${step.heading || step.title} - Tessera`;
  render(
    app,
    html`<a class="govuk-back-link" href="#/steps/${step.id}">Back to the step</a>
    <span class="govuk-caption-l">${step.heading || step.title}</span>
    <h1 class="govuk-heading-l">Delete a work step recorded in error</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${summaryList([
      ['Step', `${step.type_title || step.type} (${step.id})`],
      ['Subject', step.subject?.kind === 'none' ? 'None: a support request' : subjectLink(step.subject)],
      ['State', stepStateTag(step.state)],
      ['Started', formatDateTime(step.started_at)],
      ['Requests', String((step.requests || []).length)],
    ])}
    <div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
      <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
      Everything recorded in this step goes: its sections, its requests and their history, its next actions, and its place in reports and notices. It cannot be brought back. The audit trail keeps that it was deleted, by whom and why.</strong></div>
    ${reasonForm({ prefix: 'deletion', legend: 'Why is it being deleted?', reasons: DELETION_REASONS, hint: "For example, the manager's request and which record it should have been on.", action: 'Delete step', cancelHref: `#/steps/${step.id}` })}
    </div></div>`,
  );
  wireReasonForm(
    'deletion',
    'step',
    (body) => post(`/api/v1/steps/${step.id}/delete`, body),
    () => {
      notify(`Work step ${step.id} (${step.heading || step.title}) deleted.`);
      go('/');
    },
  );
}

function reload(step, section) {
  go(`/steps/${step.id}?section=${section.number}&saved=${Date.now()}`);
}

function wire(step, section) {
  const resume = document.getElementById('resume-form');
  if (resume) {
    onSubmit(resume, async () => {
      const done = await attempt(() => post(`/api/v1/steps/${step.id}/resume`));
      if (!done) return;
      notify('The step is in your Current work.');
      reload(done, section);
    });
  }
  document.querySelectorAll('form.request-action').forEach((form) =>
    onSubmit(form, async (data) => {
      clearErrors();
      const action = data.get('status');
      if (!action) {
        const offered = [...form.querySelectorAll('input[name=status]')].map((i) => i.labels?.[0]?.textContent.trim()).filter(Boolean);
        return showErrors([{ field: 'status', message: `Select ${offered.length > 1 ? `${offered.slice(0, -1).join(', ')} or ${offered[offered.length - 1]}` : offered[0] || 'what to do with the request'}` }], form);
      }
      const note = data.get('note').trim();
      const caseNote = (data.get('case_note') || '').trim();
      if (caseNote && action !== 'acknowledge') {
        return showErrors([{ field: 'case_note', message: 'A case note goes with Acknowledged only' }], form);
      }
      const body = note ? { note } : {};
      if (caseNote) body.case_note = caseNote;
      // A refusal that names no field (sent to someone else, already closed) is shown by the choice.
      const done = await attempt(() => post(`/api/v1/requests/${form.dataset.request}/${action}`, body), { scope: form, field: 'status' });
      if (!done) return;
      notify({ complete: 'Request completed.', return: 'Request returned to its sender.', acknowledge: caseNote ? 'Request acknowledged, and the case note recorded.' : 'Request acknowledged.' }[action]);
      reload(done, section);
    }),
  );
  document.getElementById('request-template')?.addEventListener('change', (event) => {
    if (event.target.value) document.getElementById('request-note').value = event.target.value;
  });
  // Choosing a request type puts its standard note in the note, unless the worker wrote their own.
  const note = document.getElementById('request-note');
  const standard = new Set((step.request_types || []).flatMap((t) => (t.note_templates || []).map((n) => n.text)));
  const fillNote = () => {
    const chosen = document.querySelector('input[name="request_type"]:checked');
    if (!chosen || (note.value.trim() && !standard.has(note.value))) return;
    const text = suggestedNote((step.request_types || []).find((t) => t.type === chosen.value), step, document.getElementById('section-form'));
    note.value = text;
    const template = document.getElementById('request-template');
    if (template) template.value = [...template.options].some((o) => o.value === text) ? text : '';
  };
  document.querySelectorAll('input[name="request_type"]').forEach((radio) => radio.addEventListener('change', fillNote));
  // 'Pass to worker' offers whom the chosen type may go to (a CP-IS notification: a worker only) and
  // shows where it goes unless the sender chooses otherwise (Pass to MASH Manager: the MASH Manager team).
  const to = document.getElementById('request-to');
  const chosenType = () => (step.request_types || []).find((t) => t.type === document.querySelector('input[name="request_type"]:checked')?.value);
  // The chosen type's recipients replace those offered (a worker chosen stays chosen if among them).
  const offerFor = (type) => {
    const list = step.recipientsByType?.get(type?.type);
    if (!to || !list) return;
    const kept = to.value;
    to.replaceChildren(to.options[0], ...list.map((r) => new Option(`${r.name} (${r.kind})`, `${r.kind}:${r.id}`)));
    to.value = [...to.options].some((o) => o.value === kept) ? kept : '';
  };
  const fillTo = () => {
    const chosen = document.querySelector('input[name="request_type"]:checked');
    const type = (step.request_types || []).find((t) => t.type === chosen?.value);
    const kinds = type?.may_send_to;
    for (const option of to?.options || []) {
      if (!option.value) continue;
      const allowed = !kinds || kinds.includes(option.value.split(':')[0]);
      option.hidden = !allowed;
      option.disabled = !allowed;
    }
    if (!to || (to.dataset.chosen && to.value && !to.selectedOptions[0]?.disabled)) return;
    const team = type?.to?.team && [...to.options].find((o) => o.value.startsWith('team:') && o.textContent === `${type.to.team} (team)`);
    const keyWorker = kinds?.length === 1 && kinds[0] === 'worker' && step.keyWorkers?.length ? `worker:${step.keyWorkers[0]}` : '';
    to.value = team ? team.value : [...to.options].some((o) => o.value === keyWorker) ? keyWorker : '';
  };
  to?.addEventListener('change', () => (to.dataset.chosen = '1'));
  // 'Find' asks again by name and offers what it finds, choosing the first the type may go to.
  const find = document.getElementById('request-find');
  const findRecipients = async () => {
    const q = find.value.trim();
    const found = (await recipientsOf(step.id, step.namedWorkers || [], q, chosenType()?.type)).items || [];
    if (!to.isConnected) return; // the page has moved on
    const kept = to.value;
    to.replaceChildren(to.options[0], ...found.map((r) => new Option(`${r.name} (${r.kind})`, `${r.kind}:${r.id}`)));
    to.value = [...to.options].some((o) => o.value === kept) ? kept : '';
    fillTo();
    const match = q && [...to.options].find((o) => o.value && !o.disabled && o.textContent.toLowerCase().includes(q.toLowerCase()));
    if (match) {
      to.value = match.value;
      to.dataset.chosen = '1';
    }
    document.getElementById('request-find-status').textContent = !q ? `${found.length} offered.` : match ? `Found: ${match.textContent}.` : `No worker or team found for '${q}'.`;
  };
  document.getElementById('request-find-button')?.addEventListener('click', findRecipients);
  find?.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault(); // Enter here finds; it does not save the section
    findRecipients();
  });
  document.querySelectorAll('input[name="request_type"]').forEach((radio) =>
    radio.addEventListener('change', () => {
      offerFor(chosenType());
      fillTo();
    }),
  );
  const pending = step.pendingRequest;
  if (pending && to) {
    pendingRequests.delete(step.id);
    const radio = [...document.querySelectorAll('input[name="request_type"]')].find((r) => r.value === pending.type);
    if (radio) radio.checked = true;
    offerFor(chosenType());
    // One found by name is not among those first offered.
    if (pending.to && ![...to.options].some((o) => o.value === pending.to)) to.append(new Option(pending.toText, pending.to));
    to.value = pending.to;
    to.dataset.chosen = '1';
    fillTo();
    note.value = pending.note;
    const template = document.getElementById('request-template');
    if (template) template.value = pending.template;
  }
  // A change to what the note is chosen by (e.g. the care setting) changes the note with it.
  const whenFields = new Set((step.request_types || []).flatMap((t) => (t.note_templates || []).map((n) => n.when?.field).filter(Boolean)));
  for (const name of whenFields) document.getElementById('section-form')?.elements.namedItem(name)?.addEventListener?.('change', fillNote);
  const sectionForm = document.getElementById('section-form');
  if (sectionForm) {
    onSubmit(sectionForm, async (data, submitter) => {
      pendingRequests.delete(step.id);
      const completed = data.getAll('completed').includes('true');
      // The revision the form was drawn from: a section saved since is refused, not saved over.
      const saved = await saveSection(step, section, sectionForm, session.worker, () =>
        put(`/api/v1/steps/${step.id}/sections/${section.number}`, { data: sectionData(section, sectionForm), completed, revision: section.revision ?? 0 }),
      );
      if (!saved) return;
      // The new request goes once the section is saved, as the seed says.
      const type = data.get('request_type');
      let message = `Section ${section.number} saved.`;
      if (type) {
        const body = { type };
        const note = (data.get('request_note') || '').trim();
        if (note) body.note = note;
        if (data.get('request_to')) body.to = recipientBody(data.get('request_to'));
        const sent = await attempt(() => post(`/api/v1/steps/${step.id}/requests`, body, { idempotent: true }), {
          note: `Section ${section.number} '${section.title}' is saved, with what you entered. The request has not been sent: it is kept below, to send when you next save.`,
        });
        if (!sent) {
          // Kept for this step's next page too (following a link to the section to complete).
          const to = document.getElementById('request-to');
          pendingRequests.set(step.id, { type, note: data.get('request_note') || '', template: data.get('request_template') || '', to: data.get('request_to') || '', toText: to?.selectedOptions[0]?.textContent || '' });
          return;
        }
        const r = sent.requests[sent.requests.length - 1];
        message = `Section ${section.number} saved. ${r.title} sent to ${r.to?.name}.`;
      }
      notify(message);
      if (submitter?.value === 'close') go('/');
      else reload(step, section);
    });
  }
  const actionsForm = document.getElementById('next-actions-form');
  if (actionsForm) {
    wireCaseNotes(actionsForm);
    onSubmit(actionsForm, async (data, submitter) => {
      const chosen = data.getAll('action');
      const nextActions = chosen.map((action, i) => {
        // The API names a fault by the action's place in the list: the inputs take that name now.
        for (const key of ['reason', 'note', 'priority', 'case_note']) {
          const input = document.getElementById(`action-${action}-${key}`);
          if (input) input.dataset.field = `next_actions[${i}].${key}`;
        }
        const a = { action, priority: data.get(`priority:${action}`) || 'normal' };
        const reason = (data.get(`reason:${action}`) || '').trim();
        const note = (data.get(`note:${action}`) || '').trim();
        const noting = document.querySelector(`[data-case-note-for="${action}"]`);
        const caseNote = noting && !noting.hidden ? (data.get(`case_note:${action}`) || '').trim() : '';
        if (reason) a.reason = reason;
        if (note) a.note = note;
        if (caseNote) a.case_note = caseNote;
        return a;
      });
      if (submitter?.value !== 'finish') {
        const saved = await saveSection(step, section, actionsForm, session.worker, () =>
          put(`/api/v1/steps/${step.id}/sections/${section.number}`, { data: { next_actions: nextActions }, completed: false, revision: section.revision ?? 0 }),
        );
        if (!saved) return;
        notify(`Section ${section.number} saved.`);
        return reload(step, section);
      }
      // The actions go with the finish itself, which keeps them as the section's, completed, only
      // when the step finishes: a refused Finish leaves the step as it was. With none ticked, the
      // API would take those saved before, which the worker has just unticked.
      if (!nextActions.length && section.required) {
        return showErrors([{ field: 'next_actions', message: `Add a next action in section ${section.number} '${section.title}' before finishing.` }]);
      }
      // The actions kept are the next-actions section's: from the revision the page was drawn from.
      const body = { revision: section.revision ?? 0 };
      if (nextActions.length) body.next_actions = nextActions;
      const done = await saveSection(step, section, actionsForm, session.worker, () => post(`/api/v1/steps/${step.id}/finish`, body));
      if (!done) return;
      notify(`${done.heading || done.title} is finished.`);
      go('/');
    });
  }
  const assign = document.getElementById('assign-form');
  if (assign) {
    onSubmit(assign, async (data) => {
      const to = data.get('to');
      if (!to) {
        return showErrors([{ field: 'worker_id', message: 'Select the worker or team to assign the step to' }]);
      }
      const done = await attempt(() => post(`/api/v1/steps/${step.id}/assign`, recipientBody(to)));
      if (!done) return;
      notify(`${done.heading || done.title} is assigned to ${done.assigned_to?.name}.`);
      go('/');
    });
  }
}
