// Owns what a session object remembers of its user's account between turns, so a warm turn reads nothing:
// the balance (kept exact for this session's own charges) and the models already checked. A refusal is
// always re-checked against storage, so grants and top-ups take effect at once; the admin API invalidates
// warm sessions on every change, and anything else is re-read after ACCOUNT_CACHE_TTL_MS.
import type { ModelRef, TurnAuthorization } from "../../storage/chat-store";

/** Reads the account from storage; the session commits its own journaled charges first, so the read is exact. */
export type AccountReader = (ref: ModelRef) => Promise<TurnAuthorization | null>;

const refKey = (ref: ModelRef) => ("id" in ref ? `id:${ref.id}` : `name:${ref.name}`);
const allows = (auth: TurnAuthorization) => auth.model !== null && auth.granted && auth.balanceMicros > 0;

export class AccountCache {
  private balanceMicros: number | null = null;
  private readonly models = new Map<string, Omit<TurnAuthorization, "balanceMicros">>();
  private loadedAt = 0;

  constructor(private readonly ttlMs: number) {}

  /** The user's authorization for a turn with this model; null when the user does not exist. */
  async authorize(read: AccountReader, ref: ModelRef, now: number): Promise<TurnAuthorization | null> {
    if (now - this.loadedAt >= this.ttlMs) this.invalidate();
    const model = this.models.get(refKey(ref));
    if (model && this.balanceMicros !== null) {
      const cached = { ...model, balanceMicros: this.balanceMicros };
      if (allows(cached)) return cached;
    }
    const auth = await read(ref);
    if (!auth) {
      this.invalidate();
      return null;
    }
    if (this.models.size === 0) this.loadedAt = now;
    this.models.set(refKey(ref), { model: auth.model, granted: auth.granted });
    this.balanceMicros = auth.balanceMicros;
    return auth;
  }

  /** A charge of this session, journaled and not yet committed. */
  debit(chargeMicros: number): void {
    if (this.balanceMicros !== null) this.balanceMicros -= chargeMicros;
  }

  /** The balance a commit of this session returned. Charges only lower a balance (credits come through the
   *  admin API, which invalidates), so the lowest report is the latest, whatever order reports arrive in. */
  charged(balanceMicros: number): void {
    if (this.balanceMicros !== null) this.balanceMicros = Math.min(this.balanceMicros, balanceMicros);
  }

  invalidate(): void {
    this.models.clear();
    this.balanceMicros = null;
    this.loadedAt = 0;
  }
}
