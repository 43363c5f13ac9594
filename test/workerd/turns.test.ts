// Chat turns: session creation and naming, history order, the context handed to the agent, summaries, billing.
import { describe, expect, it } from "vitest";
import { chargedMicros, DEFAULT_TURN_COST, SUMMARY_COST } from "../agents/scripted-costs";
import {
  agentView,
  balanceMicros,
  chat,
  committed,
  createUser,
  query,
  quiet,
  useSockets,
} from "./helpers/backend";
import { HISTORY_WINDOW } from "./helpers/env";
import { MessageType } from "../../protocol";

const open = useSockets();


async function storedSummary(sessionId: string): Promise<string> {
  const [row] = await query<{ summary: string }>("select summary from sessions where id = ?", sessionId);
  return row?.summary ?? "";
}

describe("new sessions", () => {
  it("creates a session named from the first message, cut at a word boundary", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const frame = await chat(ws, user_id, "NEW", "Please explain how photosynthesis works in desert plants during drought");
    expect(frame.data?.session_name).toBe("Please explain how photosynthesis works");
    // The database gets the turn right behind the reply.
    await committed(frame.data?.session_id as string);
    const [row] = await query<{ name: string; user_id: string; model_id: number }>("select name, user_id, model_id from sessions where id = ?", frame.data?.session_id);
    expect(row).toEqual({ name: "Please explain how photosynthesis works", user_id, model_id: 4 });
  });

  it("names a session from a long message without spaces without crashing or splitting a character", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const frame = await chat(ws, user_id, "NEW", "👩‍👩‍👧‍👦".repeat(60));
    expect(frame).not.toHaveProperty("error");
    expect(frame.data?.session_name).toBe("👩‍👩‍👧‍👦".repeat(40));
  });

  it("stores the session prompt and hands it to the agent; a later non-empty prompt replaces it", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "hi", { session_prompt: "You are terse." });
    const sessionId = first.data?.session_id as string;
    expect(agentView(first).prompt).toBe("You are terse.");
    expect(agentView(await chat(ws, user_id, sessionId, "again")).prompt).toBe("You are terse.");
    expect(agentView(await chat(ws, user_id, sessionId, "new prompt", { session_prompt: "Be verbose." })).prompt).toBe(
      "Be verbose.",
    );
    expect(agentView(await chat(ws, user_id, sessionId, "kept")).prompt).toBe("Be verbose.");
  });

  it("keeps the session's model unless the request names another one the user may use", async () => {
    const { user_id } = await createUser({ models: [4, 8] });
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "start", { model_name: "llama3.1:8b" });
    const sessionId = first.data?.session_id as string;
    expect(agentView(await chat(ws, user_id, sessionId, "no model", { model_name: undefined })).model).toBe("llama3.1:8b");
    expect(agentView(await chat(ws, user_id, sessionId, "switch", { model_name: "gpt-4-turbo" })).provider).toBe("openai");
    expect(await chat(ws, user_id, sessionId, "not mine", { model_name: "gpt-4" })).toMatchObject({ code: 7 });
  });
});

describe("history and context", () => {
  it("keeps the history in order across turns as user/assistant pairs", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "one");
    const sessionId = first.data?.session_id as string;
    for (const message of ["two", "three", "four"]) await chat(ws, user_id, sessionId, message);
    const frame = await ws.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });
    const chats = JSON.parse(frame.data?.chat as string) as { role: string; content: string }[];
    expect(chats.map((c) => c.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(chats.filter((c) => c.role === "user").map((c) => c.content)).toEqual(["one", "two", "three", "four"]);
    expect(JSON.parse(chats[7]!.content).message).toBe("four");
    const rows = await query<{ seq: number }>("select seq from messages where session_id = ? order by seq", sessionId);
    expect(rows.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("hands the agent only the last MAX_CHAT_HISTORY_CONTEXT entries before this message", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "m1");
    const sessionId = first.data?.session_id as string;
    expect(agentView(first).history).toEqual([]);
    const second = agentView(await chat(ws, user_id, sessionId, "m2"));
    expect(second.history.map((h) => h.role)).toEqual(["user", "assistant"]);
    await chat(ws, user_id, sessionId, "m3");
    const fourth = agentView(await chat(ws, user_id, sessionId, "m4"));
    expect(fourth.history).toHaveLength(HISTORY_WINDOW);
    expect(fourth.history.filter((h) => h.role === "user").map((h) => h.content)).toEqual(["m2", "m3"]);
  });

  it("updates the summary after a turn and hands it to the agent on the next", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "remember the number 42");
    const sessionId = first.data?.session_id as string;
    expect(agentView(first).summary).toBe("");
    await quiet(sessionId);
    expect(await storedSummary(sessionId)).toBe("User: remember the number 42");
    const second = agentView(await chat(ws, user_id, sessionId, "and 43"));
    expect(second.summary).toBe("User: remember the number 42");
    const third = agentView(await chat(ws, user_id, sessionId, "and 44"));
    expect(third.summary).toBe("User: remember the number 42 | User: and 43");
  });

  it("leaves the summary unchanged when the agent does not implement Summarize and the fallback fails, and the turn still works", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "hello");
    const sessionId = first.data?.session_id as string;
    await quiet(sessionId);
    expect(await storedSummary(sessionId)).toBe("User: hello");
    const before = await balanceMicros(user_id);
    const second = await chat(ws, user_id, sessionId, "skip this one [no-summary]");
    expect(second).not.toHaveProperty("error");
    const third = agentView(await chat(ws, user_id, sessionId, "next"));
    expect(third.summary).toBe("User: hello");
    // The second turn was charged without a summary charge.
    await quiet(sessionId);
    const ledger = await query<{ kind: string }>("select kind from cost_ledger where session_id = ? order by id", sessionId);
    expect(ledger.slice(0, 4).map((r) => r.kind)).toEqual(["turn", "summary", "turn", "turn"]);
    expect(before - (await balanceMicros(user_id))).toBeGreaterThanOrEqual(2 * chargedMicros(DEFAULT_TURN_COST));
  });

  it("summarizes with the OpenAI-compatible fallback when the agent has no Summarize, charging its tokens at SUMMARY_MODEL's prices", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const sessionId = (await chat(ws, user_id, "NEW", "hello [no-summary] [fallback-ok]")).data?.session_id as string;
    await quiet(sessionId);
    expect(await storedSummary(sessionId)).toBe("fallback summary by gpt-3.5-turbo-0125");
    // The next turn's agent gets it (and that turn's own summary fails: no marker).
    expect(agentView(await chat(ws, user_id, sessionId, "next")).summary).toBe("fallback summary by gpt-3.5-turbo-0125");
    await committed(sessionId);
    // 1,000 prompt and 500 completion tokens at gpt-3.5-turbo-0125's 500 and 1,500 micro-dollars per 1K tokens.
    const [summaryCharge] = await query<{ delta_micros: number }>("select delta_micros from cost_ledger where session_id = ? and kind = 'summary' order by id", sessionId);
    expect(summaryCharge?.delta_micros).toBe(-1250);
  });
});

