// The workview: the folders Incoming work, Incoming requests, Current work and Recently viewed with
// their counts, for the worker or for one of the queues (teams, virtual workers) they work.
import { ApiError, get, post, session } from '../api.js';
import { formatDate, formatDateTime, html, render, scrollRegion, tag, userText } from '../html.js';
import { attempt } from '../forms.js';
import { go, notify } from '../main.js';
import { ALLOCATOR_ROLES } from './person_forms.js';

const FOLDERS = ['incoming_work', 'incoming_requests', 'current_work', 'recently_viewed'];

// The workflow daemon's workflow.manager_roles: who may see others' workviews, assign and cancel any
// step, and see the leavers whose folders still hold work.
export const MANAGER_ROLES = ['team-manager', 'mash-manager', 'head-of-service', 'director', 'system-support'];

export function subjectLink(subject) {
  if (!subject || !subject.id) return subject?.title || '';
  const href = subject.kind === 'person' ? `#/people/${subject.id}` : subject.kind === 'organisation' ? `#/organisations/${subject.id}` : '';
  return href ? html`<a class="govuk-link" href="${href}">${subject.title || subject.name}</a>` : subject.title || subject.name;
}

function queueQuery(q) {
  if (q.kind === 'team') return `team_id=${encodeURIComponent(q.id)}`;
  if (q.kind === 'worker') return `worker_id=${encodeURIComponent(q.id)}`;
  return `queue=${encodeURIComponent(q.key || q.id)}`;
}

// The link to a folder's next page (the API pages one folder at a time with its cursor).
function moreLink(key, folder, owner) {
  if (!folder.next_cursor) return '';
  const q = new URLSearchParams({ ...owner, folder: key, cursor: folder.next_cursor });
  return html`<p class="govuk-body"><a class="govuk-link" href="#/?${q}">More in ${folder.title}</a></p>`;
}

function folderTable(key, folder, canResume, owner) {
  const id = `folder-${key.replaceAll('_', '-')}`;
  const caption = `${folder.title} (${folder.count})`;
  if (!folder.items.length) {
    return html`<h2 class="govuk-heading-m" id="${id}">${caption}</h2><p class="govuk-body">Nothing here.</p>`;
  }
  return html`${folderItems(id, key, caption, folder, canResume)}${moreLink(key, folder, owner)}`;
}

// A request's note; one returned to its sender (back in their Incoming requests) says so, by whom,
// when and why, where it would otherwise read as a new request with the sender's own note.
function requestLines(item) {
  const line = (cls, content) => html`<p class="govuk-body-s govuk-!-margin-top-2 govuk-!-margin-bottom-0 ${cls}">${content}</p>`;
  const r = item.returned;
  return html`${item.status === 'returned' ? tag('Returned', 'orange') : ''}
    ${r ? line('app-request-returned', html`<strong>Returned</strong>${r.by?.name ? ` by ${r.by.name}` : ''} on ${formatDateTime(r.at)}${r.note ? html`: ${userText(r.note)}` : '.'}`) : ''}
    ${item.note ? line('app-request-note', html`<strong>${r ? 'Sent with the note' : 'Note'}:</strong> ${userText(item.note)}`) : ''}`;
}

// An item about a record the caller cannot open: the API gives the person's name, the item's times
// and a neutral title, and nothing of what the work is; neither the step nor the person can be opened,
// so no link to either (following one to the person would be a refused access attempt, which tells
// the record's managers).
function restrictedTitle(item) {
  return html`${item.title} ${tag('Restricted', 'grey')}
    <p class="govuk-body-s govuk-!-margin-top-2 govuk-!-margin-bottom-0">You cannot open this record. Ask system support if you need to.</p>`;
}

// What tells an item from others of the same title (the API's summary: a CPIS Follow up's care
// setting and time of access), beside the title; and the item as its buttons name it.
function summaryLine(item) {
  return item.summary ? html`<p class="govuk-body-s govuk-!-margin-top-1 govuk-!-margin-bottom-0 app-item-summary">${item.summary}</p>` : '';
}

// The item as its link and buttons name it to a screen reader: two items may share a title and a
// subject (two consultations of the same organisation passed to the MASH Manager), so it names the
// request or step and when it came too, which the row shows beside it.
function itemName(item) {
  return `${item.title}${item.summary ? ` (${item.summary})` : ''}, ${item.subject?.title || ''}, ${itemPlace(item)}`;
}

function itemPlace(item) {
  const what = item.kind === 'request' && item.request_id ? `request ${item.request_id}` : `step ${item.step_id}`;
  const at = item.returned?.at || item.received_at || item.viewed_at;
  const when = item.returned?.at ? 'returned' : item.received_at ? 'received' : 'viewed';
  return at ? `${what}, ${when} ${formatDateTime(at)}` : what;
}

