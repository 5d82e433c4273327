// The tasks benchmark's peer: a resource server as a Better Auth user writes
// it today. Plain node:http (no framework, so the figures are the peer's best
// case), jose's createRemoteJWKSet + jwtVerify for the Bearer token, and a
// pg.Pool (max 10) for the rows. Same routes, statuses and JSON as Latch's
// tasks service for what the benchmark calls:
//
//   GET /api/tasks/:id        200 task | 404 | 403 | 422 (id not an integer)
//   GET /api/tasks?limit=20   the caller's tasks, newest first, X-Total-Count
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
const TASK_COLUMNS = `t.id, t.user_id, t.title, t.description, t.completed, t.priority,
  t.due_date, t.created_at, t.updated_at, t.tag_list`;

const render = (r) => ({
  id: r.id,
  user_id: r.user_id,
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
    return typeof payload.sub === 'string' && payload.sub ? payload.sub : null;
  } catch {
    return null;
  }
}

async function getTask(res, userId, id) {
  const { rows } = await pool.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [id]);
  if (rows.length === 0) return send(res, 404, { detail: 'Task not found' });
  if (rows[0].user_id !== userId) return send(res, 403, { detail: 'Not authorized to access this task' });
  return send(res, 200, render(rows[0]));
}

async function listTasks(res, userId, params) {
  const limit = Math.min(Math.max(parseInt(params.get('limit') ?? '50', 10) || 50, 1), 200);
  const offset = Math.max(parseInt(params.get('offset') ?? '0', 10) || 0, 0);
  const [count, list] = await Promise.all([
    pool.query('SELECT count(*) AS n FROM tasks WHERE user_id = $1', [userId]),
    pool.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.user_id = $1
      ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3`, [userId, limit, offset]),
  ]);
  return send(res, 200, list.rows.map(render), { 'X-Total-Count': String(count.rows[0].n) });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' || !url.pathname.startsWith('/api/tasks')) {
      return send(res, 404, { detail: 'Not Found' });
    }
    const userId = await authenticate(req);
    if (!userId) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(res, 401, { detail: 'Not authenticated' });
    }
    if (url.pathname === '/api/tasks' || url.pathname === '/api/tasks/') {
      return await listTasks(res, userId, url.searchParams);
    }
    const m = /^\/api\/tasks\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(res, 404, { detail: 'Not Found' });
    if (!/^[1-9]\d{0,17}$/.test(m[1])) {
      return send(res, 422, { detail: [{ loc: ['path', 'task_id'], msg: 'Input should be a valid integer', type: 'int_parsing' }] });
    }
    return await getTask(res, userId, Number(m[1]));
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
