// The CP-IS error queue for system support (GET /api/v1/cpis/errors, seed 003): each notification
// that could not be accepted, each plan held back from an upload file, and each failure the national
// service answered, with its reason in words, newest first, so that the child's NHS number or name
// can be put right in the record. An entry that nothing on our side will settle (a child this
// council does not know, an inactive number whose child has no key worker) is closed with a reason.
import { get, post } from '../api.js';
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

export async function cpisErrorsPage({ app, query, isCurrent }) {
  const errors = await get('/api/v1/cpis/errors', { limit: 100, cursor: query.cursor });
  if (!isCurrent()) return;
  document.title = 'CP-IS error queue - Tessera';
  const items = errors.items || [];
  render(
    app,
    html`<h1 class="govuk-heading-l">CP-IS error queue</h1>
    <p class="govuk-body">CP-IS notifications from the NHS Spine that could not be matched to a child's record, plans held back
      from an upload file because the national service would not match them, and failures the national service answered.
      Correct the child's NHS number or legal name in their record; a notification is accepted when it is sent again, and a plan goes in the next upload file once it passes.
      Close an entry, saying why, when nothing on our side will settle it.</p>
    ${table(
      `Open errors (${items.length}${errors.next_cursor ? '+' : ''})`,
      ['Received', 'From', 'NHS number', 'Reason', 'Care setting', 'Times received', 'Action'],
      items.map((e) => [formatDateTime(e.received_at), sourceOf(e), e.nhs_number, e.reason, settingOf(e.notification), String(e.times_received), closeForm(e)]),
      { empty: 'There are no CP-IS errors.', scroll: true },
    )}
    ${errors.next_cursor ? html`<p class="govuk-body"><a class="govuk-link" href="#/cpis/errors?cursor=${encodeURIComponent(errors.next_cursor)}">Older errors</a></p>` : ''}`,
  );
  for (const form of app.querySelectorAll('form.app-close-error')) {
    onSubmit(form, async (data) => {
      const id = form.dataset.errorId;
      const closed = await attempt(() => post(`/api/v1/cpis/errors/${id}/close`, { reason: data.get('reason') }), { scope: form });
      if (!closed) return;
      notify(`Entry ${id} closed. It has left the error queue.`);
      go('/cpis/errors');
    });
  }
}
