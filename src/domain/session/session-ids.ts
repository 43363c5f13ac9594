// Owns the ids of new sessions: random, or derived from a client's request id, and in both cases tagged for their
// user, so the hub can tell an id this backend issued to the user from garbage without asking anything. A
// session the database does not know yet (its first turn is still in its object's journal) is looked up in its
// object only when its id carries the user's tag: a made-up id never wakes (and so never creates) an object.
//
// Layout (a version 8 UUID, RFC 9562): 60 bits of body (random, or from SHA-256 of the user and the request id),
// then 62 bits of tag, an HMAC-SHA-256 of the user and the body. The key is FILE_URL_SECRET, which token mode
// requires; without auth (where any client may act as any user anyway) the tag is keyed by a fixed text, which
// still keeps random and malformed ids out.
import type { Config } from "../../config";
import { hex } from "../encoding";

const UNKEYED = "chat-backend session ids without auth";
const keys = new Map<string, Promise<CryptoKey>>();

export interface SessionIds {
  /** A new session's id. */
  random(userId: string): Promise<string>;
  /** The id of the session a request id starts: the same for a retry of that request. */
  derived(userId: string, requestId: string): Promise<string>;
  /** Whether this backend could have issued `sessionId` to `userId` (false for ids made before tags existed,
   *  which the database knows, and for anything made up). */
  issuedTo(userId: string, sessionId: string): Promise<boolean>;
}

export function sessionIdsOf(config: Config): SessionIds {
  const secret = config.FILE_URL_SECRET ?? UNKEYED;
  const key = () => {
    let found = keys.get(secret);
    if (!found) keys.set(secret, (found = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])));
    return found;
  };
  const tagged = async (userId: string, body: Uint8Array): Promise<Uint8Array> => {
    const id = new Uint8Array(16);
    id.set(body.subarray(0, 8));
    id[6] = (id[6]! & 0x0f) | 0x80; // version 8
    const tag = new Uint8Array(await crypto.subtle.sign("HMAC", await key(), new TextEncoder().encode(`session\n${userId}\n${hex(id.subarray(0, 8))}`)));
    id.set(tag.subarray(0, 8), 8);
    id[8] = (id[8]! & 0x3f) | 0x80; // RFC variant
    return id;
  };
  return {
    random: async (userId) => uuidText(await tagged(userId, crypto.getRandomValues(new Uint8Array(8)))),
    derived: async (userId, requestId) => {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${userId}\n${requestId}`)));
      return uuidText(await tagged(userId, digest));
    },
    issuedTo: async (userId, sessionId) => {
      const digits = sessionId.toLowerCase().replace(/-/g, "");
      if (!/^[0-9a-f]{32}$/.test(digits) || digits[12] !== "8") return false;
      const bytes = Uint8Array.from(digits.match(/../g)!, (pair) => parseInt(pair, 16));
      return uuidText(await tagged(userId, bytes)) === uuidText(bytes);
    },
  };
}

function uuidText(bytes: Uint8Array): string {
  const digits = hex(bytes);
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20, 32)}`;
}
