// Money never runs past the balance, however many sessions of a user run at once: each turn reserves in the
// user's account before its agent is called and is charged no more than its reservation; the ledger stays exact.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configOf } from "../../src/config";
import { turnBudgetMicros } from "../../src/domain/session/turn/charging";
import { MessageType } from "../../protocol";
import { testEnv } from "./helpers/env";
import { chargedMicros, SUMMARY_COST } from "../agents/scripted-costs";
import { balanceMicros, chat, committed, createUser, query, useSockets, type TestSocket } from "./helpers/backend";

const open = useSockets();

const ledgerTotal = async (userId: string) =>
  (await query<{ total: number }>("select sum(delta_micros) as total from cost_ledger where user_id = ?", userId))[0]?.total ?? 0;

/** Sends `turns` turns on each of `sessions` sessions at once (one socket each) and waits for every answer. */
async function race(userId: string, sessions: number, turns: number, message: string) {
  // The user's sockets share the user's hub, as a signed-in user's tabs do.
  const sockets: TestSocket[] = await Promise.all(Array.from({ length: sessions }, () => open(`?user_id=${userId}`)));
  const ids = await Promise.all(sockets.map(async (socket) => (await chat(socket, userId, "NEW", `${message} first`)).data?.session_id as string | undefined));
  const answers = await Promise.all(
    sockets.map(async (socket, s) => {
      const replies = [];
      for (let t = 1; t < turns; t++) replies.push(await chat(socket, userId, ids[s] ?? "NEW", `${message} ${t}`));
      return replies;
    }),
  );
  return { ids: ids.filter((id): id is string => id !== undefined), answers: answers.flat() };
}

// On both engines. On PostgreSQL (whose local Hyperdrive does not pool connections) each session object holds at
// most one connection, and only while it works (docs/architecture.md), so 100 sessions fit a default server.
const runs: [sessions: number, turns: number][] = [
  [10, 10],
  [100, 1],
];

/** What a turn with this message on a new session reserves at gpt-4-turbo's prices (charging.test.ts checks the
 *  rule): a turn runs only if all of it is spendable. */
const reservationOf = (message: string) => {
  const config = configOf(testEnv);
  return turnBudgetMicros({ inputMicrosPer1k: 10_000, outputMicrosPer1k: 30_000 }, message.length, { maxOutputTokens: config.MAX_OUTPUT_TOKENS, maxTurnCostMicros: config.maxTurnCostMicros });
};

describe("reservations across sessions", () => {
  it.each(runs)("%i sessions x %i turns on a balance for a few turns end at or above zero with the ledger exact", async (sessions, turns) => {
    // A turn reserves about 0.29 dollars and costs 0.1 (and its summary): 3 fit at once, about 7 run in all.
    const perTurn = chargedMicros(0.1) + chargedMicros(SUMMARY_COST);
    const { user_id } = await createUser({ balance: 1 });
    const { ids, answers } = await race(user_id, sessions, turns, "cost:0.1");
    await Promise.all(ids.map((id) => committed(id)));
    const balance = await balanceMicros(user_id);
    expect(balance).toBeGreaterThanOrEqual(0);
    expect(await ledgerTotal(user_id)).toBe(balance);
    // Turns were answered and charged; the others were refused as unaffordable (15) or over the user's turns in flight.
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(balance).toBeLessThanOrEqual(1_000_000 - 3 * perTurn);
    for (const answer of answers) if ("error" in answer) expect([15, 101, 108]).toContain(answer.code);
  });

  it("runs exactly as many of one user's turns sent at once as the balance holds whole reservations", async () => {
    // Each turn is charged its whole reservation (a reported cost of 1e13 is capped at it), so money only ever goes
    // to turns: 3 reservations' worth runs 3 of 6 turns, however the sessions' leases held it when they asked.
    const message = (s: number) => `cost:1e13 tab ${s}`;
    const reservation = reservationOf(message(0));
    const { user_id } = await createUser({ balance: (3 * reservation) / 1e6 });
    const sockets = await Promise.all(Array.from({ length: 6 }, () => open(`?user_id=${user_id}`)));
    const answers = await Promise.all(sockets.map((socket, s) => chat(socket, user_id, "NEW", message(s))));
    const answered = answers.filter((answer) => !("error" in answer));
    expect(answered).toHaveLength(3);
    for (const answer of answers) if ("error" in answer) expect(answer).toMatchObject({ code: 15, detail: expect.stringContaining("the balance leaves $0 for it") });
    await Promise.all(answered.map((answer) => committed(answer.data?.session_id as string)));
    expect(await balanceMicros(user_id)).toBe(0);
    expect(await ledgerTotal(user_id)).toBe(0);
  });

  it("caps a reported cost at the turn's reservation, so an agent over-reporting cannot push the balance below zero", async () => {
    const { user_id } = await createUser({ balance: 0.3 });
    const ws = await open();
    const answer = await chat(ws, user_id, "NEW", "cost:1e13 expensive");
    expect(answer).not.toHaveProperty("error");
    await committed(answer.data?.session_id as string);
    // The turn took its whole reservation; its summary found none left.
    expect(await balanceMicros(user_id)).toBe(300_000 - reservationOf("cost:1e13 expensive"));
    expect(await ledgerTotal(user_id)).toBe(await balanceMicros(user_id));
  });

  it.each(["NaN", "-1", "Infinity"])("charges a reported cost of %s as the turn's reservation", async (cost) => {
    const { user_id } = await createUser({ balance: 0.3 });
    const ws = await open();
    const answer = await chat(ws, user_id, "NEW", `cost:${cost} odd`);
    expect(answer).not.toHaveProperty("error");
    await committed(answer.data?.session_id as string);
    // The whole reservation was charged; the summary found none left.
    expect(await balanceMicros(user_id)).toBe(300_000 - reservationOf(`cost:${cost} odd`));
    expect(await ledgerTotal(user_id)).toBe(await balanceMicros(user_id));
  });

  it("fails an empty reply with code 6, charges nothing and stores nothing", async () => {
    const { user_id } = await createUser({ balance: 1 });
    const ws = await open();
    expect(await chat(ws, user_id, "NEW", "empty please")).toMatchObject({ code: 6, type: MessageType.ChatMessage });
    expect(await balanceMicros(user_id)).toBe(1_000_000);
    expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
    // The reservation was released: the whole balance is spendable again.
    expect(agentBalance(await chat(ws, user_id, "NEW", "what do I have?"))).toBeCloseTo(1, 6);
  });
});

