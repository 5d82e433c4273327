// The reference server: the real Better Auth, configured exactly like a deployment that uses
// the seed's snake_case schema (see shared/docs/better-auth-wire.md, "How to be sure").
//
// Library:  createBetterAuth({ databaseUrl, secret, baseURL, poolMax })  -> auth instance
//           startBetterAuth({ databaseUrl, secret, port?, host?, poolMax }) -> { url, close, auth, mails }
// CLI:      PORT=3001 DATABASE_URL=... BETTER_AUTH_SECRET=... BETTER_AUTH_URL=... node ba-server.mjs
import "./env.mjs"; // must stay the first import (sets NODE_ENV before better-auth loads)
import http from "node:http";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { jwt, bearer, twoFactor, organization } from "better-auth/plugins";

const ts = { createdAt: "created_at", updatedAt: "updated_at" };

/**
 * The betterAuth() options for the snake_case schema, with the jwt and bearer plugins.
 * Mails (password reset, email verification) are pushed onto `mails` instead of being sent.
 * `overrides.emailAndPassword` / `overrides.emailVerification` / `overrides.user` add options to those groups
 * (e.g. revokeSessionsOnPasswordReset), so a test can run both servers with the same settings.
 * `overrides.twoFactor: true` adds the twoFactor plugin on the snake_case schema of Latch's migration 00010,
 * its mailed codes pushed onto `mails` as { kind: "two-factor-otp", to, otp } (Latch with AUTH_PLUGINS=two-factor).
 * `overrides.organization: true` adds the organization plugin (defaults: teams and dynamic roles off) on the same
 * schema, its invitation mails pushed onto `mails` as { kind: "organization-invitation", to, id } (Latch with
 * AUTH_PLUGINS=organization).
 */
export function betterAuthOptions({ database, secret, baseURL, mails = [], logger, overrides = {} }) {
  return {
    // Where Better Auth's own log lines go; it does not change any behaviour.
    ...(logger ? { logger } : {}),
    database,
    secret,
    baseURL,
    emailAndPassword: {
      enabled: true,
      sendResetPassword: async ({ user, url, token }) => {
        mails.push({ kind: "reset-password", to: user.email, url, token });
      },
      ...overrides.emailAndPassword,
    },
    emailVerification: {
      sendVerificationEmail: async ({ user, url, token }) => {
        mails.push({ kind: "verify-email", to: user.email, url, token });
      },
      ...overrides.emailVerification,
    },
    // Off explicitly: tests and benchmarks must not be throttled (Better Auth only enables it
    // by default under NODE_ENV=production anyway).
    rateLimit: { enabled: false },
    user: { ...overrides.user, fields: { emailVerified: "email_verified", ...ts } },
    session: {
      fields: { expiresAt: "expires_at", ipAddress: "ip_address", userAgent: "user_agent", userId: "user_id", ...ts },
    },
    account: {
      fields: {
        accountId: "account_id", providerId: "provider_id", userId: "user_id", accessToken: "access_token",
        refreshToken: "refresh_token", idToken: "id_token", accessTokenExpiresAt: "access_token_expires_at",
        refreshTokenExpiresAt: "refresh_token_expires_at", ...ts,
      },
    },
    verification: { fields: { expiresAt: "expires_at", ...ts } },
    plugins: [
      jwt({
        schema: {
          jwks: {
            fields: { publicKey: "public_key", privateKey: "private_key", createdAt: "created_at", expiresAt: "expires_at" },
          },
        },
      }),
      bearer(),
      ...(overrides.twoFactor ? [twoFactorPlugin(mails)] : []),
      ...(overrides.organization ? [organizationPlugin(mails)] : []),
    ],
  };
}

/** Better Auth's twoFactor plugin with default options, on snake_case columns, mailing codes into `mails`. */
function twoFactorPlugin(mails) {
  return twoFactor({
    otpOptions: {
      sendOTP: async ({ user, otp }) => {
        mails.push({ kind: "two-factor-otp", to: user.email, otp });
      },
    },
    schema: {
      user: { fields: { twoFactorEnabled: "two_factor_enabled" } },
      twoFactor: {
        modelName: "two_factor",
        fields: {
          backupCodes: "backup_codes", userId: "user_id",
          failedVerificationCount: "failed_verification_count", lockedUntil: "locked_until",
        },
      },
    },
  });
}

