// Tests the client library (chat-backend/client) against the real backend, through its typed methods.
// A whole conversation, errors as values with their code, v2 streaming as an async iterator, cancel, resume, and a
// socket dropped mid-turn that the client reconnects and resumes without a gap or a duplicate. The scripted agent
// streams with stream:<n>:<ms> (test/agents/scripted-agent.ts).
import { expect, it } from "vitest";
import { ChatBackendError, ErrorCode, type Delta, type TurnEvent, type TurnStream } from "chat-backend/client";
import { balanceMicros, committed, createUser, query, useClients } from "./helpers/backend";

const open = useClients();

async function collect(stream: TurnStream<unknown>, onDelta: (delta: Delta, index: number) => void = () => {}): Promise<Delta[]> {
  const deltas: Delta[] = [];
  for await (const delta of stream) onDelta(delta, deltas.push(delta) - 1);
  return deltas;
}

const parts = (n: number) => Array.from({ length: n }, (_, i) => `part-${i} `).join("");

async function storedHistory(sessionId: string) {
  await committed(sessionId);
  return query<{ role: string; content: string }>("select role, content from messages where session_id = ? order by seq", sessionId);
}

it("holds a whole conversation: user, models, balance, a new session, its history, the list, and deleting it", async () => {
  const { user_id } = await createUser({ username: "Ada", models: [8, 4], balance: 2 });
  const client = await open({ userId: user_id });

  expect(await client.userDetails()).toEqual({ user_id, username: "Ada" });
  expect(await client.models()).toEqual(["gpt-4-turbo", "llama3.1:8b"]);
  expect(await client.balance()).toBe(2);
  expect(await client.sessions()).toEqual([]);

  const reply = await client.send({ sessionId: "NEW", model: "gpt-4-turbo", message: "brief hello", prompt: "Be brief." });
  expect(reply).toEqual({ user_id, session_id: expect.any(String), session_name: "brief hello", message: "ok: brief hello" });
  const second = await client.send({ sessionId: reply.session_id, message: "brief again" });
  expect(second).toEqual({ ...reply, message: "ok: brief again" });

  expect(await client.history(reply.session_id)).toEqual([
    { role: "user", content: "brief hello" },
    { role: "assistant", content: "ok: brief hello" },
    { role: "user", content: "brief again" },
    { role: "assistant", content: "ok: brief again" },
  ]);
  expect(await client.sessions()).toEqual([{ session_id: reply.session_id, session_name: "brief hello" }]);
  expect(await client.balance()).toBeLessThan(2);

  await client.deleteSession(reply.session_id);
  expect(await client.sessions()).toEqual([]);
});

it("rejects with a ChatBackendError whose code says what went wrong", async () => {
  const { user_id } = await createUser({ models: [8] });
  const client = await open({ userId: user_id });
  const failure = (work: Promise<unknown>) => work.then(() => expect.fail("no error"), (error: unknown) => error as ChatBackendError);

  const unknownModel = await failure(client.send({ sessionId: "NEW", model: "gpt-5", message: "hi" }));
  expect(unknownModel).toBeInstanceOf(ChatBackendError);
  expect(unknownModel).toMatchObject({ code: ErrorCode.UnknownModel, message: "Unknown model: gpt-5", type: 3 });
  expect(await failure(client.send({ sessionId: "NEW", model: "gpt-4-turbo", message: "hi" }))).toMatchObject({ code: ErrorCode.NoModelAccess });
  expect(await failure(client.history("3b0c1c9e-7d1a-4f43-9a8e-0f2a5b6c7d8e"))).toMatchObject({ code: ErrorCode.SessionNotFound, type: 2 });
  // A session that does not exist is not found, whatever the request (a cancel of one that does, with no turn running, is 110).
  expect(await failure(client.cancel("3b0c1c9e-7d1a-4f43-9a8e-0f2a5b6c7d8e"))).toMatchObject({ code: ErrorCode.SessionNotFound, type: 9 });

  const stranger = await open({ userId: "nobody" });
  const error = await failure(stranger.userDetails());
  // The code is a typed union: a switch over it is checked by the compiler.
  const meaning = (() => {
    switch (error.code) {
      case ErrorCode.UserDoesNotExist:
        return "no such user";
      default:
        return "other";
    }
  })();
  expect(meaning).toBe("no such user");
});

