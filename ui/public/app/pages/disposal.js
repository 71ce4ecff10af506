// Disposing of a record at the end of its retention (seed 002, 'File retention and deletion': "Once
// the retention period has been reached, it will be the responsibility of each service to ensure
// that records are deleted appropriately"): admin and system support, from today's records due for
// disposal (retention.js), check the record, may note e.g. the reference of the service's disposal
// list, and confirm. The record, its work steps and its CP-IS data are deleted (POST
// /api/v1/people/{id}/disposal); the register keeps the id, when, by whom, the criteria and the
// note, and the id is answered 'disposed of' from then on. Whether it is due is the API's to say:
// every reason it is not comes back at once, in the error summary.
import { get, post, session } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, tag } from '../html.js';
import { attempt, button, choices, onSubmit, showErrors, textarea } from '../forms.js';
import { canDispose, flagsOf, serviceTitle } from './retention.js';

// Whether the record is due today (the API's today, the day it checks a disposal against): the due
// list asked about this one record, so that no other record is read to find it.
async function dueToday(id) {
  const due = await get('/api/v1/retention/due', { person_id: id, limit: 1 });
  return { on: due.on, item: (due.items || []).find((i) => i.person_id === id) };
}

// The name of a record not due today, as a search by its id gives it: a restricted record's name is
// shown to all, and nothing is opened that the reader may not see.
async function personTitle(id) {
  const found = await get('/api/v1/people', { name: id, limit: 1 });
  return found.items.find((p) => p.id === id)?.title || `Person ${id}`;
}

// A criterion as the register gives it ('EH: Early help contact only'), the service in words.
function criterionWords(text) {
  const [, code, title] = /^([A-Z]+): (.*)$/.exec(text) || [];
  return code ? `${serviceTitle(code)}: ${title}` : text;
}

const back = html`<a class="govuk-back-link" href="#/retention">Back to Records due for disposal</a>`;

// #/people/{id}/disposal
export async function disposalPage({ app, params, isCurrent }) {
  const id = params[0];
  const { on, item } = await dueToday(id);
  const title = item ? `${item.display_name} (${item.person_id})` : await personTitle(id);
  if (!isCurrent()) return;
  document.title = `Dispose of a record - ${title} - Tessera`;
  const heading = html`${back}<span class="govuk-caption-l">${title}</span>
    <h1 class="govuk-heading-l">Dispose of a record</h1>`;
  if (!item || !canDispose()) {
    render(
      app,
      html`${heading}
      <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <p class="govuk-body" id="disposal-not-due">${canDispose()
        ? `This record is not due for disposal today (${formatDate(on)}): it is not among the records due for disposal. A record is due once the latest date of its flags has been reached, with no hold for an ongoing inquiry, no case still open, and every service it was involved with flagged.`
        : 'Only admin and system support dispose of records.'}</p>
      <p class="govuk-body"><a class="govuk-link" href="#/retention">Records due for disposal</a></p>
      </div></div>`,
    );
    return;
  }
  render(
    app,
    html`${heading}
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${summaryList([
      ['Person', html`${title}${item.restricted ? html` ${tag('Restricted', 'red')}` : ''}`],
      ['Due for disposal on', formatDate(on)],
      ['Kept until', formatDate(item.keep_until)],
      ['Flags', flagsOf(item)],
    ])}
    <div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
      <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
      Disposing of a record deletes it, its work steps and its CP-IS data. This cannot be undone.</strong></div>
    <form id="disposal-form" novalidate>
      ${textarea({ id: 'disposal-note', name: 'note', label: 'Note (optional)', field: 'note', rows: 3, hint: "For example, the reference of the service's disposal list. Kept with the record's id, when it was disposed of and by whom." })}
      ${choices({ kind: 'checkboxes', id: 'disposal-checked', name: 'checked', legend: 'Confirmation', field: 'checked', options: [{ value: 'true', title: 'I have checked this record is due for disposal and nothing keeps it' }] })}
      <div class="govuk-button-group">
        ${button('Dispose of record', { classes: 'govuk-button--warning' })}
        <a class="govuk-link" href="#/retention">Cancel</a>
      </div>
    </form>
    </div></div>`,
  );
  const form = document.getElementById('disposal-form');
  onSubmit(form, async (data) => {
    if (!data.get('checked')) {
      return showErrors([{ field: 'checked', message: 'Confirm you have checked this record is due for disposal and nothing keeps it' }], form);
    }
    // One line of text, as the register keeps it (line breaks are not taken).
    const note = (data.get('note') || '').replace(/\s+/g, ' ').trim();
    const done = await attempt(() => post(`/api/v1/people/${id}/disposal`, note ? { note } : {}), { scope: form });
    if (!done) return;
    disposed(app, done);
  });
}

// The register's entry: the record is gone, so the page says what was kept of it.
function disposed(app, d) {
  const me = session.worker;
  const others = (d.disposed_ids || []).filter((x) => x !== d.person_id);
  document.title = 'Record disposed of - Tessera';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    <div class="govuk-panel govuk-panel--confirmation">
      <h1 class="govuk-panel__title">Record disposed of</h1>
      <div class="govuk-panel__body">Person ${d.person_id}</div>
    </div>
    ${summaryList([
      ['Person', d.person_id],
      ...(others.length ? [['Duplicates merged into it, disposed of with it', others.join(', ')]] : []),
      ['Kept until', formatDate(d.keep_until)],
      ['Criteria', html`<ul class="govuk-list govuk-!-margin-bottom-0">${(d.criteria || []).map((c) => html`<li>${criterionWords(c)}</li>`)}</ul>`],
      ['Note', d.note || 'None'],
      ['Disposed of', `${formatDateTime(d.disposed_at)} by ${d.disposed_by === me?.id ? me.name : `worker ${d.disposed_by}`}`],
    ])}
    <p class="govuk-body">The record, its work steps and its CP-IS data are deleted. The register of disposals keeps only what is shown here, and the audit trail that it was disposed of.</p>
    <p class="govuk-body"><a class="govuk-link" href="#/retention">Back to Records due for disposal</a></p>
    </div></div>`,
  );
  const title = app.querySelector('h1');
  title.tabIndex = -1;
  title.focus();
}
