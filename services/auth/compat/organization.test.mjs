// Organization plugin: the official organizationClient against Better Auth 1.7.25 (its organization plugin,
// teams and dynamic roles off) and Latch (AUTH_PLUGINS=organization), side by side on fresh databases, every
// answer compared as an observation (status, normalized body, cookie shapes, headers); then data both ways:
// an organization made under Better Auth is served by Latch, one made by Latch is read by Better Auth.
import "./env.mjs";
import { describe, it, before, after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { organizationClient } from "better-auth/client/plugins";
import { createTestDatabase } from "./db.mjs";
import { migrate, requireTarget, startReference, startTarget, withServerLogs, TARGET_NAME } from "./latch.mjs";
import { decodeJwtPart, makeUser, observe } from "./harness.mjs";

const SECRET = `compat-${crypto.randomBytes(24).toString("base64url")}`;
const STEP = { timeout: 30000 };
const PASSWORD = "correct horse battery";
const ORG = { organization: true };
const ENV = { AUTH_PLUGINS: "organization" };

test("LATCH_AUTH_BIN names the Latch auth binary (or COMPAT_SELF=1 is set)", () => requireTarget());

describe(`organization answers: Latch against Better Auth 1.7.25 (target: ${TARGET_NAME})`, { timeout: 170000 }, () => {
  const sides = [];
  const dbs = [];

  before(async () => {
    requireTarget();
    const [a, b] = await Promise.all([createTestDatabase("org_ba"), createTestDatabase("org_latch")]);
    dbs.push(a, b);
    await Promise.all([migrate(a.url), migrate(b.url)]);
    sides.push(await startReference({ databaseUrl: a.url, secret: SECRET, overrides: ORG }));
    sides.push(await startTarget({ databaseUrl: b.url, secret: SECRET, overrides: ORG, env: ENV }));
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(sides.map((s) => s.close()));
    await Promise.allSettled(dbs.map((d) => d.drop()));
  }, { timeout: 30000 });

  const state = new Map(); // server -> { owner, bob, eve, orgId, bobMember, invitation }
  const obs = (server, a) => observe(a.last, { origin: new URL(server.url).origin });
  const agent = (server) => makeUser(server, { plugins: [organizationClient()] });

  async function compare(what, fn) {
    const [ref, sut] = await withServerLogs(sides, async () => [await fn(sides[0]), await fn(sides[1])]);
    assert.deepStrictEqual(sut, ref, `${what}: ${sides[1].name} (+ actual) differs from better-auth (- expected)`);
    return ref;
  }
  async function user(server, name) {
    const a = agent(server);
    const r = await a.client.signUp.email({ name, email: `${name}@example.com`, password: PASSWORD });
    assert.equal(r.error, null, JSON.stringify(r.error));
    return a;
  }

  it("creates an organization (and refuses a taken slug, and a signed-out caller)", STEP, async () => {
    await compare("create", async (server) => {
      const owner = await user(server, "owner");
      const r = await owner.client.organization.create({ name: "Acme", slug: "acme", metadata: { plan: "team" } });
      state.set(server, { owner, orgId: r.data.id });
      return obs(server, owner);
    });
    await compare("get-session shows activeOrganizationId", async (server) => {
      const { owner } = state.get(server);
      await owner.client.getSession();
      const o = obs(server, owner);
      assert.notEqual(o.body.session.activeOrganizationId, null);
      return o;
    });
    await compare("check-slug taken", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.checkSlug({ slug: "acme" });
      return obs(server, owner);
    });
    await compare("check-slug free", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.checkSlug({ slug: "free-slug" });
      return obs(server, owner);
    });
    await compare("create with a taken slug", async (server) => {
      const eve = await user(server, "eve");
      state.get(server).eve = eve;
      await eve.client.organization.create({ name: "Acme 2", slug: "acme" });
      return obs(server, eve);
    });
    await compare("create signed out", async (server) => {
      const a = agent(server);
      await a.client.organization.create({ name: "X", slug: "x" });
      return obs(server, a);
    });
    await compare("list", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.list();
      return obs(server, owner);
    });
  });

  it("invites, and only the invited address accepts", STEP, async () => {
    await compare("invite with an unknown role", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.inviteMember({ email: "bob@example.com", role: "boss" });
      return obs(server, owner);
    });
    await compare("invite", async (server) => {
      const s = state.get(server);
      const r = await s.owner.client.organization.inviteMember({ email: "bob@example.com", role: "member" });
      s.invitation = r.data.id;
      return obs(server, s.owner);
    });
    await compare("invite the same address again", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.inviteMember({ email: "bob@example.com", role: "member" });
      return obs(server, owner);
    });
    await compare("someone else reads the invitation", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.getInvitation({ query: { id: s.invitation } });
      return obs(server, s.eve);
    });
    await compare("someone else accepts the invitation", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.acceptInvitation({ invitationId: s.invitation });
      return obs(server, s.eve);
    });
    await compare("the invited user reads it", async (server) => {
      const s = state.get(server);
      s.bob = await user(server, "bob");
      await s.bob.client.organization.getInvitation({ query: { id: s.invitation } });
      return obs(server, s.bob);
    });
    await compare("the invited user accepts", async (server) => {
      const s = state.get(server);
      const r = await s.bob.client.organization.acceptInvitation({ invitationId: s.invitation });
      s.bobMember = r.data.member.id;
      return obs(server, s.bob);
    });
    await compare("accept again", async (server) => {
      const s = state.get(server);
      await s.bob.client.organization.acceptInvitation({ invitationId: s.invitation });
      return obs(server, s.bob);
    });
  });

  it("lists members, changes roles, and refuses what Better Auth refuses", STEP, async () => {
    await compare("list-members", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.listMembers();
      return obs(server, owner);
    });
    await compare("member makes themselves owner", async (server) => {
      const s = state.get(server);
      await s.bob.client.organization.updateMemberRole({ memberId: s.bobMember, role: "owner" });
      return obs(server, s.bob);
    });
    await compare("member lists invitations", async (server) => {
      const s = state.get(server);
      await s.bob.client.organization.listInvitations();
      return obs(server, s.bob);
    });
    await compare("owner promotes the member to admin", async (server) => {
      const s = state.get(server);
      await s.owner.client.organization.updateMemberRole({ memberId: s.bobMember, role: ["admin"] });
      return obs(server, s.owner);
    });
    await compare("get-active-member-role", async (server) => {
      const s = state.get(server);
      await s.bob.client.organization.getActiveMemberRole();
      return obs(server, s.bob);
    });
    await compare("admin has member:delete, not organization:delete", async (server) => {
      const s = state.get(server);
      await s.bob.client.organization.hasPermission({ permissions: { member: ["delete"] } });
      const yes = obs(server, s.bob);
      await s.bob.client.organization.hasPermission({ permissions: { organization: ["delete"] } });
      const no = obs(server, s.bob);
      await s.bob.client.organization.hasPermission({ permissions: { billing: ["read"] } });
      return { yes, no, unknown: obs(server, s.bob) };
    });
    await compare("outsider has-permission", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.hasPermission({ organizationId: s.orgId, permissions: { member: ["delete"] } });
      return obs(server, s.eve);
    });
    await compare("admin removes the owner", async (server) => {
      const s = state.get(server);
      const m = await s.owner.client.organization.getActiveMember();
      await s.bob.client.organization.removeMember({ memberIdOrEmail: m.data.id });
      return obs(server, s.bob);
    });
    await compare("outsider reads the organization", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.getFullOrganization({ query: { organizationId: s.orgId } });
      return obs(server, s.eve);
    });
    await compare("outsider sets it active", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.setActive({ organizationId: s.orgId });
      return obs(server, s.eve);
    });
    await compare("get-full-organization", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.getFullOrganization();
      return obs(server, owner);
    });
    await compare("set-active", async (server) => {
      const s = state.get(server);
      await s.owner.client.organization.setActive({ organizationId: s.orgId });
      return obs(server, s.owner);
    });
  });

  it("updates, reads, rejects, cancels, lists invitations and refuses the only owner's leave", STEP, async () => {
    await compare("update", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.update({ data: { name: "Acme Inc", metadata: { plan: "pro" } } });
      return obs(server, owner);
    });
    await compare("get-organization", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.getOrganization({ query: {} });
      return obs(server, owner);
    });
    await compare("list-user-invitations with an unverified email", async (server) => {
      const { eve } = state.get(server);
      await eve.client.organization.listUserInvitations();
      return obs(server, eve);
    });
    await compare("reject", async (server) => {
      const s = state.get(server);
      const r = await s.owner.client.organization.inviteMember({ email: "eve@example.com", role: "member" });
      s.eveInvitation = r.data.id;
      await s.eve.client.organization.rejectInvitation({ invitationId: r.data.id });
      return obs(server, s.eve);
    });
    await compare("accept a rejected invitation", async (server) => {
      const s = state.get(server);
      await s.eve.client.organization.acceptInvitation({ invitationId: s.eveInvitation });
      return obs(server, s.eve);
    });
    await compare("cancel", async (server) => {
      const s = state.get(server);
      const r = await s.owner.client.organization.inviteMember({ email: "zed@example.com", role: ["admin", "member"] });
      await s.owner.client.organization.cancelInvitation({ invitationId: r.data.id });
      return obs(server, s.owner);
    });
    await compare("list-invitations", async (server) => {
      const { owner } = state.get(server);
      await owner.client.organization.listInvitations();
      return obs(server, owner);
    });
    await compare("the only owner leaves", async (server) => {
      const s = state.get(server);
      await s.owner.client.organization.leave({ organizationId: s.orgId });
      return obs(server, s.owner);
    });
  });

  it("removes a member and deletes the organization", STEP, async () => {
    await compare("remove-member", async (server) => {
      const s = state.get(server);
      await s.owner.client.organization.removeMember({ memberIdOrEmail: "bob@example.com" });
      return obs(server, s.owner);
    });
    await compare("delete", async (server) => {
      const s = state.get(server);
      await s.owner.client.organization.delete({ organizationId: s.orgId });
      return obs(server, s.owner);
    });
    await compare("get-session after the delete", async (server) => {
      const { owner } = state.get(server);
      await owner.client.getSession();
      return obs(server, owner);
    });
  });
});

