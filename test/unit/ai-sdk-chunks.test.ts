// The AI SDK transport's chunk mapping (client/ai-sdk-chunks.ts): each turn event (start, delta, end, cancelled,
// error) and each refusal becomes the UIMessageChunks the docs' table says, and the AI SDK's own reader
// (readUIMessageStream, what useChat runs) builds the message a user would see from them. Also the stored history
// as UIMessages (historyMessages), and what the transport remembers per chat (ChatStore).
import { readUIMessageStream, type UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { ChatBackendError, ChatClientError, ErrorCode } from "chat-backend/client";
import { ChatStore } from "../../client/ai-sdk-store";
import { errorCodeOf, historyMessages, memoryStorage, TurnChunks, UploadError, type ChatBackendChunk, type ChatBackendUIMessage } from "chat-backend/client/ai-sdk";

const meta = { sessionId: "9f1e", sessionName: "Primes", turn: 3 };

/** What useChat's reader makes of the chunks: the last message snapshot, and the errors it reported. */
async function read(chunks: ChatBackendChunk[]): Promise<{ message: ChatBackendUIMessage | undefined; errors: string[] }> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const errors: string[] = [];
  let message: ChatBackendUIMessage | undefined;
  for await (const snapshot of readUIMessageStream<ChatBackendUIMessage>({ stream, onError: (error) => errors.push((error as Error).message) })) message = snapshot;
  return { message, errors };
}

const textOf = (message: ChatBackendUIMessage | undefined) => message?.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("");

describe("TurnChunks", () => {
  it("maps start, deltas and end to start, text-start, text-delta..., text-end and finish, with the turn and its charge as metadata", async () => {
    const turn = new TurnChunks("m1");
    const chunks = [
      ...turn.start(meta),
      ...turn.delta("2, 3", meta),
      ...turn.delta(" and 5.", meta),
      ...turn.end({ ...meta, charge: 0.000123, balance: 0.999877 }),
    ];
    expect(chunks).toEqual([
      { type: "start", messageId: "m1", messageMetadata: meta },
      { type: "text-start", id: "m1:text" },
      { type: "text-delta", id: "m1:text", delta: "2, 3" },
      { type: "text-delta", id: "m1:text", delta: " and 5." },
      { type: "text-end", id: "m1:text" },
      { type: "finish", finishReason: "stop", messageMetadata: { ...meta, charge: 0.000123, balance: 0.999877 } },
    ]);
    const { message, errors } = await read(chunks);
    expect(errors).toEqual([]);
    expect(message).toMatchObject({ id: "m1", role: "assistant", metadata: { ...meta, charge: 0.000123, balance: 0.999877 } });
    expect(message?.parts).toEqual([{ type: "text", text: "2, 3 and 5.", state: "done" }]);
  });

  it("maps a cancelled turn to a finish marked cancelled: the partial reply stays as the message", async () => {
    const turn = new TurnChunks("m2");
    const chunks = [...turn.start(meta), ...turn.delta("2, 3, 5, ", meta), ...turn.end({ ...meta, cancelled: true })];
    expect(chunks.slice(-2)).toEqual([
      { type: "text-end", id: "m2:text" },
      { type: "finish", finishReason: "other", messageMetadata: { ...meta, cancelled: true } },
    ]);
    const { message, errors } = await read(chunks);
    expect(errors).toEqual([]);
    expect(textOf(message)).toBe("2, 3, 5, ");
    expect(message?.metadata?.cancelled).toBe(true);
  });

  it("maps a failed turn (error event) to text-end and an error chunk with the protocol's text and code", async () => {
    const turn = new TurnChunks("m3");
    const failure = new ChatBackendError(ErrorCode.UnableToReceiveResponse, "Unable to Receive Response To Query", 3);
    const chunks = [...turn.start(meta), ...turn.delta("part-0 ", meta), ...turn.fail(failure)];
    expect(chunks.slice(-2)).toEqual([
      { type: "text-end", id: "m3:text" },
      { type: "error", errorText: "Unable to Receive Response To Query (code 6)" },
    ]);
    const { errors } = await read(chunks);
    expect(errors).toEqual(["Unable to Receive Response To Query (code 6)"]);
    expect(errorCodeOf(errors[0]!)).toBe(ErrorCode.UnableToReceiveResponse);
  });

  it("maps a turn refused before start to a lone error chunk: no assistant message", async () => {
    const turn = new TurnChunks("m4");
    const chunks = turn.fail(new ChatBackendError(ErrorCode.InsufficientBalance, "Insufficient balance", 3));
    expect(chunks).toEqual([{ type: "error", errorText: "Insufficient balance (code 15)" }]);
    const { message, errors } = await read(chunks);
    expect(errors).toEqual(["Insufficient balance (code 15)"]);
    expect(message).toBeUndefined();
    expect(errorCodeOf("Insufficient balance (code 15)")).toBe(15);
  });

  it("says why no answer can come when the client gave up, gives a refused upload's status, keeps any other error's text", () => {
    expect(new TurnChunks("m5").fail(new ChatClientError("disconnected", "the WebSocket could not be reopened (10 attempts)"))).toEqual([
      { type: "error", errorText: "the WebSocket could not be reopened (10 attempts) (disconnected)" },
    ]);
    expect(new TurnChunks("m6").fail(new Error("Chat-Backend takes one file per message, not 2"))).toEqual([
      { type: "error", errorText: "Chat-Backend takes one file per message, not 2" },
    ]);
    expect(errorCodeOf("Chat-Backend takes one file per message, not 2")).toBeUndefined();
    expect(new TurnChunks("m9").fail(new UploadError(400, "File too large: the limit is 10 MB"))).toEqual([
      { type: "error", errorText: "File too large: the limit is 10 MB (HTTP 400)" },
    ]);
  });

  it("emits each step once: a delta before start brings the start, an empty delta nothing, nothing after the end", async () => {
    const turn = new TurnChunks("m7");
    const chunks = [...turn.delta("", meta), ...turn.delta("hi", meta), ...turn.start(meta), ...turn.end(meta), ...turn.delta("late", meta), ...turn.end(meta), ...turn.fail(new Error("late"))];
    expect(chunks.map((chunk) => chunk.type)).toEqual(["start", "text-start", "text-delta", "text-end", "finish"]);
    expect(textOf((await read(chunks)).message)).toBe("hi");
    // A turn that ends with an empty reply (cancelled before its first delta) is still a whole message.
    const empty = new TurnChunks("m8").end({ ...meta, cancelled: true });
    expect(empty.map((chunk) => chunk.type)).toEqual(["start", "text-start", "text-end", "finish"]);
    expect((await read(empty)).errors).toEqual([]);
  });
});

