// Concurrent turns: serialized per session with nothing lost, and balances never lose an update.
import { expect, it } from "vitest";
import { chargedMicros, DEFAULT_TURN_COST, SUMMARY_COST } from "../agents/scripted-costs";
import { balanceMicros, chat, createUser, query, quiet, useSockets } from "./helpers/backend";
import { MessageType } from "../../protocol";

const open = useSockets();

it("answers two messages sent at once to one session, in order, with their entries never interleaved", async () => {
  const { user_id } = await createUser();
  const [a, b] = [await open(), await open()];
  const first = await chat(a, user_id, "NEW", "start");
  const sessionId = first.data?.session_id as string;

  const frame = (message: string) => ({
    type: MessageType.ChatMessage,
    data: { user_id, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "" },
  });
  // Two sockets, two hubs: either turn may reach the session first, but one must run wholly after the other.
  a.send(frame("slow:300 first"));
  b.send(frame("second"));
  const [slow, fast] = await Promise.all([a.next(), b.next()]);
  expect(slow).not.toHaveProperty("error");
  expect(fast).not.toHaveProperty("error");
  const seen = (reply: typeof slow) =>
    (JSON.parse(reply.data?.message as string) as { history: { content: string }[] }).history.map((h) => h.content);
  const slowSawFast = seen(slow).includes("second");
  const fastSawSlow = seen(fast).includes("slow:300 first");
  expect(slowSawFast !== fastSawSlow).toBe(true);

  // Both sockets' reads wait for the turns their connection sent, so the history is complete for both.
  await a.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });
  await b.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });
  const rows = await query<{ seq: number; role: string; content: string }>(
    "select seq, role, content from messages where session_id = ? order by seq",
    sessionId,
  );
  expect(rows.map((r) => r.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
  const userTurns = rows.filter((r) => r.role === "user").map((r) => r.content);
  expect(userTurns).toEqual(fastSawSlow ? ["start", "slow:300 first", "second"] : ["start", "second", "slow:300 first"]);
});

it("loses no message and no charge when many turns race on one session", async () => {
  const { user_id } = await createUser({ balance: 5 });
  const ws = await open();
  const sessionId = (await chat(ws, user_id, "NEW", "start")).data?.session_id as string;
  const racers = await Promise.all(Array.from({ length: 6 }, () => open()));
  const answers = await Promise.all(racers.map((socket, i) => chat(socket, user_id, sessionId, `racer ${i}`)));
  expect(answers.every((a) => !("error" in a))).toBe(true);
  // Waits for the session's queued turns (summaries included) and their commit, not for a guessed time.
  await quiet(sessionId);
  const rows = await query<{ seq: number }>("select seq from messages where session_id = ? order by seq", sessionId);
  expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  const perTurn = chargedMicros(DEFAULT_TURN_COST) + chargedMicros(SUMMARY_COST);
  expect(await balanceMicros(user_id)).toBe(5_000_000 - 7 * perTurn);
});

it("never loses a debit when sessions of one user charge at the same time", async () => {
  const { user_id } = await createUser({ balance: 5 });
  const racers = await Promise.all(Array.from({ length: 8 }, () => open()));
  const answers = await Promise.all(racers.map((socket, i) => chat(socket, user_id, "NEW", `cost:0.01 session ${i}`)));
  expect(answers.every((a) => !("error" in a))).toBe(true);
  const expected = 5_000_000 - 8 * (chargedMicros(0.01) + chargedMicros(SUMMARY_COST));
  for (const answer of answers) await quiet(answer.data?.session_id as string);
  expect(await balanceMicros(user_id)).toBe(expected);
  const [sum] = await query<{ total: number }>("select sum(delta_micros) as total from cost_ledger where user_id = ?", user_id);
  expect(sum?.total).toBe(expected);
});