describe(`organizations move from Better Auth to Latch and back (target: ${TARGET_NAME})`, { timeout: 170000 }, () => {
  let db;
  let port;
  let current;
  const started = [];

  before(async () => {
    requireTarget();
    db = await createTestDatabase("org_migration");
    await migrate(db.url);
  }, { timeout: 60000 });

  after(async () => {
    await Promise.allSettled(started.map((s) => s.close()));
    if (db) await db.drop().catch(() => {});
  }, { timeout: 30000 });

  const run = (fn) => withServerLogs([current], fn);
  async function switchTo(start) {
    if (current) await current.close();
    current = await start();
    started.push(current);
    if (!port) port = Number(new URL(current.url).port);
  }
  const reference = () => startReference({ databaseUrl: db.url, secret: SECRET, port, overrides: ORG });
  const target = () => startTarget({ databaseUrl: db.url, secret: SECRET, port, overrides: ORG, env: ENV });
  const signIn = async (name) => {
    const a = makeUser(current, { plugins: [organizationClient()] });
    const r = await a.client.signIn.email({ email: `${name}@example.com`, password: PASSWORD });
    assert.equal(r.error, null, JSON.stringify(r.error));
    return a;
  };
  const ids = {};

  it("an organization made under Better Auth is served by Latch", STEP, async () => {
    await switchTo(reference);
    await run(async () => {
      for (const name of ["ann", "bob", "cyd"]) {
        const a = makeUser(current, { plugins: [organizationClient()] });
        assert.equal((await a.client.signUp.email({ name, email: `${name}@example.com`, password: PASSWORD })).error, null);
      }
      const ann = await signIn("ann");
      const org = await ann.client.organization.create({ name: "Made by BA", slug: "made-by-ba", metadata: { from: "ba" } });
      assert.equal(org.error, null, JSON.stringify(org.error));
      ids.ba = org.data.id;
      const bobInv = await ann.client.organization.inviteMember({ email: "bob@example.com", role: "admin" });
      const bob = await signIn("bob");
      assert.equal((await bob.client.organization.acceptInvitation({ invitationId: bobInv.data.id })).error, null);
      // Left pending for Latch to honour.
      ids.cydInvitation = (await ann.client.organization.inviteMember({ email: "cyd@example.com", role: "member" })).data.id;
    });
    await switchTo(target);
    await run(async () => {
      const ann = await signIn("ann");
      const list = await ann.client.organization.list();
      assert.equal(list.error, null, JSON.stringify(list.error));
      assert.deepEqual(list.data.map((o) => [o.id, o.slug, o.metadata]), [[ids.ba, "made-by-ba", JSON.stringify({ from: "ba" })]]);
      const set = await ann.client.organization.setActive({ organizationId: ids.ba });
      assert.equal(set.error, null, JSON.stringify(set.error));
      const full = await ann.client.organization.getFullOrganization();
      assert.deepEqual(full.data.members.map((m) => [m.user.email, m.role]).sort(), [["ann@example.com", "owner"], ["bob@example.com", "admin"]]);
      // Better Auth lists every invitation of the organization, accepted ones too.
      assert.deepEqual(full.data.invitations.map((i) => [i.email, i.status]).sort(), [["bob@example.com", "accepted"], ["cyd@example.com", "pending"]]);
      const token = await ann.client.token();
      const claims = decodeJwtPart(token.data.token, 1);
      assert.equal(claims.org, ids.ba);
      assert.equal(claims.org_role, "owner");
      const cyd = await signIn("cyd");
      const acc = await cyd.client.organization.acceptInvitation({ invitationId: ids.cydInvitation });
      assert.equal(acc.error, null, JSON.stringify(acc.error));
      assert.equal(acc.data.member.role, "member");
      const bob = await signIn("bob");
      await bob.client.organization.setActive({ organizationId: ids.ba });
      const demote = await ann.client.organization.updateMemberRole({ memberId: (await bob.client.organization.getActiveMember()).data.id, role: "member" });
      assert.equal(demote.error, null, JSON.stringify(demote.error));
      const made = await ann.client.organization.create({ name: "Made by Latch", slug: "made-by-latch", metadata: { from: "latch" } });
      assert.equal(made.error, null, JSON.stringify(made.error));
      ids.latch = made.data.id;
      const inv = await ann.client.organization.inviteMember({ email: "bob@example.com", role: "admin", organizationId: ids.latch });
      ids.bobInvitation = inv.data.id;
    });
  });

  it("an organization made by Latch is read by Better Auth", STEP, async () => {
    await switchTo(reference);
    await run(async () => {
      const ann = await signIn("ann");
      const list = await ann.client.organization.list();
      assert.deepEqual(list.data.map((o) => o.slug).sort(), ["made-by-ba", "made-by-latch"]);
      const full = await ann.client.organization.getFullOrganization({ query: { organizationId: ids.latch } });
      assert.equal(full.error, null, JSON.stringify(full.error));
      assert.equal(full.data.metadata, JSON.stringify({ from: "latch" }));
      assert.deepEqual(full.data.members.map((m) => [m.user.email, m.role]), [["ann@example.com", "owner"]]);
      const ba = await ann.client.organization.getFullOrganization({ query: { organizationId: ids.ba } });
      assert.deepEqual(ba.data.members.map((m) => [m.user.email, m.role]).sort(),
        [["ann@example.com", "owner"], ["bob@example.com", "member"], ["cyd@example.com", "member"]]);
      const bob = await signIn("bob");
      const acc = await bob.client.organization.acceptInvitation({ invitationId: ids.bobInvitation });
      assert.equal(acc.error, null, JSON.stringify(acc.error));
      assert.equal(acc.data.member.role, "admin");
      const del = await ann.client.organization.delete({ organizationId: ids.latch });
      assert.equal(del.error, null, JSON.stringify(del.error));
    });
  });
});
