// The GOV.UK error-summary pattern for the API's errors: a summary at the top of the page linking
// to each field at fault, and the message again next to that field. An API error names its field
// (e.g. "data.consulted_at", "next_actions[0].reason"); inputs carry that name in data-field, or
// several names there, space-separated, where one control answers for more than one.
import { ApiError, get } from './api.js';
import { officeClock, officeInstant } from './clock.js';
import { formatDate, html, render } from './html.js';

const TITLE_PREFIX = 'Error: ';

export function clearErrors(scope = document) {
  // A success banner from before is stale once something new goes wrong (or is tried again).
  document.querySelectorAll('.govuk-notification-banner--success').forEach((e) => e.remove());
  scope.querySelectorAll('.govuk-error-summary').forEach((e) => e.remove());
  scope.querySelectorAll('.govuk-error-message[data-api-error]').forEach((e) => e.remove());
  scope.querySelectorAll('.govuk-form-group--error').forEach((g) => g.classList.remove('govuk-form-group--error'));
  for (const cls of ['govuk-input--error', 'govuk-select--error', 'govuk-textarea--error']) {
    scope.querySelectorAll(`.${cls}`).forEach((e) => e.classList.remove(cls));
  }
  scope.querySelectorAll('[data-described-by-error]').forEach((e) => {
    e.setAttribute('aria-describedby', e.dataset.describedByError);
    delete e.dataset.describedByError;
  });
  if (document.title.startsWith(TITLE_PREFIX)) document.title = document.title.slice(TITLE_PREFIX.length);
}

// The input an API field names: exactly, else the nearest named parent (data.x.y -> data.x).
function inputFor(field, scope) {
  let name = field;
  while (name) {
    const el = scope.querySelector(`[data-field~="${CSS.escape(name)}"]`);
    if (el) return el;
    const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('['));
    name = cut > 0 ? name.slice(0, cut) : '';
  }
  return null;
}

// errors: [{field, message}]. The fields are looked for in `scope` (the page, or one of its forms
// where several name the same field, e.g. each request's status); the summary is always at the top
// of the page, as the Design System places it, and takes the focus. A fault of one of a step's
// sections ("sections.2": complete section 2 before completing the request) is the page's, whichever
// of its forms was sent. `note` says, above the faults, what was done all the same (a section saved
// before the request that was refused).
// A fault of a date input's own (partsOf) names the parts at fault ('month'): those are marked, and
// the summary links to the first of them; one from the API marks them all and links to the day.
export function showErrors(errors, scope = document.getElementById('app'), { note } = {}) {
  const page = document.getElementById('app') || scope;
  clearErrors(page);
  const items = errors.map((e) => {
    let input = e.field ? inputFor(e.field, scope) || (/^sections\./.test(e.field) ? inputFor(e.field, page) : null) : null;
    const parts = input?.closest('.govuk-date-input') && e.parts?.length ? e.parts.map((p) => partOf(input, p)).filter(Boolean) : [];
    if (input) markInput(input, e.message, parts);
    if (parts.length) input = parts[0];
    return { message: e.message, target: input ? input.id : '' };
  });
  const summary = document.createElement('div');
  summary.className = 'govuk-error-summary';
  summary.tabIndex = -1;
  render(
    summary,
    html`<div role="alert">
      <h2 class="govuk-error-summary__title">There is a problem</h2>
      <div class="govuk-error-summary__body">
        ${note ? html`<p class="govuk-body" id="error-summary-note">${note}</p>` : ''}
        <ul class="govuk-list govuk-error-summary__list">${items.map((i) =>
          i.target ? html`<li><a href="#${i.target}" data-focus="${i.target}">${i.message}</a></li>` : html`<li>${i.message}</li>`,
        )}</ul>
      </div>
    </div>`,
  );
  // The page's links are routes (#/...): a summary link moves focus to its field instead.
  summary.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-focus]');
    if (!link) return;
    event.preventDefault();
    const input = document.getElementById(link.dataset.focus);
    const legend = input?.closest('fieldset')?.querySelector('legend');
    (legend || input)?.scrollIntoView();
    input?.focus();
  });
  const heading = page.querySelector('h1');
  const anchor = heading?.closest('.govuk-grid-column-two-thirds, .govuk-grid-column-full') || page;
  anchor.prepend(summary);
  if (!document.title.startsWith(TITLE_PREFIX)) document.title = TITLE_PREFIX + document.title;
  summary.focus();
}

