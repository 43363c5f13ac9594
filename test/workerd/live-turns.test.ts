// Protocol v2 (docs/protocol.md section 9): a turn streams to the v2 sockets that watch its session, resumes after
// a reconnect, can be cancelled, and a v1 socket sees none of it. The scripted agent streams (stream:<n>:<ms>,
// die:<k>, stall:<k>, chunkcost, [unary-only]: test/agents/scripted-agent.ts).
import { abortAllDurableObjects } from "cloudflare:test";
import { expect, it } from "vitest";
import { balanceMicros, chat, committed, createUser, query, quiet, useSockets, type TestSocket } from "./helpers/backend";
import type { AnyTurnEvent } from "../support/frame-client";
import { testEnv } from "./helpers/env";
import { MessageType } from "../../protocol";
import { chargedMicros, DEFAULT_TURN_COST } from "../agents/scripted-costs";

const open = useSockets();
const openLive = (query = "") => open(`?v=2${query ? `&${query.replace(/^\?/, "")}` : ""}`);

const deltaTexts = (events: AnyTurnEvent[]) => events.filter((e) => e.event === "delta").map((e) => e.text).join("");
const seqs = (events: AnyTurnEvent[]) => events.filter((e) => e.event === "delta").map((e) => e.seq);

function send(ws: TestSocket, userId: string, sessionId: string, message: string, id?: string): void {
  ws.send({
    type: MessageType.ChatMessage,
    data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "" },
    ...(id ? { id } : {}),
  });
}

async function history(sessionId: string) {
  await committed(sessionId);
  return query<{ role: string; content: string }>("select role, content from messages where session_id = ? order by seq", sessionId);
}

/** Waits until the session's first turn has its summary and everything is in the database. */
async function summarized(sessionId: string): Promise<void> {
  await quiet(sessionId);
  expect((await query<{ summary: string }>("select summary from sessions where id = ?", sessionId))[0]?.summary).toBeTruthy();
}

async function agentCalls(sessionId: string): Promise<{ process: number; processStream: number }> {
  const response = await testEnv.AGENT.fetch(`http://agent.test/__calls?session_id=${sessionId}`);
  return response.json();
}

it("streams a turn to the v2 socket that sent it: start, every delta in order, end, then the usual answer", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "stream:6:5 hello", "m1");
  const { events, answer } = await ws.untilAnswer();

  expect(answer).toMatchObject({ type: MessageType.ChatMessage, id: "m1", data: { user_id, session_name: "stream:6:5 hello" } });
  const sessionId = answer.data?.session_id as string;
  expect(events[0]).toEqual({ session_id: sessionId, turn: 0, event: "start", session_name: "stream:6:5 hello", user_message: "stream:6:5 hello" });
  expect(seqs(events)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(events.filter((e) => e.event === "delta").every((e) => e.replay === false)).toBe(true);
  expect(deltaTexts(events)).toBe(answer.data?.message);
  expect(events.at(-1)).toEqual({ session_id: sessionId, turn: 0, event: "end", message: answer.data?.message });

  send(ws, user_id, sessionId, "brief second");
  const second = await ws.untilAnswer();
  expect(second.events.map((e) => [e.turn, e.event])).toEqual([
    [1, "start"],
    [1, "delta"],
    [1, "delta"],
    [1, "delta"],
    [1, "end"],
  ]);
  expect(deltaTexts(second.events)).toBe("ok: brief second");
});

it("sends a v1 socket nothing new while a v2 socket of the same user watches its turn", async () => {
  const { user_id } = await createUser();
  const v1 = await open(`?user_id=${user_id}`);
  const v2 = await openLive(`user_id=${user_id}`);
  const first = await chat(v1, user_id, "NEW", "brief one");
  const sessionId = first.data?.session_id as string;
  expect(first).toEqual({ type: MessageType.ChatMessage, data: { user_id, session_id: sessionId, session_name: "brief one", message: "ok: brief one" } });

  // The v2 socket watches once it read the session; the v1 socket's next turn streams to it.
  expect((await v2.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } })).type).toBe(MessageType.SessionChats);
  const answer = await chat(v1, user_id, sessionId, "stream:4:5 two");
  expect(answer).toEqual({ type: MessageType.ChatMessage, data: { user_id, session_id: sessionId, session_name: "brief one", message: "part-0 part-1 part-2 part-3 " } });
  const watched = await v2.untilTurnEnds();
  expect(watched.map((e) => e.event)).toEqual(["start", "delta", "delta", "delta", "delta", "end"]);
  expect(deltaTexts(watched)).toBe(answer.data?.message);

  // Nothing else reached the v1 socket: its next frame is the answer to its next request.
  expect(await v1.request({ type: MessageType.Balance, data: { user_id }, id: "after" })).toMatchObject({ type: MessageType.Balance, id: "after" });
  // Types 8 and 9 are unknown to a v1 socket, as they always were.
  expect(await v1.request({ type: MessageType.CancelTurn, data: { user_id, session_id: sessionId } })).toEqual({ error: "Unknown Message", code: 1, type: 9 });
  expect(await v1.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: 0, after_seq: -1 } })).toEqual({
    error: "Unknown Message",
    code: 1,
    type: 8,
  });
});

