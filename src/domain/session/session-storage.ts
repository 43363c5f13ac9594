// Owns the layout of a session object's own storage: every key and key prefix it uses (one line each, with the
// module that owns it; docs/storage.md lists the same), and forgetting all of it when the session is deleted.
// The modules that own a key build it here, so nothing else names one.

const pad = (n: number, digits: number) => String(n).padStart(digits, "0");

/** Every key and key prefix a session object writes, with its one owner. */
export const SESSION_STORAGE = {
  /** journal.ts: a journaled database write, by its number. */
  journalWrite: "write:",
  /** journal.ts: the batch being committed (its id and its writes' keys). */
  journalBatch: "write-batch",
  /** outbox.ts: a chat event staged or ready to mirror, by session and first history sequence number. */
  outbox: "outbox:",
  /** answer-log.ts: the answer to a turn with a client request id. */
  answer: "answer:",
  /** stream-log.ts: the number the next turn gets. */
  streamNextTurn: "stream:next-turn",
  /** stream-log.ts: a recorded turn (streaming, or how it ended). */
  streamTurn: "stream:turn:",
  /** stream-log.ts: one delta of a recorded turn. */
  streamDelta: "stream:delta:",
  /** watchers.ts: the connection hubs that watch the session. */
  streamWatchers: "stream:watchers",
  /** accounts/credit-lease.ts: this instance's epoch of the session's credit lease. */
  leaseEpoch: "lease:epoch",
  /** chat-session.ts: the session's id, for an instance the runtime wakes without its name. */
  sessionName: "session:id",
} as const;

/** The keys, as the modules that own them build them. */
export const sessionKeys = {
  journalWrite: (n: number) => `${SESSION_STORAGE.journalWrite}${pad(n, 12)}`,
  outbox: (sessionId: string, firstSeq: number) => `${SESSION_STORAGE.outbox}${sessionId}:${pad(firstSeq, 12)}`,
  answer: (requestId: string) => `${SESSION_STORAGE.answer}${requestId}`,
  streamTurn: (turn: number) => `${SESSION_STORAGE.streamTurn}${pad(turn, 10)}`,
  /** The prefix of one turn's deltas. */
  streamDeltas: (turn: number) => `${SESSION_STORAGE.streamDelta}${pad(turn, 10)}:`,
  streamDelta: (turn: number, seq: number) => `${sessionKeys.streamDeltas(turn)}${pad(seq, 10)}`,
} as const;

/**
 * The session was deleted: its object keeps nothing (every key above, and its alarm). One call: the object's
 * storage holds nothing but this layout, so emptying it is emptying the layout.
 */
export async function forgetSessionStorage(storage: DurableObjectStorage): Promise<void> {
  // From compatibility date 2026-02-24 deleteAll() takes the alarm too; deleting it first says so without relying on it.
  await storage.deleteAlarm();
  await storage.deleteAll();
}
