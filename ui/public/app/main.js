// Tessera's web UI: a page for each route (#/...), each drawn from the API's answers. Links are
// routes in the fragment, so that one page serves them all; a path such as /people/1000001 (a
// notice's link) is served the same page by the gateway and moved into the fragment below.
import { ApiError, api, session, whenSignedOut } from './api.js';
import { forgetAllDrafts, keepUnsavedWork, noteSessionEndedFor, whileShown } from './drafts.js';
import { html, render } from './html.js';
import { loginPage } from './pages/login.js';
import { leaversCaseloadsPage, workviewPage } from './pages/workview.js';
import { organisationAddPage, organisationsPage, organisationPage } from './pages/organisations.js';
import { stepDeletePage, stepPage } from './pages/step.js';
import { caseNoteRemovePage, peoplePage, personPage } from './pages/people.js';
import { personAddPage, personBirthPage, personDetailsPage } from './pages/person_forms.js';
import { REVIEW_ROLES, restrictionPage, restrictionReviewsPage } from './pages/restriction.js';
import { reportPage } from './pages/reports.js';
import { dashboardPage } from './pages/dashboard.js';
import { auditPage } from './pages/audit.js';
import { noticesPage } from './pages/notices.js';
import { cpisErrorsPage } from './pages/cpis.js';
import { familyContextPage, familyContextPersonPage } from './pages/family_context.js';
import { passwordPage } from './pages/password.js';
import { WORKER_ADMIN_ROLES, newWorkerPage, workerPage, workersPage } from './pages/workers.js';
import { RETENTION_ROLES, retentionDuePage } from './pages/retention.js';
import { disposalPage } from './pages/disposal.js';
import { supportPage } from './pages/support.js';

const REPORT_ROLES = ['mash-manager', 'team-manager', 'head-of-service', 'director', 'performance-analyst', 'admin', 'system-support'];
const AUDIT_ROLES = ['auditor', 'admin'];
const CPIS_ERROR_ROLES = ['system-support'];

const routes = [
  { path: /^\/login$/, page: loginPage, open: true },
  { path: /^\/$/, page: workviewPage, nav: 'workview' },
  { path: /^\/leavers\/caseloads$/, page: leaversCaseloadsPage, nav: 'workview' },
  { path: /^\/organisations$/, page: organisationsPage, nav: 'organisations' },
  { path: /^\/organisations\/new$/, page: organisationAddPage, nav: 'organisations' },
  { path: /^\/organisations\/(\d+)$/, page: organisationPage, nav: 'organisations' },
  { path: /^\/steps\/(\d+)$/, page: stepPage, nav: 'workview' },
  { path: /^\/steps\/(\d+)\/delete$/, page: stepDeletePage, nav: 'workview' },
  { path: /^\/people$/, page: peoplePage, nav: 'people' },
  { path: /^\/people\/new$/, page: personAddPage, nav: 'people' },
  { path: /^\/people\/(\d+)$/, page: personPage, nav: 'people' },
  { path: /^\/people\/(\d+)\/details$/, page: personDetailsPage, nav: 'people' },
  { path: /^\/people\/(\d+)\/birth$/, page: personBirthPage, nav: 'people' },
  { path: /^\/people\/(\d+)\/restriction$/, page: restrictionPage, nav: 'people' },
  { path: /^\/restrictions$/, page: restrictionReviewsPage, nav: 'restrictions' },
  { path: /^\/people\/(\d+)\/case-notes\/(\d+)\/remove$/, page: caseNoteRemovePage, nav: 'people' },
  { path: /^\/reports\/consultations-in-period$/, page: reportPage, nav: 'reports' },
  { path: /^\/reports\/front-door-dashboard$/, page: dashboardPage, nav: 'reports' },
  { path: /^\/audit$/, page: auditPage, nav: 'audit' },
  { path: /^\/retention$/, page: retentionDuePage, nav: 'retention' },
  { path: /^\/people\/(\d+)\/disposal$/, page: disposalPage, nav: 'retention' },
  { path: /^\/notices$/, page: noticesPage, nav: 'notices' },
  { path: /^\/cpis\/errors$/, page: cpisErrorsPage, nav: 'cpis-errors' },
  { path: /^\/family-context$/, page: familyContextPage, nav: 'family-context' },
  { path: /^\/family-context\/people\/(\d+)$/, page: familyContextPersonPage, nav: 'family-context' },
  { path: /^\/password$/, page: passwordPage, nav: 'password' },
  { path: /^\/support$/, page: supportPage, nav: 'support' },
  { path: /^\/workers$/, page: workersPage, nav: 'workers' },
  { path: /^\/workers\/new$/, page: newWorkerPage, nav: 'workers' },
  { path: /^\/workers\/(\d+)$/, page: workerPage, nav: 'workers' },
];

