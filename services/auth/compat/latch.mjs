// Running the system under test: the Latch auth binary (LATCH_AUTH_BIN), or - with COMPAT_SELF=1 -
// a second Better Auth server standing in for it, to prove the harness before Latch exists.
//
// Binary contract:
//   $LATCH_AUTH_BIN migrate   env DATABASE_URL                       -> applies the schema, exits 0
//   $LATCH_AUTH_BIN serve     env DATABASE_URL, BETTER_AUTH_SECRET, BETTER_AUTH_URL, PORT,
//                             TRUSTED_ORIGINS (optional)            -> Better Auth API under /api/auth,
//                                                                      ready when GET /api/auth/ok = 200 {"ok":true}
import "./env.mjs";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { getMigrations } from "better-auth/db/migration";
import { betterAuthOptions, startBetterAuth } from "./ba-server.mjs";

export const SELF = ["1", "true", "yes"].includes(String(process.env.COMPAT_SELF ?? "").toLowerCase());
export const READY_TIMEOUT_MS = Number(process.env.LATCH_READY_TIMEOUT_MS ?? 15000);
const LOG_LIMIT = 256 * 1024;

// The binary runs in a throw-away working directory, so nothing it writes relative to its cwd
// (e.g. a generated .data/auth-secret when BETTER_AUTH_SECRET is unset, as for `migrate`) lands
// in the source tree. Removed when this process exits.
let workdir;
function binWorkdir() {
  if (!workdir) {
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), "latch-compat-"));
    process.once("exit", () => fs.rmSync(workdir, { recursive: true, force: true }));
  }
  return workdir;
}

/** Name of the side under test, for messages. */
export const TARGET_NAME = SELF ? "better-auth (COMPAT_SELF=1 stand-in for Latch)" : "latch";

/**
 * The absolute path of the Latch binary, or null in COMPAT_SELF mode without one.
 * Throws (so the suite FAILS, not skips) when LATCH_AUTH_BIN is required but unusable.
 */
export function latchBin() {
  const raw = process.env.LATCH_AUTH_BIN;
  if (!raw) {
    if (SELF) return null;
    throw new Error(
      "LATCH_AUTH_BIN is not set. The compatibility suite needs the Latch auth binary: " +
        "run `LATCH_AUTH_BIN=../../../bin/auth npm test` (after `make build` at the repository root), " +
        "or `COMPAT_SELF=1 npm test` to check the harness against Better Auth itself.",
    );
  }
  const bin = path.resolve(process.cwd(), raw);
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`LATCH_AUTH_BIN=${raw} (resolved to ${bin}) does not exist or is not executable.`);
  }
  return bin;
}

/** Fails fast with the clear LATCH_AUTH_BIN message; call it in every file's before(). */
export function requireTarget() {
  latchBin();
}

/**
 * Applies the auth schema to an empty database with `$LATCH_AUTH_BIN migrate`.
 * COMPAT_SELF=1 without a binary: Better Auth's own migrator creates the same tables instead.
 */
export async function migrate(databaseUrl) {
  const bin = latchBin();
  if (bin) {
    const { code, signal, output } = await run(bin, ["migrate"], { DATABASE_URL: databaseUrl }, 30000);
    if (code !== 0) {
      throw new Error(`\`${bin} migrate\` failed (exit ${code ?? signal}):\n${output}`);
    }
    return;
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { runMigrations } = await getMigrations(
      betterAuthOptions({ database: pool, secret: "x".repeat(32), baseURL: "http://127.0.0.1" }),
    );
    await runMigrations();
  } finally {
    await pool.end();
  }
}

/** Starts the reference server: the real Better Auth, its log lines kept for failure reports. */
export async function startReference({ databaseUrl, secret, port, overrides }) {
  const s = await startBetterAuth({ databaseUrl, secret, port: port ?? 0, captureLogs: true, overrides });
  return { name: "better-auth", url: s.url, close: s.close, logs: s.logs, mails: s.mails, auth: s.auth };
}

/**
 * Starts the server under test on a free port: Latch (`serve`), or Better Auth with COMPAT_SELF=1.
 * Returns { name, url, close(), logs() }; logs() is the child's recent stdout+stderr.
 */
