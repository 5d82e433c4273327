import { auth, account, twoFactor, tasks, organizations, appConfig, ApiError } from './api.js';
import { drawQR } from './qr.js';

// One page, several views: the path says which (a reload keeps it; the
// gateway answers every extension-less path with this page).
//   /                the tasks (or sign-in when signed out)
//   /account         the account page
//   /reset-password  where the mailed reset link lands (?token= or ?error=)
//   /email-verified  where the mailed verification link lands (?error= on failure)
//   /organization    create an organization; its members, invitations and roles
//   /accept-invitation/<id>  where the mailed invitation link lands

const $ = (id) => document.getElementById(id);
let mode = 'sign-in';
let searchTimer;
let me = null; // get-session's {session, user}, or null
let socialOn = false;
let pendingBackupCodes = []; // from enable, shown once the first code is verified
// The organizations of the signed-in user, the active one's member rows and
// the user's role there ('' with none active). The role only decides which
// buttons show: the tasks service decides from the token.
let orgs = [];
let members = [];
let myRole = '';
let scope = 'organization'; // what the task list shows while an organization is active
let slugTouched = false;

const authForms = {
  'sign-in': 'sign-in-form', 'sign-up': 'sign-up-form', 'two-factor': 'two-factor-form',
  forgot: 'forgot-form', reset: 'reset-form', verified: 'verified',
};
const authTitles = {
  'sign-in': 'Sign in', 'sign-up': 'Create an account', 'two-factor': 'Two-step verification',
  forgot: 'Reset your password', reset: 'Set a new password', verified: 'Email verification',
};

function show(view) {
  $('loading').hidden = true;
  $('auth-view').hidden = view !== 'auth';
  $('tasks-view').hidden = view !== 'tasks';
  $('account-view').hidden = view !== 'account';
  $('org-view').hidden = view !== 'org';
  $('invite-view').hidden = view !== 'invite';
  $('who').hidden = !me;
  $('verify-notice').hidden = !me || me.user.emailVerified || view === 'auth';
  for (const [id, v] of [['nav-tasks', 'tasks'], ['nav-org', 'org'], ['nav-account', 'account']]) {
    if (v === view) $(id).setAttribute('aria-current', 'page'); else $(id).removeAttribute('aria-current');
  }
}

function banner(message, kind = 'error') {
  const b = $('banner');
  b.textContent = message || '';
  b.className = kind === 'info' ? 'banner info' : 'banner';
  b.hidden = !message;
}

function formError(id, err) {
  const el = $(id);
  el.textContent = err ? err.message : '';
  el.hidden = !err;
}

function status(id, message) {
  $(id).textContent = message || '';
}

async function busy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// handle shows an error where the user is looking; a 401 means the session
// is gone, so the sign-in page comes back.
function handle(err, fieldId) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401 && err.code === 'UNAUTHENTICATED') {
    me = null;
    showSignIn();
    banner(err.message, 'info');
    return;
  }
  if (fieldId) formError(fieldId, err); else banner(err.message);
}

function navigate(path) {
  if (window.location.pathname + window.location.search !== path) window.history.pushState({}, '', path);
  route();
}

// ---- signed out: sign-in, sign-up, the second factor, forgot and reset ----

function setMode(next) {
  mode = next;
  for (const [m, id] of Object.entries(authForms)) $(id).hidden = m !== mode;
  $('auth-title').textContent = authTitles[mode];
  document.title = `${authTitles[mode]} · Latch`;
  const pair = mode === 'sign-in' || mode === 'sign-up';
  $('switch').hidden = !pair;
  $('social').hidden = !pair || !socialOn;
  $('switch-text').textContent = mode === 'sign-in' ? 'No account yet?' : 'Already have an account?';
  $('switch-mode').textContent = mode === 'sign-in' ? 'Create one' : 'Sign in';
  for (const id of ['sign-in-error', 'sign-up-error', 'tf-error', 'forgot-error', 'reset-error']) formError(id);
  $('si-resend').hidden = true;
  const first = { 'sign-in': 'si-email', 'sign-up': 'su-name', 'two-factor': 'tf-code', forgot: 'fp-email', reset: 'rp-password' }[mode];
  if (first) $(first).focus();
}

function showAuth(next) {
  // Nothing of the last person's data stays in the page.
  $('task-list').replaceChildren();
  $('count').textContent = '';
  clearAccount();
  clearOrganizations();
  show('auth');
  setMode(next);
}

function showSignIn() {
  if (window.location.pathname !== '/' && !['/account', '/organization'].includes(window.location.pathname)) {
    window.history.replaceState({}, '', '/');
  }
  showAuth('sign-in');
}

async function signIn(e) {
  e.preventDefault();
  formError('sign-in-error');
  $('si-resend').hidden = true;
  banner('');
  const email = $('si-email').value.trim();
  const password = $('si-password').value;
  if (!email || !password) { formError('sign-in-error', new Error('Enter your email and password.')); return; }
  await busy($('sign-in-submit'), async () => {
    try {
      const r = await auth.signIn(email, password);
      if (r && r.twoFactorRedirect) { startSecondFactor(r.twoFactorMethods || []); return; }
      await start();
    } catch (err) {
      handle(err, 'sign-in-error');
      if (err instanceof ApiError && err.code === 'EMAIL_NOT_VERIFIED') $('si-resend').hidden = false;
    }
  });
}

async function resendFromSignIn() {
  const email = $('si-email').value.trim();
  await busy($('si-resend'), async () => {
    try {
      await account.sendVerification(email);
      $('sign-in-error').hidden = true;
      $('si-resend').hidden = true;
      banner(`We have mailed a new verification link to ${email}.`, 'info');
    } catch (err) { handle(err, 'sign-in-error'); }
  });
}

