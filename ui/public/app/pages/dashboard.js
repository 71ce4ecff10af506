// The front-door dashboard (seed 000): the Front Door Consultation work as it stands now (started
// today and this week, the open ones by where they wait, the oldest, the CP-IS Worker's queue) and
// over a period (finished by outcome and by source, the time from start to decision and to finish).
// Every figure is the reporting daemon's (GET /api/v1/reports/front-door-dashboard).
import { ApiError, get } from '../api.js';
import { formatDate, formatDateTime, html, render, summaryList, table } from '../html.js';
import { attempt, button, onSubmit, showErrors } from '../forms.js';
import { go } from '../main.js';
import { barChart, periodFields, readPeriod, reportsNav } from './reports.js';

const PATH = '/api/v1/reports/front-door-dashboard';

// A span of seconds as a manager reads it: "under a minute", "3 hours 20 minutes", "2 days 4 hours".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return 'None in the period';
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return 'Under a minute';
  const hours = Math.floor(minutes / 60);
  if (hours < 1) return plural(minutes, 'minute');
  const days = Math.floor(hours / 24);
  if (days < 1) return [plural(hours, 'hour'), minutes % 60 ? plural(minutes % 60, 'minute') : ''].filter(Boolean).join(' ');
  return [plural(days, 'day'), hours % 24 ? plural(hours % 24, 'hour') : ''].filter(Boolean).join(' ');
}

// One figure in a card: its title, the number, and a line under it.
function figure(id, title, value, detail) {
  return html`<div class="govuk-grid-column-one-quarter">
    <div class="govuk-summary-card app-figure" id="${id}">
      <div class="govuk-summary-card__title-wrapper"><h3 class="govuk-summary-card__title">${title}</h3></div>
      <div class="govuk-summary-card__content">
        <p class="govuk-heading-xl govuk-!-margin-bottom-1 app-figure__value">${value}</p>
        <p class="govuk-body-s govuk-!-margin-bottom-0">${detail}</p>
      </div>
    </div>
  </div>`;
}

function periodForm(start, end) {
  return html`<form id="period-form" novalidate>
    ${periodFields(start, end)}
    ${button('Show figures', { name: 'then', value: 'show' })}
  </form>`;
}

function nowPart(d) {
  const open = d.open;
  const oldest = open.oldest;
  const queue = d.cpis_queue;
  return html`<h2 class="govuk-heading-l">Now</h2>
    <p class="govuk-body" id="as-of">As of ${formatDateTime(d.as_of)}.</p>
    <div class="govuk-grid-row">
      ${figure('figure-started-today', 'Started today', d.started.today, `Consultations started on ${formatDate(d.today)}`)}
      ${figure('figure-started-this-week', 'Started this week', d.started.this_week, `Since Monday ${formatDate(d.week_start)}`)}
      ${figure('figure-open', 'Open', open.total, oldest ? `Oldest started ${duration(oldest.age_seconds).toLowerCase()} ago` : 'None open')}
      ${figure('figure-cpis-queue', `${queue.title} queue`, queue.count, queue.count ? `Oldest waiting ${duration(queue.oldest_age_seconds).toLowerCase()}` : 'Nothing waiting')}
    </div>
    ${table(
      'Open consultations by where they wait',
      ['Where it waits', 'Consultations', 'Oldest waiting since'],
      open.by_stage.map((s) => [s.title, String(s.count), s.oldest_started_at ? `${formatDateTime(s.oldest_started_at)} (${duration(s.oldest_age_seconds).toLowerCase()})` : '']),
    )}
    <h3 class="govuk-heading-m">Oldest open consultation</h3>
    ${oldest
      ? html`<div id="oldest-open">${summaryList([
          ['Consultation', html`<a class="govuk-link" href="#/steps/${oldest.step_id}">${oldest.step_title} : ${oldest.organisation_name} (${oldest.organisation_id})</a>`],
          ['Started', `${formatDateTime(oldest.started_at)} (${duration(oldest.age_seconds).toLowerCase()} ago)`],
          ['Where it waits', oldest.stage_title],
        ])}</div>`
      : html`<p class="govuk-body" id="oldest-open">No consultation is open.</p>`}`;
}

function periodPart(d) {
  const f = d.finished;
  const p = d.parameters;
  const t = d.times;
  return html`<h2 class="govuk-heading-l">In the period</h2>
    <p class="govuk-body" id="period">From ${formatDate(p.start)} to ${formatDate(p.end)}: ${d.started.in_period} started, ${f.total} finished.
      See them in <a class="govuk-link" href="#/reports/consultations-in-period?start=${p.start}&end=${p.end}">Consultations in period</a>.</p>
    <div class="govuk-grid-row">
      <div class="govuk-grid-column-one-half">
        ${barChart('dashboard-by-outcome', 'Finished consultations by outcome', [
          { label: 'Finished', count: f.total },
          ...f.by_outcome.map((o) => ({ label: o.title, count: o.count })),
        ])}
      </div>
      <div class="govuk-grid-column-one-half">
        ${f.by_source.length
          ? barChart('dashboard-by-source', 'Finished consultations by source of contact', f.by_source.map((s) => ({ label: s.title, count: s.count })))
          : html`<h3 class="govuk-heading-s" id="dashboard-by-source">Finished consultations by source of contact</h3><p class="govuk-body">None finished in the period.</p>`}
      </div>
    </div>
    ${table(
      'Time taken, of the consultations finished in the period',
      ['From the start of the step to', 'Consultations', 'Median', 'Longest'],
      [
        ['The decision (section 2 completed)', String(t.to_decision.count), duration(t.to_decision.median_seconds), duration(t.to_decision.longest_seconds)],
        ['Its finish (Consultation complete)', String(t.to_finish.count), duration(t.to_finish.median_seconds), duration(t.to_finish.longest_seconds)],
      ],
    )}`;
}

export async function dashboardPage({ app, query, isCurrent }) {
  const { start = '', end = '' } = query;
  // A period in the address that the API refuses (a link kept, an address typed) is shown as one
  // typed into the form is: the figures of now, and the form with each fault next to its field.
  let d;
  let refused = null;
  try {
    d = await get(PATH, { start, end });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    refused = error;
    d = await get(PATH, {});
  }
  if (!isCurrent()) return;
  document.title = 'Front door dashboard - Tessera';
  render(
    app,
    html`${reportsNav('dashboard')}
    <span class="govuk-caption-l">Reports</span>
    <h1 class="govuk-heading-l">Front door dashboard</h1>
    <p class="govuk-body">The Front Door Consultation work now, and over a period (this week unless you choose another).</p>
    <div id="dashboard">${nowPart(d)}</div>
    ${refused ? periodForm(start, end) : periodForm(d.parameters.start, d.parameters.end)}
    <div id="dashboard-period">${refused ? '' : periodPart(d)}</div>`,
  );
  if (refused) showErrors(refused.errors);
  const form = document.getElementById('period-form');
  onSubmit(form, async () => {
    const { start: s, end: e, faults } = readPeriod(form);
    // A period refused leaves no period figures on the page: the last period's would read as its.
    const dropPeriod = () => document.getElementById('dashboard-period')?.replaceChildren();
    if (faults.length) {
      dropPeriod();
      return showErrors(faults);
    }
    // Checked here first so that a bad period is shown next to its field, not on an error page.
    const ok = await attempt(() => get(PATH, { start: s, end: e }));
    if (ok) go(`/reports/front-door-dashboard?start=${s}&end=${e}`);
    else dropPeriod();
  });
}
