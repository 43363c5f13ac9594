// Owns how the Worker tells a connection hub which user a socket authenticated as, and with what credential: one
// header on the upgrade request, set only by the Worker (a client's own copy is always removed), read once by the
// hub when it accepts the socket. Also names the hub a signed-in user's sockets live in.
import { z } from "zod";
import type { ProvenCredential } from "../../domain/accounts/credentials";

const SOCKET_USER_HEADER = "x-chat-backend-socket-user";

const provenCredential = z.object({ userId: z.string(), keyId: z.string().nullable(), expiresAt: z.number().nullable() });

export function withSocketUser(upgrade: Request, credential: ProvenCredential | null): Request {
  const forwarded = new Request(upgrade);
  forwarded.headers.delete(SOCKET_USER_HEADER);
  if (credential !== null) forwarded.headers.set(SOCKET_USER_HEADER, JSON.stringify(credential));
  return forwarded;
}

export function socketUserOf(upgrade: Request): ProvenCredential | null {
  const header = upgrade.headers.get(SOCKET_USER_HEADER);
  return header === null ? null : provenCredential.parse(JSON.parse(header));
}

/** The hub of a user's sockets: every socket signed in as that user, or (AUTH_MODE=none) naming it in `?user_id=`. */
export function userHubId(hubs: Env["CONNECTIONS"], userId: string): DurableObjectId {
  return hubs.idFromName(`user:${userId}`);
}
