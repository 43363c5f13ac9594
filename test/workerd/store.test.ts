// The ChatStore contract, run unchanged on every engine (the d1 and postgres test projects).
import { describe, expect, it } from "vitest";
import {
  type ChatStore,
  type FileRecord,
  type SessionRecord,
  type SummaryCommit,
  type TurnCommit,
} from "../../src/storage/chat-store";
import { configOf } from "../../src/config";
import { openStore } from "../../src/storage/open-store";
import { BalanceOutOfBounds } from "../../src/storage/balance-change";
import { MAX_BALANCE_MICROS } from "../../src/domain/money";
import { testEnv } from "./helpers/env";
import { query } from "./helpers/backend";

const store: ChatStore = openStore(configOf(testEnv).storage);
const T0 = 1_700_000_000_000;

async function newUser(balanceMicros = 1_000_000, modelIds = [4, 8]) {
  const id = crypto.randomUUID();
  await store.createUser({ id, username: "Store User", balanceMicros, modelIds }, T0);
  return id;
}

function newSession(userId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id: crypto.randomUUID(), userId, modelId: 4, name: "s", prompt: "p", summary: "", createdAt: T0, lastActiveAt: T0, streamed: false, ...overrides };
}

const commitTurn = (turn: TurnCommit) => store.commitWrites(crypto.randomUUID(), [{ kind: "turn", turn }], false, T0);
const commitSummary = (summary: SummaryCommit) => store.commitWrites(crypto.randomUUID(), [{ kind: "summary", summary }], false, T0);

async function commitTurns(session: SessionRecord, count: number, chargeMicros = 100) {
  for (let i = 0; i < count; i++) {
    await commitTurn({
      session: { ...session, lastActiveAt: session.lastActiveAt + i },
      isNew: i === 0,
      entries: [
        { role: "user", content: `q${i}` },
        { role: "assistant", content: `a${i}` },
      ],
      firstSeq: 2 * i,
      chargeMicros,
      at: T0 + i,
    });
  }
}

describe("users and models", () => {
  it("creates a user, reads it back with sorted grants, and refuses a taken id", async () => {
    const id = crypto.randomUUID();
    const created = await store.createUser({ id, username: "Ada", balanceMicros: 2_500_000, modelIds: [8, 4, 4] }, T0);
    const user = { id, username: "Ada", balanceMicros: 2_500_000, modelIds: [4, 8], createdAt: T0 };
    expect(created).toEqual({ created: true, user });
    expect(await store.getUserWithModels(id)).toEqual(user);
    expect(await store.findUser(id)).toEqual({ id, username: "Ada", balanceMicros: 2_500_000 });
    await expect(store.createUser({ id, username: "Other", balanceMicros: 0, modelIds: [] }, T0)).resolves.toEqual({ created: false, reason: "id-taken" });
    expect(await store.findUser(id)).toMatchObject({ username: "Ada" });
  });

  it("authorizes a turn by model id or name in one read", async () => {
    const id = await newUser(5, [8]);
    expect(await store.authorizeTurn("nobody", { id: 8 })).toBeNull();
    expect(await store.authorizeTurn(id, { name: "llama3.1:8b" })).toMatchObject({ balanceMicros: 5, granted: true, model: { id: 8, provider: "ollama" } });
    expect(await store.authorizeTurn(id, { id: 4 })).toMatchObject({ granted: false, model: { name: "gpt-4-turbo" } });
    expect(await store.authorizeTurn(id, { name: "no-such-model" })).toEqual({ balanceMicros: 5, granted: false, model: null });
  });

  it("lists granted models sorted by id and finds models", async () => {
    const id = await newUser(1, [8, 0, 5]);
    expect((await store.listGrantedModels(id)).map((m) => m.id)).toEqual([0, 5, 8]);
    expect(await store.findModelByName("gpt-4")).toMatchObject({ id: 6, contextLength: 8192, inputMicrosPer1k: 30_000, outputMicrosPer1k: 60_000 });
    expect((await store.findModelsById([7, 99, 1])).map((m) => m.id)).toEqual([1, 7]);
  });

  it("sets and adds balances and replaces grants, writing ledger rows", async () => {
    const id = await newUser(1_000_000, [4]);
    expect(await store.updateUser(id, { setBalanceMicros: 300 }, T0)).toMatchObject({ balanceMicros: 300 });
    expect(await store.updateUser(id, { addBalanceMicros: 50, modelIds: [8], username: "Renamed" }, T0)).toMatchObject({
      balanceMicros: 350,
      modelIds: [8],
      username: "Renamed",
    });
    expect(await store.updateUser("nobody", { addBalanceMicros: 1 }, T0)).toBeNull();
    const ledger = await query<{ kind: string; delta_micros: number }>("select kind, delta_micros from cost_ledger where user_id = ? order by id", id);
    expect(ledger).toEqual([
      { kind: "credit", delta_micros: 1_000_000 },
      { kind: "adjustment", delta_micros: 300 - 1_000_000 },
      { kind: "credit", delta_micros: 50 },
    ]);
  });

  it("refuses an addition that would take the balance below 0 or past the maximum, changing nothing sent with it", async () => {
    const id = await newUser(1000, [4]);
    for (const addBalanceMicros of [-1001, MAX_BALANCE_MICROS]) {
      const refusal = await store.updateUser(id, { addBalanceMicros, username: "Renamed", modelIds: [8] }, T0).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(BalanceOutOfBounds);
      expect(refusal).toMatchObject({ balanceMicros: 1000, addMicros: addBalanceMicros });
    }
    expect(await store.getUserWithModels(id)).toMatchObject({ username: "Store User", balanceMicros: 1000, modelIds: [4] });
    expect(await store.updateUser(id, { addBalanceMicros: -1000 }, T0)).toMatchObject({ balanceMicros: 0 });
    const ledger = await query<{ delta_micros: number }>("select delta_micros from cost_ledger where user_id = ? order by id", id);
    expect(ledger).toEqual([{ delta_micros: 1000 }, { delta_micros: -1000 }]);
  });
});