// A date input's part (day, month, year, hour, minute) beside one of its parts.
function partOf(input, part) {
  return input.closest('.govuk-date-input')?.querySelector(`[data-part="${part}"]`) || null;
}

function markInput(input, message, parts = []) {
  // A date input is one field of several inputs: its group is the fieldset's, its error the whole's,
  // and each part at fault (all of them, unless some are named) is marked.
  const dates = input.closest('.govuk-date-input');
  const owner = dates || input;
  const group = owner.closest('.govuk-form-group');
  group?.classList.add('govuk-form-group--error');
  const kind = input.tagName === 'SELECT' ? 'select' : input.tagName === 'TEXTAREA' ? 'textarea' : 'input';
  const marked = dates ? (parts.length ? parts : [...dates.querySelectorAll('input')]) : [input];
  for (const el of marked) if (el.classList.contains(`govuk-${kind}`)) el.classList.add(`govuk-${kind}--error`);
  const id = `${owner.id}-error`;
  const p = document.createElement('p');
  p.className = 'govuk-error-message';
  p.id = id;
  p.dataset.apiError = '';
  render(p, html`<span class="govuk-visually-hidden">Error:</span> ${message}`);
  // Before the input (for a group of radios or checkboxes, before the group), as the pattern shows.
  const before = input.closest('.govuk-radios, .govuk-checkboxes, .govuk-date-input') || input;
  before.parentNode.insertBefore(p, before);
  // A date input's fieldset is described by the error, as its hint.
  const describedEl = dates ? dates.closest('fieldset') || input : input;
  const described = describedEl.getAttribute('aria-describedby') || '';
  describedEl.dataset.describedByError = described;
  describedEl.setAttribute('aria-describedby', `${described} ${id}`.trim());
}

// Runs an action of a form; an API error (or a check of the page's own) is shown in the summary.
// Returns the action's result, or undefined when it failed.
export async function attempt(action, { field, scope, note } = {}) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError) {
      // Each fault the API named, next to its field and in the summary, in the order of the form.
      showErrors(
        error.errors.map((e) => ({ field: e.field || field || '', message: e.message, parts: e.parts })),
        scope,
        { note },
      );
      return undefined;
    }
    throw error;
  }
}

// A form's submit, with the button kept from a second press while the call is in flight.
export function onSubmit(form, handler) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = event.submitter;
    if (form.dataset.busy) return;
    form.dataset.busy = '1';
    button?.setAttribute('aria-disabled', 'true');
    try {
      await handler(new FormData(form), button);
    } finally {
      delete form.dataset.busy;
      button?.removeAttribute('aria-disabled');
    }
  });
}

// Form controls in the Design System's markup. Each has an id and the API field it answers for.
// Free text (a text input, a textarea) takes its direction from what is typed (dir="auto"): Arabic
// or Urdu typed into 'Relationship with subject(s)' runs right to left, from the right.
export function textInput({ id, name, label, field, value = '', type = 'text', hint, classes = '', autocomplete, hintId }) {
  const describedBy = hint ? `${id}-hint` : hintId || '';
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
    <input class="govuk-input ${classes}" id="${id}" name="${name}" type="${type}" value="${value}"${type === 'text' || type === 'search' ? html` dir="auto"` : ''}
      data-field="${field || name}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}${
        autocomplete ? html` autocomplete="${autocomplete}"` : html` autocomplete="off"`
      }>
  </div>`;
}

export function textarea({ id, name, label, field, value = '', hint, rows = 5 }) {
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
    <textarea class="govuk-textarea" id="${id}" name="${name}" rows="${rows}" dir="auto" data-field="${field || name}"${
      hint ? html` aria-describedby="${id}-hint"` : ''
    }>${value}</textarea>
  </div>`;
}

