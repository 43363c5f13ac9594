// Owns what a session object keeps of its live turns in its own storage, so a client can resume one after a
// reconnect or after the object was evicted: the next turn number, each recorded turn's deltas (one key each,
// bounded by MAX_DELTA_CHARS, written in batches) and how it ended, kept STREAM_RETAIN_S after its end and then
// pruned by the session's alarm.
import { deleteKeys, putEntries } from "../../storage/durable-storage";
import { ErrorCode, errorText } from "../errors";
import { SESSION_STORAGE, sessionKeys } from "./session-storage";
import type { WakeUp } from "./wake-up";
import type { TurnOutcome } from "./turn-events";

const NEXT_TURN_KEY = SESSION_STORAGE.streamNextTurn;
const RECORD_PREFIX = SESSION_STORAGE.streamTurn;
/** Deltas are written this long after the first of a batch arrives: one storage commit for a burst of them. */
const DELTA_BATCH_MS = 100;

type TurnRecord = { state: "streaming"; userId: string } | { state: "ended"; userId: string; outcome: TurnOutcome; endedAt: number };

/** A recorded turn as a resume finds it. */
export interface RecordedTurn {
  userId: string;
  deltas: string[];
  outcome: TurnOutcome;
}

/** The outcome of a turn whose object stopped (crash, deploy, eviction) before the turn ended. */
const INTERRUPTED: TurnOutcome = { event: "error", code: ErrorCode.InternalServerError, message: `${errorText(ErrorCode.InternalServerError)}: the turn was interrupted` };

const recordKey = sessionKeys.streamTurn;
const deltaPrefix = sessionKeys.streamDeltas;
const deltaKey = sessionKeys.streamDelta;

export interface StreamLogTimes {
  /** How long an ended turn is kept (STREAM_RETAIN_S). */
  retainMs: number;
  /** The longest a turn can run (its agent call's deadline and then some): a turn still "streaming" in storage
   *  after that was interrupted. */
  longestTurnMs: number;
}

export class StreamLog {
  private nextTurn: number | undefined;
  /** The count as storage has it (or has been asked to), so an unchanged count is not written again. */
  private storedNextTurn: number | undefined;
  private pending: Record<string, string> = {};
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the earliest kept turn is past its retention, as far as this instance knows (undefined: it has not
   *  listed them yet). The session's alarm also rings for its journal, every STORE_RETRY_MS while turns come: a
   *  prune that is not due must not list every kept turn. */
  private pruneDueAt: number | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wakeUp: WakeUp,
    private readonly times: StreamLogTimes,
  ) {}

  /**
   * The next turn's number. A watched turn's count is stored before anything goes out; an unwatched one's goes
   * with the turn's own journal write (`countEntry`), since nobody learns the number before that: a v1 turn costs
   * no storage commit of its own.
   */
  async numberTurn(watched: boolean): Promise<number> {
    this.nextTurn ??= this.storedNextTurn = (await this.storage.get<number>(NEXT_TURN_KEY)) ?? 0;
    const turn = this.nextTurn++;
    if (watched) await this.saveCount();
    return turn;
  }

  /** The turn count as a storage entry, to store with a journal write; empty when storage has it already. */
  countEntry(): Record<string, number> {
    if (this.nextTurn === undefined || this.nextTurn === this.storedNextTurn) return {};
    this.storedNextTurn = this.nextTurn;
    return { [NEXT_TURN_KEY]: this.nextTurn };
  }

  private async saveCount(): Promise<void> {
    const entry = this.countEntry();
    if (Object.keys(entry).length > 0) await this.storage.put(entry);
  }

  /**
   * Starts keeping a turn: its deltas so far and then each new one. Deltas need not be durable before they go
   * out: a crash loses the turn anyway, and its end follows the turn's durable journal write.
   */
  record(turn: number, userId: string, deltas: readonly string[]): void {
    void this.put({ [recordKey(turn)]: { state: "streaming", userId } satisfies TurnRecord, ...this.countEntry() }, { allowUnconfirmed: true });
    deltas.forEach((text, seq) => this.delta(turn, seq, text));
    // Should this object stop mid-turn, the alarm finds the turn and ends it as interrupted.
    this.wakeUp(this.times.longestTurnMs + this.times.retainMs).catch((error: unknown) => console.error("stream log: alarm not set", error));
  }

  delta(turn: number, seq: number, text: string): void {
    this.pending[deltaKey(turn, seq)] = text;
    this.flushTimer ??= setTimeout(() => void this.flush().catch((error: unknown) => console.error("stream log: deltas not stored", error)), DELTA_BATCH_MS);
  }

  async ended(turn: number, userId: string, outcome: TurnOutcome, now: number): Promise<void> {
    await this.flush();
    await this.storage.put(recordKey(turn), { state: "ended", userId, outcome, endedAt: now } satisfies TurnRecord);
    if (this.pruneDueAt !== undefined) this.pruneDueAt = Math.min(this.pruneDueAt, now + this.times.retainMs);
    await this.wakeUp(this.times.retainMs);
  }

  /** The turn as recorded, or null when it is unknown, past its retention, or still running in this object. */
  async find(turn: number): Promise<RecordedTurn | null> {
    const record = await this.storage.get<TurnRecord>(recordKey(turn));
    if (!record) return null;
    await this.flush();
    const deltas = [...(await this.storage.list<string>({ prefix: deltaPrefix(turn) })).values()];
    return { userId: record.userId, deltas, outcome: record.state === "ended" ? record.outcome : INTERRUPTED };
  }

  /** Forgets turns that ended more than the retention ago; a turn left streaming by an earlier instance ends now. */
  async prune(now: number, running: number | null): Promise<void> {
    // Once listed, every turn this instance records ends through ended(), which keeps the due time.
    if (this.pruneDueAt !== undefined && now < this.pruneDueAt) return;
    const records = await this.storage.list<TurnRecord>({ prefix: RECORD_PREFIX });
    let keepWaking = false;
    let dueAt = Infinity;
    for (const [key, record] of records) {
      const turn = Number(key.slice(RECORD_PREFIX.length));
      if (record.state === "streaming") {
        if (turn !== running) {
          await this.ended(turn, record.userId, INTERRUPTED, now);
          dueAt = Math.min(dueAt, now + this.times.retainMs);
        }
        continue;
      }
      if (record.endedAt + this.times.retainMs > now) {
        keepWaking = true;
        dueAt = Math.min(dueAt, record.endedAt + this.times.retainMs);
        continue;
      }
      const deltas = await this.storage.list({ prefix: deltaPrefix(turn) });
      await deleteKeys(this.storage, [key, ...deltas.keys()]);
    }
    this.pruneDueAt = dueAt;
    if (keepWaking) await this.wakeUp(this.times.retainMs);
  }

  /** The session was deleted (its object's storage is emptied as one): nothing of its turns is kept, and the
   *  next turn is number 0 again. */
  forget(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = {};
    this.nextTurn = this.storedNextTurn = undefined;
    this.pruneDueAt = undefined;
  }

  private async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const entries = this.pending;
    this.pending = {};
    await this.put(entries, { allowUnconfirmed: true });
  }

  private async put(entries: Record<string, unknown>, options: DurableObjectPutOptions): Promise<void> {
    await putEntries(this.storage, entries, options);
  }
}
