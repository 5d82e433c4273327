// Shared test machinery: the official client with a cookie jar, raw HTTP requests, response
// "observations" (status, normalized JSON body, cookie attributes, selected headers) that can be
// compared between Better Auth and Latch with assert.deepStrictEqual.
import "./env.mjs";
import http from "node:http";
import crypto from "node:crypto";
import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";

// ---- cookies ----------------------------------------------------------------------------------

/** Parses one Set-Cookie header line into { name, value, attrs } (attribute names lower-cased). */
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(";");
  const eq = pair.indexOf("=");
  const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
  const value = eq < 0 ? "" : pair.slice(eq + 1).trim();
  const attrs = {};
  for (const part of rest) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf("=");
    const k = (i < 0 ? p : p.slice(0, i)).trim().toLowerCase();
    attrs[k] = i < 0 ? true : p.slice(i + 1).trim();
  }
  return { name, value, attrs };
}

/**
 * The comparable shape of a response's cookies: per cookie name, its value normalized (or
 * "<empty>"), and its Max-Age, Path, Domain, Expires (present or not), HttpOnly, Secure, SameSite. Values are not compared.
 */
export function cookieShape(setCookieLines) {
  const out = {};
  for (const line of setCookieLines) {
    const c = parseSetCookie(line);
    const a = c.attrs;
    // Values differ between servers, but their format must not (normalized: "<signed-token, url-encoded>").
    const shape = { value: c.value === "" ? "<empty>" : normalizeString(c.value) };
    if (a["max-age"] !== undefined) shape.maxAge = a["max-age"];
    if (a.path !== undefined) shape.path = a.path;
    if (a.domain !== undefined) shape.domain = a.domain;
    if (a.expires !== undefined) shape.expires = "<present>";
    shape.httpOnly = a.httponly === true;
    shape.secure = a.secure === true;
    if (a.samesite !== undefined) shape.sameSite = String(a.samesite).toLowerCase();
    if (a.partitioned) shape.partitioned = true;
    if (out[c.name]) out[c.name] = [].concat(out[c.name], shape); // the same cookie twice is itself a finding
    else out[c.name] = shape;
  }
  return out;
}

/** A browser-like cookie store for one user: keeps Set-Cookie values, sends them back. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  store(setCookieLines) {
    for (const line of setCookieLines) {
      const { name, value, attrs } = parseSetCookie(line);
      const maxAge = attrs["max-age"] !== undefined ? Number(attrs["max-age"]) : undefined;
      const expired =
        value === "" || (maxAge !== undefined && maxAge <= 0) ||
        (attrs.expires && Date.parse(attrs.expires) < Date.now());
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  get(name) {
    return this.cookies.get(name);
  }
  set(name, value) {
    this.cookies.set(name, value);
  }
  clone() {
    const j = new CookieJar();
    j.cookies = new Map(this.cookies);
    return j;
  }
  get size() {
    return this.cookies.size;
  }
}

export const SESSION_COOKIE = "better-auth.session_token";
export const DONT_REMEMBER_COOKIE = "better-auth.dont_remember";

/** The signed cookie value Better Auth writes: encodeURIComponent(value + "." + base64(HMAC-SHA256(secret, value))). */
export function signCookieValue(value, secret) {
  const sig = crypto.createHmac("sha256", secret).update(value).digest("base64");
  return encodeURIComponent(`${value}.${sig}`);
}

// ---- the official client ----------------------------------------------------------------------

/**
 * A user agent: the official better-auth client (with jwtClient) for one user of one server. Node has no cookie
 * jar, so a customFetchImpl plays the browser: it sends the jar's cookies, an Origin header equal
 * to the server's origin on non-GET requests, stores Set-Cookie, and remembers the raw last response
 * (`last`, an observation-ready record) for comparison. `forwardedFor` adds X-Forwarded-For; `plugins`
 * adds client plugins (e.g. twoFactorClient()).
 * Returns { client, jar, origin, last, history }.
 */
export function makeUser(server, { jar = new CookieJar(), origin = new URL(server.url).origin, forwardedFor, fetchOptions = {}, plugins = [] } = {}) {
  const state = { jar, last: null, history: [] };
  const customFetchImpl = async (input, init = {}) => {
    const req = new Request(input, init);
    const headers = new Headers(req.headers);
    if (state.jar && state.jar.size && !headers.has("cookie")) headers.set("cookie", state.jar.header());
    if (req.method !== "GET" && req.method !== "HEAD" && origin && !headers.has("origin")) headers.set("origin", origin);
    // As if behind the gateway: a client IP both servers can record the same way.
    if (forwardedFor && !headers.has("x-forwarded-for")) headers.set("x-forwarded-for", forwardedFor);
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
    const res = await fetch(req.url, { method: req.method, headers, body, redirect: "manual" });
    const setCookies = res.headers.getSetCookie();
    if (state.jar) state.jar.store(setCookies);
    const text = await res.clone().text();
    state.last = {
      method: req.method,
      path: new URL(req.url).pathname,
      status: res.status,
      statusText: res.statusText,
      headers: headersObject(res.headers),
      setCookies,
      text,
    };
    state.history.push(state.last);
    return res;
  };
  const client = createAuthClient({
    baseURL: server.url,
    plugins: [jwtClient(), ...plugins],
    fetchOptions: { ...fetchOptions, customFetchImpl },
  });
  // The client is a Proxy that turns every property into an endpoint call, so the extras live beside it.
  return {
    client,
    jar: state.jar,
    origin,
    get last() {
      return state.last;
    },
    history: state.history,
  };
}

// ---- raw requests -------------------------------------------------------------------------------

