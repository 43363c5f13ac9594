// Owns proving who a request's user is (AUTH_MODE=token): a JWT (HS256 with AUTH_JWT_SECRET, or keys published at
// AUTH_JWKS_URL; `sub` is the user id, `exp` required, `iss`/`aud` checked when configured) or an API key the admin
// API issued ("cbk_<key id>_<secret>", checked against the stored hash in constant time).
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { AuthSettings } from "../../config";
import type { AccountStore, AdminStore, ApiKeyRecord } from "../../storage/chat-store";
import { base64Url, fromHex, hex } from "../encoding";
import { unknownUser } from "./accounts";

const API_KEY_PREFIX = "cbk_";
const SECRET_BYTES = 32;
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const encoder = new TextEncoder();

type TokenAuth = Extract<AuthSettings, { mode: "token" }>;

/** Why a credential was refused: said to the client, never more precise than needed; for a JWT, `detail` names
 *  the check it failed (a missing `exp`, the audience, the signature), which its holder can fix. */
export class CredentialRefused extends Error {
  constructor(
    reason: string,
    readonly detail?: string,
  ) {
    super(reason);
    this.name = "CredentialRefused";
  }
}

/** JWKS fetched once per isolate and URL (jose caches the keys and refetches on an unknown key id). */
const keySets = new Map<string, JWTVerifyGetKey>();

/** What a credential proved: its user, and what ends it (sockets it opened close then, see connection-hub.ts). */
export interface ProvenCredential {
  userId: string;
  /** An API key's id: revoking the key ends it. Null for a JWT. */
  keyId: string | null;
  /** A JWT's `exp` in milliseconds. Null for an API key. */
  expiresAt: number | null;
}

/** The user a credential proves, or CredentialRefused. */
export async function proveCredential(credential: string, auth: TokenAuth, store: AccountStore): Promise<ProvenCredential> {
  if (credential.startsWith(API_KEY_PREFIX)) return userOfApiKey(credential, store);
  return userOfJwt(credential, auth);
}

async function userOfJwt(token: string, auth: TokenAuth): Promise<ProvenCredential> {
  let algorithm: string | undefined;
  try {
    algorithm = decodeProtectedHeader(token).alg;
  } catch {
    throw new CredentialRefused("Malformed credential");
  }
  const options = { issuer: auth.issuer ?? undefined, audience: auth.audience ?? undefined, requiredClaims: ["exp", "sub"] };
  const proven = (payload: JWTPayload): ProvenCredential => ({ userId: payload.sub!, keyId: null, expiresAt: payload.exp! * 1000 });
  try {
    if (algorithm === "HS256" && auth.jwtSecret) {
      return proven((await jwtVerify(token, encoder.encode(auth.jwtSecret), { ...options, algorithms: ["HS256"] })).payload);
    }
    if (algorithm && ASYMMETRIC.includes(algorithm) && auth.jwksUrl) {
      let keys = keySets.get(auth.jwksUrl);
      if (!keys) keySets.set(auth.jwksUrl, (keys = createRemoteJWKSet(new URL(auth.jwksUrl))));
      return proven((await jwtVerify(token, keys, { ...options, algorithms: ASYMMETRIC })).payload);
    }
  } catch (error) {
    // By jose's error code: the minified bundle renames its classes, and with them the errors' `name`.
    const expired = error instanceof errors.JOSEError && error.code === errors.JWTExpired.code;
    const detail = error instanceof Error ? `the JWT failed a check: ${error.message}` : undefined;
    throw new CredentialRefused(expired ? "Expired credential" : "Invalid credential", detail);
  }
  throw new CredentialRefused("Invalid credential", unacceptedAlgorithm(algorithm, auth));
}

/** Why a JWT's algorithm has no key here: the settings that would accept it. */
function unacceptedAlgorithm(algorithm: string | undefined, auth: TokenAuth): string {
  const accepted = [auth.jwtSecret ? "HS256 (AUTH_JWT_SECRET)" : null, auth.jwksUrl ? "RS/PS/ES/EdDSA (AUTH_JWKS_URL)" : null].filter(Boolean);
  return `the JWT's alg ${JSON.stringify(algorithm ?? null)} is not accepted here; accepted: ${accepted.length > 0 ? accepted.join(", ") : "none (set AUTH_JWT_SECRET or AUTH_JWKS_URL)"}`;
}

async function userOfApiKey(key: string, store: AccountStore): Promise<ProvenCredential> {
  // "cbk_" + 32 hex digits + "_" + the secret (base64url, which may hold "_" itself).
  const match = /^([0-9a-f]{32})_(.+)$/.exec(key.slice(API_KEY_PREFIX.length));
  if (!match) throw new CredentialRefused("Malformed credential");
  const [, keyId, secret] = match as unknown as [string, string, string];
  const record = await store.findApiKey(keyId);
  const expected = record ? fromHex(record.secretHash) : new Uint8Array(32);
  const matches = crypto.subtle.timingSafeEqual(await sha256(secret), expected);
  if (!record || !matches || record.revokedAt !== null) throw new CredentialRefused("Invalid credential");
  return { userId: record.userId, keyId: record.id, expiresAt: null };
}

export interface IssuedApiKey {
  record: ApiKeyRecord;
  /** The whole key: shown once, never stored. */
  key: string;
}

/** A new API key for an existing user. */
export async function issueApiKey(store: AccountStore & AdminStore, userId: string, now: number): Promise<IssuedApiKey> {
  if (!(await store.findUser(userId))) throw unknownUser(userId, "User not found");
  const keyId = crypto.randomUUID().replace(/-/g, "");
  const secret = base64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  const record: ApiKeyRecord = { id: keyId, userId, secretHash: hex(await sha256(secret)), createdAt: now, revokedAt: null };
  await store.createApiKey(record);
  return { record, key: `${API_KEY_PREFIX}${keyId}_${secret}` };
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}
