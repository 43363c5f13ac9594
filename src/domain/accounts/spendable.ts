// Owns what a user may still spend, across every session, socket and tab, on the account's side of the credit lease
// (credit-lease.ts is the session's side): the balance the database last reported, and the money lent to each
// session object, kept in the account object's storage so it survives eviction.
//
// A session spends only what it was lent. What is lent and not yet back is `granted - released` per session, and
// the account never lends past the balance: sum(granted - released) <= balance. Both counts only grow: the account
// owns `granted` (it is stored before the session learns of it), the session owns `released` (money it gave back,
// and charges the database committed, which lower the database balance by the same amount), so a report of it may
// come late, twice or out of order and is taken as the largest seen; the account's view is never more generous
// than the truth. Each session object's lifetime is an epoch: a new instance (after a crash or an eviction) opens
// its own, lent what its journal still owes (`opening`), which closes the old one; the balance is then read again,
// since the old instance may have committed charges it never reported.
import { ACCOUNT_STORAGE } from "./account-storage";

/** A session's lease as the account keeps it. */
interface LeaseRecord {
  epoch: number;
  grantedMicros: number;
  releasedMicros: number;
  /** The session may start a turn without asking (it runs one, or holds money); counts against turns in flight. */
  active: boolean;
  /** Worth recalling: active at its last word, and no recall out to it now (one at a time). */
  recallable?: boolean;
}

/** A session's side of its lease, as it reports it with every call (and answers a recall with). */
export interface LeaseState {
  sessionId: string;
  epoch: number;
  /** What the epoch started with: the charges its journal still owed then. */
  openingMicros: number;
  releasedMicros: number;
  active: boolean;
}

/** What the session asks for: `wantMicros` for its next turn, holding `availableMicros` of its lease. */
export interface LendRequest {
  state: LeaseState;
  wantMicros: number;
  availableMicros: number;
  /** Lend up to this many turns of `wantMicros` at once, so the next turns need not ask. */
  blockTurns: number;
  maxInFlight: number;
  /** On the reply path: other sessions' unused money may be recalled. A top-up ahead of need only takes what is free. */
  mayRecall: boolean;
}

export type LendResult =
  /** `grantedMicros` is what the epoch was lent in all (it may be no more than before). */
  | { outcome: "lent"; grantedMicros: number; balanceMicros: number }
  | { outcome: "too-many-in-flight"; grantedMicros: number; balanceMicros: number }
  | { outcome: "unknown-user" }
  /** The request came from an instance a newer one replaced. */
  | { outcome: "stale" };

/** Asks a session to give back what its lease holds unused; its state after, or null when it could not be reached. */
export type Recall = (sessionId: string) => Promise<LeaseState | null>;

const PREFIX = ACCOUNT_STORAGE.lease;
/** How long a lend waits for a recalled session's answer (one that does not answer keeps what it holds, as far as
 *  the account knows, until its next report). */
const RECALL_WAIT_MS = 2_000;

/** What a session may still spend or owes; never below 0 (a late report of a forgotten lease cannot free money). */
const outstanding = (r: LeaseRecord) => Math.max(0, r.grantedMicros - r.releasedMicros);

