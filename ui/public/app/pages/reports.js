// 'Consultations in period' (seed 000): the period's consultations by source and by outcome, each
// with a bar chart and its table, by organisation, and the rows; CSV and XLSX downloads.
import { ApiError, download, get } from '../api.js';
import { html, render, table } from '../html.js';
import { attempt, button, dateInput, onSubmit, readDates, showErrors } from '../forms.js';
import { go } from '../main.js';

const PATH = '/api/v1/reports/consultations-in-period';
const ROWS_SHOWN = 1000;

// Bars as a list, each labelled with its count, so a screen reader reads label and count. A bar's
// width is in data-width (a percentage), which render() sets: the Content-Security-Policy refuses a
// style attribute in markup.
export function barChart(id, title, bars) {
  const top = Math.max(1, ...bars.map((b) => b.count));
  return html`<figure class="govuk-!-margin-0" id="${id}">
    <figcaption class="govuk-heading-s">${title}</figcaption>
    <ul class="app-bar-chart">${bars.map(
      (b) => html`<li class="app-bar-chart__item">
        <span class="govuk-body-s govuk-!-margin-0">${b.label}</span>
        <span class="app-bar-chart__bar"><span class="app-bar-chart__fill" data-width="${Math.round((b.count / top) * 80)}" aria-hidden="true"></span><span class="govuk-body-s govuk-!-margin-0 govuk-!-font-weight-bold">${b.count}</span></span>
      </li>`,
    )}</ul>
  </figure>`;
}

// The reports' own navigation, at the top of each: the dashboard and the report.
export function reportsNav(current) {
  const items = [
    { key: 'dashboard', href: '#/reports/front-door-dashboard', text: 'Front door dashboard' },
    { key: 'consultations-in-period', href: '#/reports/consultations-in-period', text: 'Consultations in period' },
  ];
  return html`<nav class="app-subnav" aria-label="Reports">
    <ul class="app-subnav__list">${items.map(
      (i) => html`<li class="app-subnav__item${i.key === current ? ' app-subnav__item--current' : ''}"><a class="govuk-link govuk-link--no-visited-state" href="${i.href}"${i.key === current ? html` aria-current="page"` : ''}>${i.text}</a></li>`,
    )}</ul>
  </nav>`;
}

// The period's two date fields, for the report and the dashboard alike.
export function periodFields(start, end) {
  return html`<div class="govuk-grid-row">
      <div class="govuk-grid-column-one-half">${dateInput({ id: 'start', name: 'start', legend: 'Period start', value: start })}</div>
      <div class="govuk-grid-column-one-half">${dateInput({ id: 'end', name: 'end', legend: 'Period end', value: end })}</div>
    </div>`;
}

// The period typed: { start, end } as the API takes them, or the faults to show (each date that is
// not one, or not given), every one at once.
export function readPeriod(form) {
  const { values, faults } = readDates(form);
  const given = new Set(faults.map((f) => f.field));
  if (!values.start && !given.has('start')) faults.push({ field: 'start', message: 'Enter the period start' });
  if (!values.end && !given.has('end')) faults.push({ field: 'end', message: 'Enter the period end' });
  faults.sort((a, b) => (a.field === b.field ? 0 : a.field === 'start' ? -1 : 1));
  return { start: values.start, end: values.end, faults };
}

function periodForm(start, end) {
  return html`<form id="period-form" novalidate>
    ${periodFields(start, end)}
    <div class="govuk-button-group">
      ${button('Run report', { name: 'then', value: 'run' })}
      ${button('Download CSV', { name: 'then', value: 'csv', secondary: true })}
      ${button('Download XLSX', { name: 'then', value: 'xlsx', secondary: true })}
    </div>
  </form>`;
}

