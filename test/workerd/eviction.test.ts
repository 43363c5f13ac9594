// A session whose Durable Object was evicted rebuilds its live context from storage.
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { agentView, chat, committed, connect, createUser, query, quiet } from "./helpers/backend";
import { HISTORY_WINDOW, testEnv } from "./helpers/env";

it("rebuilds history window, summary, prompt, model and sequence after eviction", async () => {
  const { user_id } = await createUser({ models: [4, 8] });
  let ws = await connect();
  const first = await chat(ws, user_id, "NEW", "turn one", { session_prompt: "Stay formal.", model_name: "llama3.1:8b" });
  const sessionId = first.data?.session_id as string;
  for (const message of ["turn two", "turn three"]) await chat(ws, user_id, sessionId, message, { model_name: undefined });
  await quiet(sessionId);
  const [row] = await query<{ summary: string }>("select summary from sessions where id = ?", sessionId);
  expect(row?.summary.split(" | ")).toHaveLength(3);

  await abortAllDurableObjects();
  ws = await connect();
  const after = agentView(await chat(ws, user_id, sessionId, "turn four", { model_name: undefined }));
  expect(after.history).toHaveLength(HISTORY_WINDOW);
  expect(after.history.filter((h) => h.role === "user").map((h) => h.content)).toEqual(["turn two", "turn three"]);
  expect(after.summary).toBe("User: turn one | User: turn two | User: turn three");
  expect(after.prompt).toBe("Stay formal.");
  expect(after.model).toBe("llama3.1:8b");
  await committed(sessionId);
  const seqs = await query<{ seq: number }>("select seq from messages where session_id = ? order by seq", sessionId);
  expect(seqs.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  ws.close();
});

it("answers turns on an instance woken without its name, as local workerd wakes one for its alarm after a restart", async () => {
  const { user_id } = await createUser();
  let ws = await connect();
  const first = await chat(ws, user_id, "NEW", "before the restart");
  const sessionId = first.data?.session_id as string;
  await quiet(sessionId);

  await abortAllDurableObjects();
  // Reached by its id alone, the new instance has no name (workerd #6850); the hub's next call finds it so.
  const byIdAlone = testEnv.SESSIONS.get(testEnv.SESSIONS.idFromString(testEnv.SESSIONS.idFromName(sessionId).toString()));
  expect(await runInDurableObject(byIdAlone, (_instance, state) => state.id.name)).toBeUndefined();

  ws = await connect(); // the abort closed the hub's sockets too
  const after = await chat(ws, user_id, sessionId, "after the restart");
  expect(after.code).toBeUndefined();
  expect(after.data?.session_id).toBe(sessionId);
  expect(agentView(after).history.map((h) => h.content)).toContain("before the restart");
  await committed(sessionId);
  expect(await query<{ content: string }>("select content from messages where session_id = ? and role = 'user' order by seq", sessionId)).toEqual([
    { content: "before the restart" },
    { content: "after the restart" },
  ]);
  ws.close();
});