it("shows a turn live in two tabs, whichever hub holds each", async () => {
  const { user_id } = await createUser();
  const tabA = await openLive(`user_id=${user_id}`);
  const tabB = await openLive(); // its own hub: no ?user_id
  send(tabA, user_id, "NEW", "brief first");
  const sessionId = (await tabA.untilAnswer()).answer.data?.session_id as string;
  await tabB.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });

  send(tabA, user_id, sessionId, "stream:5:10 together");
  const [inA, inB] = await Promise.all([tabA.untilAnswer(), tabB.untilTurnEnds()]);
  expect(inB).toEqual(inA.events);
  expect(deltaTexts(inB)).toBe("part-0 part-1 part-2 part-3 part-4 ");
});

it("resumes a turn after the socket dropped mid-stream: the exact reply, no gap, no duplicate", async () => {
  const { user_id } = await createUser();
  const first = await openLive();
  send(first, user_id, "NEW", "stream:12:40 long answer");
  const start = await first.event();
  expect(start.event).toBe("start");
  const seen: AnyTurnEvent[] = [];
  while (seen.length < 3) seen.push(await first.event());
  first.close();

  const second = await openLive();
  const resumed = await second.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: start.session_id, turn: start.turn, after_seq: 2 } });
  expect(resumed).toEqual({ type: MessageType.ResumeTurn, data: { user_id, session_id: start.session_id, turn: 0, state: "streaming" } });
  const rest = await second.untilTurnEnds();
  expect(rest.at(-1)?.event).toBe("end");
  expect([...seqs(seen), ...seqs(rest)]).toEqual([...Array(12).keys()]);
  // Replayed deltas come first, then the live ones.
  const replays = rest.filter((e) => e.event === "delta").map((e) => e.replay);
  expect(replays).toEqual([...replays].sort((a, b) => Number(b) - Number(a)));
  const reply = deltaTexts([...seen, ...rest]);
  expect(reply).toBe(Array.from({ length: 12 }, (_, i) => `part-${i} `).join(""));
  expect(rest.at(-1)?.message).toBe(reply);
  expect((await history(start.session_id)).map((h) => h.content)).toEqual(["stream:12:40 long answer", reply]);
});

it("resumes a finished turn from storage, also after the session's object was evicted; older or foreign turns are unknown or not found", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "stream:5:1 kept");
  const { events, answer } = await ws.untilAnswer();
  const sessionId = answer.data?.session_id as string;
  await committed(sessionId);

  await abortAllDurableObjects();
  const again = await openLive();
  expect(await again.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: 0, after_seq: 1 } })).toEqual({
    type: MessageType.ResumeTurn,
    data: { user_id, session_id: sessionId, turn: 0, state: "done" },
  });
  const replayed = await again.untilTurnEnds();
  expect(seqs(replayed)).toEqual([2, 3, 4]);
  expect(replayed.filter((e) => e.event === "delta").every((e) => e.replay)).toBe(true);
  expect(replayed.at(-1)).toEqual(events.at(-1));

  expect((await again.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: 7, after_seq: -1 } })).data).toMatchObject({ state: "unknown" });
  const stranger = await createUser();
  expect(await again.request({ type: MessageType.ResumeTurn, data: { user_id: stranger.user_id, session_id: sessionId, turn: 0, after_seq: -1 } })).toEqual({
    error: "Session not found",
    code: 101,
    type: 8,
  });
});

