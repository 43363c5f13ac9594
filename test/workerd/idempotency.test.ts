// A chat message with a client request id is answered once: a retry with the same id (its reply was lost, the
// client sent it again) gets the stored answer, and nothing is stored or charged twice, even across a crash.
import { abortAllDurableObjects } from "cloudflare:test";
import { expect, it } from "vitest";
import { MessageType } from "../../protocol";
import { balanceMicros, committed, createUser, query, useSockets } from "./helpers/backend";

const open = useSockets();

const turnFrame = (userId: string, sessionId: string, message: string, id?: string) => ({
  type: MessageType.ChatMessage,
  ...(id === undefined ? {} : { id }),
  data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "" },
});

/** A user and a session that has had one turn, on a socket of this test. */
async function startedSession() {
  const { user_id } = await createUser();
  const ws = await open();
  const sessionId = (await ws.request(turnFrame(user_id, "NEW", "brief start"))).data?.session_id as string;
  return { user_id, ws, sessionId };
}

const userRows = async (sessionId: string) => query<{ content: string }>("select content from messages where session_id = ? and role = 'user' order by seq", sessionId);

it("answers a retried message with the stored answer, storing and charging it once", async () => {
  const { user_id, ws, sessionId } = await startedSession();
  const id = crypto.randomUUID();
  const first = await ws.request(turnFrame(user_id, sessionId, "brief once", id));
  await committed(sessionId);
  const balance = await balanceMicros(user_id);
  const retry = await (await open()).request(turnFrame(user_id, sessionId, "brief once", id));
  expect(retry).toEqual(first);
  await committed(sessionId);
  expect((await userRows(sessionId)).map((r) => r.content)).toEqual(["brief start", "brief once"]);
  expect(await balanceMicros(user_id)).toBe(balance);
});

it("gives a retried NEW message the same new session, not a second one", async () => {
  const { user_id } = await createUser();
  const id = crypto.randomUUID();
  const first = await (await open()).request(turnFrame(user_id, "NEW", "brief hello", id));
  const retry = await (await open()).request(turnFrame(user_id, "NEW", "brief hello", id));
  expect(retry).toEqual(first);
  await committed(first.data?.session_id as string);
  expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([{ id: first.data?.session_id }]);
});

it("keeps the answer with its turn across a crash of the session object", async () => {
  const { user_id, ws, sessionId } = await startedSession();
  const id = crypto.randomUUID();
  const first = await ws.request(turnFrame(user_id, sessionId, "brief before the crash", id));
  await abortAllDurableObjects();
  expect(await (await open()).request(turnFrame(user_id, sessionId, "brief before the crash", id))).toEqual(first);
  await committed(sessionId);
  expect((await userRows(sessionId)).map((r) => r.content)).toEqual(["brief start", "brief before the crash"]);
});

it("runs messages with different ids, and messages without an id, as separate turns", async () => {
  const { user_id, ws, sessionId } = await startedSession();
  await ws.request(turnFrame(user_id, sessionId, "brief same text", "a"));
  await ws.request(turnFrame(user_id, sessionId, "brief same text", "b"));
  await ws.request(turnFrame(user_id, sessionId, "brief same text"));
  await ws.request(turnFrame(user_id, sessionId, "brief same text"));
  await committed(sessionId);
  expect(await userRows(sessionId)).toHaveLength(5);
});