describe("historyMessages", () => {
  it("makes a stored history UIMessages: user and assistant text, a file entry a file part of its turn's user message", () => {
    const url = (name: string) => `http://127.0.0.1:8787/uploads/${name}`;
    const messages = historyMessages(
      "s1",
      [
        { role: "user", content: "What is in this chart?" },
        { role: "assistant", content: "Sales by month." },
        { role: "file", content: "q1Z8.png" },
        { role: "user", content: "Thanks" },
        { role: "assistant", content: "" },
      ],
      url,
    );
    expect(messages).toEqual([
      {
        id: "s1:0",
        role: "user",
        metadata: { sessionId: "s1" },
        parts: [
          { type: "file", mediaType: "image/png", filename: "q1Z8.png", url: url("q1Z8.png") },
          { type: "text", text: "What is in this chart?" },
        ],
      },
      { id: "s1:1", role: "assistant", metadata: { sessionId: "s1" }, parts: [{ type: "text", text: "Sales by month.", state: "done" }] },
      { id: "s1:3", role: "user", metadata: { sessionId: "s1" }, parts: [{ type: "text", text: "Thanks" }] },
      { id: "s1:4", role: "assistant", metadata: { sessionId: "s1" }, parts: [{ type: "text", text: "", state: "done" }] },
    ]);
  });
});

describe("historyMessages on a v2 history", () => {
  it("names a file part by the name it was uploaded with and links it where the history says (signed in token mode)", () => {
    const signed = "http://127.0.0.1:8787/uploads/q1Z8.png?expires=1&signature=abc";
    const messages = historyMessages(
      "s1",
      [
        { role: "user", content: "What is in this chart?" },
        { role: "assistant", content: "Sales by month." },
        { role: "file", content: "q1Z8.png", name: "sales.png", url: signed },
      ],
      (name) => `http://127.0.0.1:8787/uploads/${name}`,
    );
    expect(messages[0]!.parts[0]).toEqual({ type: "file", mediaType: "image/png", filename: "sales.png", url: signed });
  });
});

describe("ChatStore", () => {
  it("keeps a chat's session both ways and its running turn, and ignores a running record it cannot read", () => {
    const storage = memoryStorage();
    const store = new ChatStore(storage);
    expect(store.session("c1")).toBeNull();
    store.link("c1", "s1");
    expect([store.session("c1"), store.chatOf("s1")]).toEqual(["s1", "c1"]);
    store.setRunning("c1", { sessionId: "s1", turn: 2, userText: "hi", file: { fileName: "f.txt", mediaType: "text/plain" } });
    expect(store.running("c1")).toEqual({ sessionId: "s1", turn: 2, userText: "hi", file: { fileName: "f.txt", mediaType: "text/plain" } });
    store.setRunning("c1", null);
    expect(store.running("c1")).toBeNull();
    storage.setItem("chat-backend.ai-sdk.running.c1", "{not json");
    expect(store.running("c1")).toBeNull();
    storage.setItem("chat-backend.ai-sdk.running.c1", JSON.stringify({ sessionId: "s1", turn: -1, userText: "hi" }));
    expect(store.running("c1")).toBeNull();
  });
});
