// Tests the client library's own logic against a scripted socket, without a backend.
// Answers paired by id, errors as values, what a reconnect sends again (reads as they are, an unstarted turn with
// its id, a started one resumed), the backoff's bounds, and giving up. test/workerd/client.test.ts uses the real backend.
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  ChatBackendError,
  ChatClient,
  ChatClientError,
  DEFAULT_RECONNECT,
  MessageType,
  type ConnectionState,
  type Delta,
  type TurnEvent,
  type WebSocketLike,
} from "chat-backend/client";

type Listener = (event: { data: unknown } & { code: number; reason: string }) => void;

/** A socket the test plays the server of: it sees what the client sent and says what the server answers. */
class ScriptedSocket implements WebSocketLike {
  readyState = 1;
  readonly sent: { type: number; data: Record<string, unknown>; id: string }[] = [];
  private readonly listeners = new Map<string, Listener[]>();

  send(data: string | Uint8Array): void {
    this.sent.push(JSON.parse(String(data)));
  }
  close(): void {
    this.drop();
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  answer(frame: unknown): void {
    for (const listener of this.listeners.get("message") ?? []) listener({ data: JSON.stringify(frame), code: 0, reason: "" });
  }
  event(data: TurnEvent): void {
    this.answer({ type: MessageType.TurnEvent, data });
  }
  /** The connection drops (the server's side of it). */
  drop(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const listener of this.listeners.get("close") ?? []) listener({ data: null, code: 1006, reason: "" });
  }
}

