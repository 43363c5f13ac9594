// Owns ending the sockets whose credential ended (AUTH_MODE=token), and the connection hub's one alarm: a JWT's
// `exp` passing (the alarm is set for the earliest expiry among the hub's sockets) or an API key revoked (the admin
// API tells the user's hub). Such a socket is closed with CloseCode.CredentialEnded (4401), on which the client library asks for a
// fresh credential and reconnects. Costs a warm frame one comparison, never a database read.
import { CloseCode } from "../../../protocol";

/** What of a socket's credential can end it; kept in the socket's attachment. */
export interface SocketCredential {
  /** The API key the socket signed in with, or null. */
  keyId: string | null;
  /** When the JWT the socket signed in with expires (ms), or null. */
  expiresAt: number | null;
}

export interface WatchedSocket {
  socket: WebSocket;
  credential: SocketCredential;
}

export function hasExpired(credential: SocketCredential, now: number): boolean {
  return credential.expiresAt !== null && credential.expiresAt <= now;
}

/** Closes a socket whose credential ended, saying how it ended (an upgrade with it now gets `Expired credential` or,
 *  for a revoked key, `Invalid credential`). */
export function endSocket(socket: WebSocket, reason: "Expired credential" | "Revoked credential"): void {
  try {
    socket.close(CloseCode.CredentialEnded, reason);
  } catch {
    // Already closed.
  }
}

export class CredentialWatch {
  constructor(private readonly storage: DurableObjectStorage) {}

  /** A socket was accepted: be woken when its credential expires, unless the alarm is set for sooner. */
  async accepted(credential: SocketCredential): Promise<void> {
    if (credential.expiresAt === null) return;
    const alarm = await this.storage.getAlarm();
    if (alarm === null || alarm > credential.expiresAt) await this.storage.setAlarm(credential.expiresAt);
  }

  /** The alarm: closes the sockets whose credential has expired and sets the alarm for the next expiry. Returns
   *  the sockets it closed. */
  async rang(sockets: WatchedSocket[], now: number): Promise<WebSocket[]> {
    const ended: WebSocket[] = [];
    let next: number | null = null;
    for (const { socket, credential } of sockets) {
      if (hasExpired(credential, now)) {
        endSocket(socket, "Expired credential");
        ended.push(socket);
      } else if (credential.expiresAt !== null && (next === null || credential.expiresAt < next)) next = credential.expiresAt;
    }
    if (next !== null) await this.storage.setAlarm(next);
    return ended;
  }

  /** An API key was revoked: closes the sockets it opened. */
  revoked(sockets: WatchedSocket[], keyId: string): WebSocket[] {
    const ended = sockets.filter(({ credential }) => credential.keyId === keyId).map(({ socket }) => socket);
    for (const socket of ended) endSocket(socket, "Revoked credential");
    return ended;
  }
}