function agentBalance(frame: { data?: Record<string, unknown> }): number {
  return (JSON.parse(frame.data?.message as string) as { balance: number }).balance;
}

describe("a turn whose agent answers outside the protocol", () => {
  it.each(["garbage:html", "garbage:bytes", "garbage:huge"])("fails %s with code 6, charges nothing and frees its reservation", async (marker) => {
    const { user_id } = await createUser({ balance: 1 });
    const ws = await open();
    expect(await chat(ws, user_id, "NEW", `${marker} please`)).toMatchObject({ code: 6, type: MessageType.ChatMessage });
    expect(await balanceMicros(user_id)).toBe(1_000_000);
    expect(agentBalance(await chat(ws, user_id, "NEW", "what do I have?"))).toBeCloseTo(1, 6);
  });
});

describe("reservations, generated", () => {
  // Generated runs open up to 144 session objects; on PostgreSQL each holds a connection only while it works.
  it("keep every balance at or above zero with the ledger exact, whatever the sessions, costs and balance", async () => {
    const costs = fc.constantFrom("0.0015", "0.004", "0.02", "1e13", "NaN", "-1", "Infinity", "0");
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 12 }),
        fc.array(costs, { minLength: 1, maxLength: 3 }),
        // Up to 4 reservations of a short turn (about 0.29 dollars each): balances that fit none, one, or some.
        fc.integer({ min: 1, max: 1_200_000 }),
        async (sessions, sessionCosts, balance) => {
          const { user_id } = await createUser({ balance: balance / 1e6 });
          const sockets = await Promise.all(Array.from({ length: sessions }, () => open()));
          const answers = await Promise.all(
            sockets.map(async (socket, s) => {
              let sessionId = "NEW";
              const replies = [];
              for (const cost of sessionCosts) {
                const reply = await chat(socket, user_id, sessionId, `cost:${cost} session ${s}`);
                sessionId = (reply.data?.session_id as string | undefined) ?? sessionId;
                replies.push(reply);
              }
              return { sessionId, replies };
            }),
          );
          await Promise.all(answers.filter((a) => a.sessionId !== "NEW").map((a) => committed(a.sessionId)));
          const after = await balanceMicros(user_id);
          expect(after).toBeGreaterThanOrEqual(0);
          expect(await ledgerTotal(user_id)).toBe(after);
          for (const { replies } of answers) for (const reply of replies) if ("error" in reply) expect([15, 108]).toContain(reply.code);
        },
      ),
      { numRuns: 12 },
    );
  }, 60_000);
});
