// Restricting a record (seed 002: "Staff requiring records to be restricted should log a request
// with the MOSAIC support team"): system support (and admin) restrict a record for one of the
// seed's six reasons, with the date it is next reviewed ("Restriction will be reviewed for validity
// on a regular basis"), and name the workers outside the groups that keep access anyway who need
// it ("Staff requiring access not in those groups, will need to contact MOSAIC support"); the same
// page changes the restriction or lifts it. The access rule itself is the records daemon's.
import { api, get, put, session } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table } from '../html.js';
import { attempt, button, choices, dateInput, onSubmit, readDate, showErrors, textInput } from '../forms.js';
import { go, notify } from '../main.js';

export const RESTRICTION_ROLES = ['admin', 'system-support'];
export const canRestrict = () => session.hasRole(...RESTRICTION_ROLES);
// Who reviews restrictions (records' restriction_reviewers): system support, who keep access to them all.
export const REVIEW_ROLES = ['system-support'];
const REVIEW_PAGE = 50;

export const RESTRICTION_REASONS = [
  { value: 'conflict-of-interest', title: 'Conflict of interest', hint: 'A worker has declared that family or friends are known on the system.' },
  { value: 'high-risk', title: 'High risk', hint: 'A high level of risk to the person, e.g. child abduction, serious domestic abuse.' },
  { value: 'case-review', title: 'Case review', hint: 'The case is undergoing a case review.' },
  { value: 'high-profile', title: 'High profile', hint: 'Including celebrities.' },
  { value: 'mappa-marac-lado', title: 'MAPPA, MARAC or LADO', hint: 'The case is known to MAPPA, MARAC or LADO.' },
  { value: 'adoption-fostering', title: 'Adoption or fostering', hint: "A child placed for adoption, or adopters and foster carers who work for the council." },
];
export const restrictionReason = (value) => RESTRICTION_REASONS.find((r) => r.value === value)?.title || value;

export async function restrictionPage({ app, params, isCurrent }) {
  const person = await get(`/api/v1/people/${params[0]}`);
  // The names of the workers already on the access list (the record gives their ids).
  const current = person.restriction?.workers || [];
  const named = await Promise.all(
    current.map((id) =>
      get('/api/v1/workers', { q: id, limit: 1 })
        .then((found) => ({ id, name: found.items.find((w) => w.id === id)?.name || `Worker ${id}` }))
        .catch(() => ({ id, name: `Worker ${id}` })),
    ),
  );
  if (!isCurrent()) return;
  const title = person.title || person.display_name;
  const restricted = !!person.restriction;
  document.title = `${restricted ? 'Change the restriction' : 'Restrict the record'} - ${title} - Tessera`;
  const chosen = [...named];
  const chosenList = () =>
    table(
      'Workers named on the access list',
      ['Worker', 'Action'],
      chosen.map((w) => [w.name, html`<button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0 app-unname" data-id="${w.id}">Remove<span class="govuk-visually-hidden"> ${w.name}</span></button>`]),
      { empty: 'No one named: only the groups that keep access (below) can open it.', captionClass: 'govuk-table__caption--s' },
    );
  render(
    app,
    html`<a class="govuk-back-link" href="#/people/${person.id}">Back to ${title}</a>
    <span class="govuk-caption-l">${title}</span>
    <h1 class="govuk-heading-l">${restricted ? 'Change or lift the restriction' : 'Restrict the record'}</h1>
    <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${restricted
      ? summaryList([
          ['Reason', restrictionReason(person.restriction.reason)],
          ['Review by', formatDate(person.restriction.review_date)],
        ])
      : ''}
    <p class="govuk-body">A restricted record can still be opened by the MASH team, the Emergency Duty team, the allocated worker(s) and their manager(s), heads of service and directors, business information administrators and system support. Anyone else sees the name only, and their attempt is recorded and their managers told.</p>
    <form id="restriction-form" novalidate>
      ${choices({ id: 'restriction-reason', name: 'reason', legend: 'Why is the record restricted?', field: 'reason', options: RESTRICTION_REASONS, value: person.restriction?.reason, legendClass: 'govuk-fieldset__legend--m' })}
      ${dateInput({ id: 'restriction-review-date', name: 'review_date', legend: 'Review the restriction by', subject: 'The review date', field: 'review_date', value: person.restriction?.review_date || '', hint: 'Restrictions are reviewed for validity regularly.' })}
      <h2 class="govuk-heading-m">Workers outside those groups who need access</h2>
      <div id="restriction-chosen">${chosenList()}</div>
      <p class="govuk-body" id="restriction-access-status" role="status"></p>
      ${textInput({ id: 'restriction-find', name: 'q', label: 'Find a worker to name', field: 'workers', hint: 'Part of their name.' })}
      ${button('Find worker', { secondary: true, name: 'action', value: 'find' })}
      <div id="restriction-found" role="status"></div>
      <div class="govuk-button-group">
        ${button(restricted ? 'Save the restriction' : 'Restrict the record', { name: 'action', value: 'save' })}
        <a class="govuk-link" href="#/people/${person.id}">Cancel</a>
      </div>
    </form>
    ${restricted
      ? html`<h2 class="govuk-heading-m">Lift the restriction</h2>
        <p class="govuk-body">Everyone who may open an unrestricted record will be able to open this one.</p>
        <form id="restriction-lift-form" novalidate>${button('Lift the restriction', { classes: 'govuk-button--warning' })}</form>`
      : ''}
    </div></div>`,
  );
  const form = document.getElementById('restriction-form');
  const redraw = () => render(document.getElementById('restriction-chosen'), chosenList());
  form.addEventListener('click', (event) => {
    const remove = event.target.closest('button.app-unname, button.app-name');
    if (!remove) return;
    const { id } = remove.dataset;
    const removing = remove.classList.contains('app-unname');
    const name = removing ? chosen.find((w) => w.id === id)?.name : remove.dataset.name;
    if (removing) chosen.splice(chosen.findIndex((w) => w.id === id), 1);
    else if (!chosen.some((w) => w.id === id)) chosen.push({ id, name });
    redraw();
    // The list changes out of sight of the focus (moved on to find another): said in a status
    // message, which a screen reader announces (WCAG 4.1.3).
    document.getElementById('restriction-access-status').textContent = removing ? `${name} removed from the access list` : `${name} added to the access list`;
    document.getElementById('restriction-find').focus();
  });
  onSubmit(form, async (data, submitter) => {
    if (submitter?.value === 'find') {
      const q = data.get('q').trim();
      if (!q) return showErrors([{ field: 'workers', message: "Enter part of the worker's name" }], form);
      const found = await attempt(() => get('/api/v1/workers', { q, limit: 20 }), { scope: form });
      if (!found) return;
      render(
        document.getElementById('restriction-found'),
        found.items.length
          ? html`<ul class="govuk-list">${found.items.map((w) => html`<li>${w.name} <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0 app-name" data-id="${w.id}" data-name="${w.name}">Name<span class="govuk-visually-hidden"> ${w.name} on the access list</span></button></li>`)}</ul>`
          : html`<p class="govuk-body">No worker found for '${q}'.</p>`,
      );
      return;
    }
    const review = readDate(form, 'review_date');
    const body = { reason: data.get('reason') || '', review_date: review.value || '', workers: chosen.map((w) => w.id) };
    const missing = [];
    if (!body.reason) missing.push({ field: 'reason', message: 'Select why the record is restricted' });
    if (review.fault) missing.push(review.fault);
    else if (!body.review_date) missing.push({ field: 'review_date', message: 'Enter the date the restriction is reviewed by' });
    if (missing.length) return showErrors(missing, form);
    const saved = await attempt(() => put(`/api/v1/people/${person.id}/restriction`, body), { scope: form });
    if (!saved) return;
    notify(`The record of ${saved.display_name} is restricted (${restrictionReason(body.reason)}; review by ${formatDate(body.review_date)}).`);
    go(`/people/${person.id}`);
  });
  if (!restricted) return;
  const lift = document.getElementById('restriction-lift-form');
  onSubmit(lift, async () => {
    const lifted = await attempt(() => api('DELETE', `/api/v1/people/${person.id}/restriction`), { scope: lift });
    if (lifted === undefined) return;
    notify(`The restriction on ${person.display_name}'s record is lifted.`);
    go(`/people/${person.id}`);
  });
}

