// The audit trail and the five audits of use (seed 002), for auditors and admins; each with a CSV
// download of the report.
import { download, get } from '../api.js';
import { formatDateTime, html, render, table } from '../html.js';
import { attempt, button, dateInput, onSubmit, readDates, select, showErrors, textInput } from '../forms.js';
import { go } from '../main.js';

const KINDS = [
  { value: 'unallocated-access', title: 'Access to records not allocated to the worker' },
  { value: 'own-or-connected-records', title: 'Access to own or connected records' },
  { value: 'third-party-access', title: 'Third-party access' },
  { value: 'leavers', title: 'Movers and leavers' },
  { value: 'dormant-accounts', title: 'Dormant accounts' },
];

// A record with a page of its own links to it; a worker's account (its administration) is named.
const RECORD_PAGES = { person: 'people', organisation: 'organisations' };

function recordLink(record) {
  if (!record?.id) return '';
  const page = RECORD_PAGES[record.kind];
  return page ? html`<a class="govuk-link" href="#/${page}/${record.id}">${record.kind} ${record.id}</a>` : `${record.kind} ${record.id}`;
}

export async function auditPage({ app, query, isCurrent }) {
  const q = { person_id: query.person_id, account_id: query.account_id, worker_id: query.worker_id, from: query.from, to: query.to };
  const [events, report] = await Promise.all([
    query.view === 'events' ? get('/api/v1/audit/events', { ...q, limit: 100 }) : null,
    query.kind ? get(`/api/v1/audit/reports/${encodeURIComponent(query.kind)}`, { from: query.from, to: query.to }) : null,
  ]);
  if (!isCurrent()) return;
  document.title = 'Audit - Tessera';
  render(
    app,
    html`<h1 class="govuk-heading-l">Audit</h1>
    <div class="govuk-grid-row">
      <div class="govuk-grid-column-one-half">
        <h2 class="govuk-heading-m">Audit reports</h2>
        <form id="report-form" novalidate>
          ${select({ id: 'kind', name: 'kind', label: 'Report', options: KINDS, value: query.kind || '' })}
          ${dateInput({ id: 'report-from', name: 'from', legend: 'From', subject: 'The first day', field: 'from', value: query.kind ? query.from || '' : '' })}
          ${dateInput({ id: 'report-to', name: 'to', legend: 'To', subject: 'The last day', field: 'to', value: query.kind ? query.to || '' : '' })}
          <div class="govuk-button-group">${button('Run report', { name: 'then', value: 'run' })}${button('Download CSV', { name: 'then', value: 'csv', secondary: true })}</div>
        </form>
      </div>
      <div class="govuk-grid-column-one-half">
        <h2 class="govuk-heading-m">Audit trail</h2>
        <form id="events-form" novalidate>
          ${textInput({ id: 'person-id', name: 'person_id', label: 'Person ID', value: query.person_id || '', classes: 'govuk-input--width-10' })}
          ${textInput({ id: 'account-id', name: 'account_id', label: 'Worker account ID', field: 'account_id', value: query.account_id || '', hint: 'What was done to a worker’s account: its roles, password, sign-in pause, end.', classes: 'govuk-input--width-10' })}
          ${textInput({ id: 'worker-id', name: 'worker_id', label: 'Worker ID', value: query.worker_id || '', hint: 'What a worker did.', classes: 'govuk-input--width-10' })}
          ${dateInput({ id: 'events-from', name: 'from', legend: 'From', subject: 'The first day', field: 'from', value: query.view === 'events' ? query.from || '' : '' })}
          ${dateInput({ id: 'events-to', name: 'to', legend: 'To', subject: 'The last day', field: 'to', value: query.view === 'events' ? query.to || '' : '' })}
          ${button('Show the trail')}
        </form>
      </div>
    </div>
    ${report
      ? table(
          `${report.title}: ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`,
          ['When', 'Finding', 'Worker', 'Record', 'Detail'],
          report.findings.map((f) => [formatDateTime(f.occurred_at), f.finding, `${f.worker?.name || ''} (${f.worker?.username || ''})`, recordLink(f.record), f.detail]),
          { empty: `${report.title}: nothing found in the period.` },
        )
      : ''}
    ${events
      ? table(
          'Audit trail',
          ['When', 'Worker', 'Action', 'Record', 'Summary', 'Reason given'],
          events.items.map((e) => [formatDateTime(e.occurred_at), e.worker?.username, e.action, recordLink(e.record), e.summary, e.reason]),
          { empty: 'No entries match.' },
        )
      : ''}`,
  );
  // The form's fields as the address's query (p), its dates as the API writes them, and the faults
  // of those that are not dates.
  const params = (form, data, extra) => {
    const { values, faults } = readDates(form);
    const p = new URLSearchParams(extra);
    for (const [k, v] of [...data.entries(), ...Object.entries(values)]) if (v && k !== 'then') p.set(k, String(v).trim());
    return { p, faults };
  };
  const reportForm = document.getElementById('report-form');
  onSubmit(reportForm, async (data, submitter) => {
    const { p, faults } = params(reportForm, data);
    const kind = p.get('kind');
    if (!kind) faults.unshift({ field: 'kind', message: 'Select a report' });
    if (faults.length) return showErrors(faults, reportForm);
    const range = { from: p.get('from') || undefined, to: p.get('to') || undefined };
    const path = `/api/v1/audit/reports/${encodeURIComponent(kind)}`;
    if (submitter?.value === 'csv') {
      // The API names the file for the audit and its period (audit-leavers_2026-01-01_2026-03-31.csv);
      // this name, the same, is for a browser that does not pass the API's on.
      const last = range.to || new Date().toISOString().slice(0, 10);
      await attempt(() => download(path, { ...range, format: 'csv' }, `audit-${kind}_${range.from || 'to'}_${last}.csv`));
      return;
    }
    const ok = await attempt(() => get(path, range));
    if (ok) go(`/audit?${p}`);
  });
  const eventsForm = document.getElementById('events-form');
  onSubmit(eventsForm, async (data) => {
    const { p, faults } = params(eventsForm, data, { view: 'events' });
    if (faults.length) return showErrors(faults, eventsForm);
    const { view, ...rest } = Object.fromEntries(p);
    const ok = await attempt(() => get('/api/v1/audit/events', { ...rest, limit: 1 }));
    if (ok && view) go(`/audit?${p}`);
  });
}
