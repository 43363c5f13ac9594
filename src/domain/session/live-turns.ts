// Owns a session object's live turn (protocol v2): numbering it, emitting its events to the hubs that watch the
// session, keeping its deltas for a resume (stream-log.ts), cancelling it, and resuming it for a client.
import { ChatError, ErrorCode } from "../errors";
import type { StreamLog } from "./stream-log";
import { deltaTexts, MAX_DELTA_CHARS, outcomeEvent, replayEvents, type TurnEvent, type TurnOutcome } from "./turn-events";
import type { Watchers } from "./watchers";
import type { ResumeState } from "../../../protocol";

export interface TurnStart {
  userId: string;
  sessionId: string;
  sessionName: string;
  userMessage: string;
  /** The hub of the v2 socket that sent the turn, which watches the session from now on; null for v1. */
  watcher: string | null;
}

export interface Resumed {
  state: ResumeState;
  events: TurnEvent[];
}

export class LiveTurns {
  private running: LiveTurn | null = null;

  constructor(
    private readonly log: StreamLog,
    private readonly watchers: Watchers,
  ) {}

  /** The turn was accepted: it gets its number and tells the watching hubs it started. */
  async start(start: TurnStart): Promise<LiveTurn> {
    if (start.watcher) await this.watchers.add(start.watcher);
    const watched = await this.watchers.any();
    const number = await this.log.numberTurn(watched);
    const turn = new LiveTurn(number, start, this.log, this.watchers, () => {
      if (this.running === turn) this.running = null;
    });
    this.running = turn;
    if (watched) turn.record();
    if (watched) turn.emit({ session_id: start.sessionId, turn: number, event: "start", session_name: start.sessionName, user_message: start.userMessage });
    return turn;
  }

  /** Whether a turn of this user runs now. */
  runsFor(userId: string): boolean {
    return this.running?.userId === userId;
  }

  /** The hub watches the session's turns from now on (its caller checked the session is the user's). */
  watch(hubId: string): Promise<void> {
    return this.watchers.add(hubId);
  }

  /**
   * Cancels the running turn of this user and resolves with its number once it has ended (committed with its
   * partial reply, or failed). Code 110 when no turn runs, or when its reply was already complete.
   */
  async cancel(userId: string): Promise<number> {
    const turn = this.running;
    if (!turn || turn.userId !== userId) throw new ChatError(ErrorCode.NoRunningTurn);
    if (turn.replyComplete) throw new ChatError(ErrorCode.NoRunningTurn, "No turn is running in this session: the reply was already complete");
    turn.cancel();
    await turn.finished;
    return turn.number;
  }

  /**
   * The turn's state and the events that bring a client up to date after `afterSeq`; the hub watches from now
   * on, so the running turn's later events follow these. `checkOwner` throws when the session is not the user's;
   * it is called only when this object's own turns do not show that it is.
   */
  async resume(userId: string, sessionId: string, number: number, afterSeq: number, hubId: string, checkOwner: () => Promise<void>): Promise<Resumed> {
    const running = this.running;
    if (running?.number === number && running.userId === userId) {
      await this.watchers.add(hubId);
      running.record();
      // A turn whose ending is still being delivered is done: its ending may have gone out before this hub watched.
      const outcome = running.outcome;
      return { state: outcome ? "done" : "streaming", events: replayEvents(sessionId, number, running.deltas, afterSeq, outcome) };
    }
    const recorded = await this.log.find(number);
    const mine = recorded?.userId === userId;
    if (!mine) await checkOwner();
    await this.watchers.add(hubId);
    if (!recorded || !mine) return { state: "unknown", events: [] };
    return { state: "done", events: replayEvents(sessionId, number, recorded.deltas, afterSeq, recorded.outcome) };
  }

  /** Storage entries to write with the running turn's journal entry (its number's count). */
  journalEntries(): Record<string, unknown> {
    return this.log.countEntry();
  }

  /** Prunes turns past their retention (the session's alarm). */
  prune(now: number): Promise<void> {
    return this.log.prune(now, this.running?.number ?? null);
  }

  /** The session was deleted and its object's storage emptied: its turns and watchers are forgotten. */
  forget(): void {
    this.log.forget();
    this.watchers.forget();
  }
}

/** One running turn: its deltas so far (kept in memory for the whole turn, and in storage once watched). */
export class LiveTurn {
  readonly deltas: string[] = [];
  /** How the turn ended, from the moment its ending event goes out. */
  outcome: TurnOutcome | null = null;
  /** The agent's reply is complete: a cancel comes too late. */
  replyComplete = false;
  private recorded = false;
  private readonly abort = new AbortController();
  private settle!: () => void;
  /** Resolves when the turn has ended, whichever way. */
  readonly finished = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(
    readonly number: number,
    private readonly start: TurnStart,
    private readonly log: StreamLog,
    private readonly watchers: Watchers,
    private readonly onEnd: () => void,
  ) {}

  get userId(): string {
    return this.start.userId;
  }

  /** Aborted when a client cancels the turn. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get cancelled(): boolean {
    return this.abort.signal.aborted;
  }

  /** The reply so far. */
  get text(): string {
    return this.deltas.join("");
  }

  cancel(): void {
    this.abort.abort(new ChatError(ErrorCode.UnableToReceiveResponse, "The turn was cancelled"));
  }

  /** Keeps this turn in storage from now on, with its deltas so far (someone watches it). */
  record(): void {
    if (this.recorded) return;
    this.recorded = true;
    this.log.record(this.number, this.userId, this.deltas);
  }

  /** The next piece of the reply, as one or more deltas. A turn nobody watches only collects them. */
  piece(text: string): void {
    if (!this.recorded && !this.watchers.watched) {
      if (text.length > 0 && text.length <= MAX_DELTA_CHARS) this.deltas.push(text);
      else this.deltas.push(...deltaTexts(text));
      return;
    }
    for (const delta of deltaTexts(text)) {
      const seq = this.deltas.push(delta) - 1;
      if (this.recorded) this.log.delta(this.number, seq, delta);
      this.emit({ session_id: this.start.sessionId, turn: this.number, event: "delta", seq, text: delta, replay: false });
    }
  }

  /**
   * The turn ended: its last event goes out and, before this resolves, reaches the hub of the socket that sent
   * the turn (its answer must follow it there). Never throws: the turn's outcome is settled by then.
   */
  async end(outcome: TurnOutcome): Promise<void> {
    this.outcome = outcome;
    try {
      if (this.recorded) await this.log.ended(this.number, this.userId, outcome, Date.now());
    } catch (error) {
      console.error(`turn ${this.number} of session ${this.start.sessionId}: its end not stored; a resume finds it interrupted`, error);
    }
    if (this.watchers.watched) this.emit(outcomeEvent(this.start.sessionId, this.number, outcome, this.text));
    if (this.start.watcher) await this.watchers.delivered(this.start.watcher);
    this.onEnd();
    this.settle();
  }

  emit(event: TurnEvent): void {
    this.watchers.send(this.start.sessionId, event);
  }
}
