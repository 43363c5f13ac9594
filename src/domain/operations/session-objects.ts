// Owns the Worker side's calls into session objects: reaching a session's object, waiting for its writes, starting
// a turn or an upload, deleting a session.
import { hex } from "../encoding";
import { unwrap } from "../errors";
import type { ChatSession, SessionUpload, TurnReply, TurnRequest } from "../session/chat-session";
import type { FileRecord } from "../../storage/chat-store";

export function sessionObject(env: Env, sessionId: string): DurableObjectStub<ChatSession> {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
}

/**
 * Waits until the database has every write of these sessions' answered turns (they commit right behind each
 * reply), so a read that follows a turn sees it. Throws when the database refused some of them: a read must not
 * look complete while writes are missing (the caller answers with its own failure code).
 */
export async function waitForCommits(env: Env, sessionIds: readonly string[]): Promise<void> {
  const settled = await Promise.all(sessionIds.map((id) => sessionObject(env, id).settled()));
  if (settled.includes(false)) throw new Error("the database has not taken this connection's latest turns yet");
}

/**
 * Starts a turn in its session's object. A "NEW" session gets its id here: random, or, for a request carrying a
 * client id, derived from the user and that id, so a retry reaches the same object and gets the same answer.
 */
export async function sendChatMessage(env: Env, request: Omit<TurnRequest, "sessionId" | "isNew"> & { sessionId: string | "NEW" }): Promise<TurnReply> {
  const isNew = request.sessionId === "NEW";
  const sessionId = !isNew ? request.sessionId : request.requestId ? await derivedSessionId(request.userId, request.requestId) : crypto.randomUUID();
  return unwrap(await sessionObject(env, sessionId).turn({ ...request, sessionId, isNew }));
}

/** A UUID-shaped id from the user and a client's request id (SHA-256, version 8 "custom" bits set). */
async function derivedSessionId(userId: string, requestId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${userId}\n${requestId}`)));
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const digits = hex(digest.subarray(0, 16));
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20, 32)}`;
}

/** Hands an upload to its session's object in one call: it checks ownership (or creates the session) and stores it. */
export async function uploadFile(env: Env, upload: Omit<SessionUpload, "sessionId" | "isNew"> & { sessionId: string | "NEW" }): Promise<FileRecord> {
  const isNew = upload.sessionId === "NEW";
  const sessionId = isNew ? crypto.randomUUID() : upload.sessionId;
  return unwrap(await sessionObject(env, sessionId).upload({ ...upload, sessionId, isNew }));
}

export async function deleteSession(env: Env, userId: string, sessionId: string): Promise<void> {
  unwrap(await sessionObject(env, sessionId).remove(userId, sessionId));
}
