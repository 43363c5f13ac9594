// ChatBackendTransport (chat-backend/client/ai-sdk) with AUTH_MODE=token: the `token()` callback's credential signs
// the socket in (no user id anywhere) and the upload of a file part; a refused credential is an error chunk.
import { exports } from "cloudflare:workers";
import { readUIMessageStream, type UIMessageChunk } from "ai";
import { afterEach, expect, it } from "vitest";
import { ChatBackendTransport, type ChatBackendUIMessage } from "chat-backend/client/ai-sdk";
import { acceptedSocket, admin, createUser, query } from "../workerd/helpers/backend";

const transports: ChatBackendTransport[] = [];
afterEach(() => transports.splice(0).forEach((t) => t.close()));

function transport(token: () => Promise<string>): ChatBackendTransport {
  const made = new ChatBackendTransport({
    url: "ws://backend.test/ws",
    token,
    model: "gpt-4-turbo",
    socket: (url) => acceptedSocket(new URL(url).search),
    fetch: (request) => exports.default.fetch(request),
    reconnect: false,
  });
  transports.push(made);
  return made;
}

async function read(stream: ReadableStream<UIMessageChunk>) {
  const errors: string[] = [];
  let message: ChatBackendUIMessage | undefined;
  for await (const snapshot of readUIMessageStream<ChatBackendUIMessage>({ stream, onError: (e) => errors.push((e as Error).message) })) message = snapshot;
  return { message, errors };
}

const turn = (t: ChatBackendTransport, text: string, parts: ChatBackendUIMessage["parts"] = []) =>
  t.sendMessages({ chatId: "chat", trigger: "submit-message", messageId: undefined, abortSignal: undefined, messages: [{ id: "u1", role: "user", parts: [...parts, { type: "text", text }] }] });

it("signs the socket and the upload in with the token() credential", async () => {
  const { user_id } = await createUser({ balance: 1 });
  const response = await admin("POST", `/admin/users/${user_id}/keys`);
  const { key } = (await response.json()) as { key: string };
  let asked = 0;
  const t = transport(async () => (asked++, key));

  const file = { type: "file" as const, mediaType: "text/plain", filename: "notes.txt", url: `data:text/plain;base64,${btoa("for my eyes\n")}` };
  const { message, errors } = await read(await turn(t, "brief with a file", [file]));
  expect(errors).toEqual([]);
  expect(message?.parts).toEqual([{ type: "text", text: "ok: brief with a file", state: "done" }]);
  expect(asked).toBe(2); // once to connect, once for the upload
  const sessionId = t.sessionOf("chat");
  expect(await query("select id from sessions where id = ? and user_id = ?", sessionId, user_id)).toHaveLength(1);
  expect(await query("select file_name from files where session_id = ? and user_id = ?", sessionId, user_id)).toHaveLength(1);

  // After a reload the history shows the file by its own name, through a link a browser can open without a header.
  const [asSent] = await t.loadMessages("chat");
  const part = asSent?.parts.find((p) => p.type === "file");
  expect(part).toMatchObject({ type: "file", filename: "notes.txt" });
  const served = await exports.default.fetch(new Request((part as { url: string }).url));
  expect([served.status, await served.text()]).toEqual([200, "for my eyes\n"]);
});

it("turns a refused credential into an error chunk, and creates nothing", async () => {
  const { user_id } = await createUser({ balance: 1 });
  const t = transport(async () => "cbk_nothing_here");
  const { message, errors } = await read(await turn(t, "brief hello"));
  expect(message).toBeUndefined();
  // The connection's failure, as the socket factory reported it (here the test's upgrade through the Worker).
  expect(errors).toEqual(["upgrade failed: 401"]);
  expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
});