it("cancels a running turn from the socket waiting for it: partial reply kept and answered, charged its prompt and the reply delivered, then the cancel's answer", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "brief first");
  const sessionId = (await ws.untilAnswer()).answer.data?.session_id as string;
  await summarized(sessionId);
  const balanceBefore = await balanceMicros(user_id);
  const ledgerBefore = await query<{ id: number }>("select id from cost_ledger where user_id = ?", user_id);
  // What the agent is sent: the message, the session's summary and its history so far (no system prompt).
  const [{ summary } = { summary: "" }] = await query<{ summary: string }>("select summary from sessions where id = ?", sessionId);
  const promptChars = "stream:50:50 never finishes".length + summary.length + (await history(sessionId)).reduce((sum, entry) => sum + entry.content.length, 0);

  send(ws, user_id, sessionId, "stream:50:50 never finishes", "t2");
  const events: AnyTurnEvent[] = [];
  while (events.filter((e) => e.event === "delta").length < 3) events.push(await ws.event());
  ws.send({ type: MessageType.CancelTurn, data: { user_id, session_id: sessionId }, id: "c1" });
  const { events: rest, answer } = await ws.untilAnswer();
  const all = [...events, ...rest];
  const cancelled = all.at(-1)!;
  expect(cancelled.event).toBe("cancelled");
  const partial = deltaTexts(all);
  expect(partial.startsWith("part-0 part-1 part-2 ")).toBe(true);
  expect(partial.length).toBeLessThan("part-00 ".length * 50);
  expect(cancelled.message).toBe(partial);
  expect(answer).toEqual({ type: MessageType.ChatMessage, id: "t2", data: { user_id, session_id: sessionId, session_name: "brief first", message: partial, cancelled: true } });
  expect(await ws.next()).toEqual({ type: MessageType.CancelTurn, id: "c1", data: { user_id, session_id: sessionId, turn: 1 } });

  expect((await history(sessionId)).slice(2)).toEqual([
    { role: "user", content: "stream:50:50 never finishes" },
    { role: "assistant", content: partial },
  ]);
  // No cost reported: the prompt's tokens and the partial reply's (4 characters each, rounded up) at gpt-4-turbo's
  // input and output prices, 10,000 and 30,000 micro-dollars per 1K tokens.
  await quiet(sessionId);
  const turnCharges = await query<{ delta_micros: number }>("select delta_micros from cost_ledger where user_id = ? and kind = 'turn' and id > ?", user_id, ledgerBefore.at(-1)?.id ?? 0);
  expect(turnCharges).toEqual([{ delta_micros: -Math.round((Math.ceil(promptChars / 4) * 10_000 + Math.ceil(partial.length / 4) * 30_000) / 1000) }]);
  const ledgerSum = await query<{ total: number }>("select sum(delta_micros) as total from cost_ledger where user_id = ? and id > ?", user_id, ledgerBefore.at(-1)?.id ?? 0);
  expect(await balanceMicros(user_id)).toBe(balanceBefore + (ledgerSum[0]?.total ?? 0));

  // The session goes on, with the partial reply in its history.
  send(ws, user_id, sessionId, "brief after");
  expect((await ws.untilAnswer()).answer.data).toMatchObject({ message: "ok: brief after" });
});

it("charges a cancelled turn what the agent reported before the cancel; cancelling with no running turn is code 110", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  const other = await openLive();
  send(ws, user_id, "NEW", "chunkcost billed");
  const start = await ws.event();
  const first = await ws.event();
  expect(first).toMatchObject({ event: "delta", seq: 0 });
  // From another socket: its answer comes once the turn has ended.
  const cancel = await other.request({ type: MessageType.CancelTurn, data: { user_id, session_id: start.session_id } });
  expect(cancel).toEqual({ type: MessageType.CancelTurn, data: { user_id, session_id: start.session_id, turn: 0 } });
  const { answer } = await ws.untilAnswer();
  expect(answer.data).toMatchObject({ cancelled: true });
  const partial = answer.data?.message as string;
  const chunks = partial.split(" ").filter(Boolean).length;
  expect(chunks).toBeGreaterThanOrEqual(1);
  expect(chunks).toBeLessThan(4);
  await quiet(start.session_id);
  const [charge] = await query<{ delta_micros: number }>("select delta_micros from cost_ledger where session_id = ? and kind = 'turn'", start.session_id);
  expect(charge?.delta_micros).toBe(-chargedMicros(Math.fround(0.001) * chunks));

  expect(await other.request({ type: MessageType.CancelTurn, data: { user_id, session_id: start.session_id } })).toEqual({
    error: "No turn is running in this session",
    code: 110,
    type: 9,
  });
});

it("calls an agent without ProcessStream with Process: the whole reply as one delta, probed once per session object", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "brief [unary-only] one");
  const first = await ws.untilAnswer();
  const sessionId = first.answer.data?.session_id as string;
  expect(first.events.map((e) => e.event)).toEqual(["start", "delta", "end"]);
  expect(deltaTexts(first.events)).toBe("ok: brief [unary-only] one");

  send(ws, user_id, sessionId, "brief [unary-only] two");
  expect(deltaTexts((await ws.untilAnswer()).events)).toBe("ok: brief [unary-only] two");
  expect(await agentCalls(sessionId)).toEqual({ processStream: 1, process: 2 });
});