function reportBody(r) {
  const o = r.by_outcome;
  const rows = r.rows;
  // The period's days as the API heads them (DD/MM/YYYY, as the seed's report does): shown as given.
  return html`<h2 class="govuk-heading-l">${r.heading}</h2>
    <p class="govuk-body govuk-!-font-weight-bold">${r.subheading}</p>
    <p class="govuk-body" id="report-period">Period start: ${r.period.start}<br>Period end: ${r.period.end}</p>
    <div class="govuk-grid-row"><div class="govuk-grid-column-full">
    <h3 class="govuk-heading-m">${r.by_source.title}</h3>
    ${barChart('chart-by-source', 'Consultations by source of contact', r.by_source.items.map((i) => ({ label: i.title, count: i.count })))}
    ${table(r.by_source.title, r.by_source.columns || ['Source of contact', 'Count'], r.by_source.items.map((i) => [i.title, String(i.count)]), { captionClass: 'govuk-visually-hidden', empty: 'No consultations in the period.' })}
    <h3 class="govuk-heading-m">${o.title}</h3>
    ${barChart('chart-by-outcome', 'Consultations by outcome', [
      { label: 'Total number of Consultations', count: o.total },
      { label: 'Further information given', count: o.further_information_given },
      { label: 'Referral to MASH', count: o.referral_to_mash },
    ])}
    ${table(o.title, o.columns || ['Total number of Consultations', 'Further information given', 'Referral to MASH'], [[String(o.total), String(o.further_information_given), String(o.referral_to_mash)]], { captionClass: 'govuk-visually-hidden' })}
    ${table(r.by_organisation.title, r.by_organisation.columns || ['Organisation name', 'Count'], r.by_organisation.items.map((i) => [html`<a class="govuk-link" href="#/organisations/${i.organisation_id}">${i.name}</a>`, String(i.count)]), { empty: 'No consultations in the period.' })}
    ${rows.total > rows.items.length ? html`<p class="govuk-body">The first ${rows.items.length} of ${rows.total} consultations are shown; the downloads have them all.</p>` : ''}
    ${table(
      rows.title,
      rows.columns || [],
      rows.items.map((x) => [
        x.organisation_id,
        x.organisation_name,
        // A consultation of the old system has its step ID but no work step here to open.
        x.imported ? x.step_id : html`<a class="govuk-link" href="#/steps/${x.step_id}">${x.step_id}</a>`,
        x.step_type,
        x.step_started_on || '',
        x.step_completed_on,
        x.consulted_on || '',
        x.source_title,
        x.referrer_name,
        x.referrer_relationship,
        x.outcomes_title,
      ]),
      { empty: 'No consultations in the period.', small: true },
    )}
    </div></div>`;
}

export async function reportPage({ app, query, isCurrent }) {
  const { start = '', end = '' } = query;
  // A period in the address that the API refuses (one that ends before it starts, or no date) is
  // shown as one typed into the form is: the form, with each fault in the error summary and next to
  // its field.
  let report = null;
  let refused = null;
  if (start && end) {
    try {
      report = await get(PATH, { start, end, format: 'json', limit: ROWS_SHOWN });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error;
      refused = error;
    }
  }
  if (!isCurrent()) return;
  document.title = 'Consultations in period - Tessera';
  render(
    app,
    html`${reportsNav('consultations-in-period')}
    <span class="govuk-caption-l">Reports</span>
    <h1 class="govuk-heading-l">Consultations in period</h1>
    <p class="govuk-body">Front Door Consultations completed in the period, from its first day to its last, both included.</p>
    ${periodForm(start, end)}
    ${report ? html`<div id="report-results">${reportBody(report)}</div>` : ''}`,
  );
  if (refused) showErrors(refused.errors);
  // A period refused leaves no figures on the page: the last period's, under the error, would read
  // as the new one's.
  const dropResults = () => document.getElementById('report-results')?.remove();
  const form = document.getElementById('period-form');
  onSubmit(form, async (data, submitter) => {
    const { start: s, end: e, faults } = readPeriod(form);
    if (faults.length) {
      dropResults();
      return showErrors(faults);
    }
    const format = submitter?.value;
    if (format === 'csv' || format === 'xlsx') {
      const got = await attempt(async () => {
        await download(PATH, { start: s, end: e, format }, `consultations-in-period_${s}_${e}.${format}`);
        return true;
      });
      if (!got) dropResults();
      return;
    }
    // Checked here first so that a bad period is shown next to its field, not on an error page.
    const ok = await attempt(() => get(PATH, { start: s, end: e, format: 'json', limit: 1 }));
    if (ok) go(`/reports/consultations-in-period?start=${s}&end=${e}`);
    else dropResults();
  });
}