export function select({ id, name, label, field, options, value = '', placeholder = '-- Please Select --', hint }) {
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
    <select class="govuk-select" id="${id}" name="${name}" data-field="${field || name}"${
      hint ? html` aria-describedby="${id}-hint"` : ''
    }>
      ${placeholder !== null ? html`<option value="">${placeholder}</option>` : ''}
      ${options.map((o) => html`<option value="${o.value}"${o.value === value ? ' selected' : ''}>${o.title}</option>`)}
    </select>
  </div>`;
}

// The Design System's date input: day, month and year, each a text box of its own in a fieldset, so
// that 7 December is never typed or read as 12 July whatever the browser's locale. With `time`, hour
// and minute beside them on a 24-hour clock: the time the office's clock (Europe/London) showed,
// whatever the computer's zone. `value` is the API's: a date (YYYY-MM-DD), or with `time` an instant
// (RFC 3339), shown on the office's clock and kept as it was when saved back unchanged (readDate).
// `subject` names the field in its errors ('Period start must be a real date'); the legend by default.
// The day input carries the API field, so that the error summary leads to it.
const DATE_PARTS = ['day', 'month', 'year'];
const TIME_PARTS = ['hour', 'minute'];
const PART_WIDTHS = { day: 2, month: 2, year: 4, hour: 2, minute: 2 };

export function dateInput({ id, name, legend, field, value = '', hint, time = false, subject, legendClass = 'govuk-fieldset__legend--s' }) {
  const shown = Object.fromEntries([...DATE_PARTS, ...TIME_PARTS].map((p) => [p, '']));
  const instant = time && value ? Date.parse(value) : NaN;
  if (!Number.isNaN(instant)) {
    const c = officeClock(instant);
    Object.assign(shown, { day: String(c.day), month: String(c.month), year: String(c.year), hour: String(c.hour).padStart(2, '0'), minute: String(c.minute).padStart(2, '0') });
  } else if (!time && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-');
    Object.assign(shown, { day: String(Number(d)), month: String(Number(m)), year: y });
  }
  const example = time ? 'For example, 27 3 2007 and 14 30 for 2:30pm, UK time' : 'For example, 27 3 2007';
  const parts = time ? [...DATE_PARTS, ...TIME_PARTS] : DATE_PARTS;
  return html`<div class="govuk-form-group">
    <fieldset class="govuk-fieldset" role="group" aria-describedby="${id}-hint">
      <legend class="govuk-fieldset__legend ${legendClass}">${legend}</legend>
      <div id="${id}-hint" class="govuk-hint">${hint ? `${hint} ` : ''}${example}</div>
      <div class="govuk-date-input" id="${id}" data-date-input="${name}" data-subject="${subject || legend}"${
        time ? html` data-time=""${Number.isNaN(instant) ? '' : html` data-instant="${value}"`}` : ''
      }>
        ${parts.map(
          (p, i) => html`<div class="govuk-date-input__item${p === 'hour' ? ' app-date-input__item--time' : ''}">
            <div class="govuk-form-group">
              <label class="govuk-label govuk-date-input__label" for="${id}-${p}">${p[0].toUpperCase()}${p.slice(1)}</label>
              <input class="govuk-input govuk-date-input__input govuk-input--width-${PART_WIDTHS[p]}" id="${id}-${p}" type="text" inputmode="numeric"
                autocomplete="off" data-part="${p}" value="${shown[p]}"${i === 0 ? html` data-field="${field || name}"` : ''}>
            </div>
          </div>`,
        )}
      </div>
    </fieldset>
  </div>`;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// 'a month', 'a day and year', 'an hour and minute': the parts missing, as the pattern's errors say.
function partsInWords(parts) {
  const words = parts.map((p, i) => (i === 0 ? `${p === 'hour' ? 'an' : 'a'} ${p}` : p));
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words[0];
}

// What a date input holds, as the API takes it: { value } (a date YYYY-MM-DD, or with time an RFC
// 3339 instant with the office's offset; '' when left empty), or { fault } ({ field, message, parts }
// for showErrors) when it is not a date, in the Design System's words: 'must include a month', 'must
// be a real date'. A time the office's clock skipped (the clocks going forward) is a fault; one it
// showed twice (going back) is its second showing, as `tessera import` reads it.
export function readDate(scope, name) {
  const box = scope.querySelector(`[data-date-input="${CSS.escape(name)}"]`);
  if (!box) return { value: '' };
  const time = box.dataset.time !== undefined;
  const names = time ? [...DATE_PARTS, ...TIME_PARTS] : DATE_PARTS;
  const typed = Object.fromEntries(names.map((p) => [p, (box.querySelector(`[data-part="${p}"]`)?.value || '').trim()]));
  const subject = box.dataset.subject;
  const fault = (message, parts) => ({ fault: { field: box.querySelector('[data-field]').dataset.field, message, parts } });
  const missing = names.filter((p) => !typed[p]);
  if (missing.length === names.length) return { value: '' };
  if (missing.length) return fault(`${subject} must include ${partsInWords(missing)}`, missing);
  const notNumbers = names.filter((p) => !/^\d+$/.test(typed[p]));
  const n = Object.fromEntries(names.map((p) => [p, Number(typed[p])]));
  if (notNumbers.some((p) => DATE_PARTS.includes(p))) return fault(`${subject} must be a real date`, notNumbers.filter((p) => DATE_PARTS.includes(p)));
  if (typed.year.length !== 4) return fault(`${subject} must include a year with 4 numbers`, ['year']);
  const badMonth = n.month < 1 || n.month > 12;
  const leap = (n.year % 4 === 0 && n.year % 100 !== 0) || n.year % 400 === 0;
  const badDay = n.day < 1 || n.day > (badMonth ? 31 : DAYS_IN_MONTH[n.month - 1]) || (n.month === 2 && n.day === 29 && !leap);
  if (badMonth || badDay || n.year < 1000) return fault(`${subject} must be a real date`, [...(badDay ? ['day'] : []), ...(badMonth ? ['month'] : []), ...(n.year < 1000 ? ['year'] : [])]);
  const date = `${typed.year}-${String(n.month).padStart(2, '0')}-${String(n.day).padStart(2, '0')}`;
  if (!time) return { value: date };
  const badTime = [...(notNumbers.includes('hour') || n.hour > 23 ? ['hour'] : []), ...(notNumbers.includes('minute') || n.minute > 59 ? ['minute'] : [])];
  if (badTime.length) return fault(`${subject} must be a real time`, badTime);
  // Shown and saved back unchanged: the instant it was, though the clock showed it twice.
  const kept = box.dataset.instant ? Date.parse(box.dataset.instant) : NaN;
  if (!Number.isNaN(kept)) {
    const c = officeClock(kept);
    if (c.date === date && c.hour === n.hour && c.minute === n.minute) return { value: box.dataset.instant };
  }
  const at = officeInstant(date, n.hour, n.minute);
  const hhmm = `${typed.hour.padStart(2, '0')}:${typed.minute.padStart(2, '0')}`;
  if (at.skipped) return fault(`${subject} must be a time the clock showed: the clocks went forward an hour on ${formatDate(date)} and skipped ${hhmm}`, ['hour']);
  return { value: at.value };
}

// Every date input of a form: { values: { name: value }, faults: [...] }, in the form's order.
export function readDates(form) {
  const values = {};
  const faults = [];
  for (const box of form.querySelectorAll('[data-date-input]')) {
    const { value, fault } = readDate(form, box.dataset.dateInput);
    values[box.dataset.dateInput] = value || '';
    if (fault) faults.push(fault);
  }
  return { values, faults };
}

// A form's own faults, found before anything is sent (a date that is not one), thrown where the API's
// would be: attempt() shows them the same way, and nothing is sent.
export class FormFaults extends ApiError {
  constructor(faults) {
    super(400, { code: 'invalid_value', field: faults[0]?.field, message: faults[0]?.message });
    this.errors = faults.map((f) => ({ code: 'invalid_value', ...f }));
  }
}

// Radios or checkboxes in a fieldset; the first input carries the field, so the summary links to it.
export function choices({ kind = 'radios', id, name, legend, field, options, value, hint, small = false, inline = false, legendClass = 'govuk-fieldset__legend--s' }) {
  const chosen = new Set(Array.isArray(value) ? value : value ? [value] : []);
  const input = kind === 'radios' ? 'radio' : 'checkbox';
  return html`<div class="govuk-form-group">
    <fieldset class="govuk-fieldset"${hint ? html` aria-describedby="${id}-hint"` : ''}>
      <legend class="govuk-fieldset__legend ${legendClass}">${legend}</legend>
      ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
      <div class="govuk-${kind}${small ? ` govuk-${kind}--small` : ''}${inline ? ` govuk-${kind}--inline` : ''}" data-module="govuk-${kind}">
        ${options.map(
          (o, i) => html`<div class="govuk-${kind}__item">
            <input class="govuk-${kind}__input" id="${i === 0 ? id : `${id}-${i + 1}`}" name="${name}" type="${input}"
              value="${o.value}"${chosen.has(o.value) ? ' checked' : ''}${i === 0 ? html` data-field="${field || name}"` : ''}${
                o.hint ? html` aria-describedby="${id}-${i + 1}-hint"` : ''
              }>
            <label class="govuk-label govuk-${kind}__label" for="${i === 0 ? id : `${id}-${i + 1}`}">${o.title}</label>
            ${o.hint ? html`<div id="${id}-${i + 1}-hint" class="govuk-hint govuk-${kind}__hint">${o.hint}</div>` : ''}
          </div>`,
        )}
      </div>
    </fieldset>
  </div>`;
}

export function button(text, { secondary = false, name, value, type = 'submit', classes = '' } = {}) {
  return html`<button type="${type}" class="govuk-button${secondary ? ' govuk-button--secondary' : ''} ${classes}" data-module="govuk-button"${
    name ? html` name="${name}" value="${value}"` : ''
  }>${text}</button>`;
}

// Taking out something recorded in error (seeds 001, 002): why, from the API's reasons, with an
// explanation that "other" needs, and a warning button. The form's id is `${prefix}-form`; its
// reason's radios `${prefix}-reason`, its explanation `${prefix}-explanation`.
export function reasonForm({ prefix, legend, reasons, hint, action, cancelHref }) {
  return html`<form id="${prefix}-form" novalidate>
      ${choices({ id: `${prefix}-reason`, name: 'reason', legend, field: 'reason', options: reasons, legendClass: 'govuk-fieldset__legend--m' })}
      ${textarea({ id: `${prefix}-explanation`, name: 'explanation', label: 'Explanation (optional unless another reason)', field: 'explanation', rows: 3, hint })}
      <div class="govuk-button-group">
        ${button(action, { classes: 'govuk-button--warning' })}
        <a class="govuk-link" href="${cancelHref}">Cancel</a>
      </div>
    </form>`;
}

// Its submit: the body the API takes ({ reason, explanation }), checked first as the API would
// (what names the thing: "case note"), then sent by send(body); done(answer) once it succeeded.
export function wireReasonForm(prefix, what, send, done) {
  const form = document.getElementById(`${prefix}-form`);
  onSubmit(form, async (data) => {
    const body = { reason: data.get('reason') || '' };
    const explanation = (data.get('explanation') || '').trim();
    if (explanation) body.explanation = explanation;
    const missing = [];
    if (!body.reason) missing.push({ field: 'reason', message: `Select why the ${what} is being taken out` });
    if (body.reason === 'other' && !explanation) missing.push({ field: 'explanation', message: `Explain how the ${what} was recorded in error` });
    if (missing.length) return showErrors(missing);
    const answer = await attempt(() => send(body), { scope: form });
    if (answer) done(answer);
  });
}

// Find, then choose, a colleague: the workers whose names hold q fill the select list (one found is
// chosen), and status says how many, naming the list to choose from. False when the API refused.
export async function findWorkersInto({ q, scope, list, status, listName }) {
  const found = await attempt(() => get('/api/v1/workers', { q, limit: 50 }), { scope });
  if (!found) return false;
  render(list, html`<option value="">-- Please Select --</option>${found.items.map((w) => html`<option value="${w.id}">${w.name}</option>`)}`);
  if (found.items.length === 1) list.value = found.items[0].id;
  status.textContent = found.items.length ? `${found.items.length} found: choose from the ${listName} list.` : `No worker found for '${q}'.`;
  return true;
}