/** A client over scripted sockets; `refuse` makes the next n connection attempts fail. */
async function scripted(options: { reconnect?: false | { maxAttempts: number } } = {}) {
  const sockets: ScriptedSocket[] = [];
  const states: ConnectionState[] = [];
  let refuse = 0;
  const client = await ChatClient.connect({
    url: "ws://backend.test/ws",
    userId: "u1",
    socket: () => {
      const socket = new ScriptedSocket();
      if (refuse > 0) {
        refuse--;
        socket.readyState = 0;
        queueMicrotask(() => socket.drop());
      }
      sockets.push(socket);
      return socket;
    },
    reconnect: options.reconnect === false ? false : { initialDelayMs: 1, maxDelayMs: 2, ...options.reconnect },
  });
  client.on("connection", (state) => states.push(state));
  const last = () => sockets.at(-1)!;
  const reopened = async () => {
    const before = sockets.length;
    await until(() => sockets.length > before && client.state === "open");
    return last();
  };
  return { client, sockets, states, last, reopened, refuseNext: (n: number) => (refuse = n) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (!check()) throw new Error("condition not reached");
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function collect(stream: AsyncIterable<Delta>): Promise<Delta[]> {
  const deltas: Delta[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

describe("requests and answers", () => {
  it("gives every request an id, adds the user, and pairs answers by id in any order", async () => {
    const { client, last } = await scripted();
    const models = client.models();
    const balance = client.balance();
    const [first, second] = last().sent;
    expect(first).toEqual({ type: 5, data: { user_id: "u1" }, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(second?.id).not.toBe(first?.id);
    last().answer({ type: 6, data: { balance: 0.5 }, id: second!.id });
    last().answer({ type: 5, data: { models: ["gpt-4-turbo"] }, id: first!.id });
    expect(await balance).toBe(0.5);
    expect(await models).toEqual(["gpt-4-turbo"]);
    client.close();
  });

  it("rejects with a ChatBackendError carrying the code; an error without id answers the oldest request", async () => {
    const { client, last } = await scripted();
    const history = client.history("3b0c1c9e-7d1a-4f43-9a8e-0f2a5b6c7d8e");
    const sent = client.send({ sessionId: "NEW", model: "gpt-4-turbo", message: "x".repeat(10) });
    last().answer({ error: "Session not found", code: 101, type: 2, id: last().sent[0]!.id });
    await expect(history).rejects.toEqual(new ChatBackendError(101, "Session not found", 2, last().sent[0]!.id));
    last().answer({ error: "Frame too large: the limit is 5 bytes", code: 104 });
    const error = await sent.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatBackendError);
    expect(error).toMatchObject({ code: 104, message: "Frame too large: the limit is 5 bytes" });
    client.close();
  });

  it("sends a model id as model_id, a name as model_name, and a given request id as it is", async () => {
    const { client, last } = await scripted();
    const ignore = () => {};
    client.send({ sessionId: "NEW", model: 4, message: "hi", prompt: "Be brief.", file: "f.png", id: "mine" }).catch(ignore);
    client.send({ sessionId: "NEW", model: "llama3.1:8b", message: "hi" }).catch(ignore);
    expect(last().sent).toEqual([
      { type: 3, id: "mine", data: { user_id: "u1", session_id: "NEW", model_id: 4, message: "hi", session_prompt: "Be brief.", file_name: "f.png" } },
      { type: 3, id: expect.any(String), data: { user_id: "u1", session_id: "NEW", model_name: "llama3.1:8b", message: "hi" } },
    ]);
    client.close();
  });

  it("rejects what waits with ChatClientError once closed, and refuses new requests", async () => {
    const { client, states } = await scripted();
    const waiting = client.userDetails();
    client.close();
    await expect(waiting).rejects.toEqual(new ChatClientError("closed", "the client was closed"));
    await expect(client.sessions()).rejects.toBeInstanceOf(ChatClientError);
    expect(states).toEqual(["closed"]);
  });
});

describe("after a reconnect", () => {
  it("sends unanswered reads again with their ids, in their order, and requests made meanwhile after them", async () => {
    const { client, last, reopened, states } = await scripted();
    const details = client.userDetails();
    const sessions = client.sessions();
    const before = last().sent.map((f) => f.id);
    last().drop();
    const balance = client.balance(); // while reconnecting
    const socket = await reopened();
    expect(socket.sent.map((f) => f.id).slice(0, 2)).toEqual(before);
    expect(socket.sent[2]?.type).toBe(MessageType.Balance);
    socket.answer({ type: 0, data: { user_id: "u1", username: "Ada" }, id: before[0] });
    socket.answer({ type: 1, data: { user_id: "u1", session_info: [] }, id: before[1] });
    socket.answer({ type: 6, data: { balance: 1 }, id: socket.sent[2]!.id });
    expect(await Promise.all([details, sessions, balance])).toEqual([{ user_id: "u1", username: "Ada" }, [], 1]);
    expect(states).toEqual(["reconnecting", "open"]);
    client.close();
  });

  it("sends a chat message whose turn had not started again with the same id; an answer from the idempotency log is one delta", async () => {
    const { client, last, reopened } = await scripted();
    const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "hello" });
    const frame = last().sent[0]!;
    last().drop();
    const socket = await reopened();
    expect(socket.sent).toEqual([frame]);
    socket.answer({ type: 3, data: { user_id: "u1", session_id: "s1", session_name: "hello", message: "ok: hello" }, id: frame.id });
    expect(await collect(stream)).toEqual([{ seq: 0, text: "ok: hello", replay: false }]);
    expect(await stream.done).toEqual({ user_id: "u1", session_id: "s1", session_name: "hello", message: "ok: hello" });
  });

  it("resumes a started turn after the last delta held: every delta once, the reply from its end event", async () => {
    const { client, last, reopened } = await scripted();
    const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "count" });
    const deltas = collect(stream);
    const first = last();
    first.event({ session_id: "s1", turn: 3, event: "start", session_name: "count", user_message: "count" });
    first.event({ session_id: "s1", turn: 3, event: "delta", seq: 0, text: "one ", replay: false });
    first.event({ session_id: "s1", turn: 3, event: "delta", seq: 1, text: "two ", replay: false });
    expect(stream.sessionId).toBe("s1");
    expect(stream.turn).toBe(3);
    first.drop();
    const socket = await reopened();
    expect(socket.sent).toEqual([{ type: 8, data: { user_id: "u1", session_id: "s1", turn: 3, after_seq: 1 }, id: expect.any(String) }]);
    socket.answer({ type: 8, data: { user_id: "u1", session_id: "s1", turn: 3, state: "streaming" }, id: socket.sent[0]!.id });
    socket.event({ session_id: "s1", turn: 3, event: "delta", seq: 1, text: "two ", replay: true }); // already held
    socket.event({ session_id: "s1", turn: 3, event: "delta", seq: 2, text: "three", replay: true });
    socket.event({ session_id: "s1", turn: 3, event: "end", message: "one two three" });
    expect(await deltas).toEqual([
      { seq: 0, text: "one ", replay: false },
      { seq: 1, text: "two ", replay: false },
      { seq: 2, text: "three", replay: true },
    ]);
    expect(await stream.done).toEqual({ user_id: "u1", session_id: "s1", session_name: "count", message: "one two three" });
  });

  it("sends a chat message again when its resume finds the turn unknown", async () => {
    const { client, last, reopened } = await scripted();
    const stream = client.stream({ sessionId: "s1", message: "again" });
    const chat = last().sent[0]!;
    last().event({ session_id: "s1", turn: 0, event: "start", session_name: "n", user_message: "again" });
    last().drop();
    const socket = await reopened();
    socket.answer({ type: 8, data: { user_id: "u1", session_id: "s1", turn: 0, state: "unknown" }, id: socket.sent[0]!.id });
    await tick();
    expect(socket.sent[1]).toEqual(chat);
    socket.answer({ type: 3, data: { user_id: "u1", session_id: "s1", session_name: "n", message: "ok" }, id: chat.id });
    expect((await stream.done).message).toBe("ok");
  });

  it("takes a repeated delete's 'Session not found' as done: the first attempt deleted it", async () => {
    const { client, last, reopened } = await scripted();
    const deleted = client.deleteSession("3b0c1c9e-7d1a-4f43-9a8e-0f2a5b6c7d8e");
    last().drop();
    const socket = await reopened();
    socket.answer({ error: "Session not found", code: 101, type: 4, id: socket.sent[0]!.id });
    await expect(deleted).resolves.toBeUndefined();
    client.close();
  });

  it("gives up after maxAttempts failed attempts in a row: what waits rejects, the state is closed", async () => {
    const { client, last, refuseNext, states, sockets } = await scripted({ reconnect: { maxAttempts: 3 } });
    const waiting = client.userDetails();
    refuseNext(3);
    last().drop();
    await expect(waiting).rejects.toMatchObject({ name: "ChatClientError", reason: "disconnected" });
    expect(sockets).toHaveLength(4);
    expect(states).toEqual(["reconnecting", "closed"]);
  });

  it("closes at once when reconnecting is off", async () => {
    const { client, last } = await scripted({ reconnect: false });
    const stream = client.stream({ sessionId: "NEW", model: "gpt-4-turbo", message: "x" });
    last().drop();
    await expect(collect(stream)).rejects.toMatchObject({ reason: "disconnected" });
    expect(client.state).toBe("closed");
  });
});

it("binds a streamed turn only to the start of its own message while it is the oldest unanswered request", async () => {
  const { client, last } = await scripted();
  const read = client.history("s1");
  const stream = client.stream({ sessionId: "s1", message: "mine" });
  // Another socket's turn in the watched session starts while the read is still unanswered: not this stream's.
  last().event({ session_id: "s1", turn: 4, event: "start", session_name: "n", user_message: "mine" });
  last().answer({ type: 2, data: { user_id: "u1", session_id: "s1", chat: "[]" }, id: last().sent[0]!.id });
  await read;
  expect(stream.turn).toBeUndefined();
  last().event({ session_id: "s1", turn: 5, event: "start", session_name: "n", user_message: "not mine" });
  expect(stream.turn).toBeUndefined();
  last().event({ session_id: "s1", turn: 6, event: "start", session_name: "n", user_message: "mine" });
  expect(stream.turn).toBe(6);
  client.close();
});

it("backs off exponentially with jitter, within its bounds", () => {
  const policy = { ...DEFAULT_RECONNECT, initialDelayMs: 100, maxDelayMs: 1000 };
  expect([0, 1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect([0, 1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
});
