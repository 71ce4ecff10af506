// The one way the pages call the Tessera API (services/gateway/openapi.yaml): the session's token
// on every call, JSON in and out, and the API's error body turned into an ApiError that names the
// field at fault, for the error summary.

const TOKEN_KEY = 'tessera.token';
const WORKER_KEY = 'tessera.worker';

export class ApiError extends Error {
  // errors: every fault the API named (a form checked whole names each field at fault), else the one.
  constructor(status, error, errors) {
    super(error?.message || `The service answered ${status}.`);
    this.status = status;
    this.code = error?.code || 'unknown';
    this.field = error?.field || '';
    this.errors = Array.isArray(errors) && errors.length ? errors.map((e) => ({ code: e.code || 'unknown', field: e.field || '', message: e.message || this.message })) : [{ code: this.code, field: this.field, message: this.message }];
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get worker() {
    const text = sessionStorage.getItem(WORKER_KEY);
    return text ? JSON.parse(text) : null;
  },
  start(token, worker) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(WORKER_KEY, JSON.stringify(worker));
  },
  end() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(WORKER_KEY);
  },
  hasRole(...roles) {
    const worker = this.worker;
    return !!worker && roles.some((r) => worker.roles.includes(r));
  },
};

// Called when a token stops working (signed out elsewhere, expired, account ended), with the API's
// message and the worker whose session it was.
let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

// A header value goes as bytes: the reason's UTF-8 bytes, one character each, so that any language's
// letters reach the audit as the worker typed them (line breaks cannot be in a header).
function headerText(text) {
  return String.fromCharCode(...new TextEncoder().encode(text.replace(/\s+/g, ' ').trim()));
}

async function send(method, path, { body, query, idempotent, reason } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // A retried command (a double click, a retry after 503) does its work once.
  if (idempotent) headers['Idempotency-Key'] = crypto.randomUUID();
  // The reason the worker gave for this access, kept in the audit with what the call reads.
  if (reason) headers['X-Access-Reason'] = headerText(reason);
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: 'unreachable', message: 'Tessera could not be reached. Check your connection and try again.' });
  }
  if (response.ok) return response;
  let error = null;
  let errors = null;
  try {
    ({ error, errors } = await response.json());
  } catch {
    /* not JSON: the status alone is reported */
  }
  if (response.status === 401 && session.token && path !== '/api/v1/session') {
    const worker = session.worker;
    session.end();
    onSignedOut(error?.message, worker);
  }
  throw new ApiError(response.status, error, errors);
}

export async function api(method, path, options = {}) {
  const response = await send(method, path, options);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, query) => api('GET', path, { query });
export const getWithReason = (path, query, reason) => api('GET', path, { query, reason });
export const post = (path, body, options = {}) => api('POST', path, { body: body ?? {}, ...options });
export const put = (path, body) => api('PUT', path, { body });

// A file the API gives as an attachment (CSV, XLSX): fetched with the token, then saved under the
// name the API gives in Content-Disposition.
export async function download(path, query, fallbackName) {
  const response = await send('GET', path, { query });
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = match ? match[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
