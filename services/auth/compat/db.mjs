// Throw-away PostgreSQL databases, one per test file, on the server named by TEST_DATABASE_URL.
import crypto from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL || "postgres://root@127.0.0.1:5432/test?sslmode=disable";

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const PREFIX = "latch_compat_";
const STALE_AFTER_S = 3 * 3600;

/**
 * Creates an empty database named latch_compat_<label>_<unix time>_<random> and returns
 *   { name, url, query(sql, params), pool, drop() }.
 * `query` uses a small pool on the new database; `drop()` closes it and drops the database
 * (WITH (FORCE), so connections a server left behind cannot block it).
 */
export async function createTestDatabase(label = "db") {
  const now = Math.floor(Date.now() / 1000);
  const name = `${PREFIX}${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${now}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`cannot connect to TEST_DATABASE_URL (${redact(TEST_DATABASE_URL)}): ${err.message}`);
  }
  try {
    await dropStale(admin, now);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(TEST_DATABASE_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on("error", () => {});
  let dropped;
  return {
    name,
    url,
    pool,
    query: (sql, params) => pool.query(sql, params),
    drop() {
      dropped ??= (async () => {
        await pool.end().catch(() => {});
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await c.end();
        }
      })();
      return dropped;
    },
  };
}

/** Best effort: drops databases a crashed run left behind (named with a creation time over 3 h ago). */
async function dropStale(admin, now) {
  try {
    const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}%'`);
    for (const { datname } of rows) {
      const m = /_(\d{10})_[0-9a-f]{8}$/.exec(datname);
      if (m && now - Number(m[1]) > STALE_AFTER_S) {
        await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
      }
    }
  } catch {
    // not worth failing a test run over
  }
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparsable url>";
  }
}