const app = document.getElementById('app');
let flash = null;

// A message for the next page drawn (e.g. "Request sent"), shown in a success banner; one that tells
// of something done that did not go as hoped (a CP-IS notification sent again and refused again) in
// the Design System's neutral 'Important' banner ({ important: true }).
export function notify(message, { important = false } = {}) {
  flash = { message, important };
}

export function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = path;
}

function parseHash() {
  const text = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
  const [path, search = ''] = text.split('?');
  return { path, query: Object.fromEntries(new URLSearchParams(search)) };
}

function navItems() {
  const items = [
    { key: 'workview', href: '#/', text: 'Workview' },
    { key: 'organisations', href: '#/organisations', text: 'Organisations' },
    { key: 'people', href: '#/people', text: 'People' },
    { key: 'family-context', href: '#/family-context', text: 'Family Context' },
    { key: 'support', href: '#/support', text: 'Ask system support' },
  ];
  if (session.hasRole(...REPORT_ROLES)) items.push({ key: 'reports', href: '#/reports/front-door-dashboard', text: 'Reports' });
  if (session.hasRole(...AUDIT_ROLES)) items.push({ key: 'audit', href: '#/audit', text: 'Audit' });
  // Information governance's records due for disposal (seed 002), by the audit where they look.
  if (session.hasRole(...RETENTION_ROLES)) items.push({ key: 'retention', href: '#/retention', text: 'Retention' });
  if (session.hasRole(...CPIS_ERROR_ROLES)) items.push({ key: 'cpis-errors', href: '#/cpis/errors', text: 'CP-IS errors' });
  if (session.hasRole(...WORKER_ADMIN_ROLES)) items.push({ key: 'workers', href: '#/workers', text: 'Workers' });
  // Seed 002: restrictions "reviewed for validity on a regular basis", by system support.
  if (session.hasRole(...REVIEW_ROLES)) items.push({ key: 'restrictions', href: '#/restrictions', text: 'Restrictions' });
  return items;
}

function drawChrome(current) {
  const nav = document.getElementById('service-nav');
  const signedIn = document.getElementById('signed-in');
  const worker = session.worker;
  nav.hidden = !worker;
  signedIn.hidden = !worker;
  if (!worker) {
    // Signed out (or the session ended): nothing of the last worker's stays in the header, where
    // the next person at a shared PC would read their name and notices.
    render(document.getElementById('nav-list'), '');
    render(signedIn, '');
    return;
  }
  render(
    document.getElementById('nav-list'),
    navItems().map(
      (i) => html`<li class="govuk-service-navigation__item${i.key === current ? ' govuk-service-navigation__item--active' : ''}">
        <a class="govuk-service-navigation__link" href="${i.href}"${i.key === current ? html` aria-current="page"` : ''}>${
          i.key === current ? html`<strong class="govuk-service-navigation__active-fallback">${i.text}</strong>` : i.text
        }</a></li>`,
    ),
  );
  render(
    signedIn,
    html`<p class="govuk-body-s govuk-!-margin-0"><a class="govuk-link" href="#/notices" id="notices-link"${current === 'notices' ? html` aria-current="page"` : ''}>Notices<span id="notices-count"></span></a></p>
      <p class="govuk-body-s govuk-!-margin-0">Signed in as <strong>${worker.name}</strong> · <a class="govuk-link" href="#/password" id="password-link"${current === 'password' ? html` aria-current="page"` : ''}>Change password</a></p>
      <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" id="sign-out">Sign out</button>`,
  );
}

// The header's count of unread notices, asked for again on each page (a notice may have come since).
export async function refreshNoticeCount() {
  if (!session.token) return;
  let unread;
  try {
    unread = (await api('GET', '/api/v1/notices', { query: { unread_only: 'true', limit: 1 } })).unread;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return; /* the count waits for the next page; the page itself reports what is wrong */
  }
  const count = document.getElementById('notices-count');
  if (count) render(count, html` <strong class="govuk-tag${unread ? '' : ' govuk-tag--grey'}">${unread}<span class="govuk-visually-hidden"> unread</span></strong>`);
}

