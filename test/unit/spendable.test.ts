// The credit lease in plain Node: the user's account (spendable.ts) lends session objects (credit-lease.ts) money
// that they reserve turns against locally. Examples first, then properties over random interleavings of lease,
// reserve, charge, finish, commit, report, recall, return, the admin's change and a crash of either object:
// nothing the sessions can still charge ever exceeds the database's balance, so it never goes below zero, and the
// ledger, the turns' charges and the balance agree; and no turn is refused while the money it needs lies unused in
// another session's lease, so a balance of k whole turns runs exactly k, however many sessions ask at once.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CreditLease, LEASE_BLOCK_TURNS, LEASE_IDLE_MS, type LeaseAccount } from "../../src/domain/accounts/credit-lease";
import { lendRecalling, recallAll, Spendable, type Recall } from "../../src/domain/accounts/spendable";
import { turnBudgetMicros } from "../../src/domain/session/turn/charging";
import { ChatError } from "../../src/domain/errors";
import { SerialQueue } from "../../src/domain/serial-queue";
import type { ModelRecord } from "../../src/storage/chat-store";
import { MemoryStorage } from "./memory-storage";

const MODEL: ModelRecord = { id: 1, name: "m", provider: "p", contextLength: 8192, inputMicrosPer1k: 10, outputMicrosPer1k: 30 };
const BUDGET = { maxOutputTokens: 100, maxTurnCostMicros: 1_000_000 };
const PROMPT_CHARS = 300;
/** What one turn reserves. */
const WANT = turnBudgetMicros(MODEL, PROMPT_CHARS, BUDGET);
const USER = "u";

/** Storage an object instance reaches until it dies (a crash): then its writes fail, as a dead instance's would. */
function instanceStorage(memory: MemoryStorage): { storage: DurableObjectStorage; kill(): void } {
  let alive = true;
  const guard = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (!alive) throw new Error("the instance died");
    return call(...args);
  };
  const storage = {
    get: guard((key: string) => memory.get(key)),
    put: guard((key: string | Record<string, unknown>, value?: unknown) => memory.put(key, value)),
    delete: guard((keys: string | string[]) => memory.delete(keys)),
    list: guard((options?: { prefix?: string }) => memory.list(options)),
    getAlarm: guard(() => memory.getAlarm()),
    setAlarm: guard((at: number) => memory.setAlarm(at)),
  };
  return { storage: storage as unknown as DurableObjectStorage, kill: () => (alive = false) };
}

/** A journaled charge: durable ones survive a crash of their session, the summary's do not. */
interface Entry {
  micros: number;
  durable: boolean;
}

/**
 * The user's database row, their account object and their session objects, wired as the Worker wires them;
 * `deliver` stands for the RPC between objects (the property's scheduler delays and reorders it).
 */