async function signUp(e) {
  e.preventDefault();
  formError('sign-up-error');
  banner('');
  const name = $('su-name').value.trim();
  const email = $('su-email').value.trim();
  const password = $('su-password').value;
  if (!name || !email || !password) { formError('sign-up-error', new Error('Fill in your name, email and a password.')); return; }
  await busy($('sign-up-submit'), async () => {
    try {
      const r = await auth.signUp(name, email, password);
      if (r.data && r.data.token === null) {
        // REQUIRE_EMAIL_VERIFICATION: no session until the mailed link is followed.
        $('sign-up-form').reset();
        showAuth('sign-in');
        $('si-email').value = email;
        banner(`Almost done: we have mailed a verification link to ${email}. Follow it, then sign in.`, 'info');
        return;
      }
      await start();
    } catch (err) { handle(err, 'sign-up-error'); }
  });
}

// The sign-in answered {twoFactorRedirect, twoFactorMethods}: the password
// was right and a second factor is due before a session opens.
function startSecondFactor(methods) {
  $('two-factor-form').reset();
  $('tf-choice-totp').hidden = !methods.includes('totp');
  $('tf-choice-otp').hidden = !methods.includes('otp');
  const first = methods.includes('totp') ? 'totp' : (methods.includes('otp') ? 'otp' : 'backup');
  $(`tf-method-${first}`).checked = true;
  status('tf-sent');
  setMode('two-factor');
  secondFactorMethod();
}

function chosenMethod() {
  const c = document.querySelector('input[name="tf-method"]:checked');
  return c ? c.value : 'totp';
}

function secondFactorMethod() {
  const m = chosenMethod();
  $('tf-code-label').textContent = {
    totp: 'Six-digit code from your authenticator app', otp: 'Six-digit code from the email', backup: 'One of your backup codes',
  }[m];
  $('tf-code').inputMode = m === 'backup' ? 'text' : 'numeric';
  $('tf-send').hidden = m !== 'otp';
  formError('tf-error');
}

async function sendEmailCode() {
  formError('tf-error');
  await busy($('tf-send'), async () => {
    try {
      await twoFactor.sendOtp();
      status('tf-sent', 'We have mailed you a code. It works for 3 minutes.');
      $('tf-code').focus();
    } catch (err) { handle(err, 'tf-error'); }
  });
}

async function verifySecondFactor(e) {
  e.preventDefault();
  formError('tf-error');
  const code = $('tf-code').value.trim();
  if (!code) { formError('tf-error', new Error('Enter the code.')); $('tf-code').focus(); return; }
  const trust = $('tf-trust').checked;
  const verify = { totp: twoFactor.verifyTotp, otp: twoFactor.verifyOtp, backup: twoFactor.verifyBackup }[chosenMethod()];
  await busy($('tf-submit'), async () => {
    try {
      await verify(code, trust);
      $('two-factor-form').reset();
      await start();
    } catch (err) {
      handle(err, 'tf-error');
      // A dead challenge cannot be retried: back to the password.
      if (err instanceof ApiError && ['INVALID_TWO_FACTOR_COOKIE', 'TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE'].includes(err.code)) {
        const shown = err;
        setMode('sign-in');
        formError('sign-in-error', shown);
      }
    }
  });
}

async function requestReset(e) {
  e.preventDefault();
  formError('forgot-error');
  status('forgot-status');
  const email = $('fp-email').value.trim();
  if (!email) { formError('forgot-error', new Error('Enter your email.')); return; }
  await busy($('forgot-submit'), async () => {
    try {
      const r = await account.requestReset(email);
      status('forgot-status', (r && r.message) || 'If this email has an account, we have mailed it a reset link.');
    } catch (err) { handle(err, 'forgot-error'); }
  });
}

function showReset(params) {
  showAuth('reset');
  const bad = params.get('error') || !params.get('token');
  for (const id of ['rp-password', 'rp-confirm', 'reset-submit']) $(id).disabled = !!bad;
  if (bad) formError('reset-error', new Error('This reset link is not valid any more: links work once and for one hour. Ask for a new one.'));
}

async function resetPassword(e) {
  e.preventDefault();
  formError('reset-error');
  const token = new URLSearchParams(window.location.search).get('token') || '';
  const pw = $('rp-password').value;
  if (pw.length < 8) { formError('reset-error', new Error('Use at least 8 characters.')); return; }
  if (pw !== $('rp-confirm').value) { formError('reset-error', new Error('The two passwords differ.')); return; }
  await busy($('reset-submit'), async () => {
    try {
      await account.resetPassword(token, pw);
      $('reset-form').reset();
      window.history.replaceState({}, '', '/');
      me = null;
      showAuth('sign-in');
      banner('Your new password is set. Sign in with it.', 'info');
    } catch (err) { handle(err, 'reset-error'); }
  });
}

function showVerified(params) {
  const error = params.get('error');
  const changed = params.has('changed');
  show('auth');
  setMode('verified');
  if (error) {
    $('auth-title').textContent = 'The link did not work';
    status('verified-text', error === 'token_expired' || error === 'TOKEN_EXPIRED'
      ? 'This verification link has expired. Sign in and have a new one sent.'
      : 'This verification link is not valid. Sign in and have a new one sent.');
  } else {
    $('auth-title').textContent = changed ? 'Email changed' : 'Email verified';
    status('verified-text', changed ? 'Your account now uses the new email address.' : 'Thank you: your email address is verified.');
  }
  document.title = `${$('auth-title').textContent} · Latch`;
  $('verified-continue').focus();
}

async function signOut() {
  await busy($('sign-out'), async () => {
    try { await auth.signOut(); } catch (err) { if (err.status !== 401) { handle(err); return; } }
    signedOut('You are signed out.');
  });
}

function signedOut(message) {
  me = null;
  $('filters').reset(); // the next person starts from the full list
  $('si-password').value = '';
  window.history.replaceState({}, '', '/');
  showSignIn();
  banner(message, 'info');
}

async function resendVerification() {
  status('resend-status');
  await busy($('resend-verification'), async () => {
    try {
      await account.sendVerification(me.user.email);
      status('resend-status', 'Sent: check your inbox.');
    } catch (err) { handle(err); }
  });
}

// ---- tasks ----

