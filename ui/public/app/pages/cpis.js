// The CP-IS error queue for system support (GET /api/v1/cpis/errors, seed 003): each notification
// that could not be accepted, each plan held back from an upload file, and each failure the national
// service answered, with its reason in words, newest first, so that the child's NHS number or name
// can be put right in the record. A notification whose fault has been put right (the child added, their
// number recorded) is sent again from here: the national service does not send it again. An entry
// that nothing on our side will settle (a child this council does not know, an inactive number whose
// child has no key worker) is closed with a reason; closed entries can be read back, with who closed
// them, when and why.
import { ApiError, get, post } from '../api.js';
import { attempt, button, onSubmit, textarea } from '../forms.js';
import { formatDateTime, html, render, table } from '../html.js';
import { go, notify } from '../main.js';

function settingOf(n) {
  const s = n?.care_setting;
  return s ? [s.name, s.type].filter(Boolean).join(', ') : '';
}

// Where the entry came from, in words.
function sourceOf(e) {
  if (e.source === 'plan-export') return `Plan upload check (plan ${e.plan_id}, person ${e.person_id})`;
  if (e.source === 'response') {
    return e.record_number ? `NHS response to file ${e.file_sequence_number}, record ${e.record_number}` : `NHS response to file ${e.file_sequence_number}`;
  }
  return `Notification ${e.notification_id}`;
}

// Whether the API judges the entry again (POST .../retry, otherwise 409 not_retriable): a notification
// not accepted, with its id and read as it came; not a no_key_worker entry, whose notification was
// accepted and which leaves the queue by itself once the child has a key worker or a new number.
function retriable(e) {
  return e.source === 'notification' && !!e.notification_id && e.code !== 'no_key_worker' && !e.notification?.tessera_unreadable;
}

// 'Send again': the button names its field, so that a refusal (the entry no longer open, or not to be
// judged again) is shown by it as well as in the summary.
function retryForm(e) {
  return html`<form class="app-retry-error" data-error-id="${e.id}" novalidate>
    <div class="govuk-form-group govuk-!-margin-bottom-2">
      <button type="submit" class="govuk-button govuk-!-margin-bottom-0" id="retry-${e.id}" data-field="retry" data-module="govuk-button">Send again<span class="govuk-visually-hidden"> entry ${e.id}</span></button>
    </div>
  </form>`;
}

// What became of a notification sent again, as the reply to a batch of one says it.
function retryOutcome(id, result) {
  const refused = result.errors?.[0];
  if (refused) return { message: `Entry ${id} was sent again and refused again: ${refused.reason} It stays in the error queue.`, important: true };
  if (result.accepted) return { message: `Entry ${id} was sent again and accepted: its CPIS Follow Up has started. It has left the error queue.` };
  if (result.duplicates) return { message: `Entry ${id} was sent again: its notification had already been accepted.` };
  return { message: `Entry ${id} was sent again.` };
}

// Each entry's own small form: the reason is required, and kept with the entry.
function closeForm(e) {
  return html`<details class="govuk-details app-details--compact">
    <summary class="govuk-details__summary"><span class="govuk-details__summary-text">Close<span class="govuk-visually-hidden"> entry ${e.id}</span></span></summary>
    <div class="govuk-details__text">
      <form class="app-close-error" data-error-id="${e.id}" novalidate>
        ${textarea({ id: `close-reason-${e.id}`, name: 'reason', label: 'Why is this entry closed?', rows: 3, hint: 'For example, what was done and by whom. It is kept with the entry.' })}
        ${button('Close entry', { secondary: true })}
      </form>
    </div>
  </details>`;
}

// Who closed each closed entry, by name (the API gives the worker's id); by id where their account
// cannot be read.
async function closerNames(items) {
  const ids = [...new Set(items.map((e) => e.closed_by).filter(Boolean))];
  const names = await Promise.all(
    ids.map((id) =>
      get(`/api/v1/workers/${id}`)
        .then((w) => w.name || `Worker ${id}`)
        .catch((error) => {
          if (!(error instanceof ApiError)) throw error;
          return `Worker ${id}`;
        }),
    ),
  );
  return new Map(ids.map((id, i) => [id, names[i]]));
}

