// Owns the session's journal: its writes to the shared database (D1 or PostgreSQL) that run behind its replies. Each
// is journaled in the session object's own storage (a turn before its reply goes out), then committed in order,
// exactly once, in batches that gather what arrives within a window, and retried (the object's alarm wakes it)
// until the database takes it.
import type { SessionStore, SessionWrite } from "../../storage/chat-store";
import { deleteKeys, putEntries } from "../../storage/durable-storage";
import { SESSION_STORAGE, sessionKeys } from "./session-storage";
import type { WakeUp } from "./wake-up";

const WRITE_PREFIX = SESSION_STORAGE.journalWrite;
/** The batch being committed: kept until the database acknowledges it, so a retry sends the same batch again. */
const BATCH_KEY = SESSION_STORAGE.journalBatch;
/** A batch is one database request: it folds into a few statements whatever its count, but its size is limited. */
const MAX_WRITES_PER_BATCH = 500;
const MAX_BATCH_TEXT_CHARS = 1_000_000;

interface Batch {
  id: string;
  keys: string[];
}

/** What the database said of a committed write: the user's balance right after its charge, when it is known
 *  (after a lost acknowledgement the retry finds the batch already applied, and balances are not re-read). */
export type CommitReceipt = { balance: "known"; balanceMicros: number } | { balance: "unknown" };

interface Journaled {
  key: string;
  write: SessionWrite;
  /** In this object's storage; an entry that is not yet dies with the instance. */
  persisted: boolean;
  /** Resolves once the database has the write. */
  committed: Deferred<CommitReceipt>;
}

const keyOf = sessionKeys.journalWrite;

