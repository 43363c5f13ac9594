// Owns the session operations outside a turn: listing, reading history, and reaching a session's object.
import type { ChatStore, HistoryEntry, SessionListItem } from "../storage/chat-store";
import type { ChatSession } from "./chat-session";
import { requireUser } from "./accounts";
import { ChatError, ErrorCode } from "./errors";

export async function listSessions(store: ChatStore, userId: string): Promise<SessionListItem[]> {
  const [, sessions] = await Promise.all([requireUser(store, userId), store.listSessions(userId)]);
  return sessions;
}

/** The whole history of a session the user owns; another user's session reads as not found. */
export async function sessionHistory(store: ChatStore, userId: string, sessionId: string): Promise<HistoryEntry[]> {
  const [session, history] = await Promise.all([store.findSession(sessionId), store.readHistory(sessionId)]);
  if (!session || session.userId !== userId) throw new ChatError(ErrorCode.SessionNotFound);
  return history;
}

/**
 * Waits until the database has every write of these sessions' answered turns (they commit right behind each
 * reply), so a read that follows a turn sees it. Each session is waited for once.
 */
export async function settleWrites(env: Env, sessionIds: Set<string>): Promise<void> {
  const ids = [...sessionIds];
  sessionIds.clear();
  const settled = await Promise.all(ids.map((id) => sessionObject(env, id).settled()));
  // The caller answers with its own failure code: a read must not look complete while writes are missing.
  if (settled.includes(false)) throw new Error("the database has not taken this connection's latest turns yet");
}

export function sessionObject(env: Env, sessionId: string): DurableObjectStub<ChatSession> {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
}