export class Spendable {
  private leases: Map<string, LeaseRecord> | null = null;
  /** Recalls sent and not answered (or given up on) yet. */
  private readonly recallsOut = new Set<Promise<void>>();
  /** The balance the database last reported; null: read it before deciding. */
  private balanceMicros: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** The user's balance in the database; null when the user does not exist. */
    private readonly readBalance: () => Promise<number | null>,
  ) {}

  /**
   * Lends the session what its next turn wants (and a block more when there is room), never past the balance;
   * stored before it answers. Short of money or of turns in flight on the reply path, it answers which sessions to
   * recall first (what they hold unused comes back; a top-up made in the database counts at once, as the balance is
   * read again), and the caller asks again with `recalled` set, when the recall is done.
   */
  async lend(request: LendRequest, recalled: boolean): Promise<LendResult | { outcome: "recall"; sessionIds: string[] }> {
    const leases = await this.load();
    const { state } = request;
    if (!this.sync(state)) return { outcome: "stale" };
    const record = leases.get(state.sessionId)!;
    const others = (which: (r: LeaseRecord) => boolean) => [...leases].filter(([id, r]) => id !== state.sessionId && which(r)).map(([id]) => id);
    const recallable = others((r) => r.active && r.recallable === true);
    // Recalls already out may bring money too: a decision short of it waits for them.
    const mayRecall = request.mayRecall && !recalled && (recallable.length > 0 || this.recallsOut.size > 0);
    /** Recalled once per grant: a decision that comes while the recall is out does not send another. */
    const recall = () => {
      for (const id of recallable) leases.get(id)!.recallable = false;
      return { outcome: "recall" as const, sessionIds: recallable };
    };
    if (!record.active && others((r) => r.active).length >= request.maxInFlight) {
      if (mayRecall) return recall();
      await this.save(state.sessionId, { confirmed: false });
      const balanceMicros = await this.balance();
      return balanceMicros === null ? { outcome: "unknown-user" } : { outcome: "too-many-in-flight", grantedMicros: record.grantedMicros, balanceMicros };
    }
    const known = this.balanceMicros !== null;
    if ((await this.free()) < request.wantMicros - request.availableMicros) {
      if (known) this.balanceMicros = null; // else it was read just now
      if (mayRecall) return recall();
    }
    const free = await this.free();
    if (this.balanceMicros === null) return { outcome: "unknown-user" };
    // A block (or what is free, up to one) for a session alone; with others active, a block only while the balance
    // has room for two, else (and after a recall) only what this turn needs, so that what is left (or what a recall
    // brought back) is shared by the sessions that want it.
    const block = request.wantMicros * request.blockTurns - request.availableMicros;
    const need = request.wantMicros - request.availableMicros;
    const alone = others((r) => r.active).length === 0;
    const grant = recalled ? Math.min(free, need) : alone ? Math.min(free, block) : free >= 2 * block ? block : Math.min(free, need);
    if (grant > 0) {
      record.grantedMicros += grant;
      record.active = true;
      record.recallable = true;
    }
    // Durable before the session may spend it: an account that forgot a loan could lend the money again.
    await this.save(state.sessionId, { confirmed: grant > 0 });
    return { outcome: "lent", grantedMicros: record.grantedMicros, balanceMicros: this.balanceMicros };
  }

  /** Sends the recalls (outside the account's queue; each answer is taken in it), then waits for every recall out. */
  async recallAndWait(sessionIds: readonly string[], recall: Recall, serially: Serially): Promise<void> {
    for (const id of sessionIds) {
      const out: Promise<void> = withinWait(recall(id))
        .then((state) => serially(() => this.recalledStates([state])))
        .finally(() => this.recallsOut.delete(out));
      this.recallsOut.add(out);
    }
    await Promise.all([...this.recallsOut]);
  }

  /** What recalled sessions answered (null: no answer). */
  async recalledStates(states: readonly (LeaseState | null)[]): Promise<void> {
    await this.load();
    for (const state of states) if (state && this.sync(state)) await this.save(state.sessionId, { confirmed: false });
  }

  /**
   * The session reports its lease (after a commit batch, when it idles); `balanceAfterMicros` is the database's
   * balance after its latest committed charges (null: not known, read it again; undefined: no commit).
   */
  async released(state: LeaseState, balanceAfterMicros?: number | null): Promise<void> {
    await this.load();
    // Charges only lower a balance (credits come through balanceChanged), so the lowest report is the latest.
    if (balanceAfterMicros === null) this.balanceMicros = null;
    else if (balanceAfterMicros !== undefined && this.balanceMicros !== null) this.balanceMicros = Math.min(this.balanceMicros, balanceAfterMicros);
    if (this.sync(state)) await this.save(state.sessionId, { confirmed: false });
  }

  /** A deleted session's last report: its lease is forgotten once nothing of it is out (else kept, as lent). */
  async closed(state: LeaseState): Promise<void> {
    const leases = await this.load();
    if (!this.sync(state)) return;
    if (outstanding(leases.get(state.sessionId)!) > 0) return this.save(state.sessionId, { confirmed: false });
    leases.delete(state.sessionId);
    await this.storage.delete(PREFIX + state.sessionId);
  }

  /** The balance the database reported with the user's grants, when none is known (saves a read on a cold lend). */
  knownBalance(balanceMicros: number): void {
    this.balanceMicros ??= balanceMicros;
  }

  /** The balance changed outside turns (the admin API): read it again; the sessions to recall (every active one). */
  async balanceChanged(): Promise<string[]> {
    this.balanceMicros = null;
    const leases = await this.load();
    return [...leases].filter(([, r]) => r.active).map(([id]) => id);
  }

  /** What the balance leaves to lend; null balance: the user does not exist (read first when not known). */
  async free(): Promise<number> {
    const balance = await this.balance();
    const leases = await this.load();
    let lent = 0;
    for (const lease of leases.values()) lent += outstanding(lease);
    return (balance ?? 0) - lent;
  }

  /** Takes in a session's report: a newer epoch replaces the lease, a stale one changes nothing (false). */
  private sync(state: LeaseState): boolean {
    const leases = this.leases!;
    const record = leases.get(state.sessionId);
    if (!record || state.epoch > record.epoch) {
      // The old epoch's instance is gone: what it still owes is the new epoch's opening; what it committed
      // without saying so is only in the database's balance.
      if (record) this.balanceMicros = null;
      leases.set(state.sessionId, { epoch: state.epoch, grantedMicros: state.openingMicros, releasedMicros: state.releasedMicros, active: state.active, recallable: state.active });
      return true;
    }
    if (state.epoch < record.epoch) return false;
    record.releasedMicros = Math.max(record.releasedMicros, state.releasedMicros);
    record.active = state.active;
    record.recallable = state.active;
    return true;
  }

  private async balance(): Promise<number | null> {
    this.balanceMicros ??= await this.readBalance();
    return this.balanceMicros;
  }

  /** A change that only lowers what is lent need not be confirmed: lost in a crash, the account lends less, never more. */
  private async save(sessionId: string, { confirmed }: { confirmed: boolean }): Promise<void> {
    await this.storage.put(PREFIX + sessionId, this.leases!.get(sessionId), { allowUnconfirmed: !confirmed });
  }

  /** The leases, read once per object lifetime. */
  private async load(): Promise<Map<string, LeaseRecord>> {
    if (this.leases) return this.leases;
    const stored = await this.storage.list<LeaseRecord>({ prefix: PREFIX });
    this.leases ??= new Map([...stored].map(([key, r]) => [key.slice(PREFIX.length), r]));
    return this.leases;
  }
}

