// gen.mjs writes golden.json: signed cookie values, encodeURIComponent,
// tryDecode and parseCookies outputs, all produced by better-call's own code
// (the version Better Auth 1.7.25 installs). The Go tests read only the JSON.
// From pkg:
//
//	node signedcookie/testdata/gen.mjs
//
// BA_NODE_MODULES (default /tmp/ba/node_modules) points at an install of
// better-auth@1.7.25.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const NM = process.env.BA_NODE_MODULES ?? "/tmp/ba/node_modules";
const load = (p) => import(pathToFileURL(`${NM}/${p}`).href);
const here = (f) => new URL(f, import.meta.url);

const { createInternalContext, parseCookies } = await load("better-call/dist/index.mjs");
const { signCookieValue } = await load("better-call/dist/crypto.mjs");
const { tryDecode } = await load("better-call/dist/utils.mjs");
const bcVersion = JSON.parse(readFileSync(`${NM}/better-call/package.json`, "utf8")).version;

// getSignedCookie exactly as Better Auth calls it, on a request whose Cookie
// header carries `signed` (URL-encoded, so parseCookies hands it back as is).
async function getSignedCookie(signed, secret) {
	const headers = new Headers({ cookie: `n=${encodeURIComponent(signed)}` });
	const ctx = await createInternalContext({ headers }, { options: {}, path: "/" });
	return await ctx.getSignedCookie("n", secret);
}