function world(balanceMicros: number, sessions: number, deliver: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(), maxInFlight = 3) {
  const db = { balanceMicros, ledger: [] as number[], credits: 0 };
  let clock = 0;
  const accountMemory = new MemoryStorage();
  const account = { current: newAccount() };

  function newAccount() {
    const { storage, kill } = instanceStorage(accountMemory);
    const queue = new SerialQueue();
    const spendable = new Spendable(storage, async () => db.balanceMicros);
    const serially = <T>(task: () => Promise<T>) => queue.run(task);
    return { spendable, serially, kill };
  }

  /** The account's recall of a session's unused money, over the same RPC. */
  const recall: Recall = (sessionId, lent) => deliver(() => session(sessionId).lease.recall(USER, sessionId, lent));

  const accountSide: LeaseAccount = {
    lend: (_userId, _model, promptChars, request) =>
      deliver(async () => {
        const { spendable, serially } = account.current;
        const result = await lendRecalling(spendable, serially, recall, { ...request, wantMicros: turnBudgetMicros(MODEL, promptChars, BUDGET) });
        return { model: MODEL, result };
      }),
    released: (_userId, state) =>
      deliver(async () => {
        const { spendable, serially } = account.current;
        await serially(() => spendable.released(state));
      }),
    closed: (_userId, state) =>
      deliver(async () => {
        const { spendable, serially } = account.current;
        await serially(() => spendable.closed(state));
      }),
  };

  const sessionsById = new Map<string, ReturnType<typeof newSession>>();
  const durable = new Map<string, Entry[]>(); // each session's journal as its storage keeps it
  const memories = new Map<string, MemoryStorage>();

  function newSession(id: string) {
    const memory = memories.get(id) ?? new MemoryStorage();
    memories.set(id, memory);
    const { storage, kill } = instanceStorage(memory);
    let alive = true;
    let loseReports = false;
    const journal: Entry[] = [...(durable.get(id) ?? [])];
    const sum = () => journal.reduce((total, entry) => total + entry.micros, 0);
    let added = 0; // what this instance journaled, as the journal counts it for the lease
    const tellAccount: LeaseAccount = {
      lend: (...args) => (alive ? accountSide.lend(...args) : Promise.reject(new Error("dead"))),
      released: (...args) => (alive && !loseReports ? accountSide.released(...args) : Promise.reject(new Error("lost"))),
      closed: (...args) => (alive ? accountSide.closed(...args) : Promise.reject(new Error("dead"))),
    };
    // Turns and the alarm run one at a time per instance, as in the session object's queue.
    const queue = new SerialQueue();
    const lease = new CreditLease(
      storage,
      { load: async () => sum(), now: sum, added: () => added },
      tellAccount,
      { budget: BUDGET, maxInFlight, grantTtlMs: 1e12, now: () => clock },
      () => undefined,
      async () => undefined,
    );
    return {
      id,
      lease,
      journal,
      isAlive: () => alive,
      serially: <T>(task: () => Promise<T>) => queue.run(task),
      journaled: sum,
      add(entry: Entry) {
        journal.push(entry);
        added += entry.micros;
        if (entry.durable) durable.set(id, [...(durable.get(id) ?? []), entry]);
      },
      /** The journal's batch reaches the database; the balance after it may be unknown, its report lost. */
      commit(balanceKnown: boolean, reportLost = false) {
        if (!alive || journal.length === 0) return;
        const batch = journal.splice(0);
        durable.set(id, []);
        const charged = batch.reduce((total, entry) => total + entry.micros, 0);
        db.balanceMicros -= charged;
        db.ledger.push(...batch.map((entry) => -entry.micros));
        loseReports = reportLost;
        lease.committed(charged, balanceKnown ? db.balanceMicros : null);
        loseReports = false;
      },
      crash() {
        alive = false;
        kill();
      },
    };
  }

  function session(id: string) {
    let s = sessionsById.get(id);
    if (!s) sessionsById.set(id, (s = newSession(id)));
    return s;
  }

  const ids = Array.from({ length: sessions }, (_, i) => `s${i}`);
  for (const id of ids) session(id);

  /** Runs a turn: reserve, charge part of it (journaled durably), a summary out of the rest (not durably), finish. */
  function turn(id: string, turnShare: number, summaryShare: number): Promise<"answered" | number> {
    const s = session(id);
    return s.serially(async () => {
      let reserved;
      try {
        reserved = await s.lease.reserve(USER, id, { id: MODEL.id }, PROMPT_CHARS, clock);
      } catch (error) {
        if (error instanceof ChatError) return error.code;
        return 14;
      }
      if (!s.isAlive()) return 14; // the instance died while it waited: no reply goes out, nothing is journaled
      const charge = Math.floor(reserved.reservedMicros * turnShare);
      s.add({ micros: charge, durable: true });
      const summary = Math.floor((reserved.reservedMicros - charge) * summaryShare);
      s.add({ micros: summary, durable: false });
      await s.lease.finish("reservation", charge + summary);
      return "answered" as const;
    });
  }

  /** The session's alarm, in its queue. */
  const idle = (id: string) => {
    const s = session(id);
    return s.serially(() => s.lease.idle(clock));
  };

  /** What the sessions can still charge: their journals, their running reservations and what their leases hold
   *  unused (a dead instance's lease is gone; its durable journal stays). */
  function chargeable(): number {
    let total = 0;
    for (const s of sessionsById.values()) {
      const lease = s.lease as unknown as { epoch: number | null; heldMicros(): number };
      total += s.journaled();
      if (lease.epoch === null) continue;
      total += lease.heldMicros();
      total += Math.max(0, s.lease.availableMicros);
    }
    return total;
  }

  /** What happens to the objects besides turns: a session's journal commits (its report maybe lost), its alarm
   *  rings, either object crashes, time passes. */
  async function step(c: Step): Promise<void> {
    switch (c.kind) {
      case "commit":
        return session(ids[c.s]!).commit(c.known, c.lost);
      case "idle":
        return idle(ids[c.s]!).catch(() => undefined);
      case "crash-session":
        return crashSession(ids[c.s]!);
      case "crash-account":
        return crashAccount();
      case "time":
        clock += c.ms;
    }
  }

  function crashAccount() {
    account.current.kill();
    account.current = newAccount();
  }

  function crashSession(id: string) {
    session(id).crash();
    sessionsById.set(id, newSession(id));
  }

  return {
    db,
    ids,
    step,
    session,
    turn,
    idle,
    chargeable,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    crashAccount,
    crashSession,
    async adminTopUp(micros: number) {
      db.balanceMicros += micros;
      db.credits += micros;
      await deliver(async () => {
        const { spendable, serially } = account.current;
        await recallAll(spendable, serially, recall);
      });
    },
    account: () => account.current,
    /** What the account would lend now, from what it knows (null: it would read the balance first). */
    accountFree(): number | null {
      const view = account.current.spendable as unknown as { balanceMicros: number | null; leases: Map<string, { grantedMicros: number; releasedMicros: number }> | null };
      if (view.balanceMicros === null) return null;
      let lent = 0;
      for (const lease of view.leases?.values() ?? []) lent += lease.grantedMicros - lease.releasedMicros;
      return view.balanceMicros - lent;
    },
  };
}

