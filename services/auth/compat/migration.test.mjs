// Migration test: one database, one secret, one base URL. Better Auth creates users, sessions and
// its JWT signing key; then Latch takes over the same database and must accept all of it (password
// hashes, session cookies, the jwks row); then Better Auth comes back and must accept what Latch wrote.
import "./env.mjs";
import { describe, it, before, after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { createTestDatabase } from "./db.mjs";
import { migrate, requireTarget, startReference, startTarget, withServerLogs, TARGET_NAME } from "./latch.mjs";
import { SESSION_COOKIE, decodeJwtPart, makeUser, normalize } from "./harness.mjs";

const SECRET = `compat-${crypto.randomBytes(24).toString("base64url")}`;
const STEP = { timeout: 30000 };

// One ASCII password, one with accents/CJK/emoji, one that NFKC changes (full-width letters
// and a ligature), so both implementations must normalize and hash the same bytes.
const USERS = {
  ann: { name: "Ann", email: "ann@example.com", password: "correct horse battery" },
  ben: { name: "Ben", email: "ben@example.com", password: "Pässwörd-日本語-🔑-Ωmega" },
  cat: { name: "Cat", email: "cat@example.com", password: "Ｆｕｌｌｗｉｄｔｈ-ﬁnal-１２３" },
  dan: { name: "Dan", email: "dan@example.com", password: "plain password 4" },
};
const NFKC_CAT = USERS.cat.password.normalize("NFKC"); // "Fullwidth-final-123"

test("LATCH_AUTH_BIN names the Latch auth binary (or COMPAT_SELF=1 is set)", () => requireTarget());

describe(`a Better Auth database served by Latch, and back again (target: ${TARGET_NAME})`, { timeout: 170000 }, () => {
  let db;
  let port; // the same base URL for both servers, as in a real migration
  let origin;
  let current; // the server running now
  const started = [];
  const ba = {}; // what Better Auth handed out in phase 1
  const latch = {}; // what Latch handed out in phase 2

  before(async () => {
    requireTarget();
    db = await createTestDatabase("migration");
    await migrate(db.url);
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(started.map((s) => s.close()));
    if (db) await db.drop().catch(() => {});
  }, { timeout: 30000 });

  const run = (fn) => withServerLogs([current], fn);
  const user = () => makeUser(current, { forwardedFor: "203.0.113.9" });
  async function switchTo(start) {
    if (current) await current.close();
    current = await start();
    started.push(current);
    return current;
  }

  describe("phase 1: Better Auth", () => {
    it("starts on the freshly migrated database", { timeout: 20000 }, async () => {
      await switchTo(() => startReference({ databaseUrl: db.url, secret: SECRET }));
      port = Number(new URL(current.url).port);
      origin = new URL(current.url).origin;
    });

    it("signs up four users, one with a unicode password and one whose password NFKC changes", STEP, () => run(async () => {
      for (const [key, u] of Object.entries(USERS)) {
        const agent = user(key);
        const r = await agent.client.signUp.email(u);
        assert.equal(r.error, null, `${key}: ${JSON.stringify(r.error)}`);
        ba[key] = { agent, userId: r.data.user.id, token: r.data.token, authToken: agent.last.headers["set-auth-token"] };
      }
      const rows = await db.query(`SELECT count(*)::int AS n FROM account WHERE provider_id = 'credential'`);
      assert.equal(rows.rows[0].n, 4);
    }));

    it("keeps a rememberMe=false session of Ben's as well", STEP, () => run(async () => {
      const agent = user("ben-short");
      const r = await agent.client.signIn.email({ email: USERS.ben.email, password: USERS.ben.password, rememberMe: false });
      assert.equal(r.error, null);
      assert.ok(agent.jar.get("better-auth.dont_remember"), "dont_remember cookie");
      ba.benShort = { agent, token: r.data.token };
    }));

    it("creates its JWT signing key (token() and jwks()) and answers get-session for Ann", STEP, () => run(async () => {
      const { agent } = ba.ann;
      const t = await agent.client.token();
      const j = await agent.client.jwks();
      ba.jwt = t.data.token;
      ba.jwks = j.data;
      ba.kid = decodeJwtPart(ba.jwt, 0).kid;
      assert.equal(ba.jwks.keys.length, 1);
      assert.equal(ba.jwks.keys[0].kid, ba.kid);
      const g = await agent.client.getSession();
      ba.annSession = agent.last.text;
      assert.equal(g.data.user.email, USERS.ann.email);
      const rows = await db.query(`SELECT id FROM jwks`);
      assert.deepEqual(rows.rows.map((r) => r.id), [ba.kid]);
    }));
  });

  describe("phase 2: Latch on the same database, secret and base URL", () => {
    it("starts where Better Auth was", { timeout: 30000 }, async () => {
      assert.ok(port, "phase 1 must have run");
      await switchTo(() => startTarget({ databaseUrl: db.url, secret: SECRET, port }));
      assert.equal(new URL(current.url).origin, origin);
    });

    it("lets every user sign in with the password set on Better Auth (and refuses a wrong one)", STEP, () => run(async () => {
      for (const [key, u] of Object.entries(USERS)) {
        const agent = user(`${key}-latch`);
        const ok = await agent.client.signIn.email({ email: u.email, password: u.password });
        assert.equal(ok.error, null, `${key} could not sign in on ${current.name}: ${JSON.stringify(ok.error)}`);
        assert.equal(ok.data.user.id, ba[key].userId);
        const bad = await agent.client.signIn.email({ email: u.email, password: `${u.password}x` });
        assert.equal(bad.error?.status, 401, `${key}: wrong password must be 401`);
      }
    }));

    it("accepts the NFKC-equivalent spelling of a password, as Better Auth does", STEP, () => run(async () => {
      const r = await user("cat-nfkc").client.signIn.email({ email: USERS.cat.email, password: NFKC_CAT });
      assert.equal(r.error, null, JSON.stringify(r.error));
    }));

    it("accepts the session cookies Better Auth issued, with the same get-session body", STEP, () => run(async () => {
      const { agent } = ba.ann;
      const fresh = makeUser(current, { jar: agent.jar.clone(), forwardedFor: "203.0.113.9" });
      const g = await fresh.client.getSession();
      assert.equal(g.error, null, JSON.stringify(g.error));
      assert.equal(g.data?.session?.token, ba.ann.token, "the session Better Auth created");
      assert.equal(g.data?.user?.id, ba.ann.userId);
      assert.ok(fresh.last.headers["set-auth-jwt"], "set-auth-jwt header");
      const n = (text) => normalize(JSON.parse(text), { origin });
      assert.deepStrictEqual(n(fresh.last.text), n(ba.annSession));
      // The same instants, to the millisecond: the naive `timestamp` columns are read as Better Auth wrote them.
      const times = (text) => {
        const { session: x, user: u } = JSON.parse(text);
        return { expiresAt: x.expiresAt, sessionCreatedAt: x.createdAt, userCreatedAt: u.createdAt, userUpdatedAt: u.updatedAt };
      };
      assert.deepStrictEqual(times(fresh.last.text), times(ba.annSession));

      const short = makeUser(current, { jar: ba.benShort.agent.jar.clone() });
      const s = await short.client.getSession();
      assert.equal(s.data?.session?.token, ba.benShort.token, "the rememberMe=false session");
    }));

    it("accepts the Bearer token Better Auth issued (set-auth-token)", STEP, () => run(async () => {
      const b = makeUser(current, { jar: null, fetchOptions: { auth: { type: "Bearer", token: ba.dan.authToken } } });
      const g = await b.client.getSession();
      assert.equal(g.data?.user?.email, USERS.dan.email, JSON.stringify(g));
    }));

    it("still publishes Better Auth's key (same kid and x) and signs with it", STEP, () => run(async () => {
      const { agent } = ba.ann;
      const j = await agent.client.jwks();
      const key = j.data?.keys?.find((k) => k.kid === ba.kid);
      assert.ok(key, `kid ${ba.kid} missing from ${JSON.stringify(j.data)}`);
      assert.deepStrictEqual(key, ba.jwks.keys[0]);
      const t = await makeUser(current, { jar: agent.jar.clone() }).client.token();
      assert.equal(t.error, null, JSON.stringify(t.error));
      latch.jwt = t.data.token;
      assert.equal(decodeJwtPart(latch.jwt, 0).kid, ba.kid);
      // Verified with the JWKS Better Auth published in phase 1: resource servers' caches stay valid.
      const { payload } = await jwtVerify(latch.jwt, createLocalJWKSet(ba.jwks), { issuer: origin, audience: origin, algorithms: ["EdDSA"] });
      assert.equal(payload.sub, ba.ann.userId);
      const rows = await db.query(`SELECT id FROM jwks`);
      assert.deepEqual(rows.rows.map((r) => r.id), [ba.kid], "no new key may be minted while Better Auth's is live");
    }));

    it("issues a session Better Auth will accept, signs up a user, and changes a password", STEP, () => run(async () => {
      const annL = user("ann-latch-session");
      const r = await annL.client.signIn.email({ email: USERS.ann.email, password: USERS.ann.password });
      assert.equal(r.error, null);
      assert.ok(annL.jar.get(SESSION_COOKIE));
      await annL.client.getSession();
      latch.annSession = { agent: annL, token: r.data.token, text: annL.last.text };

      latch.eve = { name: "Eve", email: "eve@example.com", password: "Ëve’s pässwörd ✓ ｅｖｅ" };
      const eve = user("eve");
      const up = await eve.client.signUp.email(latch.eve);
      assert.equal(up.error, null, JSON.stringify(up.error));
      latch.eveId = up.data.user.id;

      const dan = user("dan-latch");
      await dan.client.signIn.email({ email: USERS.dan.email, password: USERS.dan.password });
      const cp = await dan.client.changePassword({ currentPassword: USERS.dan.password, newPassword: "dan’s new pässword" });
      assert.equal(cp.error, null, JSON.stringify(cp.error));
    }));

    it("writes password hashes in Better Auth's scrypt format (checked independently with node:crypto)", STEP, () => run(async () => {
      const { rows } = await db.query(
        `SELECT a.password FROM account a JOIN "user" u ON u.id = a.user_id WHERE u.email = $1 AND a.provider_id = 'credential'`,
        [latch.eve.email]);
      assert.equal(rows.length, 1);
      const stored = rows[0].password;
      assert.match(stored, /^[0-9a-f]{32}:[0-9a-f]{128}$/);
      const [salt, key] = stored.split(":");
      const derived = crypto.scryptSync(latch.eve.password.normalize("NFKC"), salt, 64, { N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2 });
      assert.equal(derived.toString("hex"), key);
    }));
  });

  describe("phase 3: Better Auth again, on what Latch wrote", () => {
    it("starts where Latch was", { timeout: 20000 }, async () => {
      assert.ok(port, "phase 1 must have run");
      await switchTo(() => startReference({ databaseUrl: db.url, secret: SECRET, port }));
    });

    it("accepts the session cookie Latch issued", STEP, () => run(async () => {
      const agent = makeUser(current, { jar: latch.annSession.agent.jar.clone() });
      const g = await agent.client.getSession();
      assert.equal(g.data?.session?.token, latch.annSession.token, JSON.stringify(g));
      assert.equal(g.data?.user?.id, ba.ann.userId);
      const seenByLatch = JSON.parse(latch.annSession.text).session;
      const seenByBa = JSON.parse(agent.last.text).session;
      assert.deepStrictEqual(
        { expiresAt: seenByBa.expiresAt, createdAt: seenByBa.createdAt },
        { expiresAt: seenByLatch.expiresAt, createdAt: seenByLatch.createdAt },
        "Better Auth must read the instants Latch wrote");
    }));

    it("lets the user who signed up on Latch sign in (also with the NFKC spelling)", STEP, () => run(async () => {
      const r = await user("eve-ba").client.signIn.email({ email: latch.eve.email, password: latch.eve.password });
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.data.user.id, latch.eveId);
      const n = await user("eve-ba-nfkc").client.signIn.email({ email: latch.eve.email, password: latch.eve.password.normalize("NFKC") });
      assert.equal(n.error, null, JSON.stringify(n.error));
    }));

    it("accepts the password changed on Latch, and no longer the old one", STEP, () => run(async () => {
      const ok = await user("dan-ba").client.signIn.email({ email: USERS.dan.email, password: "dan’s new pässword" });
      assert.equal(ok.error, null, JSON.stringify(ok.error));
      const old = await user("dan-ba-old").client.signIn.email({ email: USERS.dan.email, password: USERS.dan.password });
      assert.equal(old.error?.status, 401);
    }));

    it("still signs with the original key, and the JWT Latch issued verifies against the current JWKS", STEP, () => run(async () => {
      const agent = makeUser(current, { jar: latch.annSession.agent.jar.clone() });
      const t = await agent.client.token();
      assert.equal(decodeJwtPart(t.data.token, 0).kid, ba.kid);
      const j = await agent.client.jwks();
      await jwtVerify(latch.jwt, createLocalJWKSet(j.data), { issuer: origin, audience: origin, algorithms: ["EdDSA"] });
    }));
  });
});
