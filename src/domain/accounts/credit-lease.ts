// Owns a session object's side of the credit lease (spendable.ts is the account's): the money the user's account
// lent this session, the turn's reservation against it, and the models the account allowed. A warm turn reserves
// here, with no call to the account; the session asks for more ahead of need (in the background) or, when a turn
// does not fit, on the turn's path. What the lease holds:
//
//   granted - released = available + the running turn's reservation (less what it charged) + journaled charges
//
// `released` grows when the database commits journaled charges (`committed`: a lease in use tells the account with
// its next call, one given back at once), and when unused money goes back: on a recall by the account (another
// session needs it, or the admin changed the account), and when the session idles (its alarm). A turn's charges
// need no word of their own: the journal counts them as they are journaled, and the turn's reservation shrinks by
// as much.
// The epoch (this instance's lifetime, a number stored in the object's storage before the account hears of it)
// tells the account which instance speaks; a new instance opens its epoch owing what its journal still holds.
import type { ModelRecord, ModelRef } from "../../storage/chat-store";
import { ChatError, ErrorCode, failureOf, outcomeOf, type Outcome } from "../errors";
import { unknownUser } from "./accounts";
import { SESSION_STORAGE } from "../session/session-storage";
import type { LeaseState, LendRequest, LendResult, Lent } from "./spendable";
import { insufficientBalance, reservationFits, turnBudgetMicros, type BudgetLimits } from "../session/turn/charging";

/** Storage key of the epoch, and whether its lease is out (so a new instance's alarm gives an old lease back). */
const EPOCH_KEY = SESSION_STORAGE.leaseEpoch;
/** A lease lends this many turns' reservations at once, when the balance has room. */
export const LEASE_BLOCK_TURNS = 8;
/** A session with no turn for this long gives its unused money back (its alarm). */
export const LEASE_IDLE_MS = 60_000;

interface StoredEpoch {
  epoch: number;
  /** The epoch may hold money the account lent (false once it gave it all back). */
  open: boolean;
  /** Whose account lent it, to which session. */
  userId: string;
  sessionId: string;
}

/** The account as a session calls it (errors of model access come as ChatErrors). */
export interface LeaseAccount {
  /** Checks the model and lends what a turn of `promptChars` wants at its prices (the account computes it). */
  lend(userId: string, model: ModelRef, promptChars: number, request: Omit<LendRequest, "wantMicros">): Promise<{ model: ModelRecord; result: LendResult }>;
  released(userId: string, state: LeaseState): Promise<void>;
  /** The session was deleted and gave back what its lease held: the account forgets the lease. */
  closed(userId: string, state: LeaseState): Promise<void>;
}

export interface LeaseSettings {
  budget: BudgetLimits;
  maxInFlight: number;
  /** How long a model the account allowed is used without asking again (ACCOUNT_CACHE_TTL_MS). */
  grantTtlMs: number;
  /** The clock a turn's end and the idle alarm are measured by (Date.now in the Worker). */
  now?: () => number;
}

/** What a turn asks of the user's money (turn.ts): the model it wants and what its prompt makes it reserve. */
export interface TurnAuthorizationRequest {
  userId: string;
  /** Names the turn's journaled writes; the lease needs no id of its own (one turn at a time per session). */
  reservationId: string;
  model: ModelRef;
  /** Characters the agent gets (prompt, summary, history, message): the reservation grows with them. */
  promptChars: number;
}

/** A turn's hold on the lease: the model the turn may use and the money held for it. */
export interface AuthorizedTurn {
  model: ModelRecord;
  reservedMicros: number;
  /** The user's balance as this session knows it, less its charges the database does not have yet (the agent is
   *  told it as the balance). */
  spendableMicros: number;
}

const refKey = (ref: ModelRef) => ("id" in ref ? `id:${ref.id}` : `name:${ref.name}`);

