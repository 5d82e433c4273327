// gen.mjs writes golden.json: values sealed and opened by Better Auth's own
// symmetricEncrypt / symmetricDecrypt, parseEnvelope and derivePurposeKey
// (better-auth/dist/crypto), with secret configurations built by its own
// buildSecretConfig. The Go tests read only the JSON. From services/auth:
//
//	go run ./sealedbox/testdata/gomade > sealedbox/testdata/go_made.json
//	node sealedbox/testdata/gen.mjs
//
// BA_NODE_MODULES (default /tmp/ba/node_modules) points at an install of
// better-auth@1.7.25.
//
// A key spec in the JSON is {secret} for a single secret, or {versions:
// [{version, value}, …] (current first, like Better Auth's `secrets`
// option), legacy}, either with an optional purpose for derivePurposeKey.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const NM = process.env.BA_NODE_MODULES ?? "/tmp/ba/node_modules";
const load = (p) => import(pathToFileURL(`${NM}/${p}`).href);
const here = (f) => new URL(f, import.meta.url);

const { symmetricEncrypt, symmetricDecrypt, parseEnvelope } = await load("better-auth/dist/crypto/index.mjs");
const { derivePurposeKey } = await load("better-auth/dist/crypto/purpose.mjs");
const { buildSecretConfig } = await load("better-auth/dist/context/secret-utils.mjs");
const baVersion = JSON.parse(readFileSync(`${NM}/better-auth/package.json`, "utf8")).version;

function buildKey(spec) {
	let key = spec.secret !== undefined ? spec.secret : buildSecretConfig(spec.versions, spec.legacy ?? "");
	if (spec.purpose) key = derivePurposeKey(key, spec.purpose);
	return key;
}
const seal = (spec, data) => symmetricEncrypt({ key: buildKey(spec), data });
async function open(spec, data) {
	try {
		return { plaintext: await symmetricDecrypt({ key: buildKey(spec), data }) };
	} catch (e) {
		return { throws: e.message };
	}
}

const DEFAULT = "better-auth-secret-12345678901234567890";
const S = "3f9a2c7e1d8b4a6f0c5e9d2b7a1f4e8c6d3b0a9f"; // a 40-char secret
const L = "legacy-secret-from-BETTER_AUTH_SECRET-0123456789";
const V1 = "versioned-secret-one-xxxxxxxxxxxxxxxxxxxxxxxx";
const V3 = "versioned-secret-three-yyyyyyyyyyyyyyyyyyyyyy";
const jwk = JSON.stringify({ crv: "Ed25519", d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kty: "OKP" });

const single = (secret) => ({ secret });
const cur3 = { versions: [{ version: 3, value: V3 }, { version: 1, value: V1 }], legacy: L };
const cur1 = { versions: [{ version: 1, value: V1 }, { version: 3, value: V3 }], legacy: L };
const noLegacy = { versions: [{ version: 3, value: V3 }, { version: 1, value: V1 }] };
const defaultLegacy = { versions: [{ version: 3, value: V3 }, { version: 1, value: V1 }], legacy: DEFAULT };
const zero = { versions: [{ version: 0, value: V1 }], legacy: L };

// Values Better Auth sealed, and what Better Auth opens them to under a key.
const opens = [];
async function sealed(name, sealKey, data, openKeys) {
	const blob = await seal(sealKey, data);
	for (const [what, key] of openKeys) {
		opens.push({ name: `${name}, opened ${what}`, key, data: blob, plaintext_sealed: data, ...(await open(key, blob)) });
	}
	return blob;
}
for (const [name, text] of [["a private JWK", jwk], ["an empty string", ""], ["non-ASCII text", "日本語 😀 ß\u0000"], ["a long text", "0123456789".repeat(200)]]) {
	for (const secret of [S, DEFAULT, "sécret 🔑"]) {
		await sealed(`${name} sealed with a single secret ${JSON.stringify(secret).slice(0, 12)}`, single(secret), text, [["with that secret", single(secret)], ["with another secret", single(secret + "x")]]);
	}
}
const v3blob = await sealed("a JWK sealed with versioned secrets (current 3)", cur3, jwk, [
	["by the same configuration", cur3],
	["after the current version changed to 1", cur1],
	["without a legacy secret", noLegacy],
	["by a single-secret configuration", single(V3)],
]);
await sealed("a JWK sealed with versioned secrets (current 1)", cur1, jwk, [
	["by a configuration whose current version is 3", cur3],
	["by a configuration that retired version 1", { versions: [{ version: 3, value: V3 }], legacy: L }],
]);
const bare = await sealed("a JWK sealed bare with the legacy secret", single(L), jwk, [
	["by a versioned configuration with that legacy secret", cur3],
	["by a versioned configuration without a legacy secret", noLegacy],
	["by a versioned configuration whose legacy secret is the default", defaultLegacy],
]);
await sealed("a JWK sealed bare with the default secret", single(DEFAULT), jwk, [
	["by a versioned configuration whose legacy secret is the default", defaultLegacy],
]);
await sealed("a value sealed under version 0", zero, "zero", [["by the same configuration", zero]]);
await sealed("OAuth state sealed with a purpose key (single secret)", { secret: S, purpose: "oauth-state-cookie" }, '{"state":"x"}', [
	["with the same purpose key", { secret: S, purpose: "oauth-state-cookie" }],
	["with the bare secret", single(S)],
	["with another purpose's key", { secret: S, purpose: "oauth-link-session-token" }],
]);
await sealed("OAuth state sealed with a purpose key (versioned)", { ...cur3, purpose: "oauth-state-cookie" }, '{"state":"y"}', [
	["with the same purpose keys", { ...cur3, purpose: "oauth-state-cookie" }],
	["with the plain versioned keys", cur3],
]);
const bareStateLegacy = await seal({ secret: L, purpose: "oauth-state-cookie" }, "legacy state");
opens.push({ name: "legacy OAuth state sealed with the legacy purpose key, opened with versioned purpose keys", key: { ...cur3, purpose: "oauth-state-cookie" }, data: bareStateLegacy, plaintext_sealed: "legacy state", ...(await open({ ...cur3, purpose: "oauth-state-cookie" }, bareStateLegacy)) });

