// Test helpers that talk to the Worker the way clients do: a raw WebSocket (TestSocket, on the client library's frame
// layer), the client library itself (ChatClient), the admin API, and D1 reads.
import { exports } from "cloudflare:workers";
import { afterEach } from "vitest";
import postgres from "postgres";
import { ChatClient, FrameSocket, type CloseInfo, type ClientOptions } from "chat-backend/client";
import { configOf } from "../../src/config";
import { sessionObject } from "../../src/domain/operations/session-objects";
import { ADMIN_TOKEN, testEnv } from "./env";
import { MessageType } from "../../src/transport/ws/frames";

export type Frame = Record<string, unknown> & { type?: number; data?: Record<string, unknown>; error?: string; code?: number; id?: string };

/** A socket that sends any frame, malformed ones included, and reads each frame it gets in order: the client
 *  library's raw frame layer (FrameSocket) with a queue of received frames. */
export class TestSocket {
  private readonly received: Frame[] = [];
  private readonly waiting: ((frame: Frame) => void)[] = [];
  private readonly frames: FrameSocket;
  private readonly closeInfo: Promise<CloseInfo>;

  constructor(socket: WebSocket) {
    let closedWith: (info: CloseInfo) => void = () => {};
    this.closeInfo = new Promise((resolve) => (closedWith = resolve));
    this.frames = new FrameSocket(socket, {
      text: (text) => {
        const frame = JSON.parse(text) as Frame;
        const waiter = this.waiting.shift();
        if (waiter) waiter(frame);
        else this.received.push(frame);
      },
      closed: (info) => closedWith(info),
    });
  }

  /** How the socket closed, whoever closed it (fails the test if it is still open after 10 s). */
  closing(): Promise<CloseInfo> {
    return Promise.race([this.closeInfo, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the socket stayed open for 10 s")), 10_000))]);
  }

  get closed(): boolean {
    return this.frames.closed;
  }

  /** Sends a frame: a string or bytes as they are, anything else as JSON. */
  send(frame: unknown): void {
    this.frames.send(frame);
  }

  /** The next frame this socket receives (fails the test if none comes within 10 s). */
  next(): Promise<Frame> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      // A waiter that gave up is dropped: the next frame goes to the next caller, not to a failed one (a property
      // test shrinking after a timeout would otherwise pair every later answer with the request before it).
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error("no frame received within 10 s"));
      }, 10_000);
      this.waiting.push(waiter);
    });
  }

  async request(frame: unknown): Promise<Frame> {
    this.send(frame);
    return this.next();
  }

  close(): void {
    this.frames.close(1000, "test done");
  }
}

/** `open()` connects a socket that is closed after each test of the file. */
export function useSockets(): (query?: string, headers?: Record<string, string>) => Promise<TestSocket> {
  const sockets: TestSocket[] = [];
  afterEach(() => sockets.splice(0).forEach((s) => s.close()));
  return async (query = "", headers = {}) => {
    const socket = await connect(query, headers);
    sockets.push(socket);
    return socket;
  };
}

export async function connect(query = "", headers: Record<string, string> = {}): Promise<TestSocket> {
  return new TestSocket(await acceptedSocket(query, headers));
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

export interface CreatedUser {
  user_id: string;
  username: string;
  balance: number;
  models: number[];
}

export async function createUser(fields: { models?: number[]; balance?: number; user_id?: string; username?: string } = {}) {
  const response = await admin("POST", "/admin/users", { username: "Test User", models: [4, 5, 8], balance: 1, ...fields });
  if (response.status !== 201) throw new Error(`createUser: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedUser;
}

export function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return backendFetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Sends a chat message (type 3) and returns the answer frame. */
export function chat(
  socket: TestSocket,
  userId: string,
  sessionId: string,
  message: string,
  extra: Record<string, unknown> = {},
): Promise<Frame> {
  return socket.request({
    type: MessageType.ChatMessage,
    data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "", ...extra },
  });
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

/** Polls until `check` passes (bounded: 100 tries, 50 ms apart); for work that happens after a reply. */
export async function eventually<T>(check: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 100; attempt++) {
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
