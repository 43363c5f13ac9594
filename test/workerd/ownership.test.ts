// One user can neither read, post into nor delete another user's session, and learns nothing about it.
import { beforeAll, expect, it } from "vitest";
import { chat, connect, createUser, query, type CreatedUser, useSockets } from "./helpers/backend";
import { MessageType } from "../../protocol";

let alice: CreatedUser;
let mallory: CreatedUser;
let aliceSession: string;
const open = useSockets();

beforeAll(async () => {
  alice = await createUser({ username: "Alice" });
  mallory = await createUser({ username: "Mallory" });
  const ws = await connect();
  const frame = await chat(ws, alice.user_id, "NEW", "alice's secret plans");
  aliceSession = frame.data?.session_id as string;
  // A read on the same connection waits until the turn is in the database.
  await ws.request({ type: MessageType.SessionChats, data: { user_id: alice.user_id, session_id: aliceSession } });
  ws.close();
});

const NOT_FOUND = { error: "Session not found", code: 101 };

it("does not let another user read the history", async () => {
  const ws = await open();
  expect(await ws.request({ type: MessageType.SessionChats, data: { user_id: mallory.user_id, session_id: aliceSession } })).toEqual({ ...NOT_FOUND, type: MessageType.SessionChats });
  // The same answer as for a session that does not exist: no way to probe for ids.
  expect(await ws.request({ type: MessageType.SessionChats, data: { user_id: mallory.user_id, session_id: crypto.randomUUID() } })).toEqual({
    ...NOT_FOUND,
    type: MessageType.SessionChats,
  });
});

it("does not let another user post into the session or be charged for it", async () => {
  const ws = await open();
  expect(await chat(ws, mallory.user_id, aliceSession, "injected")).toEqual({ ...NOT_FOUND, type: MessageType.ChatMessage });
  const rows = await query<{ content: string }>("select content from messages where session_id = ? and role = 'user'", aliceSession);
  expect(rows.map((r) => r.content)).toEqual(["alice's secret plans"]);
  expect(await query("select * from cost_ledger where user_id = ? and kind != 'credit'", mallory.user_id)).toEqual([]);
});

it("does not let another user delete the session", async () => {
  const ws = await open();
  expect(await ws.request({ type: MessageType.DeleteSession, data: { user_id: mallory.user_id, session_id: aliceSession } })).toEqual({ ...NOT_FOUND, type: MessageType.DeleteSession });
  expect(await query("select id from sessions where id = ?", aliceSession)).toHaveLength(1);
  const own = await ws.request({ type: MessageType.SessionChats, data: { user_id: alice.user_id, session_id: aliceSession } });
  expect(JSON.parse(own.data?.chat as string)).toHaveLength(2);
});

it("does not list another user's sessions", async () => {
  const ws = await open();
  expect(await ws.request({ type: MessageType.SessionList, data: { user_id: mallory.user_id } })).toEqual({
    type: MessageType.SessionList,
    data: { user_id: mallory.user_id, session_info: [] },
  });
});
