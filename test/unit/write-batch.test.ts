// Folding a session's journaled writes into one database batch: the final session state, history rows in sequence,
// one ledger row per charge, and the balance after each write.
import { describe, expect, it } from "vitest";
import { balancesAfterEachWrite, chunkRows, foldWrites } from "../../src/storage/write-batch";
import { session, summaryWrite, T0, turnWrite } from "./fixtures";

describe("foldWrites", () => {
  it("folds a new session's turns and summaries into one session to create, its rows and its ledger", async () => {
    const folded = foldWrites([turnWrite(0, 100), summaryWrite(0, 10), turnWrite(1, 200, { prompt: "Be long." }), summaryWrite(1, 20)]);
    expect(folded.newSession).toEqual({ ...session, lastActiveAt: T0 + 1, prompt: "Be long.", summary: "summary 1" });
    expect(folded.sessionChanges).toEqual({});
    expect(folded.messages.map((m) => [m.seq, m.role, m.content])).toEqual([
      [0, "user", "question 0"],
      [1, "assistant", "answer 0"],
      [2, "user", "question 1"],
      [3, "assistant", "answer 1"],
    ]);
    expect(folded.ledger.map((row) => [row.kind, row.deltaMicros])).toEqual([
      ["turn", -100],
      ["summary", -10],
      ["turn", -200],
      ["summary", -20],
    ]);
  });

  it("folds writes to an existing session into the changes of its last write", async () => {
    // A session an upload started gets its name at its first turn (session-name.ts): the name is a change too.
    const folded = foldWrites([summaryWrite(0), turnWrite(1, 100, { modelId: 8, name: "Named by its first message" }), turnWrite(2, 100, { modelId: 5, name: "Named by its first message" })]);
    expect(folded.newSession).toBeNull();
    expect(folded.sessionChanges).toEqual({ summary: "summary 0", modelId: 5, name: "Named by its first message", prompt: session.prompt, lastActiveAt: T0 + 2, streamed: false });
  });

  it("refuses an empty batch", () => {
    expect(() => foldWrites([])).toThrow("at least one write");
  });
});

describe("balancesAfterEachWrite", () => {
  it("gives the balance right after each charge from the balance after the whole batch", () => {
    expect(balancesAfterEachWrite([-100, -10, -200], 690)).toEqual([900, 890, 690]);
  });
});

describe("chunkRows", () => {
  it("keeps every multi-row insert within the bound parameters", () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ a: i, b: i, c: i, d: i }));
    const chunks = chunkRows(rows, 40);
    expect(chunks.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(chunks.flat()).toEqual(rows);
  });
});
