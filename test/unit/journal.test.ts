// The session's journal: durable before the reply, batched within the window, committed in order exactly once,
// retried through the alarm when the database refuses, and recovered by a new instance after eviction.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Journal, type CommitReceipt } from "../../src/domain/session/journal";
import type { SessionWrite, WriteBatchResult } from "../../src/storage/chat-store";
import { summaryWrite, turnWrite } from "./fixtures";
import { MemoryStorage } from "./memory-storage";

const WINDOW_MS = 1000;
const RETRY_MS = 2000;

const chargeOf = (write: SessionWrite) => (write.kind === "turn" ? write.turn.chargeMicros : write.summary.chargeMicros);

/** The database side of commitWrites: applies each batch once, can refuse, or can lose an acknowledgement. */
class RecordingDatabase {
  readonly calls: { batchId: string; writes: SessionWrite[]; retry: boolean }[] = [];
  readonly applied = new Map<string, SessionWrite[]>();
  balanceMicros = 1_000_000;
  refusing = false;
  loseNextAcknowledgement = false;

  async commitWrites(batchId: string, writes: readonly SessionWrite[], retry: boolean): Promise<WriteBatchResult> {
    this.calls.push({ batchId, writes: [...writes], retry });
    if (this.refusing) throw new Error("database unavailable");
    if (writes.length === 0) throw new Error("a write batch needs at least one write"); // as storage/write-batch.ts
    if (retry && this.applied.has(batchId)) return { alreadyApplied: true, balancesMicros: [] };
    this.applied.set(batchId, [...writes]);
    const balancesMicros = writes.map((write) => (this.balanceMicros -= chargeOf(write)));
    if (this.loseNextAcknowledgement) {
      this.loseNextAcknowledgement = false;
      throw new Error("connection reset after commit");
    }
    return { alreadyApplied: false, balancesMicros };
  }

  /** Every write applied, in commit order. */
  appliedWrites(): SessionWrite[] {
    return [...this.applied.values()].flat();
  }
}

function setUp(storage = new MemoryStorage(), database = new RecordingDatabase()) {
  const wakeUps: number[] = [];
  const reported: { writes: number; balanceAfterMicros: number | null }[] = [];
  const journal = new Journal(
    storage.asStorage(),
    () => database,
    async (withinMs) => void wakeUps.push(withinMs),
    { windowMs: WINDOW_MS, retryMs: RETRY_MS },
    (writes, balanceAfterMicros) => reported.push({ writes: writes.length, balanceAfterMicros }),
  );
  return { journal, storage, database, wakeUps, reported };
}

