// Two-factor migration test: Better Auth 1.7.25 with its twoFactor plugin and Latch with
// AUTH_PLUGINS=two-factor share one database, secret and base URL. A user enrolled under Better Auth
// signs in under Latch with the same authenticator (and a Better Auth backup code); a user enrolled
// under Latch signs in under Better Auth; the official twoFactorClient drives both unchanged.
import "./env.mjs";
import { describe, it, before, after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { twoFactorClient } from "better-auth/client/plugins";
import { createTestDatabase } from "./db.mjs";
import { migrate, requireTarget, startReference, startTarget, withServerLogs, TARGET_NAME } from "./latch.mjs";
import { decodeJwtPart, makeUser, observe } from "./harness.mjs";

const SECRET = `compat-${crypto.randomBytes(24).toString("base64url")}`;
const STEP = { timeout: 30000 };
const PASSWORD = "correct horse battery";

/** RFC 4226 HOTP with SHA-1, 6 digits. */
function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac("sha1", key).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1e6).padStart(6, "0");
}

/** The HMAC key an otpauth:// URI carries (base32, unpadded). */
function keyOf(totpURI) {
  const b32 = new URL(totpURI).searchParams.get("secret");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const ch of b32) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * A user's authenticator. Latch accepts a time step once (Better Auth accepts replays), so a code
 * for Latch is of a later step than the last one Latch accepted; the skew admits the next step.
 */
class Authenticator {
  constructor(totpURI) {
    this.key = keyOf(totpURI);
    this.lastLatch = -1;
  }
  code(server) {
    const now = Math.floor(Date.now() / 30000);
    if (server.name === "better-auth") return hotp(this.key, now);
    const step = Math.max(now, this.lastLatch + 1);
    assert.ok(step <= now + 1, "no fresh time step left within the one-step skew");
    this.lastLatch = step;
    return hotp(this.key, step);
  }
  /** The current step's code, not recorded as used: for calls the server refuses before looking at the code. */
  peek() {
    return hotp(this.key, Math.floor(Date.now() / 30000));
  }
}

test("LATCH_AUTH_BIN names the Latch auth binary (or COMPAT_SELF=1 is set)", () => requireTarget());

