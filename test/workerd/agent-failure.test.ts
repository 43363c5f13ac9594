// An agent error or timeout: the client gets code 6, nothing is charged, nothing stored changes, the next turn works.
import { expect, it } from "vitest";
import { agentView, balanceMicros, chat, committed, createUser, query, quiet, useSockets } from "./helpers/backend";
import { MessageType } from "../../protocol";

const open = useSockets();

async function snapshot(userId: string, sessionId: string) {
  await committed(sessionId);
  return {
    balance: await balanceMicros(userId),
    messages: await query("select seq, role, content from messages where session_id = ? order by seq", sessionId),
    session: await query("select name, prompt, summary, model_id from sessions where id = ?", sessionId),
    ledger: await query("select id from cost_ledger where user_id = ?", userId),
  };
}

const UNABLE = { error: "Unable to Receive Response To Query", code: 6, type: MessageType.ChatMessage };

it.each([
  ["an agent error", "fail please"],
  ["an agent slower than AI_TIMEOUT_MS", "slow:3000 too slow"],
])("%s charges nothing, changes nothing, and the next turn works", async (_, message) => {
  const { user_id } = await createUser();
  const ws = await open();
  const first = await chat(ws, user_id, "NEW", "hello");
  const sessionId = first.data?.session_id as string;
  // The first turn's summary is written after its reply: take the snapshot once it is stored.
  await quiet(sessionId);
  expect((await query<{ summary: string }>("select summary from sessions where id = ?", sessionId))[0]?.summary).toBeTruthy();
  const before = await snapshot(user_id, sessionId);

  expect(await chat(ws, user_id, sessionId, message, { session_prompt: "a new prompt" })).toEqual(UNABLE);
  expect(await snapshot(user_id, sessionId)).toEqual(before);

  const next = await chat(ws, user_id, sessionId, "still there?");
  expect(next).not.toHaveProperty("error");
  const view = agentView(next);
  expect(view.history.map((h) => h.role)).toEqual(["user", "assistant"]);
  expect(view.summary).toBe("User: hello");
  expect(view.prompt).toBe("");
});

it("does not create a session when the agent fails on its first message", async () => {
  const { user_id } = await createUser();
  const ws = await open();
  expect(await chat(ws, user_id, "NEW", "fail at once")).toEqual(UNABLE);
  expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
  expect(await balanceMicros(user_id)).toBe(1_000_000);
});

it("keeps the summary as it was when the summarizer fails, and charges only the turn", async () => {
  const { user_id } = await createUser();
  const ws = await open();
  const first = await chat(ws, user_id, "NEW", "hello");
  const sessionId = first.data?.session_id as string;
  expect(await chat(ws, user_id, sessionId, "[summary-fails] this one")).not.toHaveProperty("error");
  const next = agentView(await chat(ws, user_id, sessionId, "after"));
  expect(next.summary).toBe("User: hello");
  await committed(sessionId);
  const kinds = await query<{ kind: string }>("select kind from cost_ledger where session_id = ? order by id", sessionId);
  expect(kinds.slice(0, 4).map((k) => k.kind)).toEqual(["turn", "summary", "turn", "turn"]);
});
