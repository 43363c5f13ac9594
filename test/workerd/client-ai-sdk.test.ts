// Tests ChatBackendTransport (chat-backend/client/ai-sdk) against the real backend: what useChat gets from it, read
// with the AI SDK's own reader (readUIMessageStream). A chat id becomes a session, replies stream as chunks with the
// turn and its charge as metadata, the abort signal (Stop) cancels and keeps the partial reply, a second transport
// on the same storage (a reload) loads the history and resumes the running reply whole, a file part is uploaded and
// attached, and a refused turn is an error chunk with its code. The scripted agent streams with stream:<n>:<ms>.
import { exports } from "cloudflare:workers";
import { readUIMessageStream, type UIMessageChunk } from "ai";
import { afterEach, expect, it } from "vitest";
import { ChatBackendTransport, memoryStorage, type ChatBackendTransportOptions, type ChatBackendUIMessage, type KeyValueStorage } from "chat-backend/client/ai-sdk";
import { acceptedSocket, balanceMicros, committed, createUser, query } from "./helpers/backend";

const transports: ChatBackendTransport[] = [];
afterEach(() => transports.splice(0).forEach((t) => t.close()));

function transport(userId: string, options: Partial<ChatBackendTransportOptions> = {}): ChatBackendTransport {
  const made = new ChatBackendTransport({
    url: "ws://backend.test/ws",
    userId,
    socket: (url) => acceptedSocket(new URL(url).search),
    fetch: (request) => exports.default.fetch(request),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  transports.push(made);
  return made;
}

const userMessage = (text: string, extra: ChatBackendUIMessage["parts"] = []): ChatBackendUIMessage => ({ id: crypto.randomUUID(), role: "user", parts: [...extra, { type: "text", text }] });

function send(t: ChatBackendTransport, chatId: string, text: string, options: { body?: object; abortSignal?: AbortSignal; files?: ChatBackendUIMessage["parts"] } = {}) {
  return t.sendMessages({ chatId, trigger: "submit-message", messageId: undefined, messages: [userMessage(text, options.files)], abortSignal: options.abortSignal, body: options.body ?? { model: "gpt-4-turbo" } });
}

/** Reads a chunk stream as useChat does: the chunks, the last message snapshot, the errors. `onChunk` sees each. */
async function read(stream: ReadableStream<UIMessageChunk>, onChunk: (chunk: UIMessageChunk, index: number) => void = () => {}) {
  const chunks: UIMessageChunk[] = [];
  const tapped = stream.pipeThrough(
    new TransformStream<UIMessageChunk, UIMessageChunk>({
      transform(chunk, controller) {
        onChunk(chunk, chunks.push(chunk) - 1);
        controller.enqueue(chunk);
      },
    }),
  );
  const errors: string[] = [];
  let message: ChatBackendUIMessage | undefined;
  for await (const snapshot of readUIMessageStream<ChatBackendUIMessage>({ stream: tapped, onError: (e) => errors.push((e as Error).message) })) message = snapshot;
  return { chunks, message, errors, text: message?.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("") ?? "" };
}

const parts = (n: number) => Array.from({ length: n }, (_, i) => `part-${i} `).join("");
const deltasOf = (chunks: UIMessageChunk[]) => chunks.flatMap((c) => (c.type === "text-delta" ? [c.delta] : []));

async function storedHistory(sessionId: string) {
  await committed(sessionId);
  return query<{ role: string; content: string }>("select role, content from messages where session_id = ? order by seq", sessionId);
}

it("streams a chat as chunks: a new chat starts a session, the next message continues it, metadata carries the turn and its charge", async () => {
  const { user_id } = await createUser({ balance: 2 });
  const t = transport(user_id);
  const before = await balanceMicros(user_id);

  const first = await read(await send(t, "chat-1", "stream:4:5 hello", { body: { model: "gpt-4-turbo", prompt: "Be brief." } }));
  expect(first.chunks.map((c) => c.type)).toEqual(["start", "text-start", "text-delta", "text-delta", "text-delta", "text-delta", "text-end", "finish"]);
  expect(first.errors).toEqual([]);
  expect(first.text).toBe(parts(4));
  const sessionId = t.sessionOf("chat-1");
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
  const charged = (before - (await balanceMicros(user_id))) / 1e6;
  expect(charged).toBeGreaterThan(0);
  expect(first.message?.metadata).toEqual({ sessionId, sessionName: "stream:4:5 hello", turn: 0, charge: charged, balance: 2 - charged });

  const second = await read(await send(t, "chat-1", "brief again", { body: {} })); // no model: the session keeps its own
  expect(second.text).toBe("ok: brief again");
  expect(second.message?.metadata).toMatchObject({ sessionId, turn: 1 });

  // A new transport on other storage knows nothing of chat-1, but lists the session under its own id and loads it.
  const other = transport(user_id);
  expect(await other.chats()).toEqual([{ chatId: sessionId, sessionId, name: "stream:4:5 hello" }]);
  const history = await other.loadMessages(sessionId!);
  expect(history.map((m) => [m.role, m.parts])).toEqual([
    ["user", [{ type: "text", text: "stream:4:5 hello" }]],
    ["assistant", [{ type: "text", text: parts(4), state: "done" }]],
    ["user", [{ type: "text", text: "brief again" }]],
    ["assistant", [{ type: "text", text: "ok: brief again", state: "done" }]],
  ]);
  expect(await other.reconnectToStream({ chatId: sessionId! })).toBeNull(); // nothing runs
});

it("cancels the turn when the request is aborted (useChat's stop): the partial reply stays and is stored", async () => {
  const { user_id } = await createUser();
  const t = transport(user_id);
  const stop = new AbortController();
  const result = await read(await send(t, "chat-stop", "stream:50:50 never finishes", { abortSignal: stop.signal }), (chunk) => {
    if (chunk.type === "text-delta" && chunk.delta === "part-2 ") stop.abort();
  });
  const finish = result.chunks.at(-1);
  expect(finish).toMatchObject({ type: "finish", finishReason: "other", messageMetadata: { cancelled: true, turn: 0 } });
  const deltas = deltasOf(result.chunks);
  expect(deltas.length).toBeGreaterThanOrEqual(3);
  expect(deltas.length).toBeLessThan(50);
  expect((await storedHistory(t.sessionOf("chat-stop")!)).map((h) => h.content)).toEqual(["stream:50:50 never finishes", deltas.join("")]);
});

it("after a reload (a new transport on the same storage) loads the history and resumes the running reply: every delta once", async () => {
  const { user_id } = await createUser();
  const storage: KeyValueStorage = memoryStorage();
  const first = transport(user_id, { storage });
  let resumeFrom: () => void = () => {};
  const seenThreeDeltas = new Promise<void>((resolve) => (resumeFrom = resolve));
  const firstTab = read(await send(first, "chat-reload", "stream:20:40 a long reply"), (chunk) => {
    if (chunk.type === "text-delta" && chunk.delta === "part-2 ") resumeFrom();
  });
  await seenThreeDeltas;

  const reloaded = transport(user_id, { storage });
  const messages = await reloaded.loadMessages("chat-reload");
  expect(messages.map((m) => [m.role, m.parts])).toEqual([["user", [{ type: "text", text: "stream:20:40 a long reply" }]]]);
  const resumed = await read((await reloaded.reconnectToStream({ chatId: "chat-reload" }))!);
  expect(resumed.errors).toEqual([]);
  expect(deltasOf(resumed.chunks).join("")).toBe(parts(20));
  expect(resumed.text).toBe(parts(20));
  expect(resumed.message?.metadata).toMatchObject({ sessionId: first.sessionOf("chat-reload"), turn: 0 });
  expect((await firstTab).text).toBe(parts(20));

  // Once it ended there is nothing to resume, and the history holds the reply.
  expect(await reloaded.reconnectToStream({ chatId: "chat-reload" })).toBeNull();
  const later = transport(user_id, { storage });
  expect((await later.loadMessages("chat-reload")).map((m) => m.role)).toEqual(["user", "assistant"]);
  expect(await later.reconnectToStream({ chatId: "chat-reload" })).toBeNull();
});

it("uploads a file part first and attaches it to the turn; the history shows it on the user message", async () => {
  const { user_id } = await createUser();
  const t = transport(user_id);
  const file = { type: "file" as const, mediaType: "text/plain", filename: "notes.txt", url: `data:text/plain;base64,${btoa("some notes\n")}` };
  const result = await read(await send(t, "chat-file", "read this", { files: [file] }));
  expect(result.errors).toEqual([]);
  const sessionId = t.sessionOf("chat-file")!;
  const [stored] = await query<{ name: string; original_name: string }>("select file_name as name, original_name from files where session_id = ?", sessionId);
  expect(stored?.original_name).toBe("notes.txt");
  // The agent got the file's signed URL with the turn (the scripted agent's reply quotes what it received).
  const { files } = JSON.parse(result.text) as { files: string[] };
  expect(files).toEqual([expect.stringContaining(`/files/${stored!.name}?`)]);
  const served = await exports.default.fetch(`http://backend.test/uploads/${stored!.name}`);
  expect(await served.text()).toBe("some notes\n");
  expect((await storedHistory(sessionId)).map((h) => h.role)).toEqual(["user", "assistant", "file"]);
  const [user] = await t.loadMessages("chat-file");
  expect(user?.parts).toEqual([
    // Shown by the name it was uploaded with, linked where the history says.
    { type: "file", mediaType: "text/plain", filename: "notes.txt", url: `http://backend.test/uploads/${stored!.name}` },
    { type: "text", text: "read this" },
  ]);
});

it("turns a refused turn into an error chunk with the protocol's text and code, and stores nothing", async () => {
  const { user_id } = await createUser({ models: [8] });
  const t = transport(user_id);
  const refused = await read(await send(t, "chat-refused", "hello"));
  expect(refused.chunks).toEqual([{ type: "error", errorText: "User Does Not Have Model Access (code 7)" }]);
  expect(refused.errors).toEqual(["User Does Not Have Model Access (code 7)"]);
  expect(refused.message).toBeUndefined();
  expect(t.sessionOf("chat-refused")).toBeNull();
  expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);

  // A failure mid-stream (the agent dies) ends the started message with the error, code 6.
  const t2 = transport((await createUser()).user_id);
  const died = await read(await send(t2, "chat-died", "die:2 early"));
  expect(died.chunks.map((c) => c.type)).toEqual(["start", "text-start", "text-delta", "text-delta", "text-end", "error"]);
  expect(died.errors).toEqual(["Unable to Receive Response To Query (code 6)"]);
  // Regenerating is not supported: an error chunk says so.
  const regenerate = await read(await t2.sendMessages({ chatId: "chat-died", trigger: "regenerate-message", messageId: undefined, messages: [], abortSignal: undefined }));
  expect(regenerate.errors[0]).toMatch(/does not regenerate/);
});
