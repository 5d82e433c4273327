// Same-origin calls to the gateway with the session cookie. The page never
// sees a JWT: the gateway swaps the cookie for one on the way to tasks.

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

const networkDown = 'Cannot reach the server. Check your connection and try again.';

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, networkDown, 'NETWORK');
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) throw toError(resp.status, data);
  return { data, headers: resp.headers };
}

// toError turns both APIs' error shapes into one message a person can act on:
// Better Auth's {code, message} and the tasks API's {detail}.
function toError(status, data) {
  const code = data && typeof data.code === 'string' ? data.code : '';
  const friendly = {
    INVALID_EMAIL_OR_PASSWORD: 'Wrong email or password.',
    USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: 'An account with this email already exists. Sign in instead, or use another email.',
    USER_ALREADY_EXISTS: 'An account with this email already exists. Sign in instead, or use another email.',
    PASSWORD_TOO_SHORT: 'The password is too short: use at least 8 characters.',
    PASSWORD_TOO_LONG: 'The password is too long.',
    INVALID_EMAIL: 'That email address does not look right.',
  }[code];
  if (friendly) return new ApiError(status, friendly, code);
  let message = '';
  if (data && Array.isArray(data.detail)) {
    message = data.detail.map((d) => `${(d.loc || []).filter((p) => p !== 'body').join('.')}: ${d.msg}`).join('; ');
  } else if (data && typeof data.detail === 'string') {
    message = data.detail;
  } else if (data && typeof data.message === 'string') {
    message = data.message;
  }
  if (status === 401) return new ApiError(status, 'Your session has ended. Please sign in again.', code || 'UNAUTHENTICATED');
  if (status === 403) return new ApiError(status, `Not allowed (403): ${message || 'the server refused this request.'}`, code);
  if (status === 502 || status === 503 || status === 504) {
    return new ApiError(status, `${message || 'A service is unavailable.'} Please try again in a moment.`, code);
  }
  return new ApiError(status, message || `The server answered ${status}.`, code);
}

export const auth = {
  session: () => call('GET', '/api/auth/get-session').then((r) => r.data),
  signIn: (email, password) => call('POST', '/api/auth/sign-in/email', { email, password }),
  signUp: (name, email, password) => call('POST', '/api/auth/sign-up/email', { name, email, password }),
  signOut: () => call('POST', '/api/auth/sign-out'),
  social: (provider) => call('POST', '/api/auth/sign-in/social', { provider, callbackURL: '/' }).then((r) => r.data),
};

export const tasks = {
  async list(query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
    const r = await call('GET', `/api/tasks?${params}`);
    return { items: r.data || [], total: Number(r.headers.get('X-Total-Count') || 0) };
  },
  create: (task) => call('POST', '/api/tasks', task).then((r) => r.data),
  update: (id, patch) => call('PATCH', `/api/tasks/${encodeURIComponent(id)}`, patch).then((r) => r.data),
  toggle: (id) => call('PATCH', `/api/tasks/${encodeURIComponent(id)}/complete`).then((r) => r.data),
  remove: (id) => call('DELETE', `/api/tasks/${encodeURIComponent(id)}`),
};

export async function appConfig() {
  try {
    const r = await call('GET', '/app-config.json');
    return r.data || {};
  } catch {
    return {};
  }
}
