// Owns what a session object keeps of its session between turns, so a warm turn reads nothing: the session
// record, the recent history window handed to the agent, the next history sequence number, and its files.
import type { FileRecord, HistoryEntry, SessionRecord, SessionStore } from "../../storage/chat-store";
import { ChatError, ErrorCode } from "../errors";

export interface LiveContext {
  session: SessionRecord;
  /** The newest history entries (at most the window), oldest first. */
  recent: HistoryEntry[];
  nextSeq: number;
  files: FileRecord[];
}

export class LiveSession {
  private live: LiveContext | null = null;

  constructor(private readonly historyWindow: number) {}

  /** The context as this object knows it, or null before it was loaded (or after the session was deleted). */
  known(): LiveContext | null {
    return this.live;
  }

  /**
   * The session's context, read from the database once per object lifetime. `beforeRead` runs first (the
   * journal commits what an earlier instance left, so the read is complete).
   */
  async load(store: Pick<SessionStore, "loadSessionContext">, sessionId: string, beforeRead: () => Promise<void>): Promise<LiveContext> {
    if (this.live) return this.live;
    let stored;
    try {
      await beforeRead();
      stored = await store.loadSessionContext(sessionId, this.historyWindow);
    } catch (error) {
      throw new ChatError(ErrorCode.UnableToLoadSession, undefined, error);
    }
    if (!stored) throw new ChatError(ErrorCode.SessionNotFound);
    this.live = { session: stored.session, recent: stored.recentHistory, nextSeq: stored.nextSeq, files: stored.files };
    return this.live;
  }

  /** A turn was journaled: the session as it left it, and its entries at the end of the window. */
  turnJournaled(previous: LiveContext | null, session: SessionRecord, entries: HistoryEntry[]): LiveContext {
    const updated: LiveContext = {
      session,
      recent: [...(previous?.recent ?? []), ...entries].slice(-this.historyWindow),
      nextSeq: (previous?.nextSeq ?? 0) + entries.length,
      files: previous?.files ?? [],
    };
    this.live = updated;
    return updated;
  }

  /** The summary after a turn, unless a later change replaced that turn's context (a new record: the journaled
   *  turn keeps the session as it was when it was answered). */
  summarized(after: LiveContext, summary: string): void {
    if (this.live === after) this.live = { ...after, session: { ...after.session, summary } };
  }

  fileAdded(file: FileRecord): void {
    this.live?.files.push(file);
  }

  forget(): void {
    this.live = null;
  }
}