async function showTasks() {
  $('user-name').textContent = me.user.name || me.user.email;
  document.title = 'Tasks · Latch';
  show('tasks');
  resetTaskForm();
  renderScope();
  await refresh();
}

// taskScope is what the list shows and where a new task goes: the active
// organization's tasks, or the personal ones.
function taskScope() {
  return activeOrg() ? scope : 'personal';
}

function renderScope() {
  const o = activeOrg();
  $('scope-box').hidden = !o;
  $('task-scope').value = scope;
  if (o && scope === 'organization') {
    $('tasks-title').textContent = `Tasks of ${o.name}`;
    $('role-hint').textContent = isAdmin()
      ? `You are ${roleWords(myRole)} here: you may change and delete every task.`
      : 'You are a member here: you may read every task and change or delete the ones you added.';
  } else {
    $('tasks-title').textContent = 'Your tasks';
    $('role-hint').textContent = '';
  }
}

function query() {
  const [sort, order] = $('f-sort').value.split(':');
  return {
    completed: $('f-status').value,
    priority: $('f-priority').value,
    tags: $('f-tag').value.trim(),
    search: $('f-search').value.trim(),
    sort, order, limit: '100',
    scope: activeOrg() ? taskScope() : '',
  };
}

// refresh reloads the list; keepBanner leaves an error on show (a refusal
// the list is redrawn after).
async function refresh(keepBanner) {
  try {
    const { items, total } = await tasks.list(query());
    render(items, total);
    if (keepBanner !== true) banner(''); // an event listener passes an Event
  } catch (err) { handle(err); }
}

// refused shows a 403 in words and then learns the role again: a role
// changed elsewhere (a demotion) reaches the page as a refusal first.
async function refused(err, fieldId) {
  handle(err, fieldId);
  if (!(err instanceof ApiError) || err.status !== 403) return;
  const before = activeOrg() ? `${activeOrg().id}/${myRole}` : '';
  try { await reloadMe(); await loadOrgContext(); } catch (e) { handle(e); return; }
  const o = activeOrg();
  if (before !== (o ? `${o.id}/${myRole}` : '')) {
    const now = o ? `Your role in ${o.name} is now ${roleWords(myRole)}.` : 'You are no longer in that organization.';
    if (fieldId) formError(fieldId, new Error(`${err.message} ${now}`)); else banner(`${err.message} ${now}`);
  }
  renderScope();
  await refresh(true);
}

// mayChange mirrors the tasks service's rule (docs/team-tasks.md) to hide
// buttons that would only be refused: in an organization a member changes
// the tasks they created, admins and owners any.
function mayChange(t) {
  if (!t.organization_id) return true;
  return isAdmin() || t.user_id === me.user.id;
}

function render(items, total) {
  const list = $('task-list');
  list.replaceChildren(...items.map(taskItem));
  $('count').textContent = total === 0 ? 'No tasks match.' : `${items.length} of ${total} task${total === 1 ? '' : 's'}`;
}

function taskItem(t) {
  const titleId = `task-${t.id}-title`;
  const check = el('input', { type: 'checkbox', checked: t.completed, id: `task-${t.id}-done` });
  check.setAttribute('aria-labelledby', titleId);
  check.addEventListener('change', () => toggle(t, check));
  const author = t.organization_id ? members.find((m) => m.userId === t.user_id) : null;
  const meta = el('div', { className: 'meta' },
    el('span', { className: `prio-${t.priority}`, textContent: `${t.priority} priority` }),
    t.organization_id ? el('span', { className: 'author', textContent: `added by ${author ? (author.user.name || author.user.email) : 'a former member'}` }) : null,
    t.due_date ? el('span', { textContent: `due ${t.due_date.slice(0, 10)}` }) : null,
    ...t.tags.map((tag) => el('span', { className: 'tag', textContent: tag })));
  const body = el('div', { className: 'body' },
    el('div', { className: 'title', id: titleId, textContent: t.title }),
    t.description ? el('p', { className: 'desc', textContent: t.description }) : null,
    meta);
  const edit = el('button', { type: 'button', className: 'secondary', textContent: 'Edit' });
  edit.setAttribute('aria-label', `Edit ${t.title}`);
  edit.addEventListener('click', () => startEdit(t));
  const del = el('button', { type: 'button', className: 'danger', textContent: 'Delete' });
  del.setAttribute('aria-label', `Delete ${t.title}`);
  del.addEventListener('click', () => remove(t, del));
  if (!mayChange(t)) {
    const why = 'Only admins, owners and the member who added it may change this task';
    for (const c of [check, edit, del]) { c.disabled = true; c.title = why; }
  }
  const li = el('li', { className: t.completed ? 'task done' : 'task' }, check, body,
    el('div', { className: 'actions' }, edit, del));
  li.dataset.id = t.id;
  return li;
}

async function toggle(t, check) {
  check.disabled = true;
  try { await tasks.toggle(t.id); await refresh(); } catch (err) { check.checked = !check.checked; check.disabled = false; await refused(err); return; }
  check.disabled = false;
}

async function remove(t, button) {
  await busy(button, async () => {
    try { await tasks.remove(t.id); await refresh(); $('task-title').focus(); } catch (err) { await refused(err); }
  });
}

function startEdit(t) {
  $('task-id').value = t.id;
  $('task-title').value = t.title;
  $('task-description').value = t.description || '';
  $('task-priority').value = t.priority;
  $('task-due').value = t.due_date ? t.due_date.slice(0, 10) : '';
  $('task-tags').value = t.tags.join(', ');
  $('task-form-title').textContent = 'Edit task';
  $('task-submit').textContent = 'Save changes';
  $('task-cancel').hidden = false;
  formError('task-error');
  $('task-title').focus();
}

function resetTaskForm() {
  $('task-form').reset();
  $('task-id').value = '';
  $('task-form-title').textContent = 'New task';
  $('task-submit').textContent = 'Add task';
  $('task-cancel').hidden = true;
  formError('task-error');
}

