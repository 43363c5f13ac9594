// An in-memory stand-in for the part of Durable Object storage the session's state machines use (get, put, list,
// delete, alarms), so the unit tier runs them in plain Node. It keeps values as structured clones, as storage does,
// and can be told to fail a call. The workerd suites run the same code on the real storage.
/** Keys one put or delete may take, as the runtime's storage allows. */
const MAX_KEYS = 128;

export class MemoryStorage {
  readonly values = new Map<string, unknown>();
  alarm: number | null = null;
  alarmWrites = 0;
  /** Rows list() returned, as storage bills them (one row per key). */
  rowsListed = 0;
  failNextPut = false;

  async get<T>(key: string): Promise<T | undefined> {
    return structuredClone(this.values.get(key)) as T | undefined;
  }

  async put(keyOrEntries: string | Record<string, unknown>, value?: unknown, _options?: object): Promise<void> {
    if (this.failNextPut) {
      this.failNextPut = false;
      throw new Error("storage put failed");
    }
    const entries = typeof keyOrEntries === "string" ? { [keyOrEntries]: value } : keyOrEntries;
    if (Object.keys(entries).length > MAX_KEYS) throw new Error(`put takes at most ${MAX_KEYS} keys`);
    for (const [key, entry] of Object.entries(entries)) this.values.set(key, structuredClone(entry));
  }

  async delete(keys: string | string[], _options?: object): Promise<boolean | number> {
    const list = typeof keys === "string" ? [keys] : keys;
    if (list.length > MAX_KEYS) throw new Error(`delete takes at most ${MAX_KEYS} keys`);
    let deleted = 0;
    for (const key of list) if (this.values.delete(key)) deleted++;
    return typeof keys === "string" ? deleted === 1 : deleted;
  }

  async list<T>({ prefix = "", limit = Infinity }: { prefix?: string; limit?: number } = {}): Promise<Map<string, T>> {
    const keys = [...this.values.keys()].filter((key) => key.startsWith(prefix)).sort();
    this.rowsListed += Math.min(keys.length, limit);
    return new Map(keys.slice(0, limit).map((key) => [key, structuredClone(this.values.get(key)) as T]));
  }

  async getAlarm(): Promise<number | null> {
    return this.alarm;
  }

  async setAlarm(at: number): Promise<void> {
    this.alarm = at;
    this.alarmWrites++;
  }

  keys(prefix: string): string[] {
    return [...this.values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Typed as the runtime's storage for the code under test. */
  asStorage(): DurableObjectStorage {
    return this as unknown as DurableObjectStorage;
  }
}