async function endSession() {
  try {
    await api('DELETE', '/api/v1/session');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    /* already signed out on the server (401): nothing more to end there */
  }
  session.end();
  // Signing out on purpose leaves nothing typed in the tab for whoever uses the PC next.
  forgetAllDrafts();
  notify('You have signed out.');
  go('/login');
}

let drawing = 0;
async function route() {
  // Unsaved work is the page's that is shown: a new page registers its own (drafts.js).
  whileShown(null);
  const { path, query } = parseHash();
  const match = routes.map((r) => ({ r, m: r.path.exec(path) })).find((x) => x.m);
  if (!session.token && !(match && match.r.open)) {
    const back = path === '/' || path === '/login' ? '' : `?next=${encodeURIComponent(location.hash.slice(1))}`;
    location.replace(`#/login${back}`);
    return;
  }
  drawChrome(match?.r.nav);
  refreshNoticeCount();
  const ticket = ++drawing;
  const message = flash;
  flash = null;
  if (!match) {
    // Drawn as any page is, so that the focus moves to its heading too.
    document.title = 'Page not found - Tessera';
    render(app, html`<h1 class="govuk-heading-l">Page not found</h1>
      <p class="govuk-body">There is no page at this address. Go to <a class="govuk-link" href="#/">your workview</a>.</p>`);
  } else {
    try {
      await match.r.page({ app, params: match.m.slice(1), query, isCurrent: () => ticket === drawing });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (ticket !== drawing) return;
      // The page's title says what its heading says, so that the tab and the history name the fault.
      const heading = error.status === 403 ? 'You cannot see this page' : error.status === 404 ? 'Not found' : 'Sorry, there is a problem';
      document.title = `${heading} - Tessera`;
      render(app, html`<h1 class="govuk-heading-l">${heading}</h1>
        <p class="govuk-body" id="page-error">${error.message}</p>
        <p class="govuk-body"><a class="govuk-link" href="#/">Back to your workview</a></p>`);
    }
  }
  if (ticket !== drawing) return;
  if (message) {
    const banner = document.createElement('div');
    banner.className = `govuk-notification-banner${message.important ? '' : ' govuk-notification-banner--success'}`;
    // Either reports the outcome of what the worker just did: announced as it is drawn.
    banner.setAttribute('role', 'alert');
    banner.setAttribute('aria-labelledby', 'banner-title');
    banner.tabIndex = -1;
    render(banner, html`<div class="govuk-notification-banner__header">
        <h2 class="govuk-notification-banner__title" id="banner-title">${message.important ? 'Important' : 'Success'}</h2>
      </div>
      <div class="govuk-notification-banner__content"><p class="govuk-notification-banner__heading">${message.message}</p></div>`);
    app.prepend(banner);
  }
  // A new page: focus moves to its heading, so a screen reader and the keyboard start there.
  const focusTarget = app.querySelector('.govuk-error-summary') || app.querySelector('h1');
  if (focusTarget && !app.contains(document.activeElement)) {
    focusTarget.tabIndex = -1;
    focusTarget.focus({ preventScroll: false });
  }
}

// A page asked for by its path (an e-mailed notice's link, /people/1000001): the gateway answers
// with this page for any of the UI's paths, and the route moves into the fragment, where the links
// of the pages keep it, so that the address stays one the gateway serves as a file.
if (location.pathname !== '/' && location.pathname !== '/index.html') {
  const fragment = location.hash.startsWith('#/') ? location.hash : `#${location.pathname}${location.search}`;
  history.replaceState(null, '', `/${fragment}`);
}

// The session ended under the worker (expired, or ended elsewhere): what the page holds unsaved is
// kept for them (drafts.js), and signing in again brings them back to the page they were on.
whenSignedOut((message, worker) => {
  keepUnsavedWork();
  noteSessionEndedFor(worker?.id);
  const { path } = parseHash();
  const back = path === '/' || path === '/login' ? '' : `&next=${encodeURIComponent(location.hash.slice(1))}`;
  go(`/login?expired=1${back}`);
});

// In-page links (the skip link, error summary links) move focus rather than change the route.
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main-content').focus();
});
document.addEventListener('click', (event) => {
  if (event.target.closest('#sign-out')) endSession();
});

window.addEventListener('hashchange', () => {
  if (location.hash === '' || location.hash.startsWith('#/')) route();
});
route();
