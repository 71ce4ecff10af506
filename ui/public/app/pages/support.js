// Asking system support (seed 001): a request that is about no one's record (a competence test, a
// one-to-one or team session, folder clean-up, a development consultation, a new organisation) or
// about a colleague (a change of role). The request starts in the worker's Current work; they fill
// it in and send 'Action by system support' from there, as with every step. Requests about a
// person's record start from that record. Which a worker may start is the step definitions' rule.
import { get, post } from '../api.js';
import { html, render } from '../html.js';
import { attempt, button, choices, findWorkersInto, onSubmit, select, showErrors, textInput } from '../forms.js';
import { go, notify } from '../main.js';

function typeOptions(types) {
  return types.map((t) => ({ value: t.type, title: t.title }));
}

async function start(body, form) {
  const step = await attempt(() => post('/api/v1/steps', body, { idempotent: true }), { field: 'type', scope: form });
  if (!step) return;
  notify(`${step.title} started. It is in your Current work: fill it in and send it to system support.`);
  go(`/steps/${step.id}`);
}

export async function supportPage({ app }) {
  document.title = 'Ask system support - Tessera';
  const defs = await get('/api/v1/workflow/definitions');
  // A request to system support is a step type whose request goes to its queue.
  const toSupport = (d) => (d.requests || []).some((r) => r.to?.virtual === 'system-support');
  const mine = defs.items.filter((d) => d.you_may_start && toSupport(d));
  const about = (kind) => mine.filter((d) => (d.subjects || []).includes(kind));
  const general = about('none');
  const colleague = about('worker');
  const person = about('person');
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Ask system support</h1>
      <p class="govuk-body">Start the request, fill it in, and send it to the System Support queue from the step. You can follow it in your Current work.</p>
      ${
        general.length
          ? html`<form id="support-form" novalidate>
              ${choices({ id: 'support-type', name: 'type', legend: 'What do you need?', legendClass: 'govuk-fieldset__legend--m', field: 'type', options: typeOptions(general) })}
              ${button('Start request')}
            </form>`
          : ''
      }
      ${
        colleague.length
          ? html`<h2 class="govuk-heading-m">About a colleague</h2>
            <form id="support-colleague-form" novalidate>
              ${choices({ id: 'support-colleague-type', name: 'type', legend: 'What do you need?', field: 'type', options: typeOptions(colleague), small: true })}
              ${textInput({ id: 'support-colleague-find', name: 'q', label: "Find the colleague by name", field: 'q', classes: 'govuk-!-width-one-half' })}
              ${button('Find', { secondary: true, name: 'do', value: 'find' })}
              <p class="govuk-body" id="support-colleague-status" role="status"></p>
              ${select({ id: 'support-colleague', name: 'worker_id', label: 'Colleague', field: 'subject', options: [] })}
              ${button('Start request about the colleague', { name: 'do', value: 'start' })}
            </form>`
          : ''
      }
      ${
        person.length
          ? html`<h2 class="govuk-heading-m">About a person's record</h2>
            <p class="govuk-body">Start these from the person's record, found in <a class="govuk-link" href="#/people">People</a>:</p>
            <ul class="govuk-list govuk-list--bullet" id="support-person-types">${person.map((t) => html`<li>${t.title}</li>`)}</ul>`
          : ''
      }
      ${general.length || colleague.length || person.length ? '' : html`<p class="govuk-body" id="support-none">Your role does not start requests to system support. Ask your senior practitioner or team manager.</p>`}
    </div></div>`,
  );
  const form = document.getElementById('support-form');
  if (form)
    onSubmit(form, async (data) => {
      const type = data.get('type');
      if (!type) return showErrors([{ field: 'type', message: 'Select what you need' }], form);
      await start({ type }, form);
    });
  const other = document.getElementById('support-colleague-form');
  if (other)
    onSubmit(other, async (data, submitter) => {
      if (submitter?.value === 'find') {
        const q = data.get('q').trim();
        if (!q) return showErrors([{ field: 'q', message: "Enter part of the colleague's name" }], other);
        await findWorkersInto({ q, scope: other, list: document.getElementById('support-colleague'), status: document.getElementById('support-colleague-status'), listName: 'Colleague' });
        return;
      }
      const type = data.get('type');
      const id = data.get('worker_id');
      const missing = [];
      if (!type) missing.push({ field: 'type', message: 'Select what you need' });
      if (!id) missing.push({ field: 'subject', message: 'Find and select the colleague' });
      if (missing.length) return showErrors(missing, other);
      await start({ type, subject: { kind: 'worker', id } }, other);
    });
}
