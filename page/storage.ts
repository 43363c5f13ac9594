// Owns what the chat page remembers: who signs in (localStorage) and the turn being streamed (sessionStorage, so a
// reload of this tab can resume it).
import type { HistoryEntry } from "chat-backend/client";

export interface Identity {
  userId?: string;
  token?: string;
}

/** A turn this tab was streaming: enough to show it again and resume it after a reload. */
export interface PendingTurn {
  sessionId: string;
  turn: number;
  lastSeq: number;
  text: string;
  userMessage: string;
  /** The file sent with the message, shown after it again. */
  file?: HistoryEntry;
}

const IDENTITY = "chat-backend.identity";
const PENDING = "chat-backend.pending-turn";
const SESSION = "chat-backend.session";

function read<T>(storage: Storage, key: string): T | null {
  try {
    const text = storage.getItem(key);
    return text === null ? null : (JSON.parse(text) as T);
  } catch {
    return null;
  }
}

export const remembered = {
  identity: (): Identity | null => read<Identity>(localStorage, IDENTITY),
  setIdentity: (identity: Identity | null): void =>
    identity ? localStorage.setItem(IDENTITY, JSON.stringify(identity)) : localStorage.removeItem(IDENTITY),
  pending: (): PendingTurn | null => read<PendingTurn>(sessionStorage, PENDING),
  setPending: (turn: PendingTurn | null): void =>
    turn ? sessionStorage.setItem(PENDING, JSON.stringify(turn)) : sessionStorage.removeItem(PENDING),
  session: (): string | null => sessionStorage.getItem(SESSION),
  setSession: (sessionId: string | null): void =>
    sessionId ? sessionStorage.setItem(SESSION, sessionId) : sessionStorage.removeItem(SESSION),
};
