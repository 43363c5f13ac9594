// Owns reading a user's sessions outside a turn: the list, and a session's whole history (on protocol v2 with
// each file entry's original name and link).
import type { AccountStore, FileStore, HistoryEntry, SessionListItem, SessionStore } from "../../storage/chat-store";
import { requireUser } from "../accounts/accounts";
import { requireSessionOwner } from "../session/session-record";

export async function listSessions(store: AccountStore & SessionStore, userId: string): Promise<SessionListItem[]> {
  const [, sessions] = await Promise.all([requireUser(store, userId), store.listSessions(userId)]);
  return sessions;
}

/** The whole history of a session the user owns; another user's session reads as not found. */
export async function sessionHistory(store: SessionStore, userId: string, sessionId: string): Promise<HistoryEntry[]> {
  const [session, history] = await Promise.all([store.findSession(sessionId), store.readHistory(sessionId)]);
  requireSessionOwner(session?.userId, userId);
  return history;
}

/** A history entry as a v2 client reads it: a file entry keeps the stored name in `content` (as v1 has it) and adds
 *  the name the file was uploaded with and where the client fetches it. */
export type DescribedHistoryEntry = HistoryEntry | (HistoryEntry & { role: "file"; name: string; url: string });

/** The history with its file entries described; `linkTo` makes a stored file's client link (files/file-urls.ts). */
export async function describedHistory(
  store: SessionStore & FileStore,
  userId: string,
  sessionId: string,
  linkTo: (fileName: string) => Promise<string>,
): Promise<DescribedHistoryEntry[]> {
  const [history, files] = await Promise.all([sessionHistory(store, userId, sessionId), store.listSessionFiles(sessionId)]);
  const originalNames = new Map(files.map((file) => [file.fileName, file.originalName]));
  return Promise.all(
    history.map(async (entry): Promise<DescribedHistoryEntry> => {
      if (entry.role !== "file") return entry;
      // An imported entry may name a file the import did not know: its stored name is all there is.
      return { ...entry, name: originalNames.get(entry.content) ?? entry.content, url: await linkTo(entry.content) };
    }),
  );
}