export class Journal {
  private journal: Journaled[] | null = null;
  private batch: Batch | null = null;
  private nextNumber = 0;
  private draining: Promise<void> | null = null;
  private windowTimer: ReturnType<typeof setTimeout> | null = null;
  /** Callers of settle() waiting: batches then follow each other without the window. */
  private urgent = 0;
  /** What the journal's writes charge, until the database has them. */
  private chargesMicros = 0;
  /** What writes added in this object's lifetime charge (only grows): the lease's measure of a turn's charges. */
  private chargesAddedMicros = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: () => Pick<SessionStore, "commitWrites">,
    private readonly wakeUp: WakeUp,
    private readonly timing: { windowMs: number; retryMs: number },
    /** Told of every batch the database took (including writes an earlier instance journaled), with the
     *  user's balance after it when the commit reported it. */
    private readonly onCommitted: (writes: readonly SessionWrite[], balanceAfterMicros: number | null) => void = () => undefined,
  ) {}

  /**
   * Journals a write and starts committing it. With `durable`, the write (and any earlier one not yet stored) is
   * in this object's storage when this resolves; without, it is stored with the next durable write, or when the
   * database refuses it, and until then only the database commit behind it keeps it. `alongside` (other keys of
   * this object's storage, e.g. the turn's answer for retries) is stored in the same commit as a durable write.
   * The returned promise resolves once the database has it; while the database fails it stays pending.
   */
  async add(
    write: SessionWrite,
    { durable, alongside }: { durable: boolean; alongside?: Record<string, unknown> },
  ): Promise<{ committed: Promise<CommitReceipt> }> {
    const journal = await this.load();
    const entry: Journaled = { key: keyOf(this.nextNumber++), write, persisted: false, committed: deferred() };
    journal.push(entry);
    this.chargesMicros += chargeOf(write);
    this.chargesAddedMicros += chargeOf(write);
    if (durable) await this.persist(journal, alongside);
    this.scheduleDrain();
    return { committed: entry.committed.promise };
  }

  /** What the journal's writes not yet in the database charge (read from storage first, once per lifetime). */
  readonly charges = {
    load: async (): Promise<number> => (await this.load(), this.chargesMicros),
    /** Known once loaded (0 before). */
    now: (): number => this.chargesMicros,
    added: (): number => this.chargesAddedMicros,
  };

  /** Resolves when every write journaled so far is in the database; rejects when the database fails. */
  async settle(): Promise<void> {
    const journal = await this.load();
    this.urgent++;
    try {
      while (journal.length > 0) await this.drain();
    } finally {
      this.urgent--;
    }
  }

  /** Commits what the window gathered, unless a commit is running: it schedules the next one when it ends. */
  private scheduleDrain(): void {
    if (this.windowTimer !== null || this.draining !== null) return;
    this.windowTimer = setTimeout(() => void this.drain().catch(() => undefined), this.timing.windowMs);
  }

  /** One drain at a time, so batches reach the database in order. A failed drain waits for the alarm. */
  private drain(): Promise<void> {
    if (this.windowTimer !== null) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    if (this.draining === null) {
      const run = this.commitAll();
      this.draining = run;
      run.then(
        () => {
          this.draining = null;
          if ((this.journal?.length ?? 0) > 0) this.scheduleDrain();
        },
        () => (this.draining = null),
      );
    }
    return this.draining;
  }

  /** Commits one batch, or all of them while someone waits in settle(). */
  private async commitAll(): Promise<void> {
    const journal = await this.load();
    while (journal.length > 0) {
      const retry = this.batch !== null;
      const batch = this.batch ?? (await this.startBatch(journal));
      const inBatch = new Set(batch.keys);
      const entries = journal.filter((entry) => inBatch.has(entry.key));
      if (entries.length === 0) {
        // A batch of writes that died with an earlier instance (summaries not stored yet): nothing left to commit.
        await this.storage.delete(BATCH_KEY);
        this.batch = null;
        continue;
      }
      let result;
      try {
        result = await this.store().commitWrites(batch.id, entries.map((e) => e.write), retry, Date.now());
      } catch (error) {
        console.error(`session writes not committed yet; retrying in ${this.timing.retryMs} ms`, error);
        await this.persist(journal);
        await this.wakeUp(this.timing.retryMs);
        throw error;
      }
      await deleteKeys(this.storage, [...batch.keys, BATCH_KEY]);
      this.batch = null;
      // By key, not by position: after a restart the batch need not be the journal's first writes.
      for (let i = journal.length - 1; i >= 0; i--) if (inBatch.has(journal[i]!.key)) journal.splice(i, 1);
      for (const entry of entries) this.chargesMicros -= chargeOf(entry.write);
      entries.forEach((entry, i) => {
        const balanceMicros = result.balancesMicros[i];
        entry.committed.resolve(balanceMicros === undefined ? { balance: "unknown" } : { balance: "known", balanceMicros });
      });
      this.onCommitted(
        entries.map((entry) => entry.write),
        result.balancesMicros.at(-1) ?? null,
      );
      if (this.urgent === 0) return;
    }
  }

  /** Stores every journaled write not stored yet, in one storage transaction. */
  private async persist(journal: Journaled[], alongside?: Record<string, unknown>): Promise<void> {
    const fresh = journal.filter((entry) => !entry.persisted);
    if (fresh.length === 0) return;
    // Should this instance die before committing, the alarm wakes a new one to do it.
    const entries = { ...alongside, ...Object.fromEntries(fresh.map((entry) => [entry.key, entry.write])) };
    await Promise.all([putEntries(this.storage, entries), this.wakeUp(this.timing.retryMs)]);
    fresh.forEach((entry) => (entry.persisted = true));
  }

  private async startBatch(journal: Journaled[]): Promise<Batch> {
    // A prefix of the journal (order matters), at least one write however large.
    const keys: string[] = [];
    let chars = 0;
    for (const entry of journal.slice(0, MAX_WRITES_PER_BATCH)) {
      chars += textChars(entry.write);
      if (keys.length > 0 && chars > MAX_BATCH_TEXT_CHARS) break;
      keys.push(entry.key);
    }
    const batch: Batch = { id: crypto.randomUUID(), keys };
    await this.storage.put(BATCH_KEY, batch);
    this.batch = batch;
    return batch;
  }

  /** The journal, read back from storage once per object lifetime (an earlier instance may have left writes). */
  private async load(): Promise<Journaled[]> {
    if (this.journal) return this.journal;
    const [stored, batch] = await Promise.all([
      this.storage.list<SessionWrite>({ prefix: WRITE_PREFIX }),
      this.storage.get<Batch>(BATCH_KEY),
    ]);
    if (this.journal) return this.journal; // loaded concurrently
    this.journal = [...stored].map(([key, write]) => ({ key, write, persisted: true, committed: deferred<CommitReceipt>() }));
    this.chargesMicros += this.journal.reduce((sum, entry) => sum + chargeOf(entry.write), 0);
    this.batch = batch ?? null;
    // Numbers are never reused, not even those of writes a batch named that died with an earlier instance: a new
    // write must never be mistaken for one of a batch the database may already have applied.
    const numbers = [...this.journal.map((entry) => entry.key), ...(batch?.keys ?? [])].map((key) => Number(key.slice(WRITE_PREFIX.length)));
    this.nextNumber = numbers.length > 0 ? Math.max(...numbers) + 1 : 0;
    return this.journal;
  }
}

const chargeOf = (write: SessionWrite) => (write.kind === "turn" ? write.turn.chargeMicros : write.summary.chargeMicros);

/** The text a write carries to the database: what a batch's size is mostly made of. */
function textChars(write: SessionWrite): number {
  if (write.kind === "summary") return write.summary.summary.length;
  const { session, entries } = write.turn;
  return entries.reduce((sum, entry) => sum + entry.content.length, session.prompt.length + session.summary.length);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