// In its scrolling region: at 320 px the Actions column is reached by scrolling the table, not the page.
function folderItems(id, key, caption, folder, canResume) {
  return scrollRegion(caption, html`<table class="govuk-table" id="${id}">
    <caption class="govuk-table__caption govuk-table__caption--m">${caption}</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">
      <th scope="col" class="govuk-table__header">Type</th>
      <th scope="col" class="govuk-table__header">Subject</th>
      <th scope="col" class="govuk-table__header">Title</th>
      <th scope="col" class="govuk-table__header">${key === 'recently_viewed' ? 'Viewed' : 'Received'}</th>
      ${key === 'recently_viewed' ? '' : html`<th scope="col" class="govuk-table__header">Due</th>`}
      <th scope="col" class="govuk-table__header">Actions</th>
    </tr></thead>
    <tbody class="govuk-table__body">${folder.items.map(
      (item) => html`<tr class="govuk-table__row">
        <td class="govuk-table__cell">${item.kind === 'request' ? 'Request' : 'Work step'}</td>
        <td class="govuk-table__cell">${item.restricted ? item.subject?.title || item.subject?.name || '' : subjectLink(item.subject)}</td>
        <td class="govuk-table__cell">${item.restricted ? restrictedTitle(item) : html`<a class="govuk-link" href="#/steps/${item.step_id}">${item.title}<span class="govuk-visually-hidden"> (${itemPlace(item)})</span></a>${summaryLine(item)}`}
          ${item.overdue ? tag('Overdue', 'red') : ''}
          ${item.kind === 'request' && !item.restricted ? requestLines(item) : ''}</td>
        <td class="govuk-table__cell">${formatDateTime(item.returned?.at || item.received_at || item.viewed_at)}</td>
        ${key === 'recently_viewed' ? '' : html`<td class="govuk-table__cell">${formatDateTime(item.due_at)}</td>`}
        <td class="govuk-table__cell">${item.restricted ? '' : html`<div class="app-table-actions">
          ${canResume && key !== 'recently_viewed' && key !== 'current_work'
            ? html`<button type="button" class="govuk-button govuk-button--secondary" data-resume="${item.step_id}" data-kind="${item.kind}">
                Resume work<span class="govuk-visually-hidden">: ${itemName(item)}</span></button>`
            : ''}
          <a class="govuk-link" href="#/steps/${item.step_id}?assign=1">Assign<span class="govuk-visually-hidden">: ${itemName(item)}</span></a>
        </div>`}</td>
      </tr>`,
    )}</tbody>
  </table>`);
}

