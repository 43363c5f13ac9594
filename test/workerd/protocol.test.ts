// Every message type and error frame of spec section 1, as the existing client sees them.
import { beforeAll, describe, expect, it } from "vitest";
import { chat, createUser, query, type CreatedUser, useSockets } from "./helpers/backend";
import { MessageType } from "../../protocol";

let user: CreatedUser;
const open = useSockets();
const UNKNOWN_USER = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  user = await createUser({ username: "Ada", models: [8, 4, 5], balance: 2.5 });
});

describe("success frames", () => {
  it("type 0 answers user details", async () => {
    const ws = await open();
    expect(await ws.request({ type: MessageType.UserDetails, data: { user_id: user.user_id } })).toEqual({
      type: MessageType.UserDetails,
      data: { user_id: user.user_id, username: "Ada" },
    });
  });

  it("type 1 answers [] for a user without sessions, then the sessions most recently active first", async () => {
    const ws = await open();
    expect(await ws.request({ type: MessageType.SessionList, data: { user_id: user.user_id } })).toEqual({
      type: MessageType.SessionList,
      data: { user_id: user.user_id, session_info: [] },
    });
    const first = await chat(ws, user.user_id, "NEW", "first session");
    const second = await chat(ws, user.user_id, "NEW", "second session");
    const firstId = first.data?.session_id as string;
    await chat(ws, user.user_id, firstId, "first is active again");
    const list = await ws.request({ type: MessageType.SessionList, data: { user_id: user.user_id } });
    expect(list.data?.session_info).toEqual([
      { session_id: firstId, session_name: "first session" },
      { session_id: second.data?.session_id, session_name: "second session" },
    ]);
  });

  it("type 2 answers the history as a string holding a JSON array", async () => {
    const ws = await open();
    const created = await chat(ws, user.user_id, "NEW", "hello history");
    const sessionId = created.data?.session_id as string;
    const frame = await ws.request({ type: MessageType.SessionChats, data: { user_id: user.user_id, session_id: sessionId } });
    expect(frame.type).toBe(2);
    expect(frame).not.toHaveProperty("error");
    expect(frame.data?.user_id).toBe(user.user_id);
    expect(frame.data?.session_id).toBe(sessionId);
    expect(typeof frame.data?.chat).toBe("string");
    const chats = JSON.parse(frame.data?.chat as string) as { role: string; content: string }[];
    expect(chats.map((c) => c.role)).toEqual(["user", "assistant"]);
    expect(chats[0]?.content).toBe("hello history");
  });

  it("type 3 answers with the new session's id, name and the reply", async () => {
    const ws = await open();
    const frame = await chat(ws, user.user_id, "NEW", "What is the capital of France?");
    expect(frame).not.toHaveProperty("error");
    expect(frame.type).toBe(3);
    expect(Object.keys(frame.data ?? {}).sort()).toEqual(["message", "session_id", "session_name", "user_id"]);
    expect(frame.data?.user_id).toBe(user.user_id);
    expect(frame.data?.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(frame.data?.session_name).toBe("What is the capital of France?");
    expect(JSON.parse(frame.data?.message as string).message).toBe("What is the capital of France?");
  });

  it("type 3 accepts model_id (int) as the original README documents", async () => {
    const ws = await open();
    const frame = await ws.request({
      type: MessageType.ChatMessage,
      data: { user_id: user.user_id, session_id: "NEW", model_id: 8, message: "by id", session_prompt: "" },
    });
    expect(JSON.parse(frame.data?.message as string).model).toBe("llama3.1:8b");
  });

  it("type 4 deletes the session and its history", async () => {
    const ws = await open();
    const created = await chat(ws, user.user_id, "NEW", "to be deleted");
    const sessionId = created.data?.session_id as string;
    expect(await ws.request({ type: MessageType.DeleteSession, data: { user_id: user.user_id, session_id: sessionId } })).toEqual({
      type: MessageType.DeleteSession,
      data: { user_id: user.user_id },
    });
    expect(await query("select * from messages where session_id = ?", sessionId)).toEqual([]);
    const list = await ws.request({ type: MessageType.SessionList, data: { user_id: user.user_id } });
    expect((list.data?.session_info as { session_id: string }[]).map((s) => s.session_id)).not.toContain(sessionId);
    const again = await ws.request({ type: MessageType.SessionChats, data: { user_id: user.user_id, session_id: sessionId } });
    expect(again).toMatchObject({ code: 101, type: MessageType.SessionChats });
  });

  it("type 5 answers the user's model names sorted by model id", async () => {
    const ws = await open();
    expect(await ws.request({ type: MessageType.ModelList, data: { user_id: user.user_id } })).toEqual({
      type: MessageType.ModelList,
      data: { models: ["gpt-4-turbo", "gpt-4-turbo-2024-04-09", "llama3.1:8b"] },
    });
  });

  it("type 6 answers the balance in dollars", async () => {
    const fresh = await createUser({ balance: 0.75 });
    const ws = await open();
    expect(await ws.request({ type: MessageType.Balance, data: { user_id: fresh.user_id } })).toEqual({ type: MessageType.Balance, data: { balance: 0.75 } });
  });

  it("echoes a request id on the answer", async () => {
    const ws = await open();
    expect(await ws.request({ type: MessageType.UserDetails, data: { user_id: user.user_id }, id: "req-7" })).toMatchObject({ id: "req-7", type: MessageType.UserDetails });
  });

  // Order on one socket is answer-order.test.ts's: it hands the hub its frames itself, because this pool
  // (vitest-pool-workers 0.15) may hand a hibernating object two frames sent at once swapped (workers-sdk #13433,
  // fixed in later releases by #14061; seen with a second suite running beside this one).
  it("answers on the socket the request came from, with two sockets of one user on one hub", async () => {
    const a = await open(`?user_id=${user.user_id}`);
    const b = await open(`?user_id=${user.user_id}`);
    a.send({ type: MessageType.UserDetails, data: { user_id: user.user_id }, id: "a1" });
    b.send({ type: MessageType.Balance, data: { user_id: user.user_id }, id: "b1" });
    expect(await a.next()).toMatchObject({ id: "a1", type: MessageType.UserDetails });
    a.send({ type: MessageType.ModelList, data: { user_id: user.user_id }, id: "a2" });
    expect(await a.next()).toMatchObject({ id: "a2", type: MessageType.ModelList });
    expect(await b.next()).toMatchObject({ id: "b1", type: MessageType.Balance });
  });
});

describe("error frames", () => {
  it("answers the original texts with codes for unknown users", async () => {
    const ws = await open();
    for (const type of [MessageType.UserDetails, MessageType.SessionList, MessageType.ModelList, MessageType.Balance]) {
      // The text and fields of the original; the added `detail` is error-details.test.ts's.
      expect(await ws.request({ type, data: { user_id: UNKNOWN_USER } })).toMatchObject({
        error: "User Does Not Exists",
        code: 3,
        type,
      });
    }
    expect(await chat(ws, UNKNOWN_USER, "NEW", "hi")).toMatchObject({ error: "User Does Not Exists", code: 3, type: MessageType.ChatMessage });
  });

  it("answers malformed JSON with code 0 and keeps the socket open", async () => {
    const ws = await open();
    expect(await ws.request("{not json")).toMatchObject({ error: "JSON Parsing Error", code: 0 });
    expect((await ws.request({ type: MessageType.UserDetails, data: { user_id: user.user_id } })).type).toBe(0);
    expect(ws.closed).toBe(false);
  });

  it("answers an unknown type with code 1 and keeps the socket open", async () => {
    const ws = await open();
    expect(await ws.request({ type: 42, data: {}, id: "u" })).toEqual({ error: "Unknown Message", code: 1, type: 42, id: "u" });
    expect((await ws.request({ type: MessageType.Balance, data: { user_id: user.user_id } })).type).toBe(6);
    expect(ws.closed).toBe(false);
  });

  it.each([
    [{ data: { user_id: "x" } }, '"type"'],
    [{ type: "0", data: { user_id: "x" } }, '"type"'],
    [{ type: 1.5, data: { user_id: "x" } }, '"type"'],
    [{ type: MessageType.UserDetails }, '"data"'],
    [{ type: MessageType.UserDetails, data: "{\"user_id\":\"x\"}" }, '"data"'],
    [{ type: MessageType.UserDetails, data: {} }, '"data.user_id"'],
    [{ type: MessageType.UserDetails, data: { user_id: 12 } }, '"data.user_id"'],
    [{ type: MessageType.SessionChats, data: { user_id: "x" } }, '"data.session_id"'],
    [{ type: MessageType.SessionChats, data: { user_id: "x", session_id: "not-a-uuid" } }, '"data.session_id"'],
    [{ type: MessageType.ChatMessage, data: { user_id: "x", session_id: "NEW", model_name: "gpt-4-turbo" } }, '"data.message"'],
    [{ type: MessageType.ChatMessage, data: { user_id: "x", session_id: "NEW", model_name: "gpt-4-turbo", message: "" } }, '"data.message"'],
    [{ type: MessageType.ChatMessage, data: { user_id: "x", session_id: "NEW", model_id: "4", message: "hi" } }, '"data.model_id"'],
  ])("answers a frame with a missing or mistyped field (%j) naming %s", async (frame, field) => {
    const ws = await open();
    const answer = await ws.request(frame);
    expect(answer.code).toBe(100);
    expect(answer.error).toContain(field);
    expect(answer).not.toHaveProperty("data");
    expect((await ws.request({ type: MessageType.UserDetails, data: { user_id: user.user_id } })).type).toBe(0);
  });

  it("answers a binary frame and an oversized frame without closing", async () => {
    const ws = await open();
    ws.send(new Uint8Array([1, 2, 3]));
    expect((await ws.next()).code).toBe(0);
    const huge = { type: MessageType.UserDetails, data: { user_id: "x".repeat(1_100_000) } };
    expect((await ws.request(huge)).code).toBe(104);
    expect((await ws.request({ type: MessageType.UserDetails, data: { user_id: user.user_id } })).type).toBe(0);
  });

  it("counts a frame's size in bytes: 400,000 euro signs are 1.2 MB, over the 1 MiB limit", async () => {
    const ws = await open();
    const euros = { type: MessageType.ChatMessage, data: { user_id: user.user_id, session_id: "NEW", model_name: "gpt-4-turbo", message: "€".repeat(400_000) } };
    expect((await ws.request(euros)).code).toBe(104);
    const justUnder = { type: MessageType.UserDetails, data: { user_id: user.user_id, padding: "€".repeat(340_000) } };
    expect((await ws.request(justUnder)).type).toBe(MessageType.UserDetails);
  });

  it("never sends an error key on success", async () => {
    const ws = await open();
    for (const type of [MessageType.UserDetails, MessageType.SessionList, MessageType.ModelList, MessageType.Balance]) {
      expect(await ws.request({ type, data: { user_id: user.user_id } })).not.toHaveProperty("error");
    }
  });
});
