// Building pages from strings safely: every value put into a template is escaped unless it is
// markup made by html`` itself, so a name or note typed by a worker can never become markup.

import { OFFICE_TZ } from './clock.js';

class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export function escape(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function piece(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === null || value === undefined || value === false) return '';
  return escape(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += piece(v) + strings[i + 1];
  });
  return new Markup(out);
}

// Markup from a trusted constant (never from data).
export function raw(text) {
  return new Markup(text);
}

export function render(element, markup) {
  element.innerHTML = piece(markup);
  // Sizes (a bar chart's bars) go in through the DOM: the Content-Security-Policy refuses style
  // attributes in markup, not styles set by a script of the page's own.
  for (const el of element.querySelectorAll('[data-width]')) el.style.width = `${Number(el.dataset.width) || 0}%`;
}

// Dates as the seed shows them: 01/12/2022 and 01/12/2022 13:57, on the office clock. A day the API
// has already written so (the report's period) stays as it is: the browser's Date reads 01/12/2026
// month first, as 12 January.
const TZ = OFFICE_TZ;
export function formatDate(value) {
  if (!value) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-');
    return `${d}/${m}/${y}`;
  }
  if (/^\d{2}\/\d{2}\/\d{4}$/.test(value)) return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString('en-GB', { timeZone: TZ });
}

export function formatDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const day = date.toLocaleDateString('en-GB', { timeZone: TZ });
  const time = date.toLocaleTimeString('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
  return `${day} ${time}`;
}

// A summary list (key / value rows) from [label, value] pairs; empty values show as "Not recorded".
export function summaryList(rows) {
  return html`<dl class="govuk-summary-list">${rows.map(
    ([key, value]) => html`<div class="govuk-summary-list__row">
      <dt class="govuk-summary-list__key">${key}</dt>
      <dd class="govuk-summary-list__value">${value === '' || value === null || value === undefined ? 'Not recorded' : value}</dd>
    </div>`,
  )}</dl>`;
}

// A table's own region, which scrolls sideways when the table is wider than the screen, so that the
// page does not (WCAG 1.4.10: at 320 px only the table scrolls); the keyboard reaches it (tabindex 0)
// to scroll it, and a screen reader hears it named (label: the table's caption, or more where two
// tables share one, such as each request's Status history).
export function scrollRegion(label, markup) {
  return html`<div class="app-table-scroll" role="region" aria-label="${label}" tabindex="0">${markup}</div>`;
}

// A table with a caption, column headings and rows of cells (text or markup), in its scrolling
// region (label names the region where the caption is not enough). A wide one (small) has its text
// a size smaller.
export function table(caption, headings, rows, { empty = 'None.', captionClass = 'govuk-table__caption--m', small = false, label } = {}) {
  if (!rows.length) {
    return html`<h2 class="govuk-heading-m">${caption}</h2><p class="govuk-body">${empty}</p>`;
  }
  const markup = html`<table class="govuk-table${small ? ' app-table--small' : ''}">
    <caption class="govuk-table__caption ${captionClass}">${caption}</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">${headings.map(
      (h) => html`<th scope="col" class="govuk-table__header">${h}</th>`,
    )}</tr></thead>
    <tbody class="govuk-table__body">${rows.map(
      (cells) => html`<tr class="govuk-table__row">${cells.map((c) => html`<td class="govuk-table__cell">${c}</td>`)}</tr>`,
    )}</tbody>
  </table>`;
  return scrollRegion(label || caption, markup);
}

// What a worker typed, shown among the page's own words: isolated, in the direction of its own
// letters (an Arabic note runs right to left, and its full stop or bracket stays at its end); a
// note of several lines keeps its line breaks (pre) and, being a block, aligns to its side.
export function userText(value, { pre = false } = {}) {
  return pre ? html`<div class="app-pre" dir="auto">${value}</div>` : html`<bdi>${value}</bdi>`;
}

export function tag(text, colour) {
  return html`<strong class="govuk-tag${colour ? ` govuk-tag--${colour}` : ''}">${text}</strong>`;
}

// A work step's state as a tag, in words (the API's are codes: 'started', 'completed').
const STEP_STATES = { incoming: ['Waiting', 'grey'], started: ['Started', 'blue'], reopened: ['Reopened', 'blue'], completed: ['Completed', 'green'], cancelled: ['Cancelled', 'grey'] };
export function stepStateTag(state) {
  const [text, colour] = STEP_STATES[state] || [state, 'blue'];
  return tag(text, colour);
}
