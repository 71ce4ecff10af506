// The GOV.UK error-summary pattern for the API's errors: a summary at the top of the page linking
// to each field at fault, and the message again next to that field. An API error names its field
// (e.g. "data.consulted_at", "next_actions[0].reason"); inputs carry that name in data-field, or
// several names there, space-separated, where one control answers for more than one.
import { ApiError, get } from './api.js';
import { html, render } from './html.js';

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
export function showErrors(errors, scope = document.getElementById('app'), { note } = {}) {
  const page = document.getElementById('app') || scope;
  clearErrors(page);
  const items = errors.map((e) => {
    const input = e.field ? inputFor(e.field, scope) || (/^sections\./.test(e.field) ? inputFor(e.field, page) : null) : null;
    if (input) markInput(input, e.message);
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

function markInput(input, message) {
  const group = input.closest('.govuk-form-group');
  group?.classList.add('govuk-form-group--error');
  const kind = input.tagName === 'SELECT' ? 'select' : input.tagName === 'TEXTAREA' ? 'textarea' : 'input';
  if (input.classList.contains(`govuk-${kind}`)) input.classList.add(`govuk-${kind}--error`);
  const id = `${input.id}-error`;
  const p = document.createElement('p');
  p.className = 'govuk-error-message';
  p.id = id;
  p.dataset.apiError = '';
  render(p, html`<span class="govuk-visually-hidden">Error:</span> ${message}`);
  // Before the input (for a group of radios or checkboxes, before the group), as the pattern shows.
  const before = input.closest('.govuk-radios, .govuk-checkboxes, .govuk-date-input') || input;
  before.parentNode.insertBefore(p, before);
  const described = input.getAttribute('aria-describedby') || '';
  input.dataset.describedByError = described;
  input.setAttribute('aria-describedby', `${described} ${id}`.trim());
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
        error.errors.map((e) => ({ field: e.field || field || '', message: e.message })),
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
export function textInput({ id, name, label, field, value = '', type = 'text', hint, classes = '', autocomplete, hintId }) {
  const describedBy = hint ? `${id}-hint` : hintId || '';
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
    <input class="govuk-input ${classes}" id="${id}" name="${name}" type="${type}" value="${value}"
      data-field="${field || name}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}${
        autocomplete ? html` autocomplete="${autocomplete}"` : html` autocomplete="off"`
      }>
  </div>`;
}

export function textarea({ id, name, label, field, value = '', hint, rows = 5 }) {
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    ${hint ? html`<div id="${id}-hint" class="govuk-hint">${hint}</div>` : ''}
    <textarea class="govuk-textarea" id="${id}" name="${name}" rows="${rows}" data-field="${field || name}"${
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
