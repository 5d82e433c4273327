// The tasks benchmark's peer: a resource server as a Better Auth user writes
// it today. Plain node:http (no framework, so the figures are the peer's best
// case), jose's createRemoteJWKSet + jwtVerify for the Bearer token, and a
// pg.Pool (max 10) for the rows. Same routes, statuses and JSON as Latch's
// tasks service for what the benchmark calls:
//
//   GET /api/tasks/:id        200 task | 404 | 403 | 422 (id not an integer)
//   GET /api/tasks?limit=20   the caller's personal tasks, newest first, X-Total-Count
//   GET /api/tasks?scope=organization&limit=20
//                             the active organization's tasks (403 without one)
//
// Team tasks, with the rule Latch applies, from the same claims: a task with
// an organization_id is readable by a token whose org claim names that
// organization with an org_role of owner, admin or member; a personal task
// by its owner only.
//
// Env: PORT, DATABASE_URL, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE.
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';

const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const PORT = Number(env('PORT', '8002'));
const JWKS = createRemoteJWKSet(new URL(env('JWKS_URL')));
const ISSUER = env('JWT_ISSUER');
const AUDIENCE = env('JWT_AUDIENCE');

// bigint (int8) as a JS number, as most apps configure pg: ids and counts.
pg.types.setTypeParser(20, (v) => parseInt(v, 10));
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
pool.on('error', (err) => console.error('pg pool error', err));

// Task row with its tags, which the schema keeps on the row in position
// order, joined by U+001F (tasks.tag_list): the same read Latch makes.
const TASK_COLUMNS = `t.id, t.user_id, t.organization_id, t.title, t.description, t.completed, t.priority,
  t.due_date, t.created_at, t.updated_at, t.tag_list`;

const render = (r) => ({
  id: r.id,
  user_id: r.user_id,
  organization_id: r.organization_id,
  title: r.title,
  description: r.description,
  completed: r.completed,
  priority: r.priority,
  due_date: r.due_date ? r.due_date.toISOString() : null,
  tags: r.tag_list === '' ? [] : r.tag_list.split('\x1f'),
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const send = (res, status, body, headers = {}) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json), ...headers });
  res.end(json);
};

async function authenticate(req) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return null;
  try {
    const { payload } = await jwtVerify(m[1], JWKS, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] });
    if (typeof payload.sub !== 'string' || !payload.sub) return null;
    return { sub: payload.sub, org: typeof payload.org === 'string' ? payload.org : '', roles: roles(payload) };
  } catch {
    return null;
  }
}

// roles: the member's roles from org_role ("admin", or "admin,member").
const roles = (payload) => (typeof payload.org === 'string' && payload.org && typeof payload.org_role === 'string'
  ? payload.org_role.split(',').map((r) => r.trim()).filter(Boolean) : []);
const MEMBER_ROLES = ['owner', 'admin', 'member'];
const isMember = (caller, org) => org !== '' && caller.org === org && caller.roles.some((r) => MEMBER_ROLES.includes(r));

async function getTask(res, caller, id) {
  const { rows } = await pool.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [id]);
  if (rows.length === 0) return send(res, 404, { detail: 'Task not found' });
  const t = rows[0];
  const allowed = t.organization_id === null ? t.user_id === caller.sub : isMember(caller, t.organization_id);
  if (!allowed) return send(res, 403, { detail: 'Not authorized to access this task' });
  return send(res, 200, render(t));
}

async function listTasks(res, caller, params) {
  const limit = Math.min(Math.max(parseInt(params.get('limit') ?? '50', 10) || 50, 1), 200);
  const offset = Math.max(parseInt(params.get('offset') ?? '0', 10) || 0, 0);
  let where = 't.user_id = $1 AND t.organization_id IS NULL';
  let owner = caller.sub;
  if (params.get('scope') === 'organization') {
    if (!isMember(caller, caller.org)) return send(res, 403, { detail: 'No active organization: the token names none you are a member of' });
    where = 't.organization_id = $1';
    owner = caller.org;
  }
  const [count, list] = await Promise.all([
    pool.query(`SELECT count(*) AS n FROM tasks t WHERE ${where}`, [owner]),
    pool.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE ${where}
      ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3`, [owner, limit, offset]),
  ]);
  return send(res, 200, list.rows.map(render), { 'X-Total-Count': String(count.rows[0].n) });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' || !url.pathname.startsWith('/api/tasks')) {
      return send(res, 404, { detail: 'Not Found' });
    }
    const caller = await authenticate(req);
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(res, 401, { detail: 'Not authenticated' });
    }
    if (url.pathname === '/api/tasks' || url.pathname === '/api/tasks/') {
      return await listTasks(res, caller, url.searchParams);
    }
    const m = /^\/api\/tasks\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(res, 404, { detail: 'Not Found' });
    if (!/^[1-9]\d{0,17}$/.test(m[1])) {
      return send(res, 422, { detail: [{ loc: ['path', 'task_id'], msg: 'Input should be a valid integer', type: 'int_parsing' }] });
    }
    return await getTask(res, caller, Number(m[1]));
  } catch (err) {
    console.error('request failed', err);
    if (!res.headersSent) send(res, 500, { detail: 'Internal Server Error' });
  }
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, '127.0.0.1', () => console.log(`node peer listening on http://127.0.0.1:${PORT}`));
const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