export class CreditLease {
  private epoch: number | null = null;
  private opening: Promise<void> | null = null;
  private openingMicros = 0;
  private grantedMicros = 0;
  private releasedMicros = 0;
  /** The running turn's reservation, and the journal's count of charges added when it was made. */
  private reserved: { amountMicros: number; journaledBeforeMicros: number } | null = null;
  private balanceMicros = 0;
  private userId: string | null = null;
  private sessionId: string | null = null;
  private readonly models = new Map<string, ModelRecord>();
  private modelsAt = 0;
  private topUp: Promise<unknown> | null = null;
  private lastUsedAt = 0;
  private committedMicros = 0;
  /** A report of commits on its way to the account, and whether a later commit waits for it. */
  private reporting: Promise<void> | null = null;
  private reportAgain = false;
  /** The ask on its way to the account, if any (one at a time: a turn waits for a top-up before it asks). */
  private lending: Promise<unknown> | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** Charges journaled and not committed yet: loaded from storage by the first call, then known at once; and
     *  what writes added to it in this object's lifetime (a count that only grows). */
    private readonly journalCharges: { load(): Promise<number>; now(): number; added(): number },
    private readonly account: LeaseAccount,
    private readonly settings: LeaseSettings,
    private readonly keepAlive: (work: Promise<unknown>) => void,
    private readonly wakeUp: (withinMs: number) => Promise<void>,
  ) {}

  /** Unused money of the lease. */
  get availableMicros(): number {
    return this.grantedMicros - this.releasedMicros - this.heldMicros() - this.journalCharges.now();
  }

  /** What the running turn's reservation still holds: what it has not journaled as charges yet. */
  private heldMicros(): number {
    if (!this.reserved) return 0;
    const journaled = this.journalCharges.added() - this.reserved.journaledBeforeMicros;
    return Math.max(0, this.reserved.amountMicros - journaled);
  }

  /** The session's id, from its object (its name), before its first turn asks for a reservation. */
  identify(sessionId: string): void {
    this.sessionId ??= sessionId;
  }

  /** A turn's reservation, as turn.ts asks its account for it: out of this lease, asking the account only when short. */
  authorizeTurn(request: TurnAuthorizationRequest): Promise<Outcome<AuthorizedTurn>> {
    const sessionId = this.sessionId;
    if (!sessionId) return Promise.resolve({ ok: false, failure: failureOf(new Error("the lease's session is not known"), ErrorCode.InternalServerError) });
    return outcomeOf(this.reserve(request.userId, sessionId, request.model, request.promptChars, this.now()), ErrorCode.InternalServerError);
  }

  /**
   * Reserves the most this turn may cost (session/turn/charging.ts): from the lease when it has room and the model is known,
   * else after asking the account. Throws code 15 when the user cannot pay for it, 108 over their turns in flight,
   * and the account's refusals of the model.
   */
  async reserve(userId: string, sessionId: string, ref: ModelRef, promptChars: number, now: number): Promise<AuthorizedTurn> {
    this.userId = userId;
    this.sessionId = sessionId;
    await this.open();
    const known = this.knownModel(ref, now);
    if (known && this.fits(known, promptChars)) return this.hold(known, promptChars, now);
    if (this.topUp) await this.topUp.catch(() => undefined); // an earlier ask ahead of need may bring enough
    const refreshed = this.knownModel(ref, now);
    if (refreshed && this.fits(refreshed, promptChars)) return this.hold(refreshed, promptChars, now);
    // Until the turn holds what it asked for, a recall that knows of the answer waits for it.
    return this.whileLending(
      this.lend(userId, ref, promptChars, true, now).then(({ model, result }) => {
        if (result.outcome === "too-many-in-flight" && !this.fits(model, promptChars)) {
          throw new ChatError(ErrorCode.TooManyTurnsInFlight, `Too many turns in flight: at most ${this.settings.maxInFlight} at once`);
        }
        // The account recalled every other session's unused money before it said so.
        if (result.outcome === "insufficient") throw insufficientBalance(model, turnBudgetMicros(model, promptChars, this.settings.budget), result.spendableMicros);
        return this.hold(model, promptChars, now);
      }),
    );
  }

  /** The turn ended (turn.ts's account call, answered here): what its reservation did not journal as charges is
   *  available again. Its charges are the journal's until the database commits them. */
  finish(_reservationId: string, _chargedMicros: number): Promise<void> {
    this.reserved = null;
    this.lastUsedAt = this.now();
    this.wakeUp(LEASE_IDLE_MS).catch((error: unknown) => console.error("lease: idle alarm not set", error));
    return Promise.resolve();
  }

  /**
   * The database committed `chargedMicros` of this session's journaled charges; its balance after them, if known.
   * A commit frees nothing the account could lend (it lowers the balance it knows by as much as the lease gives
   * back), so a lease in use tells it with its next ask, recall or idle return, not with a call per commit batch;
   * one that holds nothing any more (given back, or recalled) tells it at once (at most one report on its way).
   */
  committed(chargedMicros: number, balanceAfterMicros: number | null): void {
    if (balanceAfterMicros !== null) this.balanceMicros = balanceAfterMicros;
    // Without an epoch the charges were an earlier instance's: the epoch this one opens owes only what is left.
    if (this.epoch === null || !this.userId) return;
    this.releasedMicros += chargedMicros;
    this.committedMicros += chargedMicros;
    if (!this.inUse()) this.report();
  }

  /**
   * The account wants unused money back (another session needs it, or the admin changed the account). When the
   * account lent more than this lease has heard of, the answer that says so is on its way: the recall waits for it
   * (and for the turn that asked to hold its reservation), so that the rest of a block lent just now comes back too.
   * (An ask the account has not decided yet is not waited for: it will see what this recall gave back.)
   */
  async recall(userId: string, sessionId: string, lent?: Lent): Promise<LeaseState> {
    this.userId ??= userId;
    this.sessionId ??= sessionId;
    await this.open();
    if (lent && lent.epoch === this.epoch && lent.grantedMicros > this.grantedMicros) await this.lending?.catch(() => undefined);
    this.releasedMicros += Math.max(0, this.availableMicros);
    this.models.clear();
    return this.state();
  }

  /** From the session's alarm: an idle session gives its unused money back; one left by an earlier instance too. */
  async idle(now: number): Promise<void> {
    if (this.epoch === null) {
      const stored = await this.storage.get<StoredEpoch>(EPOCH_KEY);
      if (!stored?.open) return;
      this.userId ??= stored.userId;
      this.sessionId ??= stored.sessionId;
    } else if (this.reserved || now - this.lastUsedAt < LEASE_IDLE_MS) {
      if (!this.reserved) await this.wakeUp(LEASE_IDLE_MS - (now - this.lastUsedAt));
      return;
    }
    await this.open();
    this.releasedMicros += Math.max(0, this.availableMicros);
    await this.account.released(this.userId!, this.state());
    // Journaled charges still owed go back as they commit; until then the epoch stays open.
    if (this.grantedMicros - this.releasedMicros <= 0) await this.storage.put(EPOCH_KEY, { epoch: this.epoch!, open: false, userId: this.userId!, sessionId: this.sessionId! } satisfies StoredEpoch);
  }

  /** The session is deleted (after its journal committed): everything the lease holds goes back, the account forgets
   *  it, and this object starts afresh, so a session made again under the same id opens a new, later epoch. */
  async close(userId: string, sessionId: string): Promise<void> {
    if (this.epoch === null && !(await this.storage.get<StoredEpoch>(EPOCH_KEY))?.open) return;
    this.userId ??= userId;
    this.sessionId ??= sessionId;
    await this.open();
    this.releasedMicros += Math.max(0, this.availableMicros);
    await this.account.closed(this.userId!, this.state());
    this.epoch = null;
    this.opening = null;
    this.openingMicros = this.grantedMicros = this.releasedMicros = this.committedMicros = 0;
    this.models.clear();
  }

  private state(): LeaseState {
    return {
      sessionId: this.sessionId!,
      epoch: this.epoch!,
      openingMicros: this.openingMicros,
      releasedMicros: this.releasedMicros,
      committedMicros: this.committedMicros,
      active: this.inUse(),
    };
  }

  /** The session may start a turn without asking the account: it runs one, or holds unused money. */
  private inUse(): boolean {
    return this.reserved !== null || this.availableMicros > 0;
  }

  private fits(model: ModelRecord, promptChars: number): boolean {
    return this.availableMicros >= turnBudgetMicros(model, promptChars, this.settings.budget);
  }

  /** Holds the turn's whole budget, or refuses it with code 15 (a turn runs only if all of it fits: a dust balance
   *  buys no turn); asks for more ahead of need. */
  private hold(model: ModelRecord, promptChars: number, now: number): AuthorizedTurn {
    const wantMicros = turnBudgetMicros(model, promptChars, this.settings.budget);
    if (!reservationFits(this.availableMicros, wantMicros)) throw insufficientBalance(model, wantMicros, this.availableMicros);
    const amountMicros = wantMicros;
    const spendableMicros = this.balanceMicros - this.journalCharges.now();
    this.reserved = { amountMicros, journaledBeforeMicros: this.journalCharges.added() };
    this.lastUsedAt = now;
    if (this.availableMicros < wantMicros && !this.topUp && this.userId) {
      const userId = this.userId;
      const topUp = this.whileLending(this.lend(userId, { id: model.id }, promptChars, false, now))
        .catch((error: unknown) => console.error(`lease of session ${this.sessionId}: top-up failed`, error))
        .finally(() => {
          if (this.topUp === topUp) this.topUp = null;
        });
      this.topUp = topUp;
      this.keepAlive(topUp);
    }
    return { model, reservedMicros: amountMicros, spendableMicros };
  }

  private async lend(userId: string, ref: ModelRef, promptChars: number, mayRecall: boolean, now: number) {
    const answer = await this.account.lend(userId, ref, promptChars, {
      state: this.state(),
      availableMicros: this.availableMicros,
      blockTurns: LEASE_BLOCK_TURNS,
      maxInFlight: this.settings.maxInFlight,
      mayRecall,
    });
    const { result, model } = answer;
    if (result.outcome === "unknown-user") throw unknownUser(userId);
    if (result.outcome === "stale") throw new ChatError(ErrorCode.InternalServerError, "the account knows a newer instance of this session");
    this.grantedMicros = Math.max(this.grantedMicros, result.grantedMicros);
    this.balanceMicros = result.balanceMicros;
    if (this.models.size === 0) this.modelsAt = now;
    this.models.set(refKey(ref), model);
    this.models.set(refKey({ id: model.id }), model);
    return answer;
  }

  private knownModel(ref: ModelRef, now: number): ModelRecord | null {
    if (now - this.modelsAt >= this.settings.grantTtlMs) this.models.clear();
    return this.models.get(refKey(ref)) ?? null;
  }

  /** Opens this instance's epoch: its number stored first, then what the journal still owes as its opening. */
  private open(): Promise<void> {
    this.opening ??= (async () => {
      const [stored] = await Promise.all([this.storage.get<StoredEpoch>(EPOCH_KEY), this.journalCharges.load()]);
      // Later than any earlier epoch of this id, even one whose stored number went with a deleted session.
      const epoch = Math.max((stored?.epoch ?? 0) + 1, Date.now());
      await this.storage.put(EPOCH_KEY, { epoch, open: true, userId: this.userId!, sessionId: this.sessionId! } satisfies StoredEpoch);
      // Taken at once, so no commit falls between the count and the epoch.
      this.openingMicros = this.grantedMicros = this.journalCharges.now();
      this.releasedMicros = this.committedMicros = 0;
      this.epoch = epoch;
    })().catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  /** Tells the account what the lease holds now; a commit while a report is on its way is told right after it
   *  (the state is cumulative, so one report carries every commit before it). */
  private report(): void {
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    const userId = this.userId!;
    const send = async () => {
      do {
        this.reportAgain = false;
        await this.account
          .released(userId, this.state())
          .catch((error: unknown) => console.error(`lease of session ${this.sessionId}: commit not reported (the next report carries it)`, error));
      } while (this.reportAgain && this.epoch !== null);
    };
    const told = send().finally(() => (this.reporting = null));
    this.reporting = told;
    this.keepAlive(told);
  }

  /** Marks the ask on its way (with what follows its answer at once) for recalls to wait for. */
  private whileLending<T>(asked: Promise<T>): Promise<T> {
    this.lending = asked;
    const clear = () => {
      if (this.lending === asked) this.lending = null;
    };
    asked.then(clear, clear);
    return asked;
  }

  private now(): number {
    return (this.settings.now ?? Date.now)();
  }
}
