// Owns what the user's account object remembers of the user's model grants, so a warm turn reads nothing. A
// refusal (unknown model, model not granted, unknown user) is always re-checked against storage, so grants take
// effect at once; the admin API tells the account object of every change, and anything else (SQL by hand) is
// re-read after ACCOUNT_CACHE_TTL_MS.
import type { ModelRecord, ModelRef } from "../../storage/chat-store";

/** The user's access to a model; null when the user does not exist. */
export interface ModelAccess {
  model: ModelRecord | null;
  granted: boolean;
}

export type AccessReader = (ref: ModelRef) => Promise<ModelAccess | null>;

const refKey = (ref: ModelRef) => ("id" in ref ? `id:${ref.id}` : `name:${ref.name}`);

export class GrantCache {
  private readonly granted = new Map<string, ModelRecord>();
  private loadedAt = 0;

  constructor(private readonly ttlMs: number) {}

  /** The user's access to this model: from memory when it was granted, else read (a refusal is never cached). */
  async access(read: AccessReader, ref: ModelRef, now: number): Promise<ModelAccess | null> {
    if (now - this.loadedAt >= this.ttlMs) this.invalidate();
    const model = this.granted.get(refKey(ref));
    if (model) return { model, granted: true };
    const access = await read(ref);
    if (!access) {
      this.invalidate();
      return null;
    }
    if (access.model && access.granted) {
      if (this.granted.size === 0) this.loadedAt = now;
      this.granted.set(refKey(ref), access.model);
    }
    return access;
  }

  invalidate(): void {
    this.granted.clear();
    this.loadedAt = 0;
  }
}
