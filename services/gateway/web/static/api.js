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
    EMAIL_NOT_VERIFIED: 'Your email address is not verified yet: follow the link we mailed you, or have it sent again.',
    INVALID_TWO_FACTOR_COOKIE: 'This sign-in has expired. Sign in again with your password.',
    TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE: 'Too many wrong codes. Sign in again with your password to get a new try.',
    YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION: 'This invitation was sent to another email address. Sign out and sign in with that address to answer it.',
    INVITATION_NOT_FOUND: 'This invitation is no longer open: it was answered, cancelled or has expired.',
    ORGANIZATION_SLUG_ALREADY_TAKEN: 'That slug is taken: choose another.',
    ORGANIZATION_ALREADY_EXISTS: 'That slug is taken: choose another.',
    YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER: 'You are the only owner: make someone else an owner before you leave.',
    YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER: 'The organization needs an owner: make someone else an owner first.',
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
  // A 401 without a code of its own (tasks' {detail}, auth's UNAUTHORIZED)
  // means the session is gone; a wrong code or password says so itself.
  if (status === 401 && (!code || code === 'UNAUTHORIZED')) {
    return new ApiError(status, 'Your session has ended. Please sign in again.', 'UNAUTHENTICATED');
  }
  if (status === 403) return new ApiError(status, `Not allowed (403): ${message || 'the server refused this request.'}`, code);
  if (status === 502 || status === 503 || status === 504) {
    return new ApiError(status, `${message || 'A service is unavailable.'} Please try again in a moment.`, code);
  }
  return new ApiError(status, message || `The server answered ${status}.`, code);
}

// The links auth mails land on these pages of the app (relative paths, which
// auth accepts as callback URLs).
export const pages = { verified: '/email-verified', reset: '/reset-password', emailChanged: '/email-verified?changed=1' };

export const auth = {
  session: () => call('GET', '/api/auth/get-session').then((r) => r.data),
  signIn: (email, password) => call('POST', '/api/auth/sign-in/email', { email, password }).then((r) => r.data),
  signUp: (name, email, password) => call('POST', '/api/auth/sign-up/email', { name, email, password, callbackURL: pages.verified }),
  signOut: () => call('POST', '/api/auth/sign-out'),
  social: (provider, callbackURL = '/') => call('POST', '/api/auth/sign-in/social', { provider, callbackURL }).then((r) => r.data),
};

export const account = {
  sendVerification: (email) => call('POST', '/api/auth/send-verification-email', { email, callbackURL: pages.verified }).then((r) => r.data),
  requestReset: (email) => call('POST', '/api/auth/request-password-reset', { email, redirectTo: pages.reset }).then((r) => r.data),
  resetPassword: (token, newPassword) => call('POST', '/api/auth/reset-password', { token, newPassword }).then((r) => r.data),
  updateUser: (patch) => call('POST', '/api/auth/update-user', patch).then((r) => r.data),
  changeEmail: (newEmail) => call('POST', '/api/auth/change-email', { newEmail, callbackURL: pages.emailChanged }).then((r) => r.data),
  changePassword: (currentPassword, newPassword, revokeOtherSessions) => call('POST', '/api/auth/change-password', { currentPassword, newPassword, revokeOtherSessions }).then((r) => r.data),
  sessions: () => call('GET', '/api/auth/list-sessions').then((r) => r.data || []),
  revokeSession: (token) => call('POST', '/api/auth/revoke-session', { token }).then((r) => r.data),
  revokeOthers: () => call('POST', '/api/auth/revoke-other-sessions').then((r) => r.data),
  deleteUser: (password) => call('POST', '/api/auth/delete-user', { password }).then((r) => r.data),
  activity: () => call('GET', '/api/auth/security-activity?limit=20').then((r) => (r.data && r.data.events) || []),
};

// Better Auth's twoFactor plugin (docs/two-factor.md).
export const twoFactor = {
  enable: (password) => call('POST', '/api/auth/two-factor/enable', { password }).then((r) => r.data),
  disable: (password) => call('POST', '/api/auth/two-factor/disable', { password }).then((r) => r.data),
  backupCodes: (password) => call('POST', '/api/auth/two-factor/generate-backup-codes', { password }).then((r) => r.data),
  verifyTotp: (code, trustDevice) => call('POST', '/api/auth/two-factor/verify-totp', { code, trustDevice }).then((r) => r.data),
  sendOtp: () => call('POST', '/api/auth/two-factor/send-otp', {}).then((r) => r.data),
  verifyOtp: (code, trustDevice) => call('POST', '/api/auth/two-factor/verify-otp', { code, trustDevice }).then((r) => r.data),
  verifyBackup: (code, trustDevice) => call('POST', '/api/auth/two-factor/verify-backup-code', { code, trustDevice }).then((r) => r.data),
};

// Better Auth's organization plugin (docs/organizations.md). set-active goes
// through the gateway, which then drops the session's cached JWT: the next
// /api/tasks call carries the new org and org_role claims.
const org = (path) => `/api/auth/organization/${path}`;
export const organizations = {
  list: () => call('GET', org('list')).then((r) => r.data || []),
  create: (name, slug) => call('POST', org('create'), { name, slug }).then((r) => r.data),
  setActive: (organizationId) => call('POST', org('set-active'), { organizationId }).then((r) => r.data),
  activeMember: () => call('GET', org('get-active-member')).then((r) => r.data),
  members: (organizationId) => call('GET', `${org('list-members')}?organizationId=${encodeURIComponent(organizationId)}`).then((r) => (r.data && r.data.members) || []),
  invite: (organizationId, email, role) => call('POST', org('invite-member'), { organizationId, email, role }).then((r) => r.data),
  invitations: (organizationId) => call('GET', `${org('list-invitations')}?organizationId=${encodeURIComponent(organizationId)}`).then((r) => r.data || []),
  cancel: (invitationId) => call('POST', org('cancel-invitation'), { invitationId }).then((r) => r.data),
  invitation: (id) => call('GET', `${org('get-invitation')}?id=${encodeURIComponent(id)}`).then((r) => r.data),
  accept: (invitationId) => call('POST', org('accept-invitation'), { invitationId }).then((r) => r.data),
  reject: (invitationId) => call('POST', org('reject-invitation'), { invitationId }).then((r) => r.data),
  updateRole: (organizationId, memberId, role) => call('POST', org('update-member-role'), { organizationId, memberId, role }).then((r) => r.data),
  remove: (organizationId, memberIdOrEmail) => call('POST', org('remove-member'), { organizationId, memberIdOrEmail }).then((r) => r.data),
  leave: (organizationId) => call('POST', org('leave'), { organizationId }).then((r) => r.data),
};

export const tasks = {
  async list(query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
    const r = await call('GET', `/api/tasks?${params}`);
    return { items: r.data || [], total: Number(r.headers.get('X-Total-Count') || 0) };
  },
  // scope 'organization' creates the task in the token's active organization.
  create: (task, scope) => call('POST', scope === 'organization' ? '/api/tasks?scope=organization' : '/api/tasks', task).then((r) => r.data),
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
