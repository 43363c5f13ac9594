// Owns what a session object keeps of its live turns in its own storage, so a client can resume one after a
// reconnect or after the object was evicted: the next turn number, each recorded turn's deltas (one key each,
// bounded by MAX_DELTA_CHARS) and how it ended, kept STREAM_RETAIN_S after its end and then pruned.
import { ErrorCode, errorText } from "../errors";
import type { WakeUp } from "./wake-up";
import type { TurnOutcome } from "./turn-events";

const NEXT_TURN_KEY = "stream:next-turn";
const RECORD_PREFIX = "stream:turn:";
const DELTA_PREFIX = "stream:delta:";

type TurnRecord = { state: "streaming" } | { state: "ended"; outcome: TurnOutcome; endedAt: number };

/** A recorded turn as a resume finds it. */
export interface RecordedTurn {
  deltas: string[];
  /** null: still streaming in this object. */
  outcome: TurnOutcome | null;
}

/** The outcome of a turn whose object stopped (crash, deploy, eviction) before the turn ended. */
const INTERRUPTED: TurnOutcome = { event: "error", code: ErrorCode.InternalServerError, message: `${errorText(ErrorCode.InternalServerError)}: the turn was interrupted` };

const pad = (n: number) => String(n).padStart(10, "0");
const recordKey = (turn: number) => `${RECORD_PREFIX}${pad(turn)}`;
const deltaPrefix = (turn: number) => `${DELTA_PREFIX}${pad(turn)}:`;
const deltaKey = (turn: number, seq: number) => `${deltaPrefix(turn)}${pad(seq)}`;

export class StreamLog {
  private nextTurn: number | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wakeUp: WakeUp,
    private readonly retainMs: number,
  ) {}

  /**
   * The next turn's number. Nobody learns it before the turn's own durable writes unless it is watched, so only
   * then must the count be durable before anything goes out.
   */
  async numberTurn(watched: boolean): Promise<number> {
    this.nextTurn ??= (await this.storage.get<number>(NEXT_TURN_KEY)) ?? 0;
    const turn = this.nextTurn++;
    await this.storage.put(NEXT_TURN_KEY, this.nextTurn, { allowUnconfirmed: !watched });
    return turn;
  }

  /** Starts keeping a turn: its deltas so far and then each new one. Deltas need not be durable before they go
   *  out: a crash loses the turn anyway, and its end follows the turn's durable journal write. */
  record(turn: number, deltas: readonly string[]): void {
    const entries: Record<string, unknown> = { [recordKey(turn)]: { state: "streaming" } satisfies TurnRecord };
    deltas.forEach((text, seq) => (entries[deltaKey(turn, seq)] = text));
    void this.storage.put(entries, { allowUnconfirmed: true });
  }

  delta(turn: number, seq: number, text: string): void {
    void this.storage.put(deltaKey(turn, seq), text, { allowUnconfirmed: true });
  }

  async ended(turn: number, outcome: TurnOutcome, now: number): Promise<void> {
    await this.storage.put(recordKey(turn), { state: "ended", outcome, endedAt: now } satisfies TurnRecord);
    await this.wakeUp(this.retainMs);
  }

  /** The turn as recorded, or null when it is unknown or past its retention. `running`: this object runs it. */
  async find(turn: number, running: boolean): Promise<RecordedTurn | null> {
    const record = await this.storage.get<TurnRecord>(recordKey(turn));
    if (!record) return null;
    const deltas = [...(await this.storage.list<string>({ prefix: deltaPrefix(turn) })).values()];
    if (record.state === "ended") return { deltas, outcome: record.outcome };
    return { deltas, outcome: running ? null : INTERRUPTED };
  }

  /** Forgets turns that ended more than the retention ago; a turn left streaming by an earlier instance ends now. */
  async prune(now: number, running: number | null): Promise<void> {
    const records = await this.storage.list<TurnRecord>({ prefix: RECORD_PREFIX });
    let keepWaking = false;
    for (const [key, record] of records) {
      const turn = Number(key.slice(RECORD_PREFIX.length));
      if (record.state === "streaming") {
        if (turn !== running) await this.ended(turn, INTERRUPTED, now);
        continue;
      }
      if (record.endedAt + this.retainMs > now) {
        keepWaking = true;
        continue;
      }
      const deltas = await this.storage.list({ prefix: deltaPrefix(turn) });
      const keys = [key, ...deltas.keys()];
      for (let i = 0; i < keys.length; i += 128) await this.storage.delete(keys.slice(i, i + 128));
    }
    if (keepWaking) await this.wakeUp(this.retainMs);
  }

  /** The session was deleted: nothing of its turns is kept. */
  async forget(): Promise<void> {
    for (const prefix of [RECORD_PREFIX, DELTA_PREFIX]) {
      const keys = [...(await this.storage.list({ prefix })).keys()];
      for (let i = 0; i < keys.length; i += 128) await this.storage.delete(keys.slice(i, i + 128));
    }
  }
}
