// The CP-IS error queue for system support (GET /api/v1/cpis/errors, seed 003): each notification
// that could not be accepted, each plan held back from an upload file, and each failure the national
// service answered, with its reason in words, newest first, so that the child's NHS number or name
// can be put right in the record.
import { get } from '../api.js';
import { formatDateTime, html, render, table } from '../html.js';

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
      Correct the child's NHS number or legal name in their record; a notification is accepted when it is sent again, and a plan goes in the next upload file once it passes.</p>
    ${table(
      `Open errors (${items.length}${errors.next_cursor ? '+' : ''})`,
      ['Received', 'From', 'NHS number', 'Reason', 'Care setting', 'Times received'],
      items.map((e) => [formatDateTime(e.received_at), sourceOf(e), e.nhs_number, e.reason, settingOf(e.notification), String(e.times_received)]),
      { empty: 'There are no CP-IS errors.', scroll: true },
    )}
    ${errors.next_cursor ? html`<p class="govuk-body"><a class="govuk-link" href="#/cpis/errors?cursor=${encodeURIComponent(errors.next_cursor)}">Older errors</a></p>` : ''}`,
  );
}
