// Owns what a user may still spend, across every session, socket and tab: the balance the database last reported
// and the money held by turns in flight, kept in the user's account object's storage so it survives eviction.
//
// A turn reserves all it may cost, or does not run; it is charged no more than its reservation. Until the database
// has a turn's charges, the reservation holds them: while the turn runs, its whole reservation; once it is
// finished, its charges not yet committed. So spendable = database balance - held, and a commit (which lowers
// the database balance by exactly what it releases from the hold) leaves it unchanged. A reservation a crashed
// session never finished expires; the balance is then read again from the database.
import { reservationFits } from "../session/turn/charging";
import { deleteKeys } from "../../storage/durable-storage";
import { ACCOUNT_STORAGE } from "./account-storage";

/** A turn's hold on the user's money. */
interface Reservation {
  amountMicros: number;
  /** The turn has ended: its charges are known. */
  finished: boolean;
  chargedMicros: number;
  /** Charges of this reservation the database has. */
  committedMicros: number;
  expiresAt: number;
}

export type ReserveResult =
  | { outcome: "reserved"; amountMicros: number; spendableMicros: number }
  | { outcome: "insufficient"; spendableMicros: number }
  | { outcome: "too-many-in-flight" }
  | { outcome: "unknown-user" };

/** Charges of a reservation the database committed. */
export interface CommittedCharge {
  reservationId: string;
  chargeMicros: number;
}

const PREFIX = ACCOUNT_STORAGE.reservation;

const held = (r: Reservation) => Math.max(0, (r.finished ? r.chargedMicros : r.amountMicros) - r.committedMicros);

export class Spendable {
  private reservations: Map<string, Reservation> | null = null;
  /** The balance the database last reported; null: read it before deciding. */
  private balanceMicros: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** The user's balance in the database; null when the user does not exist. */
    private readonly readBalance: () => Promise<number | null>,
  ) {}

  /**
   * Holds `wantMicros` for a turn, unless less than that is spendable (a turn runs only if its whole reservation
   * fits: a dust balance buys no turn) or the user already has `maxInFlight` turns running.
   */
  async reserve(id: string, wantMicros: number, limits: { maxInFlight: number; ttlMs: number }, now: number): Promise<ReserveResult> {
    const reservations = await this.load(now);
    const inFlight = [...reservations.values()].filter((r) => !r.finished).length;
    if (inFlight >= limits.maxInFlight) return { outcome: "too-many-in-flight" };
    let balance = await this.balance();
    // A refusal is re-checked against the database, so a top-up made there (even by hand in SQL) counts at once.
    if (balance !== null && !reservationFits(balance - this.heldMicros(), wantMicros)) {
      this.balanceMicros = null;
      balance = await this.balance();
    }
    if (balance === null) return { outcome: "unknown-user" };
    const spendableMicros = balance - this.heldMicros();
    if (!reservationFits(spendableMicros, wantMicros)) return { outcome: "insufficient", spendableMicros };
    const reservation: Reservation = {
      amountMicros: wantMicros,
      finished: false,
      chargedMicros: 0,
      committedMicros: 0,
      expiresAt: now + limits.ttlMs,
    };
    await this.save(id, reservation, { confirmed: true });
    return { outcome: "reserved", amountMicros: reservation.amountMicros, spendableMicros };
  }

  /** The turn ended, having charged this much (0 when it failed): the rest of its reservation is free again. */
  async finish(id: string, chargedMicros: number, now: number, ttlMs: number): Promise<void> {
    const reservation = (await this.load(now)).get(id);
    if (!reservation) return;
    reservation.finished = true;
    // Its charges now wait for the database: they are held for a lifetime from here, not from the reservation.
    reservation.expiresAt = now + ttlMs;
    reservation.chargedMicros = Math.min(chargedMicros, reservation.amountMicros);
    await this.save(id, reservation, { confirmed: false });
  }

  /** The database committed these charges; `balanceAfterMicros` is its balance after them, when known. */
  async committed(charges: readonly CommittedCharge[], balanceAfterMicros: number | null, now: number): Promise<void> {
    const reservations = await this.load(now);
    // Charges only lower a balance (credits come through balanceChanged), so the lowest report is the latest.
    if (balanceAfterMicros === null) this.balanceMicros = null;
    else if (this.balanceMicros !== null) this.balanceMicros = Math.min(this.balanceMicros, balanceAfterMicros);
    for (const { reservationId, chargeMicros } of charges) {
      const reservation = reservations.get(reservationId);
      if (!reservation) continue;
      reservation.committedMicros += chargeMicros;
      await this.save(reservationId, reservation, { confirmed: false });
    }
  }

  /** The balance the database reported with the user's grants, when none is known (saves a read on a cold turn). */
  knownBalance(balanceMicros: number): void {
    this.balanceMicros ??= balanceMicros;
  }

  /** The balance changed outside turns (the admin API): read it again before the next decision. */
  balanceChanged(): void {
    this.balanceMicros = null;
  }

  /** What turns in flight and uncommitted charges hold. */
  heldMicros(): number {
    return [...(this.reservations?.values() ?? [])].reduce((sum, r) => sum + held(r), 0);
  }

  private async balance(): Promise<number | null> {
    this.balanceMicros ??= await this.readBalance();
    return this.balanceMicros;
  }

  /**
   * Stores a reservation, or deletes it once it holds nothing more. A new reservation is `confirmed` (durable
   * before its turn may call the agent); a change that only lowers what it holds need not be: lost in a crash,
   * the stored reservation holds more than it needs until it expires, never less.
   */
  private async save(id: string, reservation: Reservation, { confirmed }: { confirmed: boolean }): Promise<void> {
    const reservations = this.reservations!;
    const options = { allowUnconfirmed: !confirmed };
    if (reservation.finished && held(reservation) === 0) {
      reservations.delete(id);
      await this.storage.delete(PREFIX + id, options);
    } else {
      reservations.set(id, reservation);
      await this.storage.put(PREFIX + id, reservation, options);
    }
  }

  /** The reservations, read once per object lifetime, without the expired ones. */
  private async load(now: number): Promise<Map<string, Reservation>> {
    this.reservations ??= new Map([...(await this.storage.list<Reservation>({ prefix: PREFIX }))].map(([key, r]) => [key.slice(PREFIX.length), r]));
    const expired = [...this.reservations].filter(([, r]) => r.expiresAt <= now).map(([id]) => id);
    if (expired.length > 0) {
      // A session that died mid-turn never finished these; its committed charges are in the database's balance.
      for (const id of expired) this.reservations.delete(id);
      await deleteKeys(this.storage, expired.map((id) => PREFIX + id));
      this.balanceMicros = null;
    }
    return this.reservations;
  }
}
