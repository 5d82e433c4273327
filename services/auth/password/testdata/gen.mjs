// gen.mjs writes golden.json: password hashes made and checked by Better
// Auth's own code (better-auth/crypto hashPassword / verifyPassword, which on
// Node is @better-auth/utils/password.node.mjs). The Go tests read only the
// JSON; Node is needed only to regenerate it. From services/auth:
//
//	go run ./password/testdata/gomade > password/testdata/go_made.json
//	node password/testdata/gen.mjs
//
// BA_NODE_MODULES (default /tmp/ba/node_modules) points at an install of
// better-auth@1.7.25.
import { readFileSync, writeFileSync } from "node:fs";
import { scryptSync } from "node:crypto";
import { pathToFileURL } from "node:url";

const NM = process.env.BA_NODE_MODULES ?? "/tmp/ba/node_modules";
const load = (p) => import(pathToFileURL(`${NM}/${p}`).href);
const here = (f) => new URL(f, import.meta.url);

const { hashPassword, verifyPassword } = await load("better-auth/dist/crypto/index.mjs");
const baVersion = JSON.parse(readFileSync(`${NM}/better-auth/package.json`, "utf8")).version;

async function verdict(hash, password) {
	try {
		return await verifyPassword({ hash, password });
	} catch (e) {
		return "throws: " + e.message;
	}
}

const passwords = [
	"password123",
	"correct horse battery staple",
	"",
	"ﬁnancial ﬂow",                                  // ligatures: NFKC → "financial flow"
	"Ｐａｓｓｗｏｒｄ１２３",                       // full-width: NFKC → "Password123"
	"\u00c5ngstr\u00f6m",                            // precomposed
	"A\u030angstro\u0308m",                          // decomposed: same NFKC as the line above
	"🔐 secret 😀 ✓",
	"x".repeat(128),
	"😀".repeat(64),                                 // 128 UTF-16 units, 64 runes
	"¹²³ ㍿ Ⅻ ™ ½",                                   // compatibility characters
	"パスワード ﾊﾟｽﾜｰﾄﾞ",                              // half-width katakana
];

// A wrong password is checked for a few of them only: each check is one
// scrypt, which is slow under the race detector.
const wrongFor = new Set(["password123", "ﬁnancial ﬂow", "🔐 secret 😀 ✓"]);
const baHashes = [];
for (const password of passwords) {
	const hash = await hashPassword(password);
	const h = { password, nfkc: password.normalize("NFKC"), hash, verifies: await verdict(hash, password) };
	if (wrongFor.has(password)) {
		// Wrong only after NFKC: the full-width or ligature spelling of a
		// different password must not match.
		h.wrong = password.normalize("NFKC") === password ? password + "!" : password.normalize("NFKC") + "!";
		h.wrong_verifies = await verdict(hash, h.wrong);
	}
	baHashes.push(h);
}

// Two spellings of the same NFKC text verify against each other's hash.
const composed = baHashes.find((h) => h.password === "\u00c5ngstr\u00f6m");
const crossForm = [
	{ hash: composed.hash, password: "A\u030angstro\u0308m" },
	{ hash: baHashes.find((h) => h.password === "ﬁnancial ﬂow").hash, password: "financial flow" },
	{ hash: baHashes.find((h) => h.password === "Ｐａｓｓｗｏｒｄ１２３").hash, password: "Password123" },
].map((c) => ({ ...c }));
for (const c of crossForm) c.verifies = await verdict(c.hash, c.password);

// Hashes Better Auth never writes, and what its verifyPassword makes of them.
const base = baHashes[0];
const [salt, key] = base.hash.split(":");
// A key for a non-hex salt, derived exactly as @better-auth/utils does (the
// salt is used as text), to show the salt is not required to be hex.
const oddSalt = "not hex, any text ✓";
const oddKey = scryptSync(base.password.normalize("NFKC"), oddSalt, 64, { N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2 }).toString("hex");
const odd = [
	["a third field is ignored", `${base.hash}:extra`],
	["an uppercase key never matches", `${salt}:${key.toUpperCase()}`],
	["an uppercase salt is a different salt", `${salt.toUpperCase()}:${key}`],
	["a truncated key never matches", `${salt}:${key.slice(0, 126)}`],
	["a key with a trailing character never matches", `${salt}:${key}0`],
	["a non-hex salt is used as text", `${oddSalt}:${oddKey}`],
	["an empty string is refused", ""],
	["a hash without a colon is refused", `${salt}${key}`],
	["an empty salt is refused", `:${key}`],
	["an empty key is refused", `${salt}:`],
	["an empty second field is refused", `${salt}::${key}`],
	["a lone colon is refused", ":"],
];
const oddHashes = [];
for (const [name, hash] of odd) {
	oddHashes.push({ name, hash, password: base.password, verifies: await verdict(hash, base.password) });
}

const lengthStrings = ["", "abc", "é", "e\u0301", "ﬁ", "😀", "👨‍👩‍👧", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u00a0x\ufeff", "x".repeat(128), "😀".repeat(64)];
const lengths = lengthStrings.map((s) => ({ s, length: s.length }));

let goMade = [];
try {
	goMade = JSON.parse(readFileSync(here("go_made.json"), "utf8"));
} catch (e) {
	console.error("no go_made.json; skipping Go-made hashes:", e.message);
}
for (const g of goMade) {
	g.ba_verifies = await verdict(g.hash, g.password);
	g.ba_verifies_wrong = await verdict(g.hash, g.password + "!");
}

const out = {
	generator: `password/testdata/gen.mjs with better-auth ${baVersion} on Node ${process.version}`,
	ba_hashes: baHashes,
	cross_form: crossForm,
	odd_hashes: oddHashes,
	lengths,
	go_made: goMade,
};
writeFileSync(here("golden.json"), JSON.stringify(out, null, "\t") + "\n");
console.error(`wrote golden.json: ${baHashes.length} BA hashes, ${oddHashes.length} odd hashes, ${goMade.length} Go-made hashes`);