function taskFromForm() {
  const due = $('task-due').value;
  return {
    title: $('task-title').value.trim(),
    description: $('task-description').value.trim() || null,
    priority: $('task-priority').value,
    due_date: due ? `${due}T00:00:00Z` : null,
    tags: $('task-tags').value.split(',').map((s) => s.trim()).filter(Boolean),
  };
}

async function saveTask(e) {
  e.preventDefault();
  const t = taskFromForm();
  if (!t.title) { formError('task-error', new Error('Give the task a title.')); $('task-title').focus(); return; }
  const id = $('task-id').value;
  await busy($('task-submit'), async () => {
    try {
      if (id) await tasks.update(id, t); else await tasks.create(t, taskScope());
      resetTaskForm();
      await refresh();
      $('task-title').focus();
    } catch (err) { await refused(err, 'task-error'); }
  });
}


// ---- the account page ----

function clearAccount() {
  for (const id of ['profile-form', 'email-form', 'password-form', 'tf-enable-form', 'tf-setup-form', 'tf-manage-form', 'delete-form']) $(id).reset();
  for (const id of ['session-list', 'activity-list', 'backup-list']) $(id).replaceChildren();
  $('backup-codes').hidden = true;
  clearEnrolment();
  pendingBackupCodes = [];
  for (const id of ['profile-status', 'email-status', 'password-status', 'sessions-status', 'activity-status', 'resend-status']) status(id);
  for (const id of ['profile-error', 'email-error', 'password-error', 'sessions-error', 'tfe-error', 'tfs-error', 'tfm-error', 'delete-error']) formError(id);
}

async function showAccount() {
  document.title = 'Account · Latch';
  clearAccount();
  show('account');
  renderUser();
  await refreshLists();
}

function renderUser() {
  const u = me.user;
  $('user-name').textContent = u.name || u.email;
  $('pf-name').value = u.name || '';
  $('pf-image').value = u.image || '';
  $('current-email').textContent = u.email;
  $('email-verified').textContent = u.emailVerified ? 'verified' : 'not verified';
  $('email-verified').className = u.emailVerified ? 'badge ok' : 'badge warn';
  $('verify-notice').hidden = u.emailVerified;
  renderTwoFactor();
}

function renderTwoFactor() {
  const on = !!me.user.twoFactorEnabled;
  const settingUp = !$('tf-setup-form').hidden;
  $('tf-state').textContent = on
    ? 'Two-step verification is on: signing in asks for a code from your authenticator app, the email, or a backup code.'
    : 'Two-step verification is off: your password alone signs you in.';
  $('tf-state').className = on ? 'state on' : 'state';
  $('tf-enable-form').hidden = on || settingUp;
  $('tf-manage-form').hidden = !on;
}

async function reloadMe() {
  const s = await auth.session();
  if (!s || !s.user) throw new ApiError(401, 'Your session has ended. Please sign in again.', 'UNAUTHENTICATED');
  me = s;
}

async function saveProfile(e) {
  e.preventDefault();
  formError('profile-error');
  status('profile-status');
  const name = $('pf-name').value.trim();
  const image = $('pf-image').value.trim();
  if (!name) { formError('profile-error', new Error('Your name cannot be empty.')); $('pf-name').focus(); return; }
  await busy($('profile-submit'), async () => {
    try {
      await account.updateUser({ name, image: image || null });
      await reloadMe();
      renderUser();
      status('profile-status', 'Saved.');
    } catch (err) { handle(err, 'profile-error'); }
  });
}

async function changeEmail(e) {
  e.preventDefault();
  formError('email-error');
  status('email-status');
  const newEmail = $('em-new').value.trim();
  if (!newEmail) { formError('email-error', new Error('Enter the new email.')); $('em-new').focus(); return; }
  await busy($('email-submit'), async () => {
    try {
      const before = me.user.email;
      await account.changeEmail(newEmail);
      await reloadMe();
      renderUser();
      $('em-new').value = '';
      await loadActivity();
      status('email-status', me.user.email !== before
        ? `Your email is now ${me.user.email}.`
        : `We have mailed a confirmation link to ${newEmail} (unless that address already has an account). Your email changes when you follow it.`);
    } catch (err) { handle(err, 'email-error'); }
  });
}

async function changePassword(e) {
  e.preventDefault();
  formError('password-error');
  status('password-status');
  const current = $('pw-current').value;
  const next = $('pw-new').value;
  const revoke = $('pw-revoke').checked;
  if (!current || !next) { formError('password-error', new Error('Enter your current and your new password.')); return; }
  await busy($('password-submit'), async () => {
    try {
      await account.changePassword(current, next, revoke);
      $('password-form').reset();
      $('pw-revoke').checked = true;
      status('password-status', revoke ? 'Your password is changed, and your other sessions are signed out.' : 'Your password is changed.');
      await refreshLists();
    } catch (err) { handle(err, 'password-error'); }
  });
}