describe("sessions and turns", () => {
  it("commits turns atomically and rebuilds the newest window with the next sequence number", async () => {
    const userId = await newUser();
    const session = newSession(userId);
    await commitTurns(session, 5);
    const context = await store.loadSessionContext(session.id, 3);
    expect(context?.recentHistory).toEqual([
      { role: "assistant", content: "a3" },
      { role: "user", content: "q4" },
      { role: "assistant", content: "a4" },
    ]);
    expect(context?.nextSeq).toBe(10);
    expect(context?.session).toMatchObject({ id: session.id, prompt: "p", lastActiveAt: T0 + 4 });
    expect((await store.readHistory(session.id)).map((h) => h.content)).toEqual(["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4"]);
    expect((await store.findUser(userId))?.balanceMicros).toBe(1_000_000 - 500);
    expect(await store.loadSessionContext(crypto.randomUUID(), 3)).toBeNull();
  });

  it("returns the balance after a turn and after a summary", async () => {
    const userId = await newUser(1000);
    const session = newSession(userId);
    const turn = await commitTurn({ session, isNew: true, entries: [{ role: "user", content: "x" }], firstSeq: 0, chargeMicros: 300, at: T0 });
    expect(turn).toEqual({ alreadyApplied: false, balancesMicros: [700] });
    expect(await commitSummary({ sessionId: session.id, userId, summary: "sum", chargeMicros: 200, at: T0 })).toEqual({
      alreadyApplied: false,
      balancesMicros: [500],
    });
    expect((await store.findSession(session.id))?.summary).toBe("sum");
  });

  it("commits a batch of turns and summaries in order, with each write's balance", async () => {
    const userId = await newUser(10_000);
    const session = newSession(userId);
    const turn = (i: number): TurnCommit => ({
      session,
      isNew: i === 0,
      entries: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }],
      firstSeq: 2 * i,
      chargeMicros: 1000,
      at: T0 + i,
    });
    const summary = (i: number): SummaryCommit => ({ sessionId: session.id, userId, summary: `after ${i}`, chargeMicros: 10, at: T0 + i });
    const result = await store.commitWrites(
      crypto.randomUUID(),
      [{ kind: "turn", turn: turn(0) }, { kind: "summary", summary: summary(0) }, { kind: "turn", turn: turn(1) }, { kind: "summary", summary: summary(1) }],
      false,
      T0,
    );
    expect(result).toEqual({ alreadyApplied: false, balancesMicros: [9000, 8990, 7990, 7980] });
    expect(await store.readHistory(session.id)).toEqual([
      { role: "user", content: "q0" },
      { role: "assistant", content: "a0" },
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
    ]);
    expect((await store.findSession(session.id))?.summary).toBe("after 1");
  });

  it("takes charges the balance no longer covers only as far as it goes, each ledger row saying what it took", async () => {
    // An admin lowered the balance to 1,000 while these turns ran on a reservation made from more.
    const userId = await newUser(1000);
    const session = newSession(userId);
    const turn = (i: number, chargeMicros: number): TurnCommit => ({ session, isNew: i === 0, entries: [{ role: "user", content: `q${i}` }], firstSeq: i, chargeMicros, at: T0 + i });
    const result = await store.commitWrites(
      crypto.randomUUID(),
      [{ kind: "turn", turn: turn(0, 700) }, { kind: "summary", summary: { sessionId: session.id, userId, summary: "s", chargeMicros: 500, at: T0 } }, { kind: "turn", turn: turn(1, 200) }],
      false,
      T0,
    );
    expect(result).toEqual({ alreadyApplied: false, balancesMicros: [300, 0, 0] });
    expect(await commitTurn({ ...turn(2, 50), isNew: false })).toEqual({ alreadyApplied: false, balancesMicros: [0] });
    const rows = await query<{ kind: string; delta_micros: number }>("select kind, delta_micros from cost_ledger where user_id = ? order by id", userId);
    expect(rows).toEqual([
      { kind: "credit", delta_micros: 1000 },
      { kind: "turn", delta_micros: -700 },
      { kind: "summary", delta_micros: -300 },
      { kind: "turn", delta_micros: 0 },
      { kind: "turn", delta_micros: 0 },
    ]);
    expect((await store.findUser(userId))?.balanceMicros).toBe(0);
  });

  it("commits a batch whose rows exceed what one statement may bind (D1: 100 values), with every balance", async () => {
    const userId = await newUser(1_000_000);
    const session = newSession(userId);
    const writes = Array.from({ length: 40 }, (_, i) => [
      {
        kind: "turn" as const,
        turn: {
          session: { ...session, prompt: `p${i}`, lastActiveAt: T0 + i },
          isNew: i === 0,
          entries: [
            { role: "user" as const, content: `q${i}` },
            { role: "assistant" as const, content: `a${i}` },
            { role: "file" as const, content: `f${i}.png` },
          ],
          firstSeq: 3 * i,
          chargeMicros: 100,
          at: T0 + i,
        },
      },
      { kind: "summary" as const, summary: { sessionId: session.id, userId, summary: `after ${i}`, chargeMicros: 1, at: T0 + i } },
    ]).flat();
    const result = await store.commitWrites(crypto.randomUUID(), writes, false, T0);
    expect(result.balancesMicros).toEqual(Array.from({ length: 40 }, (_, i) => [1_000_000 - 101 * i - 100, 1_000_000 - 101 * (i + 1)]).flat());
    const history = await store.readHistory(session.id);
    expect(history).toHaveLength(120);
    expect(history.slice(-3).map((h) => h.content)).toEqual(["q39", "a39", "f39.png"]);
    expect(await store.findSession(session.id)).toMatchObject({ prompt: "p39", summary: "after 39", lastActiveAt: T0 + 39 });
    expect(await query("SELECT id FROM cost_ledger WHERE session_id = ?", session.id)).toHaveLength(80);
    expect((await store.findUser(userId))?.balanceMicros).toBe(1_000_000 - 40 * 101);
  });

  it("never applies a batch twice, whether or not the retry is announced", async () => {
    const userId = await newUser(10_000);
    const session = newSession(userId);
    const batchId = crypto.randomUUID();
    const writes = [{ kind: "turn" as const, turn: { session, isNew: true, entries: [{ role: "user" as const, content: "q" }], firstSeq: 0, chargeMicros: 1000, at: T0 } }];
    await store.commitWrites(batchId, writes, false, T0);
    // The acknowledgement was lost: the session object sends the same batch again as a retry.
    expect(await store.commitWrites(batchId, writes, true, T0)).toEqual({ alreadyApplied: true, balancesMicros: [] });
    // Even unannounced, the batch's guard row refuses it as a whole.
    await expect(store.commitWrites(batchId, writes, false, T0)).rejects.toThrow();
    expect((await store.findUser(userId))?.balanceMicros).toBe(9000);
    expect(await store.readHistory(session.id)).toHaveLength(1);
    expect(await query("SELECT kind FROM cost_ledger WHERE user_id = ? AND kind = 'turn'", userId)).toHaveLength(1);
  });

  it("changes nothing when any statement of a turn fails", async () => {
    const userId = await newUser(1000);
    const session = newSession(userId);
    await commitTurns(session, 1, 100);
    // seq 0 exists already: the message insert fails, so the session update and the debit must not land.
    const failing = commitTurn({
      session: { ...session, prompt: "changed", lastActiveAt: T0 + 99 },
      isNew: false,
      entries: [{ role: "user", content: "dup" }],
      firstSeq: 0,
      chargeMicros: 500,
      at: T0 + 99,
    });
    await expect(failing).rejects.toThrow();
    expect((await store.findUser(userId))?.balanceMicros).toBe(900);
    expect(await store.findSession(session.id)).toMatchObject({ prompt: "p", lastActiveAt: T0 });
    expect(await store.readHistory(session.id)).toHaveLength(2);
  });

  it("lists sessions most recently active first", async () => {
    const userId = await newUser();
    const older = newSession(userId, { name: "older", lastActiveAt: T0 + 1 });
    const newer = newSession(userId, { name: "newer", lastActiveAt: T0 + 2 });
    await commitTurns(older, 1);
    await commitTurns(newer, 1);
    expect(await store.listSessions(userId)).toEqual([
      { id: newer.id, name: "newer" },
      { id: older.id, name: "older" },
    ]);
  });

  it("never loses a debit under concurrent charges", async () => {
    const userId = await newUser(1_000_000);
    const session = newSession(userId);
    await commitTurns(session, 1, 0);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => commitSummary({ sessionId: session.id, userId, summary: `s${i}`, chargeMicros: 1000, at: T0 })),
    );
    expect((await store.findUser(userId))?.balanceMicros).toBe(1_000_000 - 20_000);
  });
});