// #/restrictions: the restrictions whose review date has come, the longest overdue first; each is
// kept with a new review date, or lifted, on its own page.
export async function restrictionReviewsPage({ app, query, isCurrent }) {
  const due = await get('/api/v1/restrictions/due', { on: query.on, limit: REVIEW_PAGE, cursor: query.cursor });
  if (!isCurrent()) return;
  document.title = 'Restrictions to review - Tessera';
  const on = query.on || due.on;
  const items = due.items || [];
  const here = `#/restrictions?on=${encodeURIComponent(on)}`;
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Restrictions to review</h1>
      <p class="govuk-body">Restricted records whose review date has come. Check that each restriction is still needed: keep it with a new review date, or lift it.</p>
      <form id="reviews-form" novalidate>
        ${dateInput({ id: 'reviews-on', name: 'on', legend: 'To review by', subject: 'The date to review by', field: 'on', value: on, hint: 'Today unless you choose another day.' })}
        ${button('Show restrictions')}
      </form>
    </div></div>
    ${table(
      `To review by ${formatDate(due.on)} (${items.length}${due.next_cursor ? '+' : ''})`,
      ['Person', 'Reason', 'Review by', 'Named on its access list', 'Restricted on', 'Action'],
      items.map((i) => [
        html`<a class="govuk-link" href="#/people/${i.person_id}">${i.title}</a>`,
        restrictionReason(i.reason),
        formatDate(i.review_date),
        String(i.named_workers),
        formatDateTime(i.restricted_at),
        html`<a class="govuk-link" href="#/people/${i.person_id}/restriction">Review<span class="govuk-visually-hidden"> the restriction on ${i.title}</span></a>`,
      ]),
      { empty: `No restriction is due for review by ${formatDate(due.on)}.` },
    )}
    ${due.next_cursor || query.cursor
      ? html`<nav class="govuk-body" aria-label="More restrictions to review">${due.next_cursor
          ? html`<a class="govuk-link govuk-!-margin-right-4" href="${here}&cursor=${encodeURIComponent(due.next_cursor)}">Next ${REVIEW_PAGE}</a>`
          : ''}${query.cursor ? html`<a class="govuk-link" href="${here}">Back to the first ${REVIEW_PAGE}</a>` : ''}</nav>`
      : ''}`,
  );
  const reviewsForm = document.getElementById('reviews-form');
  onSubmit(reviewsForm, async () => {
    const { value: day, fault } = readDate(reviewsForm, 'on');
    if (fault) return showErrors([fault]);
    // The API's answer on the day first, so that a date it refuses is shown next to the field.
    const ok = await attempt(() => get('/api/v1/restrictions/due', { on: day, limit: 1 }));
    if (ok) go(`/restrictions?on=${encodeURIComponent(day || ok.on)}`);
  });
}
