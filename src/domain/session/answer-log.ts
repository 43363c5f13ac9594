// Owns the answers a session gave to turns that carried a client request id, for IDEMPOTENCY_WINDOW_S: a retried
// turn (its reply was lost, the client sent it again with the same id) gets the stored answer instead of running
// twice. An answer is stored in the same storage commit as its turn's journal entry, so a turn that is kept
// across a crash has its answer kept too; the alarm prunes answers past the window.
import { chunked } from "../../chunked";
import type { WakeUp } from "./wake-up";

const PREFIX = "answer:";
/** Storage takes at most 128 keys a delete. */
const MAX_KEYS_PER_DELETE = 128;

export interface StoredAnswer<T> {
  reply: T;
  at: number;
}

export class AnswerLog<T> {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wakeUp: WakeUp,
    private readonly windowMs: number,
  ) {}

  /** The answer to this request id, if it was given within the window. */
  async find(requestId: string, now: number): Promise<T | null> {
    const stored = await this.storage.get<StoredAnswer<T>>(PREFIX + requestId);
    return stored && now - stored.at < this.windowMs ? stored.reply : null;
  }

  /** The storage entry of an answer, to store with its turn (Journal.add's `alongside`); asks to be pruned later. */
  entry(requestId: string, reply: T, now: number): Record<string, StoredAnswer<T>> {
    void this.wakeUp(this.windowMs).catch((error: unknown) => console.error("answer pruning not scheduled", error));
    return { [PREFIX + requestId]: { reply, at: now } };
  }

  /** Deletes the answers past the window (from the alarm). */
  async prune(now: number): Promise<void> {
    const answers = await this.storage.list<StoredAnswer<T>>({ prefix: PREFIX });
    const expired = [...answers].filter(([, answer]) => now - answer.at >= this.windowMs).map(([key]) => key);
    for (const keys of chunked(expired, MAX_KEYS_PER_DELETE)) await this.storage.delete(keys);
    if (expired.length < answers.size) await this.wakeUp(this.windowMs);
  }
}