/** Better Auth's organization plugin with default options, on the snake_case columns of migration 00010. */
function organizationPlugin(mails) {
  return organization({
    sendInvitationEmail: async ({ id, email }) => {
      mails.push({ kind: "organization-invitation", to: email, id });
    },
    schema: {
      session: { fields: { activeOrganizationId: "active_organization_id" } },
      organization: { fields: { createdAt: "created_at" } },
      member: { fields: { organizationId: "organization_id", userId: "user_id", createdAt: "created_at" } },
      invitation: {
        fields: { organizationId: "organization_id", expiresAt: "expires_at", createdAt: "created_at", inviterId: "inviter_id" },
      },
    },
  });
}

/**
 * Creates the Better Auth instance. The returned object is the real `betterAuth()` result with
 * three extras: `mails` (captured mails), `pool` (its pg.Pool) and `closePool()`.
 * `logger` is passed to Better Auth as is (default: its console logger).
 */
export function createBetterAuth({ databaseUrl, secret, baseURL, poolMax = 10, logger, overrides }) {
  if (!databaseUrl) throw new Error("createBetterAuth: databaseUrl is required");
  if (!secret) throw new Error("createBetterAuth: secret is required");
  if (!baseURL) throw new Error("createBetterAuth: baseURL is required");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax });
  // An idle client that loses its connection (e.g. the test database is dropped) must not crash the process.
  pool.on("error", () => {});
  const mails = [];
  const auth = betterAuth(betterAuthOptions({ database: pool, secret, baseURL, mails, logger, overrides }));
  Object.defineProperties(auth, {
    mails: { value: mails, enumerable: false },
    pool: { value: pool, enumerable: false },
    closePool: { value: () => pool.end(), enumerable: false },
  });
  return auth;
}

/**
 * Starts Better Auth on host:port (port 0 = ephemeral). The base URL is derived from the port
 * actually bound unless `baseURL` is given. With `captureLogs`, Better Auth's log lines are kept
 * in memory (see logs()) instead of printed. Returns { url, port, auth, mails, logs, close }.
 */
export async function startBetterAuth({ databaseUrl, secret, port = 0, host = "127.0.0.1", baseURL, poolMax = 10, captureLogs = false, overrides }) {
  const lines = [];
  const logger = captureLogs
    ? {
        level: "info",
        log: (level, message, ...args) => {
          lines.push(`${level.toUpperCase()} ${message}${args.length ? ` ${args.map(fmt).join(" ")}` : ""}`);
          if (lines.length > 500) lines.shift();
        },
      }
    : undefined;
  let handler = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => { server.off("error", reject); resolve(); });
  });
  const bound = server.address().port;
  const url = `http://${host}:${bound}`;
  const auth = createBetterAuth({ databaseUrl, secret, baseURL: baseURL ?? url, poolMax, logger, overrides });
  handler = toNodeHandler(auth);
  let closed;
  const close = () => {
    closed ??= (async () => {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      await auth.closePool().catch(() => {});
    })();
    return closed;
  };
  return { url, port: bound, auth, mails: auth.mails, logs: () => lines.join("\n"), close };
}

function fmt(a) {
  if (a instanceof Error) return `${a.name}: ${a.message}`;
  if (typeof a === "string") return a;
  try {
    return JSON.stringify(a);
  } catch {
    return String(a);
  }
}

// ---- CLI ------------------------------------------------------------------------------------
const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const need = (name) => {
    const v = process.env[name];
    if (!v) {
      console.error(`ba-server: environment variable ${name} is required`);
      process.exit(2);
    }
    return v;
  };
  const databaseUrl = need("DATABASE_URL");
  const secret = need("BETTER_AUTH_SECRET");
  const port = Number(process.env.PORT ?? 3001);
  const host = process.env.HOST ?? "127.0.0.1";
  const srv = await startBetterAuth({
    databaseUrl, secret, port, host,
    baseURL: process.env.BETTER_AUTH_URL || undefined,
    poolMax: Number(process.env.PG_POOL_MAX ?? 10),
  });
  console.error(`better-auth listening on ${srv.url} (NODE_ENV=${process.env.NODE_ENV})`);
  const stop = async () => { await srv.close(); process.exit(0); };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
