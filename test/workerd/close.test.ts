// How the connection hub ends sockets: a client that closes without a code (the browser's and `ws`'s default)
// or with a normal one gets its close answered at once and cleanly, and the hub keeps serving other sockets.
import { exports } from "cloudflare:workers";
import { beforeAll, expect, it } from "vitest";
import { createUser, type CreatedUser } from "./helpers/backend";
import { MessageType } from "../../protocol";

/** Well under the runtime's own give-up time for an unanswered close (about 10 s, then 1006). */
const PROMPT_MS = 2_000;

let user: CreatedUser;

beforeAll(async () => {
  user = await createUser({ username: "Closer", models: [8], balance: 1 });
});

/** A raw client socket on `/ws` (with `query`), accepted, that has answered one request. */
async function openSocket(query = ""): Promise<WebSocket> {
  const response = await exports.default.fetch(`http://backend.test/ws${query}`, { headers: { Upgrade: "websocket" } });
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`upgrade failed: ${response.status}`);
  socket.accept();
  const answered = new Promise<unknown>((resolve) => socket.addEventListener("message", (event) => resolve(JSON.parse(String(event.data))), { once: true }));
  socket.send(JSON.stringify({ type: MessageType.UserDetails, data: { user_id: user.user_id } }));
  expect(await answered).toEqual({ type: MessageType.UserDetails, data: { user_id: user.user_id, username: "Closer" } });
  return socket;
}

/** Closes the client side with `close` and resolves with the close event the client then gets, or rejects after PROMPT_MS. */
function closeAndWait(socket: WebSocket, close: (socket: WebSocket) => void): Promise<{ code: number; wasClean: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close event within ${PROMPT_MS} ms`)), PROMPT_MS);
    socket.addEventListener("close", (event) => {
      clearTimeout(timer);
      resolve({ code: event.code, wasClean: event.wasClean, ms: Date.now() - started });
    });
    close(socket);
  });
}

it("answers a close without a code (reserved code 1005 on the server) at once and cleanly", async () => {
  const socket = await openSocket();
  const closed = await closeAndWait(socket, (s) => s.close());
  expect(closed).toMatchObject({ code: 1000, wasClean: true });
});

it.each([
  [1000, "done"],
  [1001, "page left"], // what a browser sends when its page goes away
  [4001, "bye"],
])("echoes the close code %i and its reason", async (code, reason) => {
  const socket = await openSocket();
  const closed = await closeAndWait(socket, (s) => s.close(code, reason));
  expect(closed).toMatchObject({ code, wasClean: true });
});

it("keeps serving after sockets closed without a code, on the same user's hub", async () => {
  const query = `?user_id=${user.user_id}`;
  const first = await openSocket(query);
  const second = await openSocket(query);
  await closeAndWait(first, (s) => s.close());
  // The hub that answered the code-less close still answers the other socket, and new ones.
  second.send(JSON.stringify({ type: MessageType.Balance, data: { user_id: user.user_id } }));
  const balance = await new Promise<unknown>((resolve) => second.addEventListener("message", (event) => resolve(JSON.parse(String(event.data))), { once: true }));
  expect(balance).toEqual({ type: MessageType.Balance, data: { balance: 1 } });
  const third = await openSocket(query);
  for (const socket of [second, third]) await closeAndWait(socket, (s) => s.close(1000, "test done"));
});