function closedTable(errors, closers) {
  const items = errors.items || [];
  return table(
    `Closed entries (${items.length}${errors.next_cursor ? '+' : ''})`,
    ['Received', 'From', 'NHS number', 'Reason', 'Times received', 'Closed', 'Closed by', 'Why it was closed'],
    items.map((e) => [
      formatDateTime(e.received_at),
      sourceOf(e),
      e.nhs_number,
      e.reason,
      String(e.times_received),
      // An entry that left the queue by itself (accepted, or settled on our side) has no close.
      e.closed_at ? formatDateTime(e.closed_at) : 'Left the queue by itself',
      e.closed_by ? closers.get(e.closed_by) : '',
      e.close_reason || '',
    ]),
    { empty: 'No entry has left the CP-IS error queue.', small: true },
  );
}

export async function cpisErrorsPage({ app, query, isCurrent }) {
  const closed = query.state === 'closed';
  const errors = await get('/api/v1/cpis/errors', { limit: 100, cursor: query.cursor, state: closed ? 'closed' : undefined });
  if (!isCurrent()) return;
  const closers = closed ? await closerNames(errors.items || []) : null;
  if (!isCurrent()) return;
  document.title = `CP-IS error queue${closed ? ': closed entries' : ''} - Tessera`;
  const items = errors.items || [];
  const older = errors.next_cursor ? new URLSearchParams({ ...(closed ? { state: 'closed' } : {}), cursor: errors.next_cursor }) : null;
  render(
    app,
    html`<h1 class="govuk-heading-l">CP-IS error queue${closed ? ': closed entries' : ''}</h1>
    <p class="govuk-body">CP-IS notifications from the NHS Spine that could not be matched to a child's record, plans held back
      from an upload file because the national service would not match them, and failures the national service answered.
      Correct the child's NHS number or legal name in their record, then send the notification again: the national service does not send it again.
      A plan goes in the next upload file once it passes.
      Close an entry, saying why, when nothing on our side will settle it.</p>
    <p class="govuk-body" id="cpis-errors-state">${closed
      ? html`Showing the entries that have left the queue, newest first. <a class="govuk-link" href="#/cpis/errors">Show open entries</a>`
      : html`Showing open entries. <a class="govuk-link" href="#/cpis/errors?state=closed">Show closed entries</a>`}</p>
    ${closed
      ? closedTable(errors, closers)
      : table(
          `Open errors (${items.length}${errors.next_cursor ? '+' : ''})`,
          ['Received', 'From', 'NHS number', 'Reason', 'Care setting', 'Times received', 'Action'],
          items.map((e) => [
            formatDateTime(e.received_at),
            sourceOf(e),
            e.nhs_number,
            e.reason,
            settingOf(e.notification),
            String(e.times_received),
            html`${retriable(e) ? retryForm(e) : ''}${closeForm(e)}`,
          ]),
          { empty: 'There are no CP-IS errors.', small: true },
        )}
    ${older ? html`<p class="govuk-body"><a class="govuk-link" href="#/cpis/errors?${older}">Older ${closed ? 'closed entries' : 'errors'}</a></p>` : ''}`,
  );
  for (const form of app.querySelectorAll('form.app-retry-error')) {
    onSubmit(form, async () => {
      const id = form.dataset.errorId;
      const result = await attempt(() => post(`/api/v1/cpis/errors/${id}/retry`), { scope: form, field: 'retry' });
      if (!result) return;
      const { message, important } = retryOutcome(id, result);
      notify(message, { important });
      go('/cpis/errors');
    });
  }
  for (const form of app.querySelectorAll('form.app-close-error')) {
    onSubmit(form, async (data) => {
      const id = form.dataset.errorId;
      const done = await attempt(() => post(`/api/v1/cpis/errors/${id}/close`, { reason: data.get('reason') }), { scope: form });
      if (!done) return;
      notify(`Entry ${id} closed. It has left the error queue.`);
      go('/cpis/errors');
    });
  }
}
