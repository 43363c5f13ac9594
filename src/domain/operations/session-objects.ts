// Owns the Worker side's calls into session objects: reaching a session's object, waiting for its writes, starting
// a turn or an upload, watching, resuming or cancelling its live turn, deleting a session.
import { unwrap } from "../errors";
import type { ChatSession, SessionUpload, TurnReply, TurnRequest } from "../session/chat-session";
import type { Resumed } from "../session/live-turns";
import type { SessionIds } from "../session/session-ids";
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
 * The session a chat message goes to. A "NEW" session gets its id here: random, or, for a request carrying a
 * client id, derived from the user and that id, so a retry reaches the same object and gets the same answer.
 */
export async function turnTarget(ids: SessionIds, userId: string, sessionId: string | "NEW", requestId: string | null): Promise<{ sessionId: string; isNew: boolean }> {
  if (sessionId !== "NEW") return { sessionId, isNew: false };
  return { sessionId: requestId ? await ids.derived(userId, requestId) : await ids.random(userId), isNew: true };
}

/** Runs a turn in its session's object. */
export async function sendChatMessage(env: Env, request: TurnRequest): Promise<TurnReply> {
  const { sessionId, ...toSession } = request;
  return unwrap(await sessionObject(env, sessionId).turn(toSession));
}

/** The connection hub gets the session's turn events from now on. */
export function watchSession(env: Env, sessionId: string, hubId: string): Promise<void> {
  return sessionObject(env, sessionId).watch(hubId);
}

/** Where a turn of the session stands, with the events that bring a client up to date; the hub watches from now on. */
export async function resumeTurn(
  env: Env,
  { userId, sessionId, turn, afterSeq, hubId }: { userId: string; sessionId: string; turn: number; afterSeq: number; hubId: string },
): Promise<Resumed> {
  return unwrap(await sessionObject(env, sessionId).resume(userId, turn, afterSeq, hubId));
}

/** Cancels the session's running turn; resolves with its number once it has ended. */
export async function cancelTurn(env: Env, userId: string, sessionId: string): Promise<number> {
  return unwrap(await sessionObject(env, sessionId).cancel(userId));
}

/** Hands an upload to its session's object in one call: it checks ownership (or creates the session) and stores it. */
export async function uploadFile(env: Env, ids: SessionIds, upload: Omit<SessionUpload, "sessionId" | "isNew"> & { sessionId: string | "NEW" }): Promise<FileRecord> {
  const { sessionId: target, ...toSession } = upload;
  const isNew = target === "NEW";
  const sessionId = isNew ? await ids.random(upload.userId) : target;
  return unwrap(await sessionObject(env, sessionId).upload({ ...toSession, isNew }));
}

export async function deleteSession(env: Env, userId: string, sessionId: string): Promise<void> {
  unwrap(await sessionObject(env, sessionId).remove(userId));
}
