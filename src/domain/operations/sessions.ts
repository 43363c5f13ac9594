// Owns reading a user's sessions outside a turn: the list, and a session's whole history.
import type { ChatStore, HistoryEntry, SessionListItem } from "../../storage/chat-store";
import { requireUser } from "../accounts/accounts";
import { ChatError, ErrorCode } from "../errors";

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