it("streams a turn as an async iterator of deltas, each once and in order, then its reply; listeners see its events", async () => {
  const { user_id } = await createUser();
  const client = await open({ userId: user_id });
  const events: TurnEvent[] = [];
  client.on("turn", (event) => events.push(event));

  const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "stream:6:5 hello" });
  const deltas = await collect(stream);
  const reply = await stream.done;

  expect(deltas).toEqual(Array.from({ length: 6 }, (_, seq) => ({ seq, text: `part-${seq} `, replay: false })));
  expect(reply).toEqual({ user_id, session_id: stream.sessionId, session_name: "stream:6:5 hello", message: parts(6) });
  expect(stream.turn).toBe(0);
  expect(events.map((e) => e.event)).toEqual(["start", ...Array(6).fill("delta"), "end"]);

  // The next turn of the session is turn 1; a turn that fails rejects the iterator with its code.
  const next = client.stream({ sessionId: reply.session_id, message: "brief next" });
  expect((await collect(next)).map((d) => d.text).join("")).toBe("ok: brief next");
  expect(next.turn).toBe(1);
  const failing = client.stream({ sessionId: reply.session_id, message: "die:2 early" });
  const error = await collect(failing).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ChatBackendError);
  expect(error).toMatchObject({ code: ErrorCode.UnableToReceiveResponse });
  await expect(failing.done).rejects.toMatchObject({ code: ErrorCode.UnableToReceiveResponse });
});

it("cancels a streaming turn: the iterator ends with the partial reply, which is the reply", async () => {
  const { user_id } = await createUser();
  const client = await open({ userId: user_id });
  const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "stream:50:50 never finishes" });
  const deltas = await collect(stream, (_, index) => {
    if (index === 2) void stream.cancel();
  });
  const reply = await stream.done;
  expect(reply.cancelled).toBe(true);
  expect(deltas.length).toBeGreaterThanOrEqual(3);
  expect(deltas.length).toBeLessThan(50);
  expect(reply.message).toBe(deltas.map((d) => d.text).join(""));
  expect(reply.message.startsWith("part-0 part-1 part-2 ")).toBe(true);
  // Cancelling an ended turn does nothing.
  await stream.cancel();
  expect((await storedHistory(reply.session_id)).map((h) => h.content)).toEqual(["stream:50:50 never finishes", reply.message]);
});

it("resumes a turn from another client after a given delta", async () => {
  const { user_id } = await createUser();
  const client = await open({ userId: user_id });
  const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "stream:5:1 kept" });
  await stream.done;
  const other = await open({ userId: user_id });
  const resumed = other.resume(stream.sessionId!, 0, 2);
  expect(await collect(resumed)).toEqual([3, 4].map((seq) => ({ seq, text: `part-${seq} `, replay: true })));
  expect(await resumed.done).toEqual({ user_id, session_id: stream.sessionId, turn: 0, message: parts(5) });
  await expect(other.resume(stream.sessionId!, 9).done).rejects.toMatchObject({ name: "ChatClientError", reason: "unknown-turn" });
});

it("reconnects when its socket drops mid-stream and resumes: every delta exactly once, the turn run once, reads sent again", async () => {
  const { user_id } = await createUser();
  // Reconnecting takes 60-120 ms, longer than the agent's 40 ms between chunks: some deltas come by the resume.
  const client = await open({ userId: user_id, reconnect: { initialDelayMs: 120, maxDelayMs: 120 } });
  const states: string[] = [];
  client.on("connection", (state) => states.push(state));
  const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "stream:12:40 long answer" });
  const balance = client.balance(); // waits behind the turn on the socket that drops
  const firstSocket = client.socket;
  const deltas = await collect(stream, (_, index) => {
    if (index === 2) firstSocket?.close(1000, "the test drops it");
  });

  expect(states).toEqual(["reconnecting", "open"]);
  expect(client.socket).not.toBe(firstSocket);
  expect(deltas.map((d) => d.seq)).toEqual([...Array(12).keys()]);
  expect(deltas.map((d) => d.text).join("")).toBe(parts(12));
  expect(deltas.slice(0, 3).every((d) => !d.replay)).toBe(true);
  expect(deltas.some((d) => d.replay)).toBe(true); // resumed (type 8), not answered by a re-sent chat message
  const reply = await stream.done;
  expect(reply).toEqual({ user_id, session_id: stream.sessionId, session_name: "stream:12:40 long answer", message: parts(12) });
  expect(typeof (await balance)).toBe("number");
  expect((await storedHistory(reply.session_id)).map((h) => h.content)).toEqual(["stream:12:40 long answer", parts(12)]);
});

it("sends a chat message again with its id when the socket drops before the turn starts: the turn runs and is charged once", async () => {
  const { user_id } = await createUser();
  const client = await open({ userId: user_id });
  const before = await balanceMicros(user_id);
  const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "stream:4:30 dropped early [no-summary]" });
  client.socket?.close(1000, "the test drops it at once");
  const text = (await collect(stream)).map((d) => d.text).join("");
  const reply = await stream.done;
  expect(text).toBe(parts(4));
  expect(reply.message).toBe(parts(4));
  expect((await storedHistory(reply.session_id)).map((h) => h.content)).toEqual(["stream:4:30 dropped early [no-summary]", parts(4)]);
  expect((await client.sessions()).map((s) => s.session_id)).toEqual([reply.session_id]);
  expect(before - (await balanceMicros(user_id))).toBe((await query<{ n: number }>("select -sum(delta_micros) as n from cost_ledger where user_id = ? and kind = 'turn'", user_id))[0]?.n);
  expect(await query("select id from cost_ledger where user_id = ? and kind = 'turn'", user_id)).toHaveLength(1);
});