it.each([
  ["dies mid-stream", "die:3 then breaks"],
  ["stays silent longer than AI_TIMEOUT_MS", "stall:2 then nothing"],
])("an agent that %s: an error event, code 6, nothing charged, history unchanged", async (_, message) => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "brief first");
  const sessionId = (await ws.untilAnswer()).answer.data?.session_id as string;
  await summarized(sessionId);
  const before = { balance: await balanceMicros(user_id), history: await history(sessionId) };

  send(ws, user_id, sessionId, message, "bad");
  const { events, answer } = await ws.untilAnswer();
  expect(events.map((e) => e.event)).toEqual(["start", ...events.slice(1, -1).map(() => "delta"), "error"]);
  expect(events.at(-1)).toEqual({ session_id: sessionId, turn: 1, event: "error", code: 6, message: "Unable to Receive Response To Query" });
  expect(answer).toEqual({ error: "Unable to Receive Response To Query", code: 6, type: MessageType.ChatMessage, id: "bad" });
  expect({ balance: await balanceMicros(user_id), history: await history(sessionId) }).toEqual(before);

  // A resume says how it ended.
  const resumed = await ws.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: 1, after_seq: -1 } });
  expect(resumed.data).toMatchObject({ state: "done" });
  expect((await ws.untilTurnEnds()).at(-1)).toMatchObject({ event: "error", code: 6 });
});

it("charges a streamed turn the costs its chunks reported", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  const before = await balanceMicros(user_id);
  send(ws, user_id, "NEW", "stream:3:1 priced [no-summary]");
  const sessionId = (await ws.untilAnswer()).answer.data?.session_id as string;
  await committed(sessionId);
  expect(await balanceMicros(user_id)).toBe(before - chargedMicros(DEFAULT_TURN_COST));
});

it("loses only the uncommitted partial reply when the session's object dies mid-stream: nothing charged, history unchanged, the turn resumes as interrupted", async () => {
  const { user_id } = await createUser();
  let ws = await openLive();
  send(ws, user_id, "NEW", "brief first");
  const sessionId = (await ws.untilAnswer()).answer.data?.session_id as string;
  await summarized(sessionId);
  const before = { balance: await balanceMicros(user_id), history: await history(sessionId) };

  send(ws, user_id, sessionId, "stream:40:50 cut short");
  const start = await ws.event();
  await ws.next(); // its first delta
  await abortAllDurableObjects();

  ws = await openLive();
  expect({ balance: await balanceMicros(user_id), history: await history(sessionId) }).toEqual(before);
  const resumed = await ws.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: start.turn, after_seq: -1 } });
  expect(resumed.data).toMatchObject({ state: "done" });
  const replayed = await ws.untilTurnEnds();
  expect(replayed.at(-1)).toEqual({ session_id: sessionId, turn: 1, event: "error", code: 14, message: "Internal Server Error: the turn was interrupted" });
  // What was stored of its deltas (they are written in batches: a crash may lose the latest) is the reply's start.
  const streamed = Array.from({ length: 40 }, (_, i) => `part-${i} `).join("");
  expect(streamed.startsWith(deltaTexts(replayed))).toBe(true);

  // The session goes on; the next turn gets the next number.
  send(ws, user_id, sessionId, "brief again");
  const next = await ws.untilAnswer();
  expect(next.events[0]).toMatchObject({ event: "start", turn: 2 });
  expect((await history(sessionId)).map((h) => h.content)).toEqual([...before.history.map((h) => h.content), "brief again", "ok: brief again"]);
});

it("resumes the failed first turn of a new session as done with its error: the session never existed in the database", async () => {
  const { user_id } = await createUser();
  const ws = await openLive();
  send(ws, user_id, "NEW", "die:2 right away");
  const { events, answer } = await ws.untilAnswer();
  expect(answer).toMatchObject({ code: 6 });
  const sessionId = events[0]!.session_id;
  const resumed = await ws.request({ type: MessageType.ResumeTurn, data: { user_id, session_id: sessionId, turn: 0, after_seq: -1 } });
  expect(resumed.data).toMatchObject({ state: "done" });
  const replayed = await ws.untilTurnEnds();
  expect(replayed).toEqual(events.slice(1).map((e) => (e.event === "delta" ? { ...e, replay: true } : e)));
  const stranger = await createUser();
  expect(await ws.request({ type: MessageType.ResumeTurn, data: { user_id: stranger.user_id, session_id: sessionId, turn: 0, after_seq: -1 } })).toMatchObject({ code: 101 });
});

it("numbers turns across eviction, also those sent from v1 sockets (their count is stored with the turn)", async () => {
  const { user_id } = await createUser();
  const v1 = await open();
  const sessionId = (await chat(v1, user_id, "NEW", "brief zero")).data?.session_id as string;
  await chat(v1, user_id, sessionId, "brief one");
  await committed(sessionId);
  await abortAllDurableObjects();
  const v2 = await openLive();
  send(v2, user_id, sessionId, "brief two");
  expect((await v2.untilAnswer()).events[0]).toMatchObject({ event: "start", turn: 2 });
});
