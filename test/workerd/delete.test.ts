// Deleting a session forgets it completely (issue 19, "Delete means gone"): its history and files (rows and R2
// objects), and everything its Durable Object kept (answers to request ids, stream records, watchers, the turn
// counter, the alarm), read from the object's own storage listing; a request id replayed afterwards starts nothing old.
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { sessionObject } from "../../src/domain/operations/session-objects";
import { SESSION_STORAGE } from "../../src/domain/session/session-storage";
import { MessageType } from "../../protocol";
import { createUser, query, storedObjects, upload, useSockets, type Frame, type TestSocket } from "./helpers/backend";
import { testEnv } from "./helpers/env";

const open = useSockets();

/** The session object's storage as the object itself lists it, and its alarm. */
function objectStorage(sessionId: string): Promise<{ keys: string[]; alarm: number | null }> {
  return runInDurableObject(sessionObject(testEnv, sessionId), async (_instance, state) => ({
    keys: [...(await state.storage.list()).keys()],
    alarm: await state.storage.getAlarm(),
  }));
}

/** Sends a chat message on a v2 socket; the turn's events and then its answer. */
async function turn(ws: TestSocket, userId: string, sessionId: string, message: string, id: string): Promise<{ events: Frame[]; answer: Frame }> {
  ws.send({ type: MessageType.ChatMessage, id, data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "" } });
  const events: Frame[] = [];
  for (;;) {
    const frame = await ws.next();
    if (frame.type !== MessageType.TurnEvent) return { events, answer: frame };
    events.push(frame);
  }
}

const rows = async (sessionId: string) => ({
  sessions: await query("select id from sessions where id = ?", sessionId),
  messages: await query("select seq from messages where session_id = ?", sessionId),
  files: await query("select file_name from files where session_id = ?", sessionId),
});

it("leaves the deleted session's object with empty storage and no alarm, and its rows and R2 objects gone", async () => {
  const { user_id } = await createUser();
  const ws = await open("?v=2");
  const first = await turn(ws, user_id, "NEW", "stream:3:5 remember me", "delete-1");
  const sessionId = first.answer.data?.session_id as string;
  const uploaded = await upload({ file: { bytes: "notes", name: "notes.txt", type: "text/plain" }, user_id, session_id: sessionId, model_name: "gpt-4-turbo" });
  expect(uploaded.status).toBe(202);
  await turn(ws, user_id, sessionId, "stream:2:5 and this", "delete-2");

  // Everything the layout names is there before: answers, the turn counter, recorded turns, deltas, watchers.
  const before = await objectStorage(sessionId);
  for (const prefix of [SESSION_STORAGE.answer, SESSION_STORAGE.streamNextTurn, SESSION_STORAGE.streamTurn, SESSION_STORAGE.streamDelta, SESSION_STORAGE.streamWatchers]) {
    expect(before.keys.some((key) => key.startsWith(prefix))).toBe(true);
  }
  const r2Prefix = `users/${user_id}/sessions/${sessionId}/`;
  expect((await storedObjects()).filter((key) => key.startsWith(r2Prefix))).toHaveLength(1);

  expect(await ws.request({ type: MessageType.DeleteSession, data: { user_id, session_id: sessionId } })).toEqual({ type: MessageType.DeleteSession, data: { user_id } });

  expect(await objectStorage(sessionId)).toEqual({ keys: [], alarm: null });
  expect(await rows(sessionId)).toEqual({ sessions: [], messages: [], files: [] });
  expect((await storedObjects()).filter((key) => key.startsWith(r2Prefix))).toEqual([]);
});

it("writes only keys the session storage layout names (docs/storage.md lists the same)", async () => {
  const { user_id } = await createUser();
  const ws = await open("?v=2");
  const { answer } = await turn(ws, user_id, "NEW", "stream:4:5 keys", "layout-1");
  const sessionId = answer.data?.session_id as string;
  await turn(ws, user_id, sessionId, "stream:2:5 more keys", "layout-2");
  const { keys } = await objectStorage(sessionId);
  expect(keys.length).toBeGreaterThan(4);
  const prefixes: string[] = Object.values(SESSION_STORAGE);
  expect(keys.filter((key) => !prefixes.some((prefix) => key.startsWith(prefix)))).toEqual([]);
});

it("starts a new, empty session when a request id is replayed with NEW after its session was deleted: no old reply, history or turn number", async () => {
  const { user_id } = await createUser();
  const ws = await open("?v=2");
  const first = await turn(ws, user_id, "NEW", "stream:2:5 once", "replayed-id");
  const sessionId = first.answer.data?.session_id as string;
  await turn(ws, user_id, sessionId, "stream:2:5 twice", "second-id");
  expect(await ws.request({ type: MessageType.DeleteSession, data: { user_id, session_id: sessionId } })).toEqual({ type: MessageType.DeleteSession, data: { user_id } });

  const replay = await turn(ws, user_id, "NEW", "stream:2:5 once", "replayed-id");
  expect(replay.answer).toMatchObject({ type: MessageType.ChatMessage, id: "replayed-id" });
  // The turn ran again (it was not the stored answer): it streamed, as turn 0 of a session whose history is its own.
  expect(replay.events[0]?.data).toMatchObject({ event: "start", turn: 0 });
  const replaySession = replay.answer.data?.session_id as string;
  await sessionObject(testEnv, replaySession).settled();
  expect(await query("select role, content from messages where session_id = ? order by seq", replaySession)).toEqual([
    { role: "user", content: "stream:2:5 once" },
    { role: "assistant", content: replay.answer.data?.message },
  ]);
});

it("gives a session object its own name (ctx.id.name): the session id it was reached by", async () => {
  const sessionId = crypto.randomUUID();
  const name = await runInDurableObject(sessionObject(testEnv, sessionId), (_instance, state) => state.id.name);
  expect(name).toBe(sessionId);
});
