// The Web API from the browser: the session cookie rides along and the
// session's CSRF token goes in the Authorization header (see
// src/api/api_session.h). Objects and arrays are sent as JSON text, as
// Slack's clients post them in forms.
export class ApiError extends Error {
  constructor(method, body) {
    super(`${method}: ${body.error || 'request_failed'}`);
    this.method = method;
    this.error = body.error || 'request_failed';
    this.body = body;
  }
}

let csrf = null;
const SIGNED_OUT = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive']);
export function setCsrf(token) { csrf = token; }

export async function api(method, args = {}, { retries = 2 } = {}) {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || v === null) continue;
    form.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  let res;
  try {
    res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${csrf}` },
      body: form,
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(method, { error: 'network_error' });
  }
  if (res.status === 429 && retries > 0) {
    const wait = Math.min(30, Number(res.headers.get('retry-after')) || 1);
    await new Promise((r) => setTimeout(r, wait * 1000));
    return api(method, args, { retries: retries - 1 });
  }
  let body;
  try { body = await res.json(); } catch { body = { ok: false, error: `http_${res.status}` }; }
  // The session ended (signed out elsewhere, password reset, deactivated).
  if (!body.ok && SIGNED_OUT.has(body.error)) window.dispatchEvent(new Event('canal:signedout'));
  if (!body.ok) throw new ApiError(method, body);
  return body;
}

export async function authGet(path) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  return res.json();
}

export async function authPost(path, fields) {
  const res = await fetch(path, { method: 'POST', body: new URLSearchParams(fields), credentials: 'same-origin' });
  if (res.status === 429) return { ok: false, error: 'ratelimited', retry_after: Number(res.headers.get('retry-after')) || 60 };
  try { return await res.json(); } catch { return { ok: false, error: `http_${res.status}` }; }
}
