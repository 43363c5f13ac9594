// Owns the session object's one Durable Object alarm: the journal, the outbox, the answer log and the stream log
// ask to be woken within a delay, the earliest request wins, and the object's alarm() hands the wake-up to each.
// Nothing else sets the alarm, and nothing deletes it: an alarm that finds nothing to do costs one no-op wake-up.
export type WakeUp = (withinMs: number) => Promise<void>;

export class SessionAlarm {
  /** When the alarm is set for; null: not set; undefined: not read from storage yet. */
  private scheduledAt: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Makes sure the object is woken no later than `withinMs` from now. */
  readonly wakeUp: WakeUp = async (withinMs) => {
    const at = Date.now() + withinMs;
    if (this.scheduledAt === undefined) {
      const stored = await this.storage.getAlarm();
      // Another call may have scheduled while this one read: keep what it set.
      if (this.scheduledAt === undefined) this.scheduledAt = stored;
    }
    if (this.scheduledAt !== null && this.scheduledAt <= at) return;
    this.scheduledAt = at;
    await this.storage.setAlarm(at);
  };

  /** The alarm went off, so it is no longer set: the first thing alarm() does. */
  rang(): void {
    this.scheduledAt = null;
  }

  /** The object's storage was emptied, its alarm with it (the session was deleted). */
  deleted(): void {
    this.scheduledAt = null;
  }
}
