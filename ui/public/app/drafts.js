// Work typed into a step's section and not yet saved, kept so that it is not lost: when the session
// ends as the worker saves (expired, or ended elsewhere), and when someone else saved the section
// since the worker opened it and they ask to see that version. Kept in sessionStorage, never
// localStorage: it stays with this tab and goes when the tab closes, rather than waiting on a shared
// PC's disk for the next person. A draft is keyed by step and section, names the worker whose it is,
// and goes back to that worker only: another who signs in here has every draft not theirs discarded.
// It is forgotten once saved, or discarded by the worker.

const PREFIX = 'tessera.draft.';
// The worker whose session ended (their id): signing in as someone else discards their drafts and
// does not follow the 'next' page that was theirs.
const ENDED_KEY = 'tessera.session-ended-for';

function key(stepId, section) {
  return `${PREFIX}${stepId}.${section}`;
}

function keys() {
  const found = [];
  for (let i = 0; i < sessionStorage.length; i++) {
    const k = sessionStorage.key(i);
    if (k && k.startsWith(PREFIX)) found.push(k);
  }
  return found;
}

function read(k) {
  try {
    const draft = JSON.parse(sessionStorage.getItem(k) || 'null');
    return draft && typeof draft === 'object' ? draft : null;
  } catch {
    return null;
  }
}

// draft: { worker, revision (the section's, as the form was read at), why ('session-ended' or
// 'section-changed'), values (formValues) }.
export function keepDraft(stepId, section, draft) {
  sessionStorage.setItem(key(stepId, section), JSON.stringify({ ...draft, keptAt: new Date().toISOString() }));
}

// The worker's draft of this section, or null; one of another worker's is discarded on sight.
export function draftFor(stepId, section, workerId) {
  const k = key(stepId, section);
  const draft = read(k);
  if (!draft) return null;
  if (draft.worker !== workerId || !Array.isArray(draft.values)) {
    sessionStorage.removeItem(k);
    return null;
  }
  return draft;
}

export function hasDrafts() {
  return keys().length > 0;
}

export function forgetDraft(stepId, section) {
  sessionStorage.removeItem(key(stepId, section));
}

// On signing in: only the drafts of the worker now signed in are kept.
export function forgetDraftsNotOf(workerId) {
  for (const k of keys()) if (read(k)?.worker !== workerId) sessionStorage.removeItem(k);
}

// On signing out: nothing typed is left in the tab.
export function forgetAllDrafts() {
  for (const k of keys()) sessionStorage.removeItem(k);
  sessionStorage.removeItem(ENDED_KEY);
}

// Whose session ended, for the sign-in that follows (sessionEndedFor: the id, or null; asked once).
export function noteSessionEndedFor(workerId) {
  if (workerId) sessionStorage.setItem(ENDED_KEY, workerId);
}

export function sessionEndedFor() {
  const id = sessionStorage.getItem(ENDED_KEY);
  sessionStorage.removeItem(ENDED_KEY);
  return id;
}

// What a page holds unsaved when the session ends: the page registers how to keep it while it is
// shown, and main.js asks for it (keepUnsavedWork) before it leaves for the sign-in page.
let unsaved = null;
export function whileShown(keep) {
  unsaved = keep;
}

export function keepUnsavedWork() {
  const keep = unsaved;
  unsaved = null;
  if (keep) keep();
}

// A form's controls as the worker left them: each named input, select and textarea (not buttons),
// with a select's chosen text so that an option found by name (not in the list first drawn) can be
// offered again.
export function formValues(form) {
  const values = [];
  for (const el of form.elements) {
    if (!el.name || ['submit', 'button', 'reset', 'file'].includes(el.type) || el.tagName === 'BUTTON') continue;
    if (el.type === 'checkbox' || el.type === 'radio') values.push({ name: el.name, value: el.value, checked: el.checked });
    else if (el.tagName === 'SELECT') values.push({ name: el.name, value: el.value, text: el.selectedOptions[0]?.textContent || '' });
    else values.push({ name: el.name, value: el.value });
  }
  return values;
}

export function sameValues(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// Puts values (formValues) back into form. The choices go first, each announced with a change event
// as if chosen (what depends on them is shown, e.g. a reason's case note, a request type's
// recipients); then the values, again, since a choice may have filled in a note of its own.
export function restoreForm(form, values) {
  const controls = (v) => [...form.elements].filter((el) => el.name === v.name);
  for (const v of values.filter((x) => 'checked' in x)) {
    const el = controls(v).find((c) => c.value === v.value);
    if (el && el.checked !== v.checked) {
      el.checked = v.checked;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }
  for (const v of values.filter((x) => !('checked' in x))) {
    for (const el of controls(v)) {
      if (el.tagName === 'SELECT') {
        if (v.value && ![...el.options].some((o) => o.value === v.value)) el.append(new Option(v.text || v.value, v.value));
        el.value = v.value;
        el.dispatchEvent(new Event('change', { bubbles: true }));
      } else {
        el.value = v.value;
      }
    }
  }
  for (const v of values.filter((x) => !('checked' in x))) for (const el of controls(v)) el.value = v.value;
}