describe("files", () => {
  const file = (userId: string, sessionId: string, fileName: string): FileRecord => ({
    fileName,
    sessionId,
    userId,
    originalName: "a.png",
    contentType: "image/png",
    size: 12,
    r2Key: `users/${userId}/sessions/${sessionId}/${fileName}`,
    createdAt: T0,
  });

  it("registers a file with its new session atomically, finds it, and deletes it with the session", async () => {
    const userId = await newUser();
    const session = newSession(userId, { name: "New Chat" });
    const record = file(userId, session.id, `${crypto.randomUUID().slice(0, 22)}.png`);
    await store.registerFile(record, session);
    expect(await store.findSession(session.id)).toMatchObject({ name: "New Chat" });
    expect(await store.findFile(record.fileName)).toEqual(record);
    expect(await store.listSessionFiles(session.id)).toEqual([record]);
    expect((await store.loadSessionContext(session.id, 10))?.files).toEqual([record]);

    await store.deleteSession(session.id);
    expect(await store.findSession(session.id)).toBeNull();
    expect(await store.findFile(record.fileName)).toBeNull();
  });

  it("does not create the session when its first file cannot be recorded", async () => {
    const userId = await newUser();
    const first = newSession(userId);
    const taken = file(userId, first.id, `${crypto.randomUUID().slice(0, 22)}.png`);
    await store.registerFile(taken, first);
    const second = newSession(userId);
    await expect(store.registerFile({ ...taken, sessionId: second.id }, second)).rejects.toThrow();
    expect(await store.findSession(second.id)).toBeNull();
  });
});