export async function startTarget({ databaseUrl, secret, port, trustedOrigins, overrides, env } = {}) {
  if (SELF) {
    const s = await startBetterAuth({ databaseUrl, secret, port: port ?? 0, captureLogs: true, overrides });
    return { name: TARGET_NAME, url: s.url, close: s.close, logs: s.logs, mails: s.mails };
  }
  return startLatch({ databaseUrl, secret, port, trustedOrigins, env });
}

/** Starts `$LATCH_AUTH_BIN serve` and waits (bounded) until GET /api/auth/ok answers 200 {"ok":true}. */
export async function startLatch({ databaseUrl, secret, port, trustedOrigins, env: extraEnv = {} }) {
  const bin = latchBin();
  if (!bin) throw new Error("startLatch: LATCH_AUTH_BIN is not set");
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: secret,
    BETTER_AUTH_URL: url,
    PORT: String(port),
    // Better Auth (node-pg) writes the zone-less timestamp columns in this process's local time
    // zone; an operator moving such a database to Latch tells it the zone the same way.
    DATABASE_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
    // The harness sends X-Forwarded-For as a proxy in front of the service would; Better Auth
    // believes it from anyone, Latch only from TRUSTED_PROXIES: the harness is that proxy.
    TRUSTED_PROXIES: "127.0.0.0/8,::1",
    ...extraEnv,
  };
  if (trustedOrigins) env.TRUSTED_ORIGINS = trustedOrigins;
  else delete env.TRUSTED_ORIGINS;

  const child = spawn(bin, ["serve"], { env, cwd: binWorkdir(), stdio: ["ignore", "pipe", "pipe"] });
  const log = new LogBuffer();
  child.stdout.on("data", (b) => log.push(b));
  child.stderr.on("data", (b) => log.push(b));
  track(child);
  let exited = null;
  const exitedP = new Promise((resolve) => child.once("exit", (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  child.once("error", (err) => log.push(Buffer.from(`spawn error: ${err.message}\n`)));

  const close = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exitedP;
    clearTimeout(t);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      throw new Error(`latch serve exited before it was ready (exit ${exited.code ?? exited.signal}):\n${log.text()}`);
    }
    try {
      const res = await fetch(`${url}/api/auth/ok`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      if (res.status === 200 && isOk(text)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`latch serve not ready within ${READY_TIMEOUT_MS} ms (GET ${url}/api/auth/ok):\n${log.text()}`);
    }
    await sleep(100);
  }
  return { name: TARGET_NAME, url, close, logs: () => log.text(), child };
}

/**
 * Runs fn; if it throws, appends the recent output of the given servers to the error message,
 * so a failing comparison shows what Latch logged (and nothing is printed when all is well).
 */
export async function withServerLogs(servers, fn) {
  try {
    return await fn();
  } catch (err) {
    const extra = servers
      .map((s) => {
        const text = s?.logs ? s.logs().slice(-8000) : "";
        return text ? `\n--- ${s.name} output (most recent) ---\n${text.trimEnd()}` : "";
      })
      .join("");
    if (extra && err && typeof err === "object") {
      try {
        err.message += extra;
      } catch {
        // some errors have a read-only message
      }
    }
    throw err;
  }
}

// ---- process bookkeeping ------------------------------------------------------------------
const live = new Set();
let handlersInstalled = false;
function track(child) {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!handlersInstalled) {
    handlersInstalled = true;
    // Never leave a Latch process behind, whatever ends this one.
    process.once("exit", killAll);
    for (const sig of ["SIGINT", "SIGTERM"]) {
      process.once(sig, () => {
        killAll();
        process.exit(128 + (sig === "SIGINT" ? 2 : 15));
      });
    }
  }
}
function killAll() {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function run(bin, args, extraEnv, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...extraEnv }, cwd: binWorkdir(), stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    const log = new LogBuffer();
    child.stdout.on("data", (b) => log.push(b));
    child.stderr.on("data", (b) => log.push(b));
    const t = setTimeout(() => {
      log.push(Buffer.from(`\n[killed after ${timeoutMs} ms]\n`));
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => log.push(Buffer.from(`spawn error: ${err.message}\n`)));
    child.once("close", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, output: log.text() });
    });
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

class LogBuffer {
  constructor() {
    this.chunks = [];
    this.size = 0;
  }
  push(b) {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > LOG_LIMIT && this.chunks.length > 1) this.size -= this.chunks.shift().length;
  }
  text() {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

function isOk(text) {
  try {
    return JSON.parse(text)?.ok === true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
