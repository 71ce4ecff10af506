// The signed-in worker's notices (GET /api/v1/notices), newest first: what each is about (and how
// often it happened, when more than once), when it came, whether it has been read, and its page;
// marking one read (POST /api/v1/notices/{id}/read).
import { get, post } from '../api.js';
import { formatDateTime, html, render, table, tag } from '../html.js';
import { attempt } from '../forms.js';
import { go, notify, refreshNoticeCount } from '../main.js';

// A notice's link is a page of the web UI (/steps/123, /people/456): here, its route in the fragment.
export function noticeHref(link) {
  return /^\/[A-Za-z0-9/_-]*$/.test(link || '') ? `#${link}` : '#/';
}

// What a notice is about and when it came, in words: the words that tell apart, for a screen reader,
// two notices of the same title (two 'New request: Pass to MASH Manager' about different steps).
function noticeAbout(n) {
  const [, kind, id] = /^\/(steps|people|organisations)\/(\d+)/.exec(n.link || '') || [];
  const what = { steps: 'step', people: 'person', organisations: 'organisation' }[kind];
  return `${what ? `${what} ${id}, ` : ''}received ${formatDateTime(n.created_at)}`;
}

export async function noticesPage({ app, query, isCurrent }) {
  const notices = await get('/api/v1/notices', { limit: 50, cursor: query.cursor });
  if (!isCurrent()) return;
  document.title = 'Notices - Tessera';
  const items = notices.items || [];
  render(
    app,
    html`<h1 class="govuk-heading-l">Notices</h1>
    <p class="govuk-body" id="notices-unread">${notices.unread === 1 ? '1 unread notice' : `${notices.unread} unread notices`}</p>
    ${table(
      'Your notices, newest first',
      ['Notice', 'When', 'Status', 'Action'],
      items.map((n) => [
        // One notice for what happened over and over (a worker's attempts on a restricted record in a
        // day), saying how often.
        html`<a class="govuk-link" href="${noticeHref(n.link)}">${n.title}<span class="govuk-visually-hidden"> (${noticeAbout(n)})</span></a>${n.occurrences > 1 ? ` (${n.occurrences} times)` : ''}`,
        formatDateTime(n.created_at),
        n.read_at ? tag('Read', 'grey') : tag('Unread', 'blue'),
        n.read_at
          ? ''
          : html`<button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" data-read="${n.id}">
              Mark as read<span class="govuk-visually-hidden">: ${n.title} (${noticeAbout(n)})</span></button>`,
      ]),
      { empty: 'You have no notices.' },
    )}
    ${notices.next_cursor ? html`<p class="govuk-body"><a class="govuk-link" href="#/notices?cursor=${encodeURIComponent(notices.next_cursor)}">Older notices</a></p>` : ''}`,
  );
  app.querySelectorAll('[data-read]').forEach((b) =>
    b.addEventListener('click', async () => {
      const done = await attempt(() => post(`/api/v1/notices/${b.dataset.read}/read`));
      if (done === undefined) return;
      notify('Notice marked as read.');
      refreshNoticeCount();
      go(`/notices?read=${Date.now()}`);
    }),
  );
}