// device names a session by its browser and system, from the user agent
// it was opened with; the full string is in the item's title.
function device(ua) {
  if (!ua) return 'Unknown device';
  const browser = [['Edg/', 'Edge'], ['OPR/', 'Opera'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari'], ['curl/', 'curl'], ['node', 'Node.js']]
    .find(([k]) => ua.includes(k));
  const system = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Windows', 'Windows'], ['Mac OS', 'macOS'], ['Linux', 'Linux']]
    .find(([k]) => ua.includes(k));
  const name = [browser && browser[1], system && `on ${system[1]}`].filter(Boolean).join(' ');
  return name || ua.slice(0, 60);
}

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

async function loadSessions() {
  formError('sessions-error');
  try {
    const list = await account.sessions();
    list.sort((a, b) => (b.updatedAt || '').localeCompare(a.updatedAt || ''));
    $('session-list').replaceChildren(...list.map(sessionItem));
    $('revoke-others').parentElement.hidden = list.length < 2;
  } catch (err) { handle(err, 'sessions-error'); }
}

function sessionItem(s) {
  const current = me && s.id === me.session.id;
  const name = device(s.userAgent);
  const head = el('div', { className: 'title', textContent: name, title: s.userAgent || '' },
    current ? el('span', { className: 'badge ok', textContent: 'this device' }) : null);
  const meta = el('div', { className: 'meta' },
    el('span', { textContent: `IP ${s.ipAddress || 'unknown'}` }),
    el('span', { textContent: `signed in ${when(s.createdAt)}` }),
    el('span', { textContent: `last active ${when(s.updatedAt)}` }));
  const out = el('button', { type: 'button', className: 'secondary', textContent: current ? 'Sign out here' : 'Sign out' });
  out.setAttribute('aria-label', current ? 'Sign out this device' : `Sign out ${name}, ${s.ipAddress || 'unknown IP'}, last active ${when(s.updatedAt)}`);
  out.addEventListener('click', () => revokeSession(s, current, out));
  const li = el('li', { className: 'item' }, el('div', { className: 'body' }, head, meta), out);
  li.dataset.current = String(current);
  return li;
}

async function revokeSession(s, current, button) {
  await busy(button, async () => {
    try {
      await account.revokeSession(s.token);
      if (current) { signedOut('You are signed out.'); return; }
      status('sessions-status', 'That session is signed out.');
      await refreshLists();
    } catch (err) { handle(err, 'sessions-error'); }
  });
}

async function revokeOthers() {
  status('sessions-status');
  await busy($('revoke-others'), async () => {
    try {
      await account.revokeOthers();
      status('sessions-status', 'Every other session is signed out.');
      await refreshLists();
    } catch (err) { handle(err, 'sessions-error'); }
  });
}

// The audit trail's event types (docs/audit.md) in words; a type this page
// does not know yet is shown by its own name.
const activityWords = {
  'sign-up': 'Account created', 'sign-in': 'Signed in', 'sign-in-failed': 'Sign-in failed', 'sign-out': 'Signed out',
  'password-changed': 'Password changed', 'password-reset': 'Password reset through a mailed link',
  'email-change-requested': 'Email change asked for', 'email-changed': 'Email changed', 'email-verified': 'Email verified',
  'two-factor-enabled': 'Two-step verification turned on', 'two-factor-disabled': 'Two-step verification turned off',
  'backup-code-used': 'Backup code used', 'backup-codes-regenerated': 'New backup codes made',
  'session-revoked': 'Session signed out', 'account-deleted': 'Account deleted',
};

const detailWords = {
  method: { email: 'with the password', google: 'with Google', totp: 'with an authenticator code', otp: 'with an emailed code', 'backup-code': 'with a backup code', 'verification-link': 'by following the verification link' },
  reason: { 'invalid-credentials': 'wrong email or password', 'email-not-verified': 'email not verified', 'invalid-code': 'wrong code', locked: 'too many wrong codes: locked for a while' },
  secondFactor: { required: 'second step asked for', 'trusted-device': 'on a trusted device, no second step' },
  scope: { one: 'one session', others: 'every other session', all: 'every session' },
  via: { totp: 'authenticator app', otp: 'emailed code', reset: 'through a reset link', link: 'through the mailed link', direct: 'at once: the old address was not verified' },
  sessionsEnded: { true: 'sessions signed out' },
  provider: { credential: 'email and password', google: 'Google' },
};

function activityTitle(type) {
  const t = String(type || '');
  if (activityWords[t]) return activityWords[t];
  const words = t.replace(/[._-]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'Event';
}

// activityDetail words the event's detail: known keys and values in words,
// the ended session named "this device" when it is this one, others as
// key: value. Every value stays text.
function activityDetail(detail, type) {
  if (!detail || typeof detail !== 'object') return typeof detail === 'string' ? detail : '';
  const parts = [];
  for (const [k, v] of Object.entries(detail)) {
    if (k === 'sessionsEnded' && String(v) === 'true') {
      // A change ends the others (this one is replaced); a reset ends all.
      parts.push(type === 'password-changed' ? 'other sessions signed out' : 'every session signed out');
      continue;
    }
    if (k === 'sessionId') {
      if (me && v === me.session.id) parts.push('this device');
      continue;
    }
    const words = detailWords[k] && detailWords[k][String(v)];
    parts.push(words || `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
  return parts.join(', ');
}

function activityItem(ev) {
  const detail = activityDetail(ev.detail, ev.type);
  // A sign-in that still had to pass the second step opened no session.
  const partial = ev.type === 'sign-in' && ev.detail && ev.detail.secondFactor === 'required';
  const li = el('li', { className: ev.type === 'sign-in-failed' ? 'item failed' : 'item' },
    el('div', { className: 'body' },
      el('div', { className: 'title', textContent: partial ? 'Password accepted' : activityTitle(ev.type) }),
      el('div', { className: 'meta' },
        el('span', { textContent: when(ev.createdAt) }),
        ev.ipAddress ? el('span', { textContent: `IP ${ev.ipAddress}` }) : null,
        ev.userAgent ? el('span', { className: 'agent', textContent: device(ev.userAgent), title: ev.userAgent }) : null,
        detail ? el('span', { className: 'detail', textContent: detail }) : null)));
  li.dataset.type = String(ev.type || '');
  return li;
}

async function loadActivity() {
  status('activity-status');
  try {
    const events = await account.activity();
    $('activity-list').replaceChildren(...events.map(activityItem));
    if (events.length === 0) status('activity-status', 'No security events yet.');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) { status('activity-status', 'This server does not keep a security activity log.'); return; }
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') { handle(err); return; }
    status('activity-status', `The activity could not be loaded: ${err.message}`);
  }
}

// refreshLists reloads what an account change shows elsewhere on the page:
// sessions it ended and the event it wrote.
async function refreshLists() {
  await Promise.all([loadSessions(), loadActivity()]);
}

async function startEnrolment(e) {
  e.preventDefault();
  formError('tfe-error');
  const password = $('tfe-password').value;
  if (!password) { formError('tfe-error', new Error('Enter your password.')); $('tfe-password').focus(); return; }
  await busy($('tfe-submit'), async () => {
    try {
      const r = await twoFactor.enable(password);
      $('tf-enable-form').reset();
      pendingBackupCodes = r.backupCodes || [];
      let secret = '';
      try { secret = new URL(r.totpURI).searchParams.get('secret') || ''; } catch { secret = ''; }
      drawQR($('tf-qr'), r.totpURI);
      $('tf-qr').dataset.uri = r.totpURI;
      $('tf-secret').textContent = secret.replace(/(.{4})/g, '$1 ').trim();
      $('tf-secret').dataset.secret = secret;
      $('tf-enable-form').hidden = true;
      $('tf-setup-form').hidden = false;
      $('tfs-code').focus();
    } catch (err) { handle(err, 'tfe-error'); }
  });
}

async function finishEnrolment(e) {
  e.preventDefault();
  formError('tfs-error');
  const code = $('tfs-code').value.trim();
  if (!/^\d{6}$/.test(code)) { formError('tfs-error', new Error('Enter the six digits your app shows.')); $('tfs-code').focus(); return; }
  await busy($('tfs-submit'), async () => {
    try {
      await twoFactor.verifyTotp(code, false);
      cancelEnrolment();
      await reloadMe();
      renderUser();
      showBackupCodes(pendingBackupCodes);
      pendingBackupCodes = [];
      await refreshLists(); // enabling ends the other sessions
    } catch (err) { handle(err, 'tfs-error'); }
  });
}

// clearEnrolment takes the key and its QR code off the page.
function clearEnrolment() {
  $('tf-setup-form').reset();
  $('tf-setup-form').hidden = true;
  $('tf-secret').textContent = '';
  delete $('tf-secret').dataset.secret;
  delete $('tf-qr').dataset.uri;
  $('tf-qr').getContext('2d').clearRect(0, 0, $('tf-qr').width, $('tf-qr').height);
  formError('tfs-error');
}

function cancelEnrolment() {
  clearEnrolment();
  renderTwoFactor();
}

function showBackupCodes(codes) {
  $('backup-list').replaceChildren(...codes.map((c) => el('li', { textContent: c })));
  $('backup-codes').hidden = codes.length === 0;
  if (codes.length) $('backup-done').focus();
}

function hideBackupCodes() {
  $('backup-list').replaceChildren();
  $('backup-codes').hidden = true;
  $('tf-state').focus();
}

async function newBackupCodes() {
  formError('tfm-error');
  const password = $('tfm-password').value;
  if (!password) { formError('tfm-error', new Error('Enter your password.')); $('tfm-password').focus(); return; }
  await busy($('tfm-codes'), async () => {
    try {
      const r = await twoFactor.backupCodes(password);
      $('tf-manage-form').reset();
      showBackupCodes(r.backupCodes || []);
      await loadActivity();
    } catch (err) { handle(err, 'tfm-error'); }
  });
}

async function disableTwoFactor() {
  formError('tfm-error');
  const password = $('tfm-password').value;
  if (!password) { formError('tfm-error', new Error('Enter your password.')); $('tfm-password').focus(); return; }
  await busy($('tfm-disable'), async () => {
    try {
      await twoFactor.disable(password);
      $('tf-manage-form').reset();
      hideBackupCodes();
      await reloadMe();
      renderUser();
      await refreshLists();
    } catch (err) { handle(err, 'tfm-error'); }
  });
}

async function deleteAccount(e) {
  e.preventDefault();
  formError('delete-error');
  const password = $('del-password').value;
  if (!password) { formError('delete-error', new Error('Enter your password to delete your account.')); $('del-password').focus(); return; }
  await busy($('delete-submit'), async () => {
    try {
      await account.deleteUser(password);
      signedOut('Your account is deleted.');
    } catch (err) { handle(err, 'delete-error'); }
  });
}

// ---- organizations ----

function activeOrg() {
  const id = me && me.session && me.session.activeOrganizationId;
  return (id && orgs.find((o) => o.id === id)) || null;
}

function isAdmin() {
  return myRole.split(',').some((r) => r.trim() === 'admin' || r.trim() === 'owner');
}

function roleWords(role) {
  return (role || '').split(',').map((r) => r.trim()).filter(Boolean).join(' and ') || 'no role';
}

function clearOrganizations() {
  orgs = [];
  members = [];
  myRole = '';
  scope = 'organization';
  renderSwitcher();
  $('member-list').replaceChildren();
  $('pending-list').replaceChildren();
  for (const id of ['org-form', 'invite-form']) $(id).reset();
  for (const id of ['members-status', 'inv-status']) status(id);
  for (const id of ['members-error', 'inv-error', 'org-form-error', 'invite-error']) formError(id);
}

// loadOrgContext learns the user's organizations, their role in the active
// one and its members (whose names the task list shows).
async function loadOrgContext() {
  try {
    orgs = await organizations.list();
  } catch (err) {
    // Auth without AUTH_PLUGINS=organization: no switcher, no page.
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    orgs = [];
    $('nav-org').hidden = true;
    $('org-switch').parentElement.hidden = true;
    return;
  }
  $('nav-org').hidden = false;
  $('org-switch').parentElement.hidden = false;
  const o = activeOrg();
  members = [];
  myRole = '';
  if (o) {
    const [m, list] = await Promise.all([organizations.activeMember(), organizations.members(o.id)]);
    myRole = (m && m.role) || '';
    members = list;
  }
  renderSwitcher();
}

function renderSwitcher() {
  const sel = $('org-switch');
  sel.replaceChildren(el('option', { value: '', textContent: 'Personal' }),
    ...orgs.map((o) => el('option', { value: o.id, textContent: o.name })));
  const o = activeOrg();
  sel.value = o ? o.id : '';
}

// switchTo makes an organization (or none) the session's active one. It goes
// through the gateway, which drops the cached token: the next tasks call
// carries the new organization and role.
async function switchTo(id) {
  const sel = $('org-switch');
  sel.disabled = true;
  try {
    await organizations.setActive(id || null);
    await reloadMe();
    scope = 'organization';
    await route();
  } catch (err) {
    handle(err);
    renderSwitcher();
  } finally { sel.disabled = false; }
}

async function showOrg() {
  document.title = 'Organizations · Latch';
  show('org');
  renderOrg();
  await loadInvitations();
}

// loadInvitations lists the active organization's pending invitations for
// those who may invite (and cancel).
async function loadInvitations() {
  const o = activeOrg();
  $('pending').hidden = true;
  $('pending-list').replaceChildren();
  if (!o || !isAdmin()) return;
  try {
    const open = (await organizations.invitations(o.id)).filter((i) => i.status === 'pending');
    $('pending-list').replaceChildren(...open.map(invitationItem));
    $('pending').hidden = open.length === 0;
  } catch (err) { handle(err, 'inv-error'); }
}

function invitationItem(inv) {
  const cancel = el('button', { type: 'button', className: 'secondary', textContent: 'Cancel' });
  cancel.setAttribute('aria-label', `Cancel the invitation of ${inv.email}`);
  cancel.addEventListener('click', () => busy(cancel, async () => {
    try {
      await organizations.cancel(inv.id);
      status('inv-status', `The invitation of ${inv.email} is cancelled.`);
      await loadInvitations();
    } catch (err) { handle(err, 'inv-error'); }
  }));
  const li = el('li', { className: 'item' },
    el('div', { className: 'body' },
      el('div', { className: 'title', textContent: inv.email }),
      el('div', { className: 'meta' }, el('span', { textContent: roleWords(inv.role) }), el('span', { textContent: `until ${when(inv.expiresAt)}` }))),
    cancel);
  li.dataset.email = inv.email;
  return li;
}

function renderOrg() {
  const o = activeOrg();
  $('org-card').hidden = !o;
  $('invite-form').hidden = !o || !isAdmin();
  if (!o) { $('member-list').replaceChildren(); return; }
  $('org-name').textContent = o.name;
  $('org-role').textContent = roleWords(myRole);
  $('member-list').replaceChildren(...members.map(memberItem));
}

function memberItem(m) {
  const name = m.user.name || m.user.email;
  const self = m.userId === me.user.id;
  const body = el('div', { className: 'body' },
    el('div', { className: 'title', textContent: self ? `${name} (you)` : name }),
    el('div', { className: 'meta' }, el('span', { textContent: m.user.email }), el('span', { className: 'role', textContent: roleWords(m.role) })));
  const li = el('li', { className: 'item' }, body);
  li.dataset.email = m.user.email;
  if (isAdmin() && !self) {
    const sel = el('select', { className: 'role-select' },
      ...['member', 'admin', 'owner'].map((r) => el('option', { value: r, textContent: r })));
    sel.value = m.role.split(',')[0];
    sel.setAttribute('aria-label', `Role of ${name}`);
    // A button applies the pick: arrow keys on a closed select fire change
    // for every option they pass.
    const set = el('button', { type: 'button', className: 'secondary', textContent: 'Set role' });
    set.setAttribute('aria-label', `Set the role of ${name}`);
    set.addEventListener('click', () => changeRole(m, sel, set));
    const rm = el('button', { type: 'button', className: 'danger', textContent: 'Remove' });
    rm.setAttribute('aria-label', `Remove ${name}`);
    rm.addEventListener('click', () => removeMember(m, rm));
    li.append(el('div', { className: 'controls' }, sel, set, rm));
  }
  return li;
}

async function reloadOrg() {
  await reloadMe();
  await loadOrgContext();
  renderOrg();
}

async function changeRole(m, sel, button) {
  formError('members-error');
  status('members-status');
  const o = activeOrg();
  await busy(button, async () => {
    try {
      await organizations.updateRole(o.id, m.id, sel.value);
      status('members-status', `${m.user.name || m.user.email} is now ${sel.value}.`);
    } catch (err) { handle(err, 'members-error'); }
    try { await reloadOrg(); } catch (err) { handle(err, 'members-error'); }
  });
}

async function removeMember(m, button) {
  formError('members-error');
  status('members-status');
  await busy(button, async () => {
    try {
      await organizations.remove(activeOrg().id, m.id);
      status('members-status', `${m.user.name || m.user.email} is no longer a member.`);
      await reloadOrg();
    } catch (err) { handle(err, 'members-error'); }
  });
}

async function leaveOrg() {
  formError('members-error');
  const o = activeOrg();
  if (!o) return;
  await busy($('org-leave'), async () => {
    try {
      await organizations.leave(o.id);
      await organizations.setActive(null); // through the gateway: the cached token still names the organization
      await reloadOrg();
      banner(`You have left ${o.name}.`, 'info');
    } catch (err) { handle(err, 'members-error'); }
  });
}

function slugOf(name) {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
}

async function createOrg(e) {
  e.preventDefault();
  formError('org-form-error');
  const name = $('org-new-name').value.trim();
  const slug = $('org-new-slug').value.trim();
  if (!name || !slug) { formError('org-form-error', new Error('Give the organization a name and a slug.')); return; }
  if (!/^[a-z0-9-]+$/.test(slug)) { formError('org-form-error', new Error('The slug takes lowercase letters, digits and -.')); $('org-new-slug').focus(); return; }
  await busy($('org-submit'), async () => {
    try {
      const o = await organizations.create(name, slug);
      // create makes it active in the session; set-active through the
      // gateway also drops the cached token that names no organization.
      await organizations.setActive(o.id);
      $('org-form').reset();
      slugTouched = false;
      await reloadOrg();
      status('members-status', `${o.name} is created and active.`);
      $('org-name').focus();
    } catch (err) { handle(err, 'org-form-error'); }
  });
}

async function invite(e) {
  e.preventDefault();
  formError('inv-error');
  status('inv-status');
  const email = $('inv-email').value.trim();
  const role = $('inv-role').value;
  if (!email) { formError('inv-error', new Error('Enter the email to invite.')); $('inv-email').focus(); return; }
  await busy($('inv-submit'), async () => {
    try {
      await organizations.invite(activeOrg().id, email, role);
      $('inv-email').value = '';
      status('inv-status', `Invitation sent to ${email} (${role}).`);
      await loadInvitations();
    } catch (err) { handle(err, 'inv-error'); }
  });
}

// The mailed link: /accept-invitation/<id>.
function invitationId() {
  return decodeURIComponent(window.location.pathname.slice('/accept-invitation/'.length));
}

async function showInvitation() {
  document.title = 'Invitation · Latch';
  show('invite');
  formError('invite-error');
  status('invite-text');
  $('invite-buttons').hidden = true;
  try {
    const inv = await organizations.invitation(invitationId());
    status('invite-text', `${inv.inviterEmail} invites you to join ${inv.organizationName} as ${roleWords(inv.role)}.`);
    $('invite-buttons').hidden = false;
    $('invite-accept').focus();
  } catch (err) { handle(err, 'invite-error'); }
}

async function answerInvitation(accept) {
  formError('invite-error');
  await busy($(accept ? 'invite-accept' : 'invite-reject'), async () => {
    try {
      if (accept) {
        const r = await organizations.accept(invitationId());
        await organizations.setActive(r.invitation.organizationId); // through the gateway: a fresh token
        await reloadMe();
        scope = 'organization';
        navigate('/');
        return;
      }
      await organizations.reject(invitationId());
      $('invite-buttons').hidden = true;
      status('invite-text', 'You declined the invitation.');
    } catch (err) { handle(err, 'invite-error'); }
  });
}

// ---- start and routing ----

async function route() {
  banner('');
  const path = window.location.pathname;
  const params = new URLSearchParams(window.location.search);
  if (path === '/reset-password') { showReset(params); return; }
  if (path === '/email-verified') { showVerified(params); return; }
  if (!me) {
    showAuth('sign-in');
    if (path.startsWith('/accept-invitation/')) {
      banner('You have been invited to an organization. Sign in (or create an account) with the address the invitation went to, and you come back here to answer it.', 'info');
    }
    return;
  }
  try { await loadOrgContext(); } catch (err) { handle(err); if (!me) return; }
  if (path.startsWith('/accept-invitation/')) { await showInvitation(); return; }
  if (path === '/organization') { await showOrg(); return; }
  if (path === '/account') { await showAccount(); return; }
  await showTasks();
}

async function start() {
  banner('');
  try {
    const s = await auth.session();
    me = s && s.user ? s : null;
  } catch (err) {
    me = null;
    showSignIn();
    handle(err);
    return;
  }
  await route();
}

async function init() {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-up-form').addEventListener('submit', signUp);
  $('switch-mode').addEventListener('click', () => setMode(mode === 'sign-in' ? 'sign-up' : 'sign-in'));
  $('forgot-link').addEventListener('click', () => { $('fp-email').value = $('si-email').value.trim(); status('forgot-status'); setMode('forgot'); });
  $('forgot-cancel').addEventListener('click', () => setMode('sign-in'));
  $('forgot-form').addEventListener('submit', requestReset);
  $('reset-form').addEventListener('submit', resetPassword);
  $('reset-again').addEventListener('click', () => { window.history.replaceState({}, '', '/'); status('forgot-status'); setMode('forgot'); });
  $('si-resend').addEventListener('click', resendFromSignIn);
  $('two-factor-form').addEventListener('submit', verifySecondFactor);
  for (const r of document.querySelectorAll('input[name="tf-method"]')) r.addEventListener('change', secondFactorMethod);
  $('tf-send').addEventListener('click', sendEmailCode);
  $('tf-cancel').addEventListener('click', () => { $('si-password').value = ''; setMode('sign-in'); });
  $('sign-out').addEventListener('click', signOut);
  $('resend-verification').addEventListener('click', resendVerification);
  $('task-form').addEventListener('submit', saveTask);
  $('task-cancel').addEventListener('click', resetTaskForm);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
  for (const id of ['f-status', 'f-priority', 'f-sort']) $(id).addEventListener('change', refresh);
  for (const id of ['f-search', 'f-tag']) {
    $(id).addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(refresh, 250); });
  }
  $('profile-form').addEventListener('submit', saveProfile);
  $('email-form').addEventListener('submit', changeEmail);
  $('password-form').addEventListener('submit', changePassword);
  $('revoke-others').addEventListener('click', revokeOthers);
  $('tf-enable-form').addEventListener('submit', startEnrolment);
  $('tf-setup-form').addEventListener('submit', finishEnrolment);
  $('tfs-cancel').addEventListener('click', cancelEnrolment);
  $('backup-done').addEventListener('click', hideBackupCodes);
  $('tfm-codes').addEventListener('click', newBackupCodes);
  $('tfm-disable').addEventListener('click', disableTwoFactor);
  $('delete-form').addEventListener('submit', deleteAccount);
  $('org-switch').addEventListener('change', () => switchTo($('org-switch').value));
  $('task-scope').addEventListener('change', () => { scope = $('task-scope').value; resetTaskForm(); renderScope(); refresh(); });
  $('org-form').addEventListener('submit', createOrg);
  $('org-new-name').addEventListener('input', () => { if (!slugTouched) $('org-new-slug').value = slugOf($('org-new-name').value); });
  $('org-new-slug').addEventListener('input', () => { slugTouched = true; });
  $('invite-form').addEventListener('submit', invite);
  $('org-leave').addEventListener('click', leaveOrg);
  $('invite-accept').addEventListener('click', () => answerInvitation(true));
  $('invite-reject').addEventListener('click', () => answerInvitation(false));
  // In-app links move between views without reloading; a modified click
  // (new tab) is left to the browser.
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[data-route]');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', () => { route(); });
  const cfg = await appConfig();
  if ((cfg.socialProviders || []).includes('google')) {
    socialOn = true;
    $('google').addEventListener('click', async () => {
      try {
        // Back to the invitation a signed-out visitor came from.
        const back = window.location.pathname.startsWith('/accept-invitation/') ? window.location.pathname : '/';
        const r = await auth.social('google', back);
        if (r && r.url) window.location.assign(r.url);
      } catch (err) { handle(err, mode === 'sign-in' ? 'sign-in-error' : 'sign-up-error'); }
    });
  }
  await start();
}

init();