export async function workviewPage({ app, query, isCurrent }) {
  const owner = Object.fromEntries(['team_id', 'worker_id', 'queue'].filter((k) => query[k]).map((k) => [k, query[k]]));
  const folderKey = FOLDERS.includes(query.folder) ? query.folder : '';
  // Newest first, as Mosaic shows a workview; oldest first for a queue worked in turn, where what came
  // first falls due first. Kept in the folders' paging links.
  const order = query.order === 'oldest' ? 'oldest' : '';
  const kept = { ...owner, ...(order ? { order } : {}) };
  const ownAsked = !Object.keys(owner).length && !folderKey;
  // A manager's own workview also lists the leavers whose folders still hold work (seed 001: their
  // folders cleaned up), asked at the same time.
  const [view, leavers, caseloads] = await Promise.all([
    get('/api/v1/workview', { ...kept, folder: folderKey, cursor: folderKey ? query.cursor : undefined }),
    ownAsked && session.hasRole(...MANAGER_ROLES) ? get('/api/v1/leavers').catch(() => null) : null,
    // And how many people are still allocated to a key worker who has left, for those who allocate:
    // a count names no one, so opening the workview reads no one's record.
    ownAsked && session.hasRole(...ALLOCATOR_ROLES) ? get('/api/v1/leavers/allocations', { count_only: 'true' }).catch(() => null) : null,
  ]);
  if (!isCurrent()) return;
  const own = view.owner?.kind === 'worker' && !query.worker_id && !folderKey;
  const heading = own ? 'Your workview' : `Workview: ${view.owner?.name || ''}`;
  document.title = `${heading} - Tessera`;
  const queues = view.queues || [];
  // A team and a virtual worker may share a name (System Support): the kind tells them apart.
  const queueName = (q) =>
    queues.filter((o) => o.name === q.name).length > 1 ? `${q.name} (${q.kind === 'team' ? 'team' : q.kind === 'virtual_worker' ? 'virtual worker' : q.kind})` : q.name;
  render(
    app,
    html`<h1 class="govuk-heading-l">${heading}</h1>
    ${!own ? html`<p class="govuk-body"><a class="govuk-link" href="#/">Back to your workview</a></p>` : ''}
    ${queues.length
      ? html`<h2 class="govuk-heading-m">Queues you work</h2>
        <ul class="govuk-list" id="queues">${queues.map(
          (q) => html`<li><a class="govuk-link" href="#/?${queueQuery(q)}">${queueName(q)}</a>:
            incoming work ${q.counts?.incoming_work ?? 0}, incoming requests ${q.counts?.incoming_requests ?? 0},
            current work ${q.counts?.current_work ?? 0}</li>`,
        )}</ul>`
      : ''}
    ${own && leavers?.items?.length
      ? html`<h2 class="govuk-heading-m">Leavers' folders</h2>
        <p class="govuk-body">These workers have left, and work in their folders is seen by no one until it is moved: open a leaver's workview and assign each item to a colleague.</p>
        <ul class="govuk-list" id="leavers">${leavers.items.map(
          (l) => html`<li><a class="govuk-link" href="#/?worker_id=${encodeURIComponent(l.worker_id)}">${l.name}</a>:
            incoming work ${l.counts?.incoming_work ?? 0}, incoming requests ${l.counts?.incoming_requests ?? 0},
            current work ${l.counts?.current_work ?? 0}</li>`,
        )}</ul>`
      : ''}
    ${own && caseloads?.count
      ? html`<h2 class="govuk-heading-m">Leavers' caseloads</h2>
        <p class="govuk-body" id="leavers-caseloads-count">${caseloads.count === 1 ? '1 person is' : `${caseloads.count} people are`} still allocated to a key worker who has left.
          <a class="govuk-link" href="#/leavers/caseloads">See whom, to allocate them a current key worker</a></p>`
      : ''}
    ${folderKey ? html`<p class="govuk-body"><a class="govuk-link" href="#/?${new URLSearchParams(kept)}">All folders</a></p>` : ''}
    <p class="govuk-body" id="workview-order">${order ? 'Oldest first.' : 'Newest first.'}
      <a class="govuk-link" href="#/?${new URLSearchParams({ ...owner, ...(folderKey ? { folder: folderKey } : {}), ...(order ? {} : { order: 'oldest' }) })}">${order ? 'Show newest first' : 'Show oldest first'}</a></p>
    ${FOLDERS.filter((key) => !folderKey || key === folderKey).map((key) => (view.folders[key] ? folderTable(key, view.folders[key], true, kept) : ''))}`,
  );
  app.querySelectorAll('[data-resume]').forEach((b) =>
    b.addEventListener('click', async () => {
      // A request on a step already finished (a CP-IS notification to the key worker, once the
      // safeguarding admin has finished the follow-up): nothing to resume, the request is acted on
      // from the step's page, where the request's link leads too.
      let closed = false;
      const step = await attempt(() =>
        post(`/api/v1/steps/${b.dataset.resume}/resume`).catch((error) => {
          if (b.dataset.kind === 'request' && error instanceof ApiError && error.code === 'step_closed') closed = true;
          else throw error;
        }),
      );
      if (closed) return go(`/steps/${b.dataset.resume}`);
      if (!step) return;
      notify(`${step.heading || step.title} is in your Current work.`);
      go(`/steps/${step.id}`);
    }),
  );
}

// The people still allocated to a key worker who has left (seed 002's movers and leavers): their CP-IS
// work goes to no one until they are allocated a current key worker. Each listing is audited.
export async function leaversCaseloadsPage({ app, isCurrent }) {
  const list = await get('/api/v1/leavers/allocations');
  if (!isCurrent()) return;
  document.title = "Leavers' caseloads - Tessera";
  render(
    app,
    html`<a class="govuk-back-link" href="#/">Back to your workview</a>
    <h1 class="govuk-heading-l">Leavers' caseloads</h1>
    <p class="govuk-body">These people's key worker has left the council: CP-IS work about them goes to no one until they are allocated a current key worker. Open each record to allocate one and end the old allocation.${list.more ? ` The first ${list.items.length} of ${list.count} are listed.` : ''}</p>
    ${list.items.length
      ? scrollRegion(`Allocated to a key worker who has left (${list.count})`, html`<table class="govuk-table" id="leavers-caseloads">
          <caption class="govuk-table__caption govuk-table__caption--m">Allocated to a key worker who has left (${list.count})</caption>
          <thead class="govuk-table__head"><tr class="govuk-table__row">
            <th scope="col" class="govuk-table__header">Person</th><th scope="col" class="govuk-table__header">Service</th>
            <th scope="col" class="govuk-table__header">Key worker who has left</th><th scope="col" class="govuk-table__header">Allocated since</th>
          </tr></thead>
          <tbody class="govuk-table__body">${list.items.map(
            (a) => html`<tr class="govuk-table__row">
              <td class="govuk-table__cell"><a class="govuk-link" href="#/people/${encodeURIComponent(a.person_id)}">${a.title}</a></td>
              <td class="govuk-table__cell">${a.service}</td>
              <td class="govuk-table__cell">${a.worker_name || `Worker ${a.worker_id}`}</td>
              <td class="govuk-table__cell">${formatDate(a.start_date)}</td>
            </tr>`,
          )}</tbody></table>`)
      : html`<p class="govuk-body">No one: every allocated key worker is a current worker.</p>`}`,
  );
}