describe(`two-factor users move from Better Auth to Latch and back (target: ${TARGET_NAME})`, { timeout: 170000 }, () => {
  let db;
  let port;
  let current;
  const started = [];
  const ann = {}; // enrolled under Better Auth
  const bob = {}; // enrolled under Latch

  before(async () => {
    requireTarget();
    db = await createTestDatabase("twofactor");
    await migrate(db.url);
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(started.map((s) => s.close()));
    if (db) await db.drop().catch(() => {});
  }, { timeout: 30000 });

  const run = (fn) => withServerLogs([current], fn);
  const agent = () => makeUser(current, { plugins: [twoFactorClient()] });
  async function switchTo(start) {
    if (current) await current.close();
    current = await start();
    started.push(current);
    if (!port) port = Number(new URL(current.url).port);
  }
  const reference = () => startReference({ databaseUrl: db.url, secret: SECRET, port, overrides: { twoFactor: true } });
  const target = () => startTarget({ databaseUrl: db.url, secret: SECRET, port, overrides: { twoFactor: true }, env: { AUTH_PLUGINS: "two-factor" } });

  /** Sign-in that must stop at the second factor; returns the agent holding the two_factor cookie. */
  async function challenge(email) {
    const a = agent();
    const r = await a.client.signIn.email({ email, password: PASSWORD });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.equal(r.data.twoFactorRedirect, true, `no second factor asked: ${JSON.stringify(r.data)}`);
    assert.ok(r.data.twoFactorMethods.includes("totp"), JSON.stringify(r.data.twoFactorMethods));
    assert.ok(a.jar.get("better-auth.two_factor"), "two_factor cookie");
    assert.equal(a.jar.get("better-auth.session_token"), undefined, "no session before the second factor");
    return a;
  }

  /** Signs up and enrols with the official client: enable, then verify a code. */
  async function enrol(u, email) {
    const a = agent();
    assert.equal((await a.client.signUp.email({ name: "T", email, password: PASSWORD })).error, null);
    const r = await a.client.twoFactor.enable({ password: PASSWORD });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.match(r.data.totpURI, /^otpauth:\/\/totp\/Better%20Auth:/);
    assert.equal(r.data.backupCodes.length, 10);
    u.email = email;
    u.auth = new Authenticator(r.data.totpURI);
    u.backupCodes = r.data.backupCodes;
    const v = await a.client.twoFactor.verifyTotp({ code: u.auth.code(current) });
    assert.equal(v.error, null, JSON.stringify(v.error));
    const s = await a.client.getSession();
    assert.equal(s.data.user.twoFactorEnabled, true);
  }

  async function signInWithTOTP(u) {
    const a = await challenge(u.email);
    const v = await a.client.twoFactor.verifyTotp({ code: u.auth.code(current), trustDevice: true });
    assert.equal(v.error, null, JSON.stringify(v.error));
    assert.ok(v.data.token);
    assert.ok(a.jar.get("better-auth.trust_device"), "trust_device cookie");
    const s = await a.client.getSession();
    assert.equal(s.data.user.email, u.email);
    assert.equal(s.data.user.twoFactorEnabled, true);
    return a;
  }

  async function signInWithBackupCode(u, code) {
    const a = await challenge(u.email);
    const v = await a.client.twoFactor.verifyBackupCode({ code });
    assert.equal(v.error, null, JSON.stringify(v.error));
    return a;
  }

  describe("phase 1: Better Auth with the twoFactor plugin", () => {
    it("starts on the Latch-migrated database", { timeout: 20000 }, async () => switchTo(reference));
    it("enrols Ann with the official twoFactorClient", STEP, () => run(() => enrol(ann, "ann@example.com")));
    it("signs Ann in with a TOTP code", STEP, () => run(() => signInWithTOTP(ann)));
  });

  describe("phase 2: Latch on the same database, secret and base URL", () => {
    it("starts", { timeout: 20000 }, async () => switchTo(target));
    it("signs Ann in with her Better Auth authenticator", STEP, () => run(async () => {
      const a = await signInWithTOTP(ann);
      const { data } = await a.client.token();
      const claims = decodeJwtPart(data.token, 1);
      assert.deepEqual(claims.amr, ["pwd", "otp"]);
      assert.equal(claims.twoFactorEnabled, true);
    }));
    it("accepts a backup code Better Auth issued, once", STEP, () => run(async () => {
      await signInWithBackupCode(ann, ann.backupCodes[0]);
      const a = await challenge(ann.email);
      const v = await a.client.twoFactor.verifyBackupCode({ code: ann.backupCodes[0] });
      assert.equal(v.error?.status, 401);
      assert.equal(v.error?.code, "INVALID_BACKUP_CODE");
    }));
    it("answers a wrong code and a missing cookie as Better Auth does", STEP, () => run(async () => {
      const a = await challenge(ann.email);
      const v = await a.client.twoFactor.verifyTotp({ code: "000000" });
      assert.equal(v.error?.status, 401);
      assert.equal(v.error?.code, "INVALID_CODE");
      const b = agent();
      const w = await b.client.twoFactor.verifyTotp({ code: "000000" });
      assert.equal(w.error?.status, 401);
      assert.equal(w.error?.code, "INVALID_TWO_FACTOR_COOKIE");
    }));
    it("enrols Bob with the official twoFactorClient", STEP, () => run(() => enrol(bob, "bob@example.com")));
  });

  describe("phase 3: Better Auth again, on what Latch wrote", () => {
    it("starts", { timeout: 20000 }, async () => switchTo(reference));
    it("signs Bob (enrolled under Latch) in with his authenticator", STEP, () => run(() => signInWithTOTP(bob)));
    it("accepts Bob's Latch backup code, and refuses the code Ann spent under Latch", STEP, () => run(async () => {
      await signInWithBackupCode(bob, bob.backupCodes[1]);
      const a = await challenge(ann.email);
      const v = await a.client.twoFactor.verifyBackupCode({ code: ann.backupCodes[0] });
      assert.equal(v.error?.code, "INVALID_BACKUP_CODE");
      await signInWithBackupCode(ann, ann.backupCodes[1]);
    }));
  });
});