type Step =
  | { kind: "commit"; s: number; known: boolean; lost: boolean }
  | { kind: "idle"; s: number }
  | { kind: "crash-session"; s: number }
  | { kind: "crash-account" }
  | { kind: "time"; ms: number };

/** An RPC as the scheduler runs it: the call and its answer each arrive when it says. */
const rpc =
  (scheduler: fc.Scheduler) =>
  <T>(call: () => Promise<T>): Promise<T> =>
    scheduler
      .schedule(Promise.resolve(), "call")
      .then(call)
      .then((answer) => scheduler.schedule(Promise.resolve(answer), "answer"));

describe("credit lease", () => {
  it("lends a block, so the next turns reserve without asking the account", async () => {
    let calls = 0;
    const w = world(100 * WANT, 1, (call) => (calls++, call()));
    expect(await w.turn("s0", 0.5, 0)).toBe("answered");
    const afterFirst = calls;
    for (let i = 0; i < LEASE_BLOCK_TURNS - 2; i++) expect(await w.turn("s0", 0.5, 0)).toBe("answered");
    expect(calls).toBe(afterFirst);
  });

  it("tells the account its commits with its next call while it holds money, not with a call per commit batch", async () => {
    let calls = 0;
    const w = world(100 * WANT, 1, (call) => (calls++, call()));
    expect(await w.turn("s0", 0.5, 0)).toBe("answered");
    const afterLend = calls;
    for (let i = 0; i < 3; i++) {
      expect(await w.turn("s0", 0.5, 0)).toBe("answered");
      w.session("s0").commit(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // a report would be on its way by now
    expect(calls).toBe(afterLend);
    // Not told of the commits, the account still knows what is free: they lowered the balance and the lease alike.
    const unused = w.session("s0").lease.availableMicros;
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros - unused);
    w.advance(LEASE_IDLE_MS);
    await w.idle("s0"); // the idle return carries them
    expect(calls).toBe(afterLend + 1);
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros);
  });

  it("recalls another session's unused money when a session needs it, and refuses once nothing is left", async () => {
    const w = world(3 * WANT, 2);
    expect(await w.turn("s0", 1, 0)).toBe("answered"); // s0 is lent all three turns' worth
    expect(await w.turn("s1", 1, 0)).toBe("answered"); // recalled from s0
    expect(await w.turn("s0", 1, 0)).toBe("answered");
    expect(await w.turn("s1", 1, 0)).toBe(15);
    for (const id of w.ids) w.session(id).commit(true);
    expect(w.db.balanceMicros).toBe(0);
  });

  it("refuses a session over the user's turns in flight, counting sessions that may start one without asking", async () => {
    const w = world(1_000 * WANT, 4);
    for (const id of ["s0", "s1", "s2"]) await w.session(id).lease.reserve(USER, id, { id: 1 }, PROMPT_CHARS, 0); // running, not finished
    await expect(w.session("s3").lease.reserve(USER, "s3", { id: 1 }, PROMPT_CHARS, 0)).rejects.toMatchObject({ code: 108 });
    await w.session("s0").lease.finish("r", 0); // s0 still holds money, but gives it back when recalled
    await expect(w.session("s3").lease.reserve(USER, "s3", { id: 1 }, PROMPT_CHARS, 0)).resolves.toMatchObject({ reservedMicros: WANT });
  });

  it("gives unused money back when the session idles, and a new instance gives back what an old one held", async () => {
    const w = world(2 * LEASE_BLOCK_TURNS * WANT, 2);
    await w.turn("s0", 0.5, 0);
    w.session("s0").commit(true);
    w.advance(LEASE_IDLE_MS);
    await w.idle("s0");
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros);

    await w.turn("s1", 0.5, 0);
    w.crashSession("s1"); // its turn's charge is journaled durably; its lease dies with it
    await w.idle("s1"); // the new instance's alarm
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros - w.session("s1").journaled());
    w.session("s1").commit(true);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the commit's report reaches the account
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros);
  });

  it("reads the balance again when a new instance ends an epoch whose last commit was never reported", async () => {
    const w = world(40 * WANT, 1);
    await w.turn("s0", 1, 0);
    w.session("s0").commit(true, true); // the database took the charge; the report is lost, then the object dies
    w.crashSession("s0");
    await w.idle("s0"); // the new instance's alarm gives the old lease back
    expect(await w.account().spendable.free()).toBe(w.db.balanceMicros);
  });

  it("recalls what other sessions hold unused before refusing, so a balance of 3 turns runs 3 of 6 sessions' turns", async () => {
    const w = world(3 * WANT, 6, undefined, 6);
    // Two sessions hold money they do not use (turns that charged nothing): the first was lent a block.
    expect(await w.turn("s0", 0, 0)).toBe("answered");
    expect(await w.turn("s1", 0, 0)).toBe("answered");
    const answers = await Promise.all(w.ids.map((id) => w.turn(id, 1, 0)));
    expect(answers.filter((a) => a === "answered")).toHaveLength(3);
    expect(answers.filter((a) => a !== "answered")).toEqual([15, 15, 15]);
    for (const id of w.ids) w.session(id).commit(true);
    expect(w.db.balanceMicros).toBe(0);
  });

  it("property: a balance of k whole turns runs exactly k of the turns sent, in any interleaving, with crashes", async () => {
    const s = fc.nat(5);
    const command = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("turn" as const), s }) },
      fc.record({ kind: fc.constant("commit" as const), s, known: fc.boolean(), lost: fc.boolean() }),
      fc.record({ kind: fc.constant("idle" as const), s }),
      fc.record({ kind: fc.constant("crash-session" as const), s }),
      fc.record({ kind: fc.constant("crash-account" as const) }),
      fc.record({ kind: fc.constant("time" as const), ms: fc.integer({ min: 0, max: LEASE_IDLE_MS }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(4), fc.nat(WANT - 1), fc.array(s), fc.array(command, { minLength: 1, maxLength: 30 }), async (scheduler, k, dust, holders, commands) => {
        // As many turns in flight as sessions: only money refuses a turn here.
        const w = world(k * WANT + dust, 6, rpc(scheduler), 6);
        // First, turns that charge nothing: their sessions keep what they were lent, unused. (Not at the same time
        // as the others: a running turn's reservation is not free, and these would give it back.)
        for (const holder of holders) await scheduler.waitFor(w.turn(w.ids[holder]!, 0, 0));
        let answered = 0;
        let decided = 0; // turns answered or refused (a turn whose instance died is neither)
        const runs = commands.map(async (c) => {
          await scheduler.schedule(Promise.resolve(), c.kind);
          const id = "s" in c ? w.ids[c.s]! : "";
          switch (c.kind) {
            case "turn": {
              // The whole reservation is charged, so money only ever goes to turns: a turn refused while a turn's
              // worth lay unused (in the balance or in a lease) leaves it unspent at the end.
              const outcome = await w.turn(id, 1, 0);
              if (outcome === "answered") answered++;
              if (outcome === "answered" || outcome === 15) decided++;
              expect([15, 14, "answered"]).toContain(outcome);
              break;
            }
            default:
              await w.step(c);
          }
        });
        await scheduler.waitFor(Promise.all(runs));
        expect(answered).toBe(Math.min(k, decided));
        for (const id of w.ids) w.session(id).commit(true);
        expect(w.db.balanceMicros).toBe(k * WANT + dust - answered * WANT);
        expect(w.db.ledger.reduce((sum, delta) => sum + delta, 0)).toBe(0 - answered * WANT);
      }),
      { numRuns: 300 },
    );
  });

  /** The property's check after every step the scheduler releases. */
  let checkNow = () => undefined as void;

  it("property: under any interleaving, with crashes, what sessions can charge never exceeds the balance", async () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant("turn" as const), s: fc.nat(3), turnShare: fc.double({ min: 0, max: 1, noNaN: true }), summaryShare: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant("commit" as const), s: fc.nat(3), known: fc.boolean(), lost: fc.boolean() }),
      fc.record({ kind: fc.constant("idle" as const), s: fc.nat(3) }),
      fc.record({ kind: fc.constant("crash-session" as const), s: fc.nat(3) }),
      fc.record({ kind: fc.constant("crash-account" as const) }),
      fc.record({ kind: fc.constant("top-up" as const), micros: fc.integer({ min: 0, max: 5 * WANT }) }),
      fc.record({ kind: fc.constant("time" as const), ms: fc.integer({ min: 0, max: LEASE_IDLE_MS }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler({ act: async (step) => (await step(), checkNow()) }), fc.integer({ min: 0, max: 20 * WANT }), fc.array(command, { minLength: 1, maxLength: 40 }), async (scheduler, balance, commands) => {
        const w = world(balance, 4, rpc(scheduler));
        const violations: string[] = [];
        checkNow = () => check("step");
        const check = (when: string) => {
          const chargeable = w.chargeable();
          if (chargeable > w.db.balanceMicros) violations.push(`${when}: chargeable ${chargeable} > balance ${w.db.balanceMicros}`);
          // The account's view is never more generous than the truth: what it would lend is really free.
          const free = w.accountFree();
          if (free !== null && free > w.db.balanceMicros - chargeable) violations.push(`${when}: account's free ${free} > ${w.db.balanceMicros - chargeable}`);
        };
        const runs = commands.map(async (c) => {
          await scheduler.schedule(Promise.resolve(), c.kind);
          const id = "s" in c ? w.ids[c.s]! : "";
          switch (c.kind) {
            case "turn":
              await w.turn(id, c.turnShare, c.summaryShare);
              break;
            case "commit":
            case "idle":
            case "crash-session":
            case "crash-account":
              await w.step(c);
              break;
            case "top-up":
              await w.adminTopUp(c.micros).catch(() => undefined);
              break;
            case "time":
              w.advance(c.ms);
              break;
          }
          check(c.kind);
        });
        await scheduler.waitFor(Promise.all(runs));
        // Every journal reaches the database.
        for (const id of w.ids) w.session(id).commit(true);
        expect(violations).toEqual([]);
        expect(w.db.balanceMicros).toBeGreaterThanOrEqual(0);
        expect(w.db.ledger.reduce((sum, delta) => sum + delta, 0)).toBe(w.db.balanceMicros - balance - w.db.credits);
      }),
      { numRuns: 300 },
    );
  });
});
