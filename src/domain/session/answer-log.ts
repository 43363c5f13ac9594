// Owns the answers a session gave to turns that carried a client request id, for IDEMPOTENCY_WINDOW_S: a retried
// turn (its reply was lost, the client sent it again with the same id) gets the stored answer instead of running
// twice. An answer is stored in the same storage commit as its turn's journal entry, so a turn that is kept
// across a crash has its answer kept too; the alarm prunes answers past the window.
import { deleteKeys } from "../../storage/durable-storage";
import { SESSION_STORAGE, sessionKeys } from "./session-storage";
import type { WakeUp } from "./wake-up";

export interface StoredAnswer<T> {
  /** Whose turn it answered: another user's retry with the same id gets nothing. */
  userId: string;
  reply: T;
  at: number;
}

export class AnswerLog<T> {
  /** When the oldest stored answer was given; null: none stored; undefined: not known (read on the next prune). */
  private oldestAt: number | null | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wakeUp: WakeUp,
    private readonly windowMs: number,
  ) {}

  /** This user's answer to this request id, if it was given within the window. */
  async find(requestId: string, userId: string, now: number): Promise<T | null> {
    const stored = await this.storage.get<StoredAnswer<T>>(sessionKeys.answer(requestId));
    return stored && stored.userId === userId && now - stored.at < this.windowMs ? stored.reply : null;
  }

  /** The storage entry of an answer, to store with its turn (Journal.add's `alongside`); asks to be pruned later. */
  entry(requestId: string, userId: string, reply: T, now: number): Record<string, StoredAnswer<T>> {
    if (this.oldestAt === null) this.oldestAt = now;
    void this.wakeUp(this.windowMs).catch((error: unknown) => console.error("answer pruning not scheduled", error));
    return { [sessionKeys.answer(requestId)]: { userId, reply, at: now } };
  }

  /** Deletes the answers past the window (from the alarm); reads them only when the oldest may be due. */
  async prune(now: number): Promise<void> {
    if (this.oldestAt === null || (this.oldestAt !== undefined && now - this.oldestAt < this.windowMs)) return;
    const answers = [...(await this.storage.list<StoredAnswer<T>>({ prefix: SESSION_STORAGE.answer }))];
    const expired = answers.filter(([, answer]) => now - answer.at >= this.windowMs).map(([key]) => key);
    await deleteKeys(this.storage, expired);
    const kept = answers.filter(([, answer]) => now - answer.at < this.windowMs).map(([, answer]) => answer.at);
    this.oldestAt = kept.length > 0 ? Math.min(...kept) : null;
    if (kept.length > 0) await this.wakeUp(this.windowMs - (now - this.oldestAt!));
  }

  /** The session was deleted and its storage emptied: no answer is stored any more. */
  forget(): void {
    this.oldestAt = null;
  }
}
