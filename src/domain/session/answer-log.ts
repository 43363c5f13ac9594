// Owns the answers a session gave to turns that carried a client request id, for IDEMPOTENCY_WINDOW_S: a retried
// turn (its reply was lost, the client sent it again with the same id) gets the stored answer instead of running
// twice. An answer is stored in the same storage commit as its turn's journal entry, so a turn that is kept
// across a crash has its answer kept too; the alarm prunes answers past the window. The object keeps an index of
// its answers in memory (read from storage once per lifetime), with the newest replies themselves, so a warm turn
// with a request id reads nothing.
import { deleteKeys } from "../../storage/durable-storage";
import { SESSION_STORAGE, sessionKeys } from "./session-storage";
import type { WakeUp } from "./wake-up";

const PREFIX = SESSION_STORAGE.answer;
/** Replies kept in memory: a client retries within seconds; an older retry reads its answer from storage. */
const REPLIES_IN_MEMORY = 64;

export interface StoredAnswer<T> {
  /** Whose turn it answered: another user's retry with the same id gets nothing. */
  userId: string;
  reply: T;
  at: number;
}

/** An answer as the index knows it: its reply only while it is among the newest. */
interface Indexed<T> {
  userId: string;
  at: number;
  reply: T | null;
}

export class AnswerLog<T> {
  /** Every answer in storage by request id, oldest first; null until read once. */
  private index: Map<string, Indexed<T>> | null = null;
  private loading: Promise<Map<string, Indexed<T>>> | null = null;
  /** Request ids whose reply is in memory, oldest first. */
  private readonly withReply: string[] = [];

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wakeUp: WakeUp,
    private readonly windowMs: number,
  ) {}

  /** This user's answer to this request id, if it was given within the window. */
  async find(requestId: string, userId: string, now: number): Promise<T | null> {
    const known = (await this.load()).get(requestId);
    if (!known || known.userId !== userId || now - known.at >= this.windowMs) return null;
    if (known.reply !== null) return known.reply;
    return (await this.storage.get<StoredAnswer<T>>(sessionKeys.answer(requestId)))?.reply ?? null;
  }

  /** The storage entry of an answer, to store with its turn (Journal.add's `alongside`); asks to be pruned later. */
  entry(requestId: string, userId: string, reply: T, now: number): Record<string, StoredAnswer<T>> {
    void this.wakeUp(this.windowMs).catch((error: unknown) => console.error("answer pruning not scheduled", error));
    return { [sessionKeys.answer(requestId)]: { userId, reply, at: now } };
  }

  /** The answer is in storage (its turn's journal entry is durable): retries find it from memory from now on. */
  kept(requestId: string, answer: StoredAnswer<T>): void {
    if (!this.index) return; // read with the others when first needed
    this.index.delete(requestId);
    this.index.set(requestId, { ...answer });
    this.rememberReply(requestId);
  }

  /** Deletes the answers past the window (from the alarm). */
  async prune(now: number): Promise<void> {
    const index = await this.load();
    const expired: string[] = [];
    for (const [requestId, answer] of index) if (now - answer.at >= this.windowMs) expired.push(requestId);
    await deleteKeys(this.storage, expired.map((id) => sessionKeys.answer(id)));
    for (const requestId of expired) index.delete(requestId);
    // Oldest first: answers are indexed as they are given.
    const oldest = index.values().next();
    if (!oldest.done) await this.wakeUp(this.windowMs - (now - oldest.value.at));
  }

  /** Forgets what memory holds (the session was deleted and its storage emptied): read again when next needed. */
  forget(): void {
    this.index = null;
    this.loading = null;
    this.withReply.length = 0;
  }

  /** The index, read from storage once per object lifetime (concurrent first callers share the read). */
  private load(): Promise<Map<string, Indexed<T>>> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= this.storage.list<StoredAnswer<T>>({ prefix: PREFIX }).then((stored) => {
      const answers = [...stored].map(([key, answer]) => [key.slice(PREFIX.length), answer] as const).sort(([, a], [, b]) => a.at - b.at);
      const index = new Map<string, Indexed<T>>(answers.map(([id, answer]) => [id, { userId: answer.userId, at: answer.at, reply: null }]));
      this.index ??= index;
      for (const [id, answer] of answers.slice(-REPLIES_IN_MEMORY)) {
        this.index.get(id)!.reply = answer.reply;
        this.withReply.push(id);
      }
      return this.index;
    });
    return this.loading;
  }

  private rememberReply(requestId: string): void {
    const at = this.withReply.indexOf(requestId);
    if (at >= 0) this.withReply.splice(at, 1);
    this.withReply.push(requestId);
    while (this.withReply.length > REPLIES_IN_MEMORY) {
      const oldest = this.index?.get(this.withReply.shift()!);
      if (oldest) oldest.reply = null;
    }
  }
}
