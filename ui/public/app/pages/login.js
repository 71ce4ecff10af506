// Sign in: POST /api/v1/session, then the worker's workview (or the page they were sent from).
import { post, session } from '../api.js';
import { forgetDraftsNotOf, hasDrafts, sessionEndedFor } from '../drafts.js';
import { html, render } from '../html.js';
import { attempt, button, onSubmit, showErrors, textInput } from '../forms.js';
import { go } from '../main.js';

export async function loginPage({ app, query }) {
  document.title = 'Sign in - Tessera';
  render(
    app,
    // After the heading, which takes the focus: a screen reader reads on from there.
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Sign in to Tessera</h1>
      ${query.expired
        ? html`<div class="govuk-inset-text" id="session-ended">Your session has ended. Sign in again to carry on.${
            hasDrafts() ? ' What you had typed and not saved is kept in this tab, and put back in the form when you sign in again. If someone else signs in here instead, it is discarded.' : ''
          }</div>`
        : ''}
      <form id="login-form" novalidate>
        ${textInput({ id: 'username', name: 'username', label: 'Username', classes: 'govuk-!-width-one-half', autocomplete: 'username' })}
        ${textInput({ id: 'password', name: 'password', label: 'Password', type: 'password', classes: 'govuk-!-width-one-half', autocomplete: 'current-password' })}
        ${button('Sign in')}
      </form>
    </div></div>`,
  );
  onSubmit(document.getElementById('login-form'), async (data) => {
    const username = data.get('username').trim();
    const password = data.get('password');
    const missing = [];
    if (!username) missing.push({ field: 'username', message: 'Enter your username' });
    if (!password) missing.push({ field: 'password', message: 'Enter your password' });
    if (missing.length) return showErrors(missing);
    // A wrong username or password names no field: the summary links to the password.
    const answer = await attempt(() => post('/api/v1/session', { username, password }), { field: 'password' });
    if (!answer) return;
    session.start(answer.token, answer.worker);
    // Work kept when a session ended goes back to its own worker only; someone else signing in here
    // has it discarded, and starts at their own workview rather than the page the other was on.
    forgetDraftsNotOf(answer.worker.id);
    const ended = sessionEndedFor();
    const sameWorker = !ended || ended === answer.worker.id;
    go(sameWorker && query.next && query.next.startsWith('/') ? query.next : '/');
  });
}