const secrets = [
	"better-auth-secret-12345678901234567890",
	"8f3a9c2e7d1b4f6a0e5c9d8b7a6f5e4d3c2b1a0f9e8d7c6b",
	"sécret-🔑-with-unicode",
	"x",
];
const values = [
	"Pz3kD9qWm2vL8xN4rT6yB1cF5hJ7gK0s", // a session token
	"true",                             // dont_remember
	"",
	"a.b.c",
	"héllo wörld 😀",
	"100%; a=b, c+d/e",
	"x".repeat(300),
];
const sign = [];
for (const secret of secrets) {
	for (const value of values) {
		const wire = await signCookieValue(value, secret);
		sign.push({ value, secret, wire, signed: decodeURIComponent(wire) });
	}
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const secret = secrets[0];
const good = decodeURIComponent(await signCookieValue("Pz3kD9qWm2vL8xN4rT6yB1cF5hJ7gK0s", secret));
const dot = good.lastIndexOf(".");
const val = good.slice(0, dot);
const sig = good.slice(dot + 1);
const swapAt = (s, i) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
// The 43rd digit carries 4 bits of the MAC and 2 unused bits.
const looseLast = sig.slice(0, 42) + alphabet[alphabet.indexOf(sig[42]) ^ 1] + "=";
const dotted = decodeURIComponent(await signCookieValue("a.b.c", secret));
const verifyCases = [
	["a correctly signed value verifies", good, secret],
	["a value containing dots verifies, split at the last dot", dotted, secret],
	["a tampered value is rejected", swapAt(val, 5) + "." + sig, secret],
	["a tampered signature is rejected", val + "." + swapAt(sig, 10), secret],
	["the wrong secret is rejected", good, secrets[1]],
	["a 43-character signature is rejected", val + "." + sig.slice(1), secret],
	["a 45-character signature is rejected", val + "." + "A" + sig, secret],
	["a signature not ending in '=' is rejected", val + "." + sig.slice(0, 43) + "A", secret],
	["a missing dot is rejected", val + sig, secret],
	["a dot at position 0 is rejected", "." + sig, secret],
	["a bare signature after an empty value is rejected", "." + sig.slice(0, 43) + "=", secret],
	["an empty string is rejected", "", secret],
	["a URL-safe base64 signature is rejected", val + "." + sig.replaceAll("+", "-").replaceAll("/", "_").replace(/^./, "-"), secret],
	["a signature with a space in it is rejected", val + "." + sig.slice(0, 20) + " " + sig.slice(21), secret],
	["a signature padded with '==' is rejected", val + "." + sig.slice(0, 42) + "==", secret],
	["unused low bits in the last base64 digit are ignored, as atob does", val + "." + looseLast, secret],
	["a still-encoded value is rejected", encodeURIComponent(good), secret],
];
const verify = [];
for (const [name, signed, sec] of verifyCases) {
	const r = await getSignedCookie(signed, sec);
	verify.push({ name, signed, secret: sec, result: r === null ? "null" : r === false ? "false" : "value", value: typeof r === "string" ? r : "" });
}
for (const s of sign) {
	const r = await getSignedCookie(s.signed, s.secret);
	verify.push({ name: `a value signed by better-call verifies: ${JSON.stringify(s.value).slice(0, 40)} / ${JSON.stringify(s.secret).slice(0, 20)}`, signed: s.signed, secret: s.secret, result: r === null ? "null" : r === false ? "false" : "value", value: typeof r === "string" ? r : "" });
}

let ascii = "";
for (let c = 0; c < 128; c++) ascii += String.fromCharCode(c);
const encodeStrings = [
	"", "abc", ascii, "-_.!~*'()", "a+b/c=d", "100% ; , \" \\", "é", "ß", "日本語", "😀", "\u2028\u2029",
	"\ufffd", "\u{10ffff}", "\u0000", "Pz3kD9qWm2vL8xN4rT6yB1cF5hJ7gK0s.iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs=",
];
const encode = encodeStrings.map((s) => ({ s, encoded: encodeURIComponent(s) }));

const decodeStrings = [
	"no-percent", "%41", "%", "%4", "%zz", "%25", "a%2Bb%2F%3D", "%C3%A9", "%c3%a9", "%C3", "%C3%", "%C3%41",
	"%E0%A4%A", "%E0%A4%A4", "%F0%9F%98%80", "%EF%BF%BD", "%ED%A0%80", "%ED%9F%BF", "%C0%AF", "%C1%81", "%F4%8F%BF%BF",
	"%F4%90%80%80", "%F8%80%80%80%80", "%80", "%FF", "%E2%82", "%E0%80%80", "%C3é", "é%41", "%%41", "%41%", "+%20+",
];
const decode = decodeStrings.map((s) => ({ s, decoded: tryDecode(s) }));

const headers = [
	"a=1; b=2",
	"a=1; a=2",
	"a =1; a=2",
	"a=1;b=2;  c = 3 ",
	"a=\"quoted\"",
	"a=\"unterminated",
	"a=\"",
	"a=\"\"",
	"a=\"x😀",
	"a=\"😀",
	"a=\"%41\"",
	"a=b=c=d",
	"=empty-name",
	" = ",
	"a=1; =2; =3",
	"novalue; b=1",
	"x=1;y;z=2",
	"a;b;c=1",
	"a=1;b",
	"",
	";;;",
	"=",
	"a=%E0%A4%A",
	"a=%C3%A9",
	"a=hello%20world; b=%2B%2F%3D",
	"a=1,b=2",
	"\ta=1\u00a0; b=\ufeff2\ufeff; c=\u00853\u0085",
	"a=\u2028x\u2029; b=\u1680y\u180e; c=\u3000z\u200b",
	"k=  spaced value  ; k2=\"  in quotes  \"",
	`better-auth.session_token=${encodeURIComponent(good)}; better-auth.dont_remember=${encodeURIComponent(decodeURIComponent(await signCookieValue("true", secret)))}`,
	`__Secure-better-auth.session_token=${encodeURIComponent(good)}; other=1`,
	"raw=Pz3k.iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs=",
	"ünï=cödé; 名前=値",
];
const parse = headers.map((header) => ({ header, cookies: [...parseCookies(header).entries()] }));

writeFileSync(here("golden.json"), JSON.stringify({
	generator: `signedcookie/testdata/gen.mjs with better-call ${bcVersion} on Node ${process.version}`,
	sign, verify, encode, decode, parse,
}, null, "\t") + "\n");
console.error(`wrote golden.json: ${sign.length} sign, ${verify.length} verify, ${encode.length} encode, ${decode.length} decode, ${parse.length} parse`);
