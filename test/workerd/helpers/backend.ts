// Test helpers that talk to the Worker the way clients do: a raw WebSocket (TestSocket, the tests' frame client in
// test/support/) upgraded through the Worker, the client library itself (ChatClient), the admin API (typed, and raw
// for malformed requests), and D1 reads.
import { exports } from "cloudflare:workers";
import { afterEach } from "vitest";
import postgres from "postgres";
import { ChatClient, type ClientOptions } from "chat-backend/client";
import type { ChatMessageRequest } from "../../../protocol";
import { FrameClient, type Frame, type Reply } from "../../support/frame-client";
import { adminClient, createUser as createUserWith, type NewUser } from "../../../client/http-api";
import { configOf } from "../../../src/config";
import { sessionObject } from "../../../src/domain/operations/session-objects";
import { ADMIN_TOKEN, testEnv } from "./env";

/** The raw-frame client (test/support/frame-client.ts) under the name these suites know it by. */
export { FrameClient as TestSocket, type Frame, type Reply } from "../../support/frame-client";

/** `open()` connects a socket that is closed after each test of the file. */
export function useSockets(): (query?: string, headers?: Record<string, string>) => Promise<FrameClient> {
  const sockets: FrameClient[] = [];
  afterEach(() => sockets.splice(0).forEach((s) => s.close()));
  return async (query = "", headers = {}) => {
    const socket = await connect(query, headers);
    sockets.push(socket);
    return socket;
  };
}

export async function connect(query = "", headers: Record<string, string> = {}): Promise<FrameClient> {
  return new FrameClient(await acceptedSocket(query, headers));
}

export async function acceptedSocket(query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const response = await upgrade(query, headers);
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`upgrade failed: ${response.status}`);
  socket.accept();
  return socket;
}

/** `open(options)` connects a ChatClient (chat-backend/client) whose sockets are upgrades through the Worker, as
 *  `connect` makes them; reconnecting waits 10-20 ms. Every client is closed after each test of the file. */
export function useClients(): (options?: Partial<ClientOptions>) => Promise<ChatClient> {
  const clients: ChatClient[] = [];
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  return async (options = {}) => {
    const client = await ChatClient.connect({
      url: "ws://backend.test/ws",
      socket: (url) => acceptedSocket(new URL(url).search),
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      ...options,
    });
    clients.push(client);
    return client;
  };
}

/** A WebSocket upgrade request to /ws, answered as the Worker answers it (101, or an HTTP failure). */
export function upgrade(query = "", headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`http://backend.test/ws${query}`, { headers: { Upgrade: "websocket", ...headers } });
}

export function backendFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://backend.test${path}`, init);
}

/** The admin API through the typed client (client/http-api.ts), reaching the Worker as `backendFetch` does. */
export const adminApi = adminClient("http://backend.test", { token: ADMIN_TOKEN, fetch: (input, init) => exports.default.fetch(input, init) });

export type CreatedUser = Awaited<ReturnType<typeof createUser>>;

/** A user with the models user:create grants and $1, unless `fields` say otherwise. */
export function createUser(fields: Partial<NewUser> = {}) {
  return createUserWith(adminApi, { username: "Test User", models: [4, 5, 8], balance: 1, ...fields });
}

/** Any admin request, malformed ones included, as the Worker answers it. */
export function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return backendFetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Sends a chat message (type 3) and returns its reply. */
export function chat(socket: FrameClient, userId: string, sessionId: string, message: string, extra: Partial<ChatMessageRequest> = {}): Promise<Reply<3>> {
  return socket.chat(userId, sessionId, message, extra);
}

/** What the scripted agent received, decoded from its reply. */
export interface AgentView {
  message: string;
  history: { role: string; content: string }[];
  summary: string;
  prompt: string;
  files: string[];
  model: string;
  provider: string;
  balance: number;
}

export function agentView(frame: Frame): AgentView {
  const data = frame.data;
  if (!data || typeof data.message !== "string") throw new Error(`not a chat reply: ${JSON.stringify(frame)}`);
  return JSON.parse(data.message) as AgentView;
}

/** Plain SQL against the engine the Worker uses (D1, or PostgreSQL in the postgres project); `?` placeholders. */
export async function query<T>(text: string, ...params: unknown[]): Promise<T[]> {
  if (configOf(testEnv).STORAGE === "postgres") {
    const sql = postgres(testEnv.HYPERDRIVE.connectionString, {
      max: 1,
      fetch_types: false,
      // bigint and numeric (sums) as numbers, as D1 returns them.
      types: { bigint: { to: 20, from: [20, 1700], serialize: String, parse: Number } },
    });
    try {
      let n = 0;
      const rows = await sql.unsafe(text.replace(/\?/g, () => `$${++n}`), params as never[]);
      return rows.map((row) => ({ ...row }) as T);
    } finally {
      await sql.end();
    }
  }
  const { results } = await testEnv.DB.prepare(text).bind(...params).all<T>();
  return results;
}

/** Waits until the session's object has committed every write of its answered turns to the database. */
export async function committed(sessionId: string): Promise<void> {
  if (!(await sessionObject(testEnv, sessionId).settled())) throw new Error(`session ${sessionId}: writes not committed`);
}

/** Waits until the session's object has finished every turn sent so far, summaries included, and the database has
 *  all of it: the event a summary's test waits for, instead of polling. */
export async function quiet(sessionId: string): Promise<void> {
  if (!(await sessionObject(testEnv, sessionId).quiet())) throw new Error(`session ${sessionId}: writes not committed`);
}

export async function balanceMicros(userId: string): Promise<number> {
  const [row] = await query<{ balance_micros: number }>("select balance_micros from users where id = ?", userId);
  if (!row) throw new Error(`no user ${userId}`);
  return row.balance_micros;
}

/** Polls until `check` passes (bounded: 15 s, 50 ms apart); only for what no call can wait for (an alarm's retry, a
 *  log line): a session's own work is awaited with quiet(). The bound is generous because a loaded machine (CI with
 *  another suite beside it) runs alarms seconds late. */
export async function eventually<T>(check: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw lastError;
}

export interface UploadFields {
  file?: { bytes: Uint8Array | string; name: string; type?: string };
  user_id?: string;
  session_id?: string;
  model_name?: string;
  session_prompt?: string;
}

export function uploadForm(fields: UploadFields): FormData {
  const form = new FormData();
  if (fields.file) form.set("file", new File([fields.file.bytes], fields.file.name, { type: fields.file.type ?? "" }));
  for (const key of ["user_id", "session_id", "model_name", "session_prompt"] as const) {
    const value = fields[key];
    if (value !== undefined) form.set(key, value);
  }
  return form;
}

/** POST /upload; `streamed` sends the body without Content-Length, as a chunked upload does. */
export async function upload(fields: UploadFields, options: { streamed?: boolean } = {}): Promise<Response> {
  const encoded = new Response(uploadForm(fields));
  const headers = { "content-type": encoded.headers.get("content-type") ?? "", origin: "http://ui.test" };
  if (!options.streamed) return backendFetch("/upload", { method: "POST", headers, body: await encoded.arrayBuffer() });
  const bytes = new Uint8Array(await encoded.arrayBuffer());
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
      controller.close();
    },
  });
  return backendFetch("/upload", { method: "POST", headers, body });
}

export async function storedObjects(): Promise<string[]> {
  const listing = await testEnv.FILES.list();
  return listing.objects.map((o) => o.key);
}