// Differential: the same scenario with the official twoFactorClient against Better Auth and Latch (fresh databases),
// each answer compared as an observation (status, normalized body, cookie shapes, headers).
describe(`two-factor answers: Latch against Better Auth 1.7.25 (target: ${TARGET_NAME})`, { timeout: 170000 }, () => {
  const sides = [];
  const dbs = [];

  before(async () => {
    requireTarget();
    const [a, b] = await Promise.all([createTestDatabase("tf_ba"), createTestDatabase("tf_latch")]);
    dbs.push(a, b);
    await Promise.all([migrate(a.url), migrate(b.url)]);
    sides.push(await startReference({ databaseUrl: a.url, secret: SECRET, overrides: { twoFactor: true } }));
    sides.push(await startTarget({ databaseUrl: b.url, secret: SECRET, overrides: { twoFactor: true }, env: { AUTH_PLUGINS: "two-factor" } }));
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(sides.map((s) => s.close()));
    await Promise.allSettled(dbs.map((d) => d.drop()));
  }, { timeout: 30000 });

  const state = new Map(); // server -> { auth, agent }
  // Cookie values are random; their formats must match: a signed "2fa-" + 20 characters, a signed
  // base64url(HMAC-SHA256) + "!trust-device-" + 32 characters.
  const FORMATS = [
    [/^2fa-[A-Za-z0-9_-]{20}\.[A-Za-z0-9%]+$/, "<signed 2fa- challenge>"],
    [/^[A-Za-z0-9_-]{43}!trust-device-[A-Za-z0-9_-]{32}\.[A-Za-z0-9%]+$/, "<signed trust-device value>"],
  ];
  const obs = (server, a) => {
    const o = observe(a.last, { origin: new URL(server.url).origin });
    for (const shape of Object.values(o.cookies)) {
      for (const [re, label] of FORMATS) if (re.test(shape.value)) shape.value = label;
    }
    return o;
  };

  /** Runs fn on both servers one after the other and asserts Latch's observation equals Better Auth's. */
  async function compare(what, fn) {
    const [ref, sut] = await withServerLogs(sides, async () => [await fn(sides[0]), await fn(sides[1])]);
    assert.deepStrictEqual(sut, ref, `${what}: ${sides[1].name} (+ actual) differs from better-auth (- expected)`);
    return ref;
  }
  const fresh = (server) => makeUser(server, { plugins: [twoFactorClient()] });

  it("enrols a user (enable answers, then get-session shows twoFactorEnabled)", STEP, async () => {
    await compare("enable with a wrong password", async (server) => {
      const a = fresh(server);
      await a.client.signUp.email({ name: "Zed", email: "zed@example.com", password: PASSWORD });
      await a.client.twoFactor.enable({ password: "not the password" });
      state.set(server, { agent: a });
      return obs(server, a);
    });
    await compare("enable", async (server) => {
      const { agent: a } = state.get(server);
      const r = await a.client.twoFactor.enable({ password: PASSWORD });
      state.get(server).auth = new Authenticator(r.data.totpURI);
      const o = obs(server, a);
      o.body.backupCodes = o.body.backupCodes.map((c) => /^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$/.test(c));
      o.body.totpURI = o.body.totpURI.replace(/secret=[A-Z2-7]{52}&/, "secret=<52 base32 chars>&");
      return o;
    });
    await compare("get-session after verify-totp", async (server) => {
      const { agent: a, auth } = state.get(server);
      const v = await a.client.twoFactor.verifyTotp({ code: auth.code(server) });
      assert.equal(v.error, null);
      await a.client.getSession();
      return obs(server, a);
    });
  });

  it("stops a sign-in at the second factor with the same body and cookies", STEP, async () => {
    await compare("sign-in of a 2FA user", async (server) => {
      const a = fresh(server);
      await a.client.signIn.email({ email: "zed@example.com", password: PASSWORD });
      state.get(server).challenged = a;
      const o = obs(server, a);
      // Documented deviation: Better Auth still sends the bearer plugin's set-auth-token for the session it
      // has just deleted; Latch sends no token for a session that does not exist.
      if (server.name === "better-auth") {
        assert.equal(o.headers["set-auth-token"], "<signed-token>");
        delete o.headers["set-auth-token"];
        delete o.headers["access-control-expose-headers"];
      }
      return o;
    });
    await compare("get-session while the second factor is pending", async (server) => {
      const a = state.get(server).challenged;
      await a.client.getSession();
      return obs(server, a);
    });
  });

  it("answers wrong codes, a missing cookie and an unsent OTP alike", STEP, async () => {
    await compare("verify-totp with a wrong code", async (server) => {
      const a = state.get(server).challenged;
      await a.client.twoFactor.verifyTotp({ code: "000000" });
      return obs(server, a);
    });
    await compare("verify-totp without the two_factor cookie", async (server) => {
      const a = fresh(server);
      await a.client.twoFactor.verifyTotp({ code: "000000" });
      return obs(server, a);
    });
    await compare("verify-otp before send-otp", async (server) => {
      const a = state.get(server).challenged;
      await a.client.twoFactor.verifyOtp({ code: "000000" });
      return obs(server, a);
    });
    await compare("send-otp", async (server) => {
      const a = state.get(server).challenged;
      await a.client.twoFactor.sendOtp();
      return obs(server, a);
    });
  });

  it("kills an attempt after five wrong codes", STEP, async () => {
    await compare("the sixth try", async (server) => {
      const a = fresh(server);
      await a.client.signIn.email({ email: "zed@example.com", password: PASSWORD });
      for (let i = 0; i < 5; i++) await a.client.twoFactor.verifyBackupCode({ code: "xxxxx-xxxxx" });
      const fifth = obs(server, a);
      await a.client.twoFactor.verifyTotp({ code: state.get(server).auth.peek() });
      return { fifth, sixth: obs(server, a) };
    });
  });

  it("signs in with a TOTP code and trusts the device", STEP, async () => {
    await compare("verify-totp at sign-in with trustDevice", async (server) => {
      const a = fresh(server);
      await a.client.signIn.email({ email: "zed@example.com", password: PASSWORD });
      await a.client.twoFactor.verifyTotp({ code: state.get(server).auth.code(server), trustDevice: true });
      state.get(server).trusted = a;
      return obs(server, a);
    });
    await compare("a trusted sign-in", async (server) => {
      const a = state.get(server).trusted;
      await a.client.signIn.email({ email: "zed@example.com", password: PASSWORD });
      return obs(server, a);
    });
  });
});
