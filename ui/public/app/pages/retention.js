// Retention (seed 002, 'File retention and deletion'): the records due for disposal on a day, for
// information governance and system support (GET /api/v1/retention/due), with a date 'On' and
// paging; and what the person summary's retention section (people.js) shares with it: the services
// in words and a flag in words. A record is due once the latest of its flags' dates has been
// reached (the longest period applies to the whole record), with no hold for an ongoing inquiry, no
// case open, and every service it was involved with flagged; each service then disposes of it
// (disposal.js), from today's list only: a record due on a day still to come is not due yet.
import { get, session } from '../api.js';
import { formatDate, html, render, table, tag } from '../html.js';
import { attempt, button, dateInput, onSubmit, readDate, showErrors } from '../forms.js';
import { go } from '../main.js';
import { officeToday } from '../clock.js';

// Who holds records past their retention and sees what is due (the records daemon's keepers).
export const RETENTION_ROLES = ['admin', 'system-support', 'auditor'];
// Who disposes of a record that is due (records' disposers): an auditor sees what is due only.
export const DISPOSAL_ROLES = ['admin', 'system-support'];
export const canDispose = () => session.hasRole(...DISPOSAL_ROLES);

// The services of a person's involvements, in the order the page lists them, in words.
export const SERVICES = [
  ['CSSW', "Children's social work"],
  ['EH', 'Early help'],
  ['ASC', 'Adult social care'],
].map(([value, title]) => ({ value, title }));

export function serviceTitle(code) {
  return SERVICES.find((s) => s.value === code)?.title || code;
}

// A list of services in words, in the page's order: 'Early help, Adult social care'.
export function serviceList(codes) {
  return SERVICES.filter((s) => (codes || []).includes(s.value))
    .map((s) => s.title)
    .join(', ');
}

// A criterion of the schedule with its period: 'Child protection (35 years from the closure)'.
export function criterionTitle(c) {
  return `${c.title} (${c.keep_years} years from ${c.from === 'date_of_birth' ? 'the date of birth' : 'the closure'})`;
}

// Records listed a page.
const DUE_PAGE = 50;

// A record's flags as the due list gives them (shared with the page that disposes of it).
export function flagsOf(item) {
  if (!item.flags) return html`<span class="govuk-hint">Restricted: you can see the name only.</span>`;
  return html`<ul class="govuk-list govuk-!-margin-bottom-0">${item.flags.map(
    (f) => html`<li>${serviceTitle(f.service)}: ${f.criterion_title} (case closed ${formatDate(f.closed_on)}, kept until ${formatDate(f.keep_until)})</li>`,
  )}</ul>`;
}

export async function retentionDuePage({ app, query, isCurrent }) {
  const due = await get('/api/v1/retention/due', { on: query.on, limit: DUE_PAGE, cursor: query.cursor });
  if (!isCurrent()) return;
  document.title = 'Records due for disposal - Tessera';
  const on = query.on || due.on;
  const items = due.items || [];
  const here = `#/retention?on=${encodeURIComponent(on)}`;
  // Disposed of from today's list only, the day the API checks a record is due on: on a day still
  // to come a record is not due yet.
  const disposable = canDispose() && due.on === officeToday();
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Records due for disposal</h1>
      <p class="govuk-body">Records whose retention period has been reached on the day: the latest date of their flags (where a record relates
        to more than one service the longest period applies to the whole record), with no hold for an ongoing inquiry, no case still open,
        and every service they were involved with flagged. Each service then disposes of the record. Hold a record on its page to keep it longer.</p>
      <form id="due-form" novalidate>
        ${dateInput({ id: 'due-on', name: 'on', legend: 'On', subject: 'The day', field: 'on', value: on, hint: 'The records due on this day. Today unless you choose another.' })}
        ${button('Show records')}
      </form>
    </div></div>
    ${table(
      `Due on ${formatDate(due.on)} (${items.length}${due.next_cursor ? '+' : ''})`,
      ['Person', 'Kept until', 'Flags', ...(disposable ? ['Action'] : [])],
      items.map((i) => [
        html`<a class="govuk-link" href="#/people/${i.person_id}">${i.display_name} (${i.person_id})</a>${i.restricted ? html` ${tag('Restricted', 'red')}` : ''}`,
        formatDate(i.keep_until),
        flagsOf(i),
        ...(disposable
          ? [html`<a class="govuk-link" href="#/people/${i.person_id}/disposal">Dispose of record<span class="govuk-visually-hidden"> of ${i.display_name} (${i.person_id})</span></a>`]
          : []),
      ]),
      { empty: `No record is due for disposal on ${formatDate(due.on)}.` },
    )}
    ${due.next_cursor || query.cursor
      ? html`<nav class="govuk-body" aria-label="More records due">${due.next_cursor
          ? html`<a class="govuk-link govuk-!-margin-right-4" href="${here}&cursor=${encodeURIComponent(due.next_cursor)}">Next ${DUE_PAGE} records</a>`
          : ''}${query.cursor ? html`<a class="govuk-link" href="${here}">Back to the first ${DUE_PAGE}</a>` : ''}</nav>`
      : ''}`,
  );
  const form = document.getElementById('due-form');
  onSubmit(form, async () => {
    const { value: day, fault } = readDate(form, 'on');
    if (fault) return showErrors([fault]);
    // The API's answer on the day first, so that a date it refuses is shown next to the field.
    const ok = await attempt(() => get('/api/v1/retention/due', { on: day, limit: 1 }));
    if (ok) go(`/retention?on=${encodeURIComponent(day || ok.on)}`);
  });
}
