// Owns the file URLs handed to the agent: they expire and are signed (HMAC-SHA256 over name and expiry),
// so they can be neither forged nor reused for another file; and the links clients get to fetch a file.
import type { Config } from "../../config";
import { base64Url } from "../encoding";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

const signedText = (fileName: string, expires: number) => encoder.encode(`${fileName}\n${expires}`);

function fromBase64Url(text: string): Uint8Array | null {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** A URL of the file under `route` ("/files/" for agents, "/uploads/" for users) that works until it expires. */
export async function signedFileUrl(
  baseUrl: string,
  fileName: string,
  secret: string,
  ttlSeconds: number,
  nowMs: number,
  route: "/files/" | "/uploads/" = "/files/",
): Promise<string> {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), signedText(fileName, expires));
  const url = new URL(`${route}${encodeURIComponent(fileName)}`, baseUrl);
  url.searchParams.set("expires", String(expires));
  url.searchParams.set("signature", base64Url(new Uint8Array(signature)));
  return url.toString();
}

/**
 * Where a client fetches a stored file (the upload answer's `imageUrl`, a v2 history's file `url`), on
 * PUBLIC_BASE_URL or else `origin`: with AUTH_MODE=token a signed link valid FILE_URL_TTL seconds (an `<img>` or a
 * download link sends no credential), otherwise the plain `/uploads/<fileName>`.
 */
export function clientFileUrl(config: Config, origin: string, fileName: string, nowMs: number): Promise<string> {
  const base = config.PUBLIC_BASE_URL ?? origin;
  const { auth, FILE_URL_SECRET: secret, FILE_URL_TTL: ttl } = config;
  if (auth.mode === "token" && secret) return signedFileUrl(base, fileName, secret, ttl, nowMs, "/uploads/");
  return Promise.resolve(new URL(`/uploads/${encodeURIComponent(fileName)}`, base).toString());
}

/** True when the signature was made for this very file and expiry, and the expiry has not passed. */
export async function isValidFileSignature(
  fileName: string,
  expires: string | undefined,
  signature: string | undefined,
  secret: string,
  nowMs: number,
): Promise<boolean> {
  const expiresAt = Number(expires);
  if (!Number.isSafeInteger(expiresAt) || expiresAt * 1000 < nowMs || !signature) return false;
  const bytes = fromBase64Url(signature);
  if (!bytes) return false;
  // subtle.verify compares in constant time.
  return crypto.subtle.verify("HMAC", await hmacKey(secret), bytes, signedText(fileName, expiresAt));
}