/** The account's decisions, one at a time (its SerialQueue). */
type Serially = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * Lends as `Spendable.lend` decides, running each decision in the account's queue and any recall outside it, so
 * the account keeps taking other calls (among them the recalled sessions' own) while recalled sessions answer.
 */
export async function lendRecalling(spendable: Spendable, serially: Serially, recall: Recall, request: LendRequest): Promise<LendResult> {
  const first = await serially(() => spendable.lend(request, false));
  if (first.outcome !== "recall") return first;
  await spendable.recallAndWait(first.sessionIds, recall, serially);
  const second = await serially(() => spendable.lend(request, true));
  if (second.outcome === "recall") throw new Error("a lend asked to recall twice");
  return second;
}

/** Every active lease comes back (the admin changed the account): recalled outside the queue, applied in it. */
export async function recallAll(spendable: Spendable, serially: Serially, recall: Recall): Promise<void> {
  const sessionIds = await serially(() => spendable.balanceChanged());
  await spendable.recallAndWait(sessionIds, recall, serially);
}

/** The recall's answer, or null when it fails or takes longer than RECALL_WAIT_MS. */
function withinWait(recall: Promise<LeaseState | null>): Promise<LeaseState | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), RECALL_WAIT_MS)));
  return Promise.race([recall.catch(() => null), late]).finally(() => clearTimeout(timer));
}
