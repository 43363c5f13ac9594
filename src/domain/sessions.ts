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

export function sessionObject(env: Env, sessionId: string): DurableObjectStub<ChatSession> {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
}
