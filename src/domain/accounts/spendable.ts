// Owns what a user may still spend, across every session, socket and tab, on the account's side of the credit lease
// (credit-lease.ts is the session's side): the balance the database last reported, and the money lent to each
// session object, kept in the account object's storage so it survives eviction.
//
// A session spends only what it was lent. What is lent and not yet back is `granted - released` per session, and
// the account never lends past the balance: sum(granted - released) <= balance. Both counts only grow: the account
// owns `granted` (it is stored before the session learns of it), the session owns `released` (money it gave back,
// and charges the database committed, which lower the database balance by the same amount: the account lowers the
// balance it knows by each commit it hears of, so a commit frees nothing), so a report of it may come late, twice or
// out of order and is taken as the largest seen; the account's view is never more generous than the truth. Short of
// money for a turn, it recalls the other sessions' unused money within the decision, and refuses only then. Each session object's lifetime is an epoch: a new instance (after a crash or an eviction) opens
// its own, lent what its journal still owes (`opening`), which closes the old one; the balance is then read again,
// since the old instance may have committed charges it never reported.
import { ACCOUNT_STORAGE } from "./account-storage";

/** A session's lease as the account keeps it. */
interface LeaseRecord {
  epoch: number;
  grantedMicros: number;
  releasedMicros: number;
  /** The part of `releasedMicros` the database committed as charges (the rest is money given back unused). */
  committedMicros?: number;
  /** The session may start a turn without asking (it runs one, or holds money); counts against turns in flight. */
  active: boolean;
}

/** A session's side of its lease, as it reports it with every call (and answers a recall with). */
export interface LeaseState {
  sessionId: string;
  epoch: number;
  /** What the epoch started with: the charges its journal still owed then. */
  openingMicros: number;
  /** Money gone back to the account: charges the database committed, and unused money given back. */
  releasedMicros: number;
  /** The committed charges in `releasedMicros`: the database's balance is lower by them. */
  committedMicros: number;
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
  /** On the reply path: other sessions' unused money is recalled before a refusal. A top-up ahead of need only
   *  takes what is free. */
  mayRecall: boolean;
}

export type LendResult =
  /** `grantedMicros` is what the epoch was lent in all: at least the turn's want more than before, or, when the
   *  session already held it, no more than before. */
  | { outcome: "lent"; grantedMicros: number; balanceMicros: number }
  /** Even with every other session's unused money back, the turn's whole reservation does not fit: the session may
   *  spend `spendableMicros` (what it holds and what is free). Nothing was lent. */
  | { outcome: "insufficient"; grantedMicros: number; balanceMicros: number; spendableMicros: number }
  /** Refused over the user's turns in flight (a session holding unused money is never refused so). */
  | { outcome: "too-many-in-flight"; grantedMicros: number; balanceMicros: number }
  | { outcome: "unknown-user" }
  /** The request came from an instance a newer one replaced. */
  | { outcome: "stale" };

/** What the account has lent an epoch in all, as a recall tells the session. */
export interface Lent {
  epoch: number;
  grantedMicros: number;
}

/** Asks a session to give back what its lease holds unused; its state after, or null when it could not be reached. */
export type Recall = (sessionId: string, lent: Lent) => Promise<LeaseState | null>;

const PREFIX = ACCOUNT_STORAGE.lease;
/** How long a decision waits for a recalled session's answer (one that does not answer keeps what it holds, as far
 *  as the account knows, until its next report). */
const RECALL_WAIT_MS = 2_000;

/** What a session may still spend or owes; never below 0 (a late report of a forgotten lease cannot free money). */
const outstanding = (r: LeaseRecord) => Math.max(0, r.grantedMicros - r.releasedMicros);
/** Money the session gave back unused (recalled, idle). */
const returned = (r: { releasedMicros: number; committedMicros?: number }) => r.releasedMicros - (r.committedMicros ?? 0);

