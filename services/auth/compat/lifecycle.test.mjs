// Email verification and password reset through the official client, against the real Better
// Auth 1.7.25 and against Latch, configured alike: verification mailed on sign-up, sessions revoked
// on password reset. Better Auth's mails are captured in memory; Latch's come from its MAIL_OUTBOX
// file (one JSON object per line). The links in both must have the same shape, and Latch's
// verification token must be a JWT Better Auth itself would accept (HS256 with the shared secret).
import "./env.mjs";
import { describe, it, before, after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { jwtVerify } from "jose";
import { createTestDatabase } from "./db.mjs";
import { migrate, requireTarget, startReference, startTarget, withServerLogs, TARGET_NAME, SELF } from "./latch.mjs";
import { claimTypes, decodeJwtPart, makeUser, normalize, observe, rawRequest } from "./harness.mjs";

const SECRET = `compat-${crypto.randomBytes(24).toString("base64url")}`;
const STEP = { timeout: 30000 };
const OPTIONS = {
  emailAndPassword: { revokeSessionsOnPasswordReset: true },
  emailVerification: { sendOnSignUp: true },
  user: { changeEmail: { enabled: true }, deleteUser: { enabled: true } },
};

test("LATCH_AUTH_BIN names the Latch auth binary (or COMPAT_SELF=1 is set)", () => requireTarget());

describe(`mailed links: Latch answers like Better Auth 1.7.25 (target: ${TARGET_NAME})`, { timeout: 120000 }, () => {
  const dbs = [];
  const servers = [];
  let ref;
  let sut;
  let outbox;

  /** The mails a side sent: [{to, url}] in order. */
  function mailsOf(side) {
    if (side.server.mails) return side.server.mails.map((m) => ({ to: m.to, url: m.url }));
    if (!fs.existsSync(outbox)) return [];
    return fs.readFileSync(outbox, "utf8").split("\n").filter(Boolean).map((line) => {
      const m = JSON.parse(line);
      const url = m.text.match(/https?:\/\/\S+/)?.[0];
      assert.ok(url, `outbox mail without a link: ${line}`);
      assert.ok(m.html.includes(url.replaceAll("&", "&amp;")), "the HTML part holds the same link");
      return { to: m.to, url, subject: m.subject };
    });
  }
  function lastMail(side, to) {
    const all = mailsOf(side).filter((m) => m.to === to);
    assert.ok(all.length, `${side.name} sent no mail to ${to}`);
    return all.at(-1);
  }

  function side(server, db) {
    return { server, db, name: server.name, origin: new URL(server.url).origin, users: new Map() };
  }
  function user(s, key) {
    if (!s.users.has(key)) s.users.set(key, makeUser(s.server, { forwardedFor: "203.0.113.7" }));
    return s.users.get(key);
  }
  const norm = (s, v) => normalize(v, { origin: s.origin });
  const result = (s, r) => norm(s, { data: r.data ?? null, error: r.error ?? null });
  const both = (fn) => withServerLogs([ref?.server, sut?.server], async () => [await fn(ref), await fn(sut)]);
  const same = (a, b, what) => assert.deepStrictEqual(b, a, `${what}: Latch (+) differs from Better Auth (-)`);
  /** The link with the server's origin and the random parts replaced. */
  const linkShape = (s, url) => url.replace(s.origin, "<origin>")
    .replace(/token=eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/, "token=<jwt>")
    .replace(/\/reset-password\/[A-Za-z0-9]{24}\?/, "/reset-password/<24 chars>?");

  before(async () => {
    requireTarget();
    const [dbRef, dbSut] = await Promise.all([createTestDatabase("life_ba"), createTestDatabase("life_latch")]);
    dbs.push(dbRef, dbSut);
    await Promise.all([migrate(dbRef.url), migrate(dbSut.url)]);
    outbox = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "latch-outbox-")), "outbox.jsonl");
    const refServer = await startReference({ databaseUrl: dbRef.url, secret: SECRET, overrides: OPTIONS });
    servers.push(refServer);
    const sutServer = await startTarget({
      databaseUrl: dbSut.url, secret: SECRET, overrides: OPTIONS,
      env: {
        MAIL_OUTBOX: outbox, SEND_VERIFICATION_ON_SIGN_UP: "true", REVOKE_SESSIONS_ON_PASSWORD_RESET: "true",
        CHANGE_EMAIL_ENABLED: "true", DELETE_USER_ENABLED: "true",
      },
    });
    servers.push(sutServer);
    ref = side(refServer, dbRef);
    sut = side(sutServer, dbSut);
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(servers.map((s) => s.close()));
    await Promise.allSettled(dbs.map((d) => d.drop()));
    if (outbox) fs.rmSync(path.dirname(outbox), { recursive: true, force: true });
  }, { timeout: 30000 });

  const EMAIL = "lena@example.com";

  it("sign-up mails a verification link of Better Auth's shape, with a token Better Auth accepts", STEP, async () => {
    const [a, b] = await both((s) => user(s, "lena").client.signUp.email({ name: "Lena", email: EMAIL, password: "first password", callbackURL: "/welcome" }));
    same(result(ref, a), result(sut, b), "signUp.email");
    const [ma, mb] = [lastMail(ref, EMAIL), lastMail(sut, EMAIL)];
    same(linkShape(ref, ma.url), linkShape(sut, mb.url), "verification link");
    assert.equal(linkShape(sut, mb.url), "<origin>/api/auth/verify-email?token=<jwt>&callbackURL=%2Fwelcome");
    const [ta, tb] = [new URL(ma.url).searchParams.get("token"), new URL(mb.url).searchParams.get("token")];
    same(decodeJwtPart(ta, 0), decodeJwtPart(tb, 0), "token header");
    same(claimTypes(decodeJwtPart(ta, 1)), claimTypes(decodeJwtPart(tb, 1)), "token claims");
    // The check Better Auth's verify-email runs, on Latch's token:
    const { payload } = await jwtVerify(tb, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] });
    assert.equal(payload.email, EMAIL);
    assert.equal(payload.exp - payload.iat, 3600);
  });

  it("verifyEmail: a forged token is refused alike, the mailed one verifies", STEP, async () => {
    const forged = (s) => {
      const t = new URL(lastMail(s, EMAIL).url).searchParams.get("token");
      return t.slice(0, t.lastIndexOf(".") + 1) + Buffer.alloc(32).toString("base64url");
    };
    const [fa, fb] = await both((s) => user(s, "lena").client.verifyEmail({ query: { token: forged(s) } }));
    same(result(ref, fa), result(sut, fb), "verifyEmail with a forged signature");
    const [a, b] = await both((s) => user(s, "lena").client.verifyEmail({ query: { token: new URL(lastMail(s, EMAIL).url).searchParams.get("token") } }));
    same(result(ref, a), result(sut, b), "verifyEmail");
    const [ra, rb] = await both(async (s) => (await s.db.query(`SELECT email_verified FROM "user" WHERE email = $1`, [EMAIL])).rows);
    same(ra, rb, "email_verified");
    assert.deepEqual(rb, [{ email_verified: true }]);
    const [la, lb] = await both(async (s) => observe(await rawRequest(s.server, new URL(lastMail(s, EMAIL).url).pathname + new URL(lastMail(s, EMAIL).url).search), { origin: s.origin }));
    same(la, lb, "following the link with its callbackURL (a redirect)");
  });

  it("sendVerificationEmail: already verified, another address, an unknown address signed out", STEP, async () => {
    for (const [what, key, body] of [
      ["already verified", "lena", { email: EMAIL }],
      ["another address", "lena", { email: "other@example.com" }],
      ["unknown address, signed out", "stranger", { email: "nobody@example.com" }],
      ["untrusted callbackURL", "stranger", { email: "nobody@example.com", callbackURL: "https://evil.example/" }],
    ]) {
      const [a, b] = await both((s) => user(s, key).client.sendVerificationEmail(body));
      same(result(ref, a), result(sut, b), `sendVerificationEmail: ${what}`);
    }
  });

  it("requestPasswordReset: the same answer for known and unknown addresses, a link of Better Auth's shape", STEP, async () => {
    for (const email of [EMAIL, "nobody@example.com"]) {
      const [a, b] = await both((s) => user(s, "stranger").client.requestPasswordReset({ email, redirectTo: "/reset" }));
      same(result(ref, a), result(sut, b), `requestPasswordReset(${email})`);
    }
    const [ma, mb] = [lastMail(ref, EMAIL), lastMail(sut, EMAIL)];
    same(linkShape(ref, ma.url), linkShape(sut, mb.url), "reset link");
    assert.equal(linkShape(sut, mb.url), "<origin>/api/auth/reset-password/<24 chars>?callbackURL=%2Freset");
    const [ea, eb] = await both((s) => user(s, "stranger").client.requestPasswordReset({ email: EMAIL, redirectTo: "https://evil.example/reset" }));
    same(result(ref, ea), result(sut, eb), "requestPasswordReset to an untrusted redirectTo");
  });

  it("the reset link redirects with ?token=, resetPassword works once and ends the sessions", STEP, async () => {
    const tokenOf = (s) => lastMail(s, EMAIL).url.match(/reset-password\/([A-Za-z0-9]{24})/)[1];
    const [ga, gb] = await both(async (s) => {
      const u = new URL(lastMail(s, EMAIL).url);
      const o = observe(await rawRequest(s.server, u.pathname + u.search), { origin: s.origin });
      o.headers.location = o.headers.location?.replace(tokenOf(s), "<token>");
      return o;
    });
    same(ga, gb, "GET the reset link");
    const [sa, sb] = await both((s) => user(s, "lena").client.getSession());
    assert.ok(sa.data && sb.data, "signed in before the reset");
    const [sh, shb] = await both((s) => user(s, "stranger").client.resetPassword({ newPassword: "short", token: tokenOf(s) }));
    same(result(ref, sh), result(sut, shb), "resetPassword with a too-short password");
    const [a, b] = await both((s) => user(s, "stranger").client.resetPassword({ newPassword: "second password", token: tokenOf(s) }));
    same(result(ref, a), result(sut, b), "resetPassword");
    const [ra, rb] = await both((s) => user(s, "stranger").client.resetPassword({ newPassword: "third password", token: tokenOf(s) }));
    same(result(ref, ra), result(sut, rb), "resetPassword with a used token");
    const [xa, xb] = await both((s) => user(s, "lena").client.getSession());
    same(result(ref, xa), result(sut, xb), "the old session after the reset");
    assert.equal(xb.data, null);
    const [ia, ib] = await both((s) => user(s, "lena-again").client.signIn.email({ email: EMAIL, password: "second password" }));
    same(result(ref, ia), result(sut, ib), "signIn with the new password");
    const [ua, ub] = await both(async (s) => observe(await rawRequest(s.server, `/api/auth/reset-password/${tokenOf(s)}?callbackURL=%2Freset`), { origin: s.origin }));
    same(ua, ub, "GET the used link");
  });

  it("listAccounts and unlinkAccount of the last account", STEP, async () => {
    const [a, b] = await both((s) => user(s, "lena-again").client.listAccounts());
    same(result(ref, a), result(sut, b), "listAccounts");
    assert.equal(b.data.length, 1);
    const [ua, ub] = await both((s) => user(s, "lena-again").client.unlinkAccount({ accountId: s === ref ? a.data[0].id : b.data[0].id }));
    same(result(ref, ua), result(sut, ub), "unlinkAccount of the last account");
  });

  it("changeEmail mails the new address; following the link changes the email", STEP, async () => {
    const NEW = "lena.new@example.com";
    for (const [what, body] of [["the same address", { newEmail: EMAIL }], ["a bad address", { newEmail: "nope" }]]) {
      const [a, b] = await both((s) => user(s, "lena-again").client.changeEmail(body));
      same(result(ref, a), result(sut, b), `changeEmail: ${what}`);
    }
    const [a, b] = await both((s) => user(s, "lena-again").client.changeEmail({ newEmail: NEW, callbackURL: "/settings" }));
    same(result(ref, a), result(sut, b), "changeEmail");
    const [ma, mb] = [lastMail(ref, NEW), lastMail(sut, NEW)];
    same(linkShape(ref, ma.url), linkShape(sut, mb.url), "change-email link");
    const [ta, tb] = [new URL(ma.url).searchParams.get("token"), new URL(mb.url).searchParams.get("token")];
    same(decodeJwtPart(ta, 1).requestType, decodeJwtPart(tb, 1).requestType, "token requestType");
    same(claimTypes(decodeJwtPart(ta, 1)), claimTypes(decodeJwtPart(tb, 1)), "change-email token claims");
    const [va, vb] = await both((s) => user(s, "lena-again").client.verifyEmail({ query: { token: new URL(lastMail(s, NEW).url).searchParams.get("token") } }));
    same(result(ref, va), result(sut, vb), "verifyEmail of the change");
    const [ra, rb] = await both(async (s) => (await s.db.query(`SELECT email, email_verified FROM "user" WHERE email = $1`, [NEW])).rows);
    same(ra, rb, "the user row after the change");
    assert.equal(rb.length, 1);
  });

  it("deleteUser: a wrong password, then the right one; the session ends", STEP, async () => {
    const [wa, wb] = await both((s) => user(s, "lena-again").client.deleteUser({ password: "wrong password" }));
    same(result(ref, wa), result(sut, wb), "deleteUser with a wrong password");
    const [a, b] = await both((s) => user(s, "lena-again").client.deleteUser({ password: "second password" }));
    same(result(ref, a), result(sut, b), "deleteUser");
    const [ga, gb] = await both((s) => user(s, "lena-again").client.getSession());
    same(result(ref, ga), result(sut, gb), "getSession after deleteUser");
    const [ca, cb] = await both(async (s) => (await s.db.query(`SELECT (SELECT count(*) FROM "user")::int AS users, (SELECT count(*) FROM account)::int AS accounts, (SELECT count(*) FROM session)::int AS sessions`)).rows);
    same(ca, cb, "rows left");
  });

  it("Latch wrote its mails to the outbox, one JSON object per line", { skip: SELF }, () => {
    const lines = fs.readFileSync(outbox, "utf8").trim().split("\n");
    for (const line of lines) assert.deepEqual(Object.keys(JSON.parse(line)).sort(), ["html", "subject", "text", "to"]);
    assert.ok(lines.length >= 2);
  });
});