// Damaged and odd inputs, opened by Better Auth.
const s1 = await seal(single(S), "secret text");
const hexAt = (s, i) => s.slice(0, i) + (s[i] === "0" ? "1" : "0") + s.slice(i + 1);
const v3hex = v3blob.slice(v3blob.lastIndexOf("$") + 1);
const odd = [
	["a flipped ciphertext byte", single(S), hexAt(s1, 60)],
	["a flipped tag byte", single(S), hexAt(s1, s1.length - 3)],
	["a flipped nonce byte", single(S), hexAt(s1, 2)],
	["odd-length hex", single(S), s1.slice(0, -1)],
	["hex missing its last byte", single(S), s1.slice(0, -2)],
	["uppercase hex", single(S), s1.toUpperCase()],
	["non-hex characters", single(S), "zz" + s1.slice(2)],
	["an empty string", single(S), ""],
	["ten bytes", single(S), "00".repeat(10)],
	["a nonce alone", single(S), "00".repeat(24)],
	["a nonce and 15 bytes", single(S), "00".repeat(39)],
	["a nonce and 16 zero bytes", single(S), "00".repeat(40)],
	["an envelope given to a single secret", single(V3), v3blob],
	["an envelope with an unknown version", cur3, `$ba$7$${v3hex}`],
	["an envelope with version 03", cur3, `$ba$03$${v3hex}`],
	["an envelope with a space before the version", cur3, `$ba$ 3$${v3hex}`],
	["an envelope with trailing junk after the version", cur3, `$ba$3x$${v3hex}`],
	["an envelope with a plus sign", cur3, `$ba$+3$${v3hex}`],
	["an envelope with version -3", cur3, `$ba$-3$${v3hex}`],
	["an envelope with no version", cur3, `$ba$$${v3hex}`],
	["an envelope with a huge version", cur3, `$ba$99999999999999999999$${v3hex}`],
	["an envelope with a tampered body", cur3, `$ba$3$${hexAt(v3hex, 70)}`],
	["a bare value with no legacy secret", noLegacy, bare],
	["a prefix without a second separator", cur3, "$ba$3"],
	["an uppercase prefix", cur3, `$BA$3$${v3hex}`],
];
for (const [name, key, data] of odd) opens.push({ name, key, data, ...(await open(key, data)) });

// Envelope parsing, straight from parseEnvelope.
const envStrings = [
	"$ba$1$abc", "$ba$01$x", "$ba$ 1$x", "$ba$\u00a01$x", "$ba$\ufeff1$x", "$ba$\u00851$x", "$ba$\n\t 2$x", "$ba$+1$x",
	"$ba$-1$x", "$ba$-0$x", "$ba$1abc$x", "$ba$1.5$x", "$ba$0x10$x", "$ba$1e3$x", "$ba$$x", "$ba$x", "$ba$", "$ba$1",
	"$BA$1$x", "ba$1$x", "$ba$1$", "$ba$1$a$b", "$ba$99999999999999999999$x", "$ba$9007199254740993$x",
	`$ba$${"9".repeat(400)}$x`, "$ba$ $x", "$ba$-$x", "$ba$+-1$x", "$ba$١$x", "abc",
];
const envelopes = envStrings.map((s) => {
	const e = parseEnvelope(s);
	return { s, envelope: e === null ? null : { version: e.version, ciphertext: e.ciphertext } };
});

// Purpose keys as derivePurposeKey makes them.
const purposes = [];
for (const spec of [single(S), single(DEFAULT), cur3, noLegacy]) {
	for (const purpose of ["oauth-state-cookie", "oauth-link-session-token"]) {
		const k = derivePurposeKey(buildKey(spec), purpose);
		purposes.push({ key: spec, purpose, derived: typeof k === "string" ? { secret: k } : { versions: [...k.keys].map(([version, value]) => ({ version, value })), current: k.currentVersion, legacy: k.legacySecret ?? "" } });
	}
}

let goMade = [];
try {
	goMade = JSON.parse(readFileSync(here("go_made.json"), "utf8"));
} catch (e) {
	console.error("no go_made.json; skipping Go-made values:", e.message);
}
for (const g of goMade) Object.assign(g, { ba: await open(g.key, g.sealed) });

writeFileSync(here("golden.json"), JSON.stringify({
	generator: `sealedbox/testdata/gen.mjs with better-auth ${baVersion} on Node ${process.version}`,
	opens, envelopes, purposes, go_made: goMade,
}, null, "\t") + "\n");
console.error(`wrote golden.json: ${opens.length} opens, ${envelopes.length} envelopes, ${purposes.length} purpose keys, ${goMade.length} Go-made values`);
