// A user's spendable money: reservations never exceed what is spendable, a commit moves money from the hold to the
// database balance without changing what is spendable, reservations of a dead session expire, and the state
// survives a new instance.
import { describe, expect, it } from "vitest";
import { Spendable, type ReserveResult } from "../../src/domain/accounts/spendable";
import { MemoryStorage } from "./memory-storage";

const LIMITS = { maxInFlight: 100, ttlMs: 60_000 };

function setUp(balanceMicros: number | null = 1_000, storage = new MemoryStorage()) {
  const database = { balanceMicros, reads: 0 };
  const spendable = new Spendable(storage.asStorage(), async () => {
    database.reads++;
    return database.balanceMicros;
  });
  return { spendable, database, storage };
}

const reserved = (result: ReserveResult) => (result.outcome === "reserved" ? result.amountMicros : 0);

/** What is spendable at `now`, as a reservation of more than anyone has is refused with it (which holds nothing). */
async function spendableAt(spendable: Spendable, now: number): Promise<number> {
  const result = await spendable.reserve("probe", Number.MAX_SAFE_INTEGER, LIMITS, now);
  if (result.outcome !== "insufficient") throw new Error(`probe: ${result.outcome}`);
  return result.spendableMicros;
}

describe("Spendable", () => {
  it("reserves what a turn wants while all of it is spendable, and refuses a turn whose reservation does not fit", async () => {
    const { spendable } = setUp(1_000);
    expect(await spendable.reserve("a", 400, LIMITS, 0)).toEqual({ outcome: "reserved", amountMicros: 400, spendableMicros: 1_000 });
    expect(await spendable.reserve("b", 400, LIMITS, 0)).toEqual({ outcome: "reserved", amountMicros: 400, spendableMicros: 600 });
    // 200 is left: a turn that may cost 400 does not run on it, one that may cost 200 does.
    expect(await spendable.reserve("c", 400, LIMITS, 0)).toEqual({ outcome: "insufficient", spendableMicros: 200 });
    expect(await spendable.reserve("d", 200, LIMITS, 0)).toEqual({ outcome: "reserved", amountMicros: 200, spendableMicros: 200 });
    expect(await spendable.reserve("e", 1, LIMITS, 0)).toEqual({ outcome: "insufficient", spendableMicros: 0 });
  });

  it("gives a dust balance no turn: 1 micro-dollar does not buy a turn that may cost more", async () => {
    const { spendable } = setUp(1);
    expect(await spendable.reserve("a", 677_460, LIMITS, 0)).toEqual({ outcome: "insufficient", spendableMicros: 1 });
    expect(spendable.heldMicros()).toBe(0);
  });

  it("frees the unused part of a reservation when its turn finishes, and all of it when the turn failed", async () => {
    const { spendable } = setUp(1_000);
    await spendable.reserve("a", 600, LIMITS, 0);
    await spendable.reserve("b", 400, LIMITS, 0);
    await spendable.finish("a", 100, 1, LIMITS.ttlMs); // charged 100 of 600
    await spendable.finish("b", 0, 1, LIMITS.ttlMs); // failed
    expect(spendable.heldMicros()).toBe(100);
    expect(await spendableAt(spendable, 2)).toBe(900);
  });

  it("keeps what is spendable unchanged when the database commits a charge, in any order", async () => {
    const { spendable } = setUp(1_000);
    await spendable.reserve("a", 300, LIMITS, 0);
    await spendable.reserve("b", 300, LIMITS, 0);
    await spendable.finish("a", 100, 1, LIMITS.ttlMs);
    await spendable.finish("b", 200, 1, LIMITS.ttlMs);
    // The database took b's charge first (balance 800), then a's (700); the reports arrive the other way round.
    await spendable.committed([{ reservationId: "a", chargeMicros: 100 }], 700, 2);
    await spendable.committed([{ reservationId: "b", chargeMicros: 200 }], 800, 2);
    expect(spendable.heldMicros()).toBe(0);
    expect(await spendable.reserve("c", 700, LIMITS, 3)).toEqual({ outcome: "reserved", amountMicros: 700, spendableMicros: 700 });
  });

  it("holds a turn's whole reservation while it runs, even after part of its charge is committed", async () => {
    const { spendable, database } = setUp(1_000);
    await spendable.reserve("a", 500, LIMITS, 0);
    database.balanceMicros = 900;
    await spendable.committed([{ reservationId: "a", chargeMicros: 100 }], 900, 1); // the turn's write; its summary runs
    expect(spendable.heldMicros()).toBe(400);
    expect(await spendableAt(spendable, 2)).toBe(500);
    expect(reserved(await spendable.reserve("b", 500, LIMITS, 2))).toBe(500);
    await spendable.finish("a", 150, 3, LIMITS.ttlMs); // turn 100 + summary 50
    expect(spendable.heldMicros()).toBe(500 + 50);
  });

  it("refuses a turn beyond the user's turns in flight, and counts finished turns out", async () => {
    const { spendable } = setUp(1_000_000);
    const limits = { ...LIMITS, maxInFlight: 2 };
    await spendable.reserve("a", 1, limits, 0);
    await spendable.reserve("b", 1, limits, 0);
    expect(await spendable.reserve("c", 1, limits, 0)).toEqual({ outcome: "too-many-in-flight" });
    await spendable.finish("a", 1, 1, LIMITS.ttlMs);
    expect((await spendable.reserve("c", 1, limits, 1)).outcome).toBe("reserved");
  });

  it("lets a dead session's reservation expire, then reads the balance again", async () => {
    const { spendable, database } = setUp(1_000);
    await spendable.reserve("a", 1_000, LIMITS, 0);
    database.balanceMicros = 900; // the dead session's journal committed 100 later
    expect(await spendable.reserve("b", 900, LIMITS, LIMITS.ttlMs + 1)).toMatchObject({ amountMicros: 900 });
    expect(database.reads).toBe(2);
  });

  it("re-checks a refusal against the database, so a top-up made there counts at once", async () => {
    const { spendable, database } = setUp(100);
    await spendable.reserve("a", 100, LIMITS, 0);
    await spendable.finish("a", 100, 1, LIMITS.ttlMs);
    expect(await spendable.reserve("b", 50, LIMITS, 2)).toEqual({ outcome: "insufficient", spendableMicros: 0 });
    database.balanceMicros = 5_000_100; // topped up by hand; a's charge is not committed yet
    expect(await spendable.reserve("c", 50, LIMITS, 3)).toMatchObject({ outcome: "reserved", amountMicros: 50 });
  });

  it("reads the balance again after a commit whose balance is unknown, and after the admin changed it", async () => {
    const { spendable, database } = setUp(1_000);
    await spendable.reserve("a", 100, LIMITS, 0);
    await spendable.finish("a", 100, 0, LIMITS.ttlMs);
    await spendable.committed([{ reservationId: "a", chargeMicros: 100 }], null, 1);
    database.balanceMicros = 900;
    expect(await spendableAt(spendable, 2)).toBe(900);
    database.balanceMicros = 5_000;
    spendable.balanceChanged();
    expect(await spendableAt(spendable, 4)).toBe(5_000);
  });

  it("keeps holding a finished turn's charges until the database has them, a lifetime from when it finished", async () => {
    const { spendable } = setUp(1_000);
    await spendable.reserve("a", 300, LIMITS, 0);
    await spendable.finish("a", 300, LIMITS.ttlMs - 1, LIMITS.ttlMs); // finished just before the reservation's lifetime
    expect(await spendableAt(spendable, LIMITS.ttlMs + 1)).toBe(700); // still held
  });

  it("keeps its reservations across a new instance (eviction)", async () => {
    const storage = new MemoryStorage();
    await setUp(1_000, storage).spendable.reserve("a", 700, LIMITS, 0);
    const fresh = setUp(1_000, storage).spendable;
    expect(await spendableAt(fresh, 1)).toBe(300);
  });

  it("answers unknown-user when the database has no such user", async () => {
    expect(await setUp(null).spendable.reserve("a", 1, LIMITS, 0)).toEqual({ outcome: "unknown-user" });
  });
});