describe("billing", () => {
  it("debits the agent's cost plus the summary's cost and writes one ledger row per charge", async () => {
    const { user_id } = await createUser({ balance: 1 });
    const ws = await open();
    const frame = await chat(ws, user_id, "NEW", "cost:0.25 expensive question");
    const sessionId = frame.data?.session_id as string;
    const expected = 1_000_000 - chargedMicros(0.25) - chargedMicros(SUMMARY_COST);
    await quiet(sessionId);
    expect(await balanceMicros(user_id)).toBe(expected);
    const ledger = await query<{ kind: string; delta_micros: number; session_id: string }>(
      "select kind, delta_micros, session_id from cost_ledger where user_id = ? order by id",
      user_id,
    );
    expect(ledger).toEqual([
      { kind: "credit", delta_micros: 1_000_000, session_id: null },
      { kind: "turn", delta_micros: -chargedMicros(0.25), session_id: sessionId },
      { kind: "summary", delta_micros: -chargedMicros(SUMMARY_COST), session_id: sessionId },
    ]);
    const balance = await ws.request({ type: MessageType.Balance, data: { user_id } });
    expect(balance.data?.balance).toBeCloseTo(expected / 1e6, 9);
  });

  it("hands the agent the user's balance in dollars", async () => {
    const { user_id } = await createUser({ balance: 0.5 });
    const ws = await open();
    expect(agentView(await chat(ws, user_id, "NEW", "what do I have?")).balance).toBeCloseTo(0.5, 6);
  });

  it("refuses a model the user may not use, without creating a session or charging", async () => {
    const { user_id } = await createUser({ models: [8], balance: 1 });
    const ws = await open();
    expect(await chat(ws, user_id, "NEW", "hi", { model_name: "gpt-4" })).toMatchObject({
      error: "User Does Not Have Model Access",
      code: 7,
      type: MessageType.ChatMessage,
    });
    expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
    expect(await balanceMicros(user_id)).toBe(1_000_000);
  });

  it("refuses an unknown model with its own code", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    expect(await chat(ws, user_id, "NEW", "hi", { model_name: "gpt-9" })).toMatchObject({ code: 102, type: MessageType.ChatMessage });
    expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
  });

  it("refuses a zero balance without creating a session", async () => {
    const { user_id } = await createUser({ balance: 0 });
    const ws = await open();
    expect(await chat(ws, user_id, "NEW", "hi")).toEqual({ error: "Insufficient balance", code: 15, type: MessageType.ChatMessage, detail: expect.stringContaining("the balance leaves $0 for it") });
    expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
  });

  it("refuses further turns once a turn has used the balance up", async () => {
    // A short turn reserves about 0.29 dollars (README "Money"): the first fits, the second no longer does.
    const { user_id } = await createUser({ balance: 0.4 });
    const ws = await open();
    const first = await chat(ws, user_id, "NEW", "cost:0.2 pricey");
    expect(first).not.toHaveProperty("error");
    const sessionId = first.data?.session_id as string;
    expect(await chat(ws, user_id, sessionId, "more")).toMatchObject({ code: 15 });
    const history = await ws.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });
    expect(JSON.parse(history.data?.chat as string)).toHaveLength(2);
  });
});