/**
 * A raw HTTP request with node:http - full control over headers (no implicit Sec-Fetch-Mode,
 * Content-Type or Origin, unlike fetch). `body` may be a string, Buffer or an object (sent as JSON
 * with content-type application/json unless headers say otherwise). Returns a response record
 * like client.last.
 */
export function rawRequest(server, path, { method = "GET", headers = {}, body, jar, origin } = {}) {
  const url = new URL(path, server.url);
  const h = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) h[k.toLowerCase()] = v;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string" || Buffer.isBuffer(body)) payload = body;
    else {
      payload = JSON.stringify(body);
      if (!("content-type" in h)) h["content-type"] = "application/json";
    }
  }
  if (jar && jar.size && !("cookie" in h)) h.cookie = jar.header();
  if (origin && !("origin" in h)) h.origin = origin;
  if (payload !== undefined) h["content-length"] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const setCookies = [].concat(res.headers["set-cookie"] ?? []);
        if (jar) jar.store(setCookies);
        const headersOut = {};
        for (const [k, v] of Object.entries(res.headers)) if (k !== "set-cookie") headersOut[k] = Array.isArray(v) ? v.join(", ") : v;
        resolve({
          method,
          path: url.pathname,
          status: res.statusCode,
          statusText: res.statusMessage,
          headers: headersOut,
          setCookies,
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
      res.on("error", reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on("error", (err) => {
      // A server may answer (e.g. 413) and close before it has read a large body: the answer counts.
      if (err.code === "EPIPE" || err.code === "ECONNRESET") resolve({ method, path: url.pathname, status: 0, statusText: err.code, headers: {}, setCookies: [], text: "" , error: err.code });
      else reject(err);
    });
    if (payload !== undefined) req.end(payload);
    else req.end();
  });
}

function headersObject(h) {
  const o = {};
  for (const [k, v] of h) if (k !== "set-cookie") o[k] = v;
  return o;
}

// ---- normalization ------------------------------------------------------------------------------

const RE_ID = /^[A-Za-z0-9]{32}$/;
const RE_SIGNED = /^[A-Za-z0-9]{32}\.[A-Za-z0-9+/]{43}=$/;
const RE_SIGNED_ENC = /^[A-Za-z0-9]{32}\.(?:[A-Za-z0-9]|%2B|%2F){43}%3D$/;
const RE_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const RE_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Replaces the values that legitimately differ between two servers by placeholders, keeping the
 * key set and value types: 32-char ids/tokens -> "<id>", signed tokens ("<token>.<base64 HMAC>")
 * -> "<signed-token>" (or "<signed-token, url-encoded>" as in a cookie),
 * JWTs -> "<jwt>", ISO timestamps (exactly JS's toISOString format) -> "<timestamp>", and the
 * server's origin inside strings -> "<origin>". Other values are kept. `keys` maps a key name to a
 * placeholder for values that are random but have no recognizable shape (e.g. a JWK's "x").
 */
export function normalize(value, { origin, keys = {} } = {}) {
  const walk = (v, key) => {
    if (key !== undefined && Object.hasOwn(keys, key) && v !== null && v !== undefined) return keys[key];
    // The official client turns ISO date strings into Dates; anything it could not parse stays a string.
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? "<invalid date>" : "<date>";
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") {
      const o = {};
      for (const k of Object.keys(v)) o[k] = walk(v[k], k);
      return o;
    }
    if (typeof v === "string") return normalizeString(v, origin);
    return v;
  };
  return walk(value);
}

export function normalizeString(s, origin) {
  if (RE_ID.test(s)) return "<id>";
  if (RE_SIGNED.test(s)) return "<signed-token>";
  if (RE_SIGNED_ENC.test(s)) return "<signed-token, url-encoded>";
  if (RE_ISO.test(s)) return "<timestamp>";
  if (RE_JWT.test(s) && s.startsWith("eyJ")) return "<jwt>";
  if (origin && s.includes(origin)) return s.split(origin).join("<origin>");
  return s;
}

/** Headers worth comparing, normalized (content-type: media type only; lists as sorted sets). */
const COMPARED_HEADERS = ["content-type", "cache-control", "pragma", "location", "x-retry-after", "access-control-expose-headers", "set-auth-token", "set-auth-jwt"];

/**
 * What is compared about a response: status, body (parsed JSON, normalized; "" for an empty
 * body; {"<non-json>": text} otherwise), cookie attributes, and the selected headers.
 */
export function observe(r, { origin, keys, headers = COMPARED_HEADERS } = {}) {
  let body;
  if (r.text === "") body = "";
  else {
    try {
      body = normalize(JSON.parse(r.text), { origin, keys });
    } catch {
      body = { "<non-json>": r.text.length > 300 ? `${r.text.slice(0, 300)}…` : r.text };
    }
  }
  const hs = {};
  for (const name of headers) {
    let v = r.headers[name];
    if (v === undefined) continue;
    if (name === "content-type") v = v.split(";")[0].trim().toLowerCase();
    else if (name === "access-control-expose-headers") v = v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).sort().join(", ");
    else v = normalizeString(v, origin);
    hs[name] = v;
  }
  return { status: r.status, body, cookies: cookieShape(r.setCookies), headers: hs };
}

// ---- JWT helpers --------------------------------------------------------------------------------

export function decodeJwtPart(jwt, i) {
  return JSON.parse(Buffer.from(jwt.split(".")[i], "base64url").toString("utf8"));
}

/** The shape of a JWT claim set: claim name -> type (with "null" for null). */
export function claimTypes(payload) {
  const o = {};
  for (const [k, v] of Object.entries(payload)) o[k] = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  return o;
}

export function randomEmail(tag) {
  return `${tag}-${crypto.randomBytes(4).toString("hex")}@example.com`;
}