const journaledKeys = (storage: MemoryStorage) => storage.keys("write:");

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("Journal", () => {
  it("has a durable write in storage before add() resolves, and asks to be woken in case the instance dies", async () => {
    const { journal, storage, wakeUps } = setUp();
    await journal.add(turnWrite(0), { durable: true });
    expect(journaledKeys(storage)).toHaveLength(1);
    expect(wakeUps).toEqual([RETRY_MS]);
  });

  it("keeps a non-durable write in memory until the next durable one stores both in one go", async () => {
    const { journal, storage } = setUp();
    await journal.add(summaryWrite(0), { durable: false });
    expect(journaledKeys(storage)).toHaveLength(0);
    await journal.add(turnWrite(1), { durable: true });
    expect(journaledKeys(storage)).toHaveLength(2);
  });

  it("gathers what arrives within the window into one batch, in order, and clears the journal after the commit", async () => {
    const { journal, storage, database, reported } = setUp();
    const receipts: Promise<CommitReceipt>[] = [];
    for (let n = 0; n < 3; n++) {
      receipts.push((await journal.add(turnWrite(n), { durable: true })).committed);
      receipts.push((await journal.add(summaryWrite(n), { durable: false })).committed);
    }
    expect(database.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(database.calls).toHaveLength(1);
    expect(database.calls[0]!.writes).toEqual([turnWrite(0), summaryWrite(0), turnWrite(1), summaryWrite(1), turnWrite(2), summaryWrite(2)]);
    // Each receipt carries the balance right after its own charge.
    expect(await Promise.all(receipts)).toEqual([
      { balance: "known", balanceMicros: 999_900 },
      { balance: "known", balanceMicros: 999_890 },
      { balance: "known", balanceMicros: 999_790 },
      { balance: "known", balanceMicros: 999_780 },
      { balance: "known", balanceMicros: 999_680 },
      { balance: "known", balanceMicros: 999_670 },
    ]);
    expect(storage.keys("write")).toEqual([]);
    // The session's account hears of the whole batch once, with the balance after it.
    expect(reported).toEqual([{ writes: 6, balanceAfterMicros: 999_670 }]);
  });

  it("settle() commits at once, without waiting for the window", async () => {
    const { journal, database } = setUp();
    await journal.add(turnWrite(0), { durable: true });
    await journal.settle();
    expect(database.appliedWrites()).toEqual([turnWrite(0)]);
  });

  it("splits a long journal into batches of at most 500 writes, committed in order", async () => {
    const { journal, database } = setUp();
    for (let n = 0; n < 1201; n++) await journal.add(turnWrite(n, 1), { durable: false });
    await journal.settle();
    expect(database.calls.map((call) => call.writes.length)).toEqual([500, 500, 201]);
    expect(database.appliedWrites()).toEqual(Array.from({ length: 1201 }, (_, n) => turnWrite(n, 1)));
  });

  it("when the database refuses: keeps every write durably, asks to be woken, holds the receipt, and commits the same batch once later", async () => {
    const { journal, storage, database, wakeUps } = setUp();
    database.refusing = true;
    const { committed } = await journal.add(turnWrite(0, 300), { durable: true });
    await journal.add(summaryWrite(0, 20), { durable: false });
    let receipt: CommitReceipt | null = null;
    void committed.then((r) => (receipt = r));

    await expect(journal.settle()).rejects.toThrow("database unavailable");
    expect(journaledKeys(storage)).toHaveLength(2); // the non-durable summary was stored when the database refused
    expect(wakeUps.at(-1)).toBe(RETRY_MS);
    expect(receipt).toBeNull();

    database.refusing = false;
    await journal.settle(); // what the alarm does
    expect(receipt).toEqual({ balance: "known", balanceMicros: 999_700 });
    const batchIds = new Set(database.calls.map((call) => call.batchId));
    expect(batchIds.size).toBe(1); // the retry resent the very batch it had tried
    expect(database.calls.at(-1)!.retry).toBe(true);
    expect(database.appliedWrites()).toEqual([turnWrite(0, 300), summaryWrite(0, 20)]);
    expect(journaledKeys(storage)).toEqual([]);
  });

  it("after a lost acknowledgement, the retry applies nothing twice and reports the balance as unknown", async () => {
    const { journal, database, reported } = setUp();
    database.loseNextAcknowledgement = true;
    const { committed } = await journal.add(turnWrite(0, 300), { durable: true });
    await expect(journal.settle()).rejects.toThrow("connection reset");
    await journal.settle();
    expect(await committed).toEqual({ balance: "unknown" });
    expect(reported).toEqual([{ writes: 1, balanceAfterMicros: null }]);
    expect(database.appliedWrites()).toEqual([turnWrite(0, 300)]);
    expect(database.balanceMicros).toBe(999_700);
  });

  it("recovers from a batch whose unstored writes died with the instance, and never reuses their numbers", async () => {
    const storage = new MemoryStorage();
    const database = new RecordingDatabase();
    const old = setUp(storage, database);
    await old.journal.add(turnWrite(0), { durable: true });
    await old.journal.settle();
    await old.journal.add(summaryWrite(0), { durable: false }); // in memory only
    database.refusing = true;
    await expect(old.journal.settle()).rejects.toThrow(); // the batch naming it is stored; the instance "dies" here
    // Simulate the death before the refusal made the journal store the summary.
    for (const key of storage.keys("write:")) storage.values.delete(key);
    expect(storage.keys("write-batch")).toHaveLength(1);

    database.refusing = false;
    const fresh = setUp(storage, database);
    await fresh.journal.add(turnWrite(1), { durable: true });
    await fresh.journal.settle();
    expect(database.appliedWrites()).toEqual([turnWrite(0), turnWrite(1)]);
    expect(storage.keys("write")).toEqual([]);
  });

  it("a new instance over the same storage (after eviction) commits what the old one journaled, before anything newer", async () => {
    const storage = new MemoryStorage();
    const database = new RecordingDatabase();
    database.refusing = true;
    const old = setUp(storage, database).journal;
    await old.add(turnWrite(0), { durable: true });
    await old.add(turnWrite(1), { durable: true });
    await expect(old.settle()).rejects.toThrow();

    database.refusing = false;
    const fresh = setUp(storage, database).journal;
    await fresh.add(turnWrite(2), { durable: true });
    await fresh.settle();
    expect(database.appliedWrites()).toEqual([turnWrite(0), turnWrite(1), turnWrite(2)]);
    expect(journaledKeys(storage)).toEqual([]);
  });
});
