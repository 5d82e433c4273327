import { auth, tasks, appConfig, ApiError } from './api.js';

const $ = (id) => document.getElementById(id);
let mode = 'sign-in';
let searchTimer;

function show(view) {
  $('loading').hidden = true;
  $('auth-view').hidden = view !== 'auth';
  $('tasks-view').hidden = view !== 'tasks';
  $('who').hidden = view !== 'tasks';
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

async function busy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}

// handle shows an error where the user is looking; a 401 means the session
// is gone, so the sign-in page comes back.
function handle(err, fieldId) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401 && err.code === 'UNAUTHENTICATED') {
    showSignIn();
    banner(err.message, 'info');
    return;
  }
  if (fieldId) formError(fieldId, err); else banner(err.message);
}

function setMode(next) {
  mode = next;
  const signIn = mode === 'sign-in';
  $('auth-title').textContent = signIn ? 'Sign in' : 'Create an account';
  $('sign-in-form').hidden = !signIn;
  $('sign-up-form').hidden = signIn;
  $('switch-text').textContent = signIn ? 'No account yet?' : 'Already have an account?';
  $('switch-mode').textContent = signIn ? 'Create one' : 'Sign in';
  formError('sign-in-error'); formError('sign-up-error');
  (signIn ? $('si-email') : $('su-name')).focus();
}

function showSignIn() {
  // Nothing of the last person's list stays in the page.
  $('task-list').replaceChildren();
  $('count').textContent = '';
  show('auth');
  document.title = 'Sign in · Latch tasks';
  setMode('sign-in');
}

async function showTasks(user) {
  $('user-name').textContent = user.name || user.email;
  document.title = 'Tasks · Latch tasks';
  show('tasks');
  resetTaskForm();
  await refresh();
}

function query() {
  const [sort, order] = $('f-sort').value.split(':');
  return {
    completed: $('f-status').value,
    priority: $('f-priority').value,
    tags: $('f-tag').value.trim(),
    search: $('f-search').value.trim(),
    sort, order, limit: '100',
  };
}

async function refresh() {
  try {
    const { items, total } = await tasks.list(query());
    render(items, total);
    banner('');
  } catch (err) { handle(err); }
}

function render(items, total) {
  const list = $('task-list');
  list.replaceChildren(...items.map(taskItem));
  $('count').textContent = total === 0 ? 'No tasks match.' : `${items.length} of ${total} task${total === 1 ? '' : 's'}`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function taskItem(t) {
  const titleId = `task-${t.id}-title`;
  const check = el('input', { type: 'checkbox', checked: t.completed, id: `task-${t.id}-done` });
  check.setAttribute('aria-labelledby', titleId);
  check.addEventListener('change', () => toggle(t, check));
  const meta = el('div', { className: 'meta' },
    el('span', { className: `prio-${t.priority}`, textContent: `${t.priority} priority` }),
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
  const li = el('li', { className: t.completed ? 'task done' : 'task' }, check, body,
    el('div', { className: 'actions' }, edit, del));
  li.dataset.id = t.id;
  return li;
}

async function toggle(t, check) {
  check.disabled = true;
  try { await tasks.toggle(t.id); await refresh(); } catch (err) { check.checked = !check.checked; handle(err); } finally { check.disabled = false; }
}

async function remove(t, button) {
  await busy(button, async () => {
    try { await tasks.remove(t.id); await refresh(); $('task-title').focus(); } catch (err) { handle(err); }
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
      if (id) await tasks.update(id, t); else await tasks.create(t);
      resetTaskForm();
      await refresh();
      $('task-title').focus();
    } catch (err) { handle(err, 'task-error'); }
  });
}

async function signIn(e) {
  e.preventDefault();
  formError('sign-in-error');
  banner('');
  const email = $('si-email').value.trim();
  const password = $('si-password').value;
  if (!email || !password) { formError('sign-in-error', new Error('Enter your email and password.')); return; }
  await busy($('sign-in-submit'), async () => {
    try { await auth.signIn(email, password); await start(); } catch (err) { handle(err, 'sign-in-error'); }
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
    try { await auth.signUp(name, email, password); await start(); } catch (err) { handle(err, 'sign-up-error'); }
  });
}

async function signOut() {
  await busy($('sign-out'), async () => {
    try { await auth.signOut(); } catch (err) { if (err.status !== 401) { handle(err); return; } }
    $('filters').reset(); // the next person starts from the full list
    $('si-password').value = '';
    showSignIn();
    banner('You are signed out.', 'info');
  });
}

async function start() {
  banner('');
  try {
    const s = await auth.session();
    if (s && s.user) await showTasks(s.user); else showSignIn();
  } catch (err) {
    showSignIn();
    handle(err);
  }
}

async function init() {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-up-form').addEventListener('submit', signUp);
  $('switch-mode').addEventListener('click', () => setMode(mode === 'sign-in' ? 'sign-up' : 'sign-in'));
  $('sign-out').addEventListener('click', signOut);
  $('task-form').addEventListener('submit', saveTask);
  $('task-cancel').addEventListener('click', resetTaskForm);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
  for (const id of ['f-status', 'f-priority', 'f-sort']) $(id).addEventListener('change', refresh);
  for (const id of ['f-search', 'f-tag']) {
    $(id).addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(refresh, 250); });
  }
  const cfg = await appConfig();
  if ((cfg.socialProviders || []).includes('google')) {
    $('social').hidden = false;
    $('google').addEventListener('click', async () => {
      try {
        const r = await auth.social('google');
        if (r && r.url) window.location.assign(r.url);
      } catch (err) { handle(err, mode === 'sign-in' ? 'sign-in-error' : 'sign-up-error'); }
    });
  }
  await start();
}

init();