export class Spendable {
  private leases: Map<string, LeaseRecord> | null = null;
  /** The balance the database last reported, less the charges sessions reported committed since; null: read it
   *  before deciding. */
  private balanceMicros: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** The user's balance in the database; null when the user does not exist. */
    private readonly readBalance: () => Promise<number | null>,
  ) {}

  /**
   * Lends the session what its next turn wants (and a block more when there is room), never past the balance and
   * never less than the whole turn (a part of it buys nothing and would only be kept from the others); stored
   * before it answers. Short of money or of turns in flight on the reply path, it first recalls the other sessions'
   * unused money, waiting for their answers within this decision (the caller runs it in the account's queue), and
   * reads the balance again (a top-up made in the database counts at once): it refuses only when even then the
   * turn does not fit.
   */
  async lend(request: LendRequest, recall: Recall): Promise<LendResult> {
    const leases = await this.load();
    const { state } = request;
    if (!this.sync(state)) return { outcome: "stale" };
    const record = leases.get(state.sessionId)!;
    // What the session gave back since it sent this request (a recall that crossed it, or one in this decision) is
    // no longer available to it.
    const availableNow = () => request.availableMicros - Math.max(0, returned(record) - returned(state));
    const others = (which: (r: LeaseRecord) => boolean) => [...leases].filter(([id, r]) => id !== state.sessionId && which(r)).map(([id]) => id);
    const tooMany = () => !record.active && others((r) => r.active).length >= request.maxInFlight;
    let recalled = false;
    /** Every other session that may hold unused money, or owes charges it may have committed since it last said;
     *  and this one too when it owes some (its report of a commit may be on its way behind this request). */
    const recallOthers = async () => {
      recalled = true;
      const asking = outstanding(record) > 0 ? [state.sessionId] : [];
      await this.recallEach([...others((r) => r.active || outstanding(r) > 0), ...asking], recall);
    };
    if (tooMany() && request.mayRecall) await recallOthers();
    if (tooMany()) {
      const balanceMicros = await this.refused(state.sessionId);
      return balanceMicros === null ? { outcome: "unknown-user" } : { outcome: "too-many-in-flight", grantedMicros: record.grantedMicros, balanceMicros };
    }
    const need = () => request.wantMicros - availableNow();
    // Short: the others' unused money comes back, and the balance is read again (a top-up made in the database
    // counts at once), after the answers, so it has every charge they reported. A charge committed between an
    // answer and the read would count twice (the read has it, the lease still owes it): still short, a second round
    // brings it.
    for (let round = 0; round < (request.mayRecall ? 2 : 1) && need() > 0 && (await this.free()) < need(); round++) {
      if (request.mayRecall && (round > 0 || !recalled)) await recallOthers();
      if ((await this.free()) < need()) this.balanceMicros = null;
    }
    const free = await this.free();
    const available = availableNow();
    const wanted = need();
    if (this.balanceMicros === null) return { outcome: "unknown-user" };
    if (wanted > 0 && free < wanted) {
      const balanceMicros = await this.refused(state.sessionId);
      if (balanceMicros === null) return { outcome: "unknown-user" };
      return { outcome: "insufficient", grantedMicros: record.grantedMicros, balanceMicros, spendableMicros: Math.max(0, available) + Math.max(0, free) };
    }
    // A block (or what is free, up to one) for a session alone; with others active, a block only while the balance
    // has room for two, else (and after a recall: the sessions compete) only what this turn needs, so that what is
    // left is shared by the sessions that want it without another recall.
    const block = request.wantMicros * request.blockTurns - available;
    const alone = others((r) => r.active).length === 0;
    const grant = wanted <= 0 ? 0 : recalled ? wanted : alone ? Math.min(free, block) : free >= 2 * block ? block : wanted;
    if (grant > 0) {
      record.grantedMicros += grant;
      record.active = true;
    }
    // Durable before the session may spend it: an account that forgot a loan could lend the money again.
    await this.save(state.sessionId, { confirmed: grant > 0 });
    return { outcome: "lent", grantedMicros: record.grantedMicros, balanceMicros: this.balanceMicros };
  }

  /** Recalls sessions at once and takes in their answers (a session that does not answer keeps what it holds). */
  private async recallEach(sessionIds: readonly string[], recall: Recall): Promise<void> {
    const states = await Promise.all(
      sessionIds.map((id) => {
        const { epoch, grantedMicros } = this.leases!.get(id)!;
        return withinWait(recall(id, { epoch, grantedMicros }));
      }),
    );
    for (const state of states) if (state && this.sync(state)) await this.save(state.sessionId, { confirmed: false });
  }

  /** A refusal keeps what the report said (unconfirmed: it lends nothing); the balance it answers with. */
  private async refused(sessionId: string): Promise<number | null> {
    await this.save(sessionId, { confirmed: false });
    return this.balance();
  }

  /** The session reports its lease (after a commit batch, when it idles). */
  async released(state: LeaseState): Promise<void> {
    await this.load();
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

  /** The balance changed outside turns (the admin API): every lease with money out comes back (recalled, answers
   *  taken in this decision), then the balance is read again. */
  async balanceChanged(recall: Recall): Promise<void> {
    const leases = await this.load();
    await this.recallEach([...leases].filter(([, r]) => r.active || outstanding(r) > 0).map(([id]) => id), recall);
    this.balanceMicros = null;
  }

  /** What the balance leaves to lend; null balance: the user does not exist (read first when not known). */
  async free(): Promise<number> {
    const balance = await this.balance();
    const leases = await this.load();
    let lent = 0;
    for (const lease of leases.values()) lent += outstanding(lease);
    return (balance ?? 0) - lent;
  }

  /** Takes in a session's report: a newer epoch replaces the lease, a stale one changes nothing (false). Charges it
   *  reports committed for the first time lower the known balance by as much: what it releases by committing was
   *  spent, not freed (a charge the balance read already had is then counted twice, which only lends less until
   *  the next read). */
  private sync(state: LeaseState): boolean {
    const leases = this.leases!;
    const record = leases.get(state.sessionId);
    if (!record || state.epoch > record.epoch) {
      // The old epoch's instance is gone: what it still owes is the new epoch's opening; what it committed
      // without saying so is only in the database's balance.
      if (record) this.balanceMicros = null;
      // A first report may carry commits already (reports can overtake the lend that opened the lease).
      else if (this.balanceMicros !== null) this.balanceMicros -= state.committedMicros;
      leases.set(state.sessionId, { epoch: state.epoch, grantedMicros: state.openingMicros, releasedMicros: state.releasedMicros, committedMicros: state.committedMicros, active: state.active });
      return true;
    }
    if (state.epoch < record.epoch) return false;
    const newlyCommitted = state.committedMicros - (record.committedMicros ?? 0);
    if (newlyCommitted > 0 && this.balanceMicros !== null) this.balanceMicros -= newlyCommitted;
    record.committedMicros = Math.max(record.committedMicros ?? 0, state.committedMicros);
    record.releasedMicros = Math.max(record.releasedMicros, state.releasedMicros);
    record.active = state.active;
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

/** Lends as `Spendable.lend` decides, each decision (its recalls included) in the account's queue: two sessions
 *  short of money never both count the same recalled money, and a refusal is made knowing every unused sum. A
 *  recalled session answers without calling the account, so a decision waiting for it cannot wait on itself. */
export function lendRecalling(spendable: Spendable, serially: Serially, recall: Recall, request: LendRequest): Promise<LendResult> {
  return serially(() => spendable.lend(request, recall));
}

/** Every lease with money out comes back (the admin changed the account), in one decision. */
export function recallAll(spendable: Spendable, serially: Serially, recall: Recall): Promise<void> {
  return serially(() => spendable.balanceChanged(recall));
}

/** The recall's answer, or null when it fails or takes longer than RECALL_WAIT_MS. */
function withinWait(recall: Promise<LeaseState | null>): Promise<LeaseState | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), RECALL_WAIT_MS)));
  return Promise.race([recall.catch(() => null), late]).finally(() => clearTimeout(timer));
}
