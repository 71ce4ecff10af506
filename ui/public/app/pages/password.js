// Change your password: PUT /api/v1/session/password with the current one. The worker's other
// sessions end; this one goes on.
import { put } from '../api.js';
import { html, render } from '../html.js';
import { attempt, button, onSubmit, showErrors, textInput } from '../forms.js';
import { go, notify } from '../main.js';

export async function passwordPage({ app }) {
  document.title = 'Change your password - Tessera';
  render(
    app,
    html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
      <h1 class="govuk-heading-l">Change your password</h1>
      <form id="password-form" novalidate>
        ${textInput({ id: 'current-password', name: 'current_password', label: 'Current password', field: 'current_password', type: 'password', classes: 'govuk-!-width-one-half', autocomplete: 'current-password' })}
        ${textInput({ id: 'new-password', name: 'new_password', label: 'New password', field: 'new_password', type: 'password', classes: 'govuk-!-width-one-half', autocomplete: 'new-password', hint: 'At least 12 characters, not containing your username. A few unrelated words make a good one.' })}
        ${textInput({ id: 'confirm-password', name: 'confirm_password', label: 'New password again', field: 'confirm_password', type: 'password', classes: 'govuk-!-width-one-half', autocomplete: 'new-password' })}
        ${button('Change password')}
      </form>
    </div></div>`,
  );
  onSubmit(document.getElementById('password-form'), async (data) => {
    const current = data.get('current_password');
    const fresh = data.get('new_password');
    const errors = [];
    if (!current) errors.push({ field: 'current_password', message: 'Enter your current password' });
    if (!fresh) errors.push({ field: 'new_password', message: 'Enter a new password' });
    else if (data.get('confirm_password') !== fresh) errors.push({ field: 'confirm_password', message: 'Enter the same new password again' });
    if (errors.length) return showErrors(errors);
    const done = await attempt(() => put('/api/v1/session/password', { current_password: current, new_password: fresh }));
    if (!done) return;
    notify('Your password is changed. Any other place you were signed in is signed out.');
    go('/');
  });
}
