// Owns ChatClient: one connection to /ws, one typed method per message type, answers paired by id, reconnecting.
// Error frames become ChatBackendError, turn events go to streams and listeners; what a reconnect sends again,
// and why, is said at `recover`.
import { backoffDelay, reconnectPolicy, type ReconnectOptions, type ReconnectPolicy } from "./backoff";
import { ChatBackendError, ChatClientError } from "./errors";
import {
  CloseCode,
  ErrorCode,
  isErrorFrame,
  isEventFrame,
  MessageType,
  type Answers,
  type ChatMessageRequest,
  type ChatReply,
  type HistoryEntry,
  type RequestType,
  type Requests,
  type SessionInfo,
  type TurnEvent,
} from "../protocol";
import { TurnStream, type ResumedTurn, type StreamHost, type StreamOwner } from "./stream";
import { connectionFailure, DEFAULT_CONNECT_TIMEOUT_MS } from "./connect-failure";
import { FrameSocket, globalSocketFactory, newRequestId, parseFrame, type CloseInfo, type SocketFactory } from "./transport";

export interface ClientOptions {
  /** The backend's WebSocket URL, e.g. `ws://127.0.0.1:8787/ws` (`?v=2` and `?token=` are added as needed). */
  url: string;
  /** The user every request acts as (AUTH_MODE=none). With a `token` it may be left out. */
  userId?: string;
  /** A credential (JWT or API key) for AUTH_MODE=token, sent as `?token=`; or a function that gives one, asked
   *  before every connect, so a socket closed because its credential expired or was revoked (close code 4401)
   *  reconnects with a fresh one. */
  token?: string | TokenSource;
  /** Protocol v2: streamed replies, resume, cancel, turn events (default true). */
  v2?: boolean;
  /** Makes the sockets (default: the runtime's WebSocket; in Node 20 use connectNode). */
  socket?: SocketFactory;
  /** Reconnect after the socket drops (default on: 250 ms doubling to 10 s, 10 attempts); false: the client closes. */
  reconnect?: ReconnectOptions | false;
  /** How long opening a socket may take (default 10 s); then it fails with cause "timeout". */
  connectTimeoutMs?: number;
}

/** Gives the credential to connect with (a JWT your sign-in refreshes, or an API key). */
export type TokenSource = () => string | Promise<string>;

/** `open`: requests go out; `reconnecting`: they wait for the next socket; `closed`: they fail. */
export type ConnectionState = "open" | "reconnecting" | "closed";

export interface ChatInput {
  /** A session id, or "NEW" to start one. */
  sessionId: string | "NEW";
  message: string;
  /** A model name (`gpt-4-turbo`) or id (4). A new session needs one; an existing one keeps its own without. */
  model?: string | number;
  /** The system prompt; replaces the session's when given. */
  prompt?: string;
  /** The stored name of a file uploaded into this session (POST /upload's `fileName`). */
  file?: string;
  /** The request id (default a new UUID): the same id sent again gets the stored answer, never a second turn. */
  id?: string;
}

interface Pending {
  id: string;
  type: RequestType;
  data: Requests[RequestType];
  text: string;
  resolve(data: unknown): void;
  reject(error: Error): void;
  /** A stream that carries this request across a reconnect; null: re-sent as it is. */
  owner: StreamOwner | null;
  /** Sent again after a reconnect. */
  retried: boolean;
}

type Listeners = { turn: (event: TurnEvent) => void; connection: (state: ConnectionState) => void };

export class ChatClient {
  readonly userId: string | undefined;
  private readonly socketUrl: string;
  private readonly token: string | TokenSource | undefined;
  private readonly factory: SocketFactory;
  private readonly policy: ReconnectPolicy | null;
  private readonly connectTimeoutMs: number;
  /** Why the last attempt to open a socket failed, for the error that gives up. */
  private lastFailure: Error | null = null;
  private frames: FrameSocket | null = null;
  private currentState: ConnectionState = "reconnecting";
  /** Requests without their answer yet, in the order they went out on the current socket. */
  private readonly pending = new Map<string, Pending>();
  private readonly streams = new Set<StreamOwner>();
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = { turn: new Set(), connection: new Set() };
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly host: StreamHost;

  private constructor(options: ClientOptions) {
    this.userId = options.userId;
    const url = new URL(options.url);
    if (options.v2 ?? true) url.searchParams.set("v", "2");
    this.socketUrl = url.href;
    this.token = options.token;
    this.factory = options.socket ?? globalSocketFactory;
    this.policy = options.reconnect === false ? null : reconnectPolicy(options.reconnect);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.host = {
      userId: this.userId,
      send: (type, data, id, owner) => this.enqueue(type, this.withUser(data), id, owner),
      resend: (id) => {
        const entry = this.pending.get(id);
        if (entry) this.transmit(entry);
      },
      forget: (id) => void this.pending.delete(id),
      oldestPending: () => this.pending.keys().next().value,
      cancel: (sessionId) => this.cancel(sessionId),
      finished: (owner) => void this.streams.delete(owner),
    };
  }

  /** Connects (rejects when the first socket cannot be opened; later drops are reconnected). */
  static async connect(options: ClientOptions): Promise<ChatClient> {
    const client = new ChatClient(options);
    await client.openSocket();
    client.setState("open");
    return client;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The socket in use, while open (tests close it to play a dropped connection). */
  get socket(): FrameSocket | null {
    return this.frames;
  }

  // ---- one method per message type -------------------------------------------------------------------------

  /** Type 0. */
  userDetails(): Promise<Answers[0]> {
    return this.request(MessageType.UserDetails, {});
  }

  /** Type 1: the user's sessions, most recently active first. */
  async sessions(): Promise<SessionInfo[]> {
    return (await this.request(MessageType.SessionList, {})).session_info;
  }

  /** Type 2: a session's history, parsed. A v2 client watches the session from then on (`on("turn")`). */
  async history(sessionId: string): Promise<HistoryEntry[]> {
    return JSON.parse((await this.request(MessageType.SessionChats, { session_id: sessionId })).chat) as HistoryEntry[];
  }

  /** Type 3: a chat message, answered when the turn has ended. Idempotent by its id, also across reconnects. */
  send(input: ChatInput): Promise<ChatReply> {
    return this.request(MessageType.ChatMessage, chatRequest(input), { id: input.id });
  }

  /** Type 3, streamed (v2): the reply's deltas as they come, then `done`. On a v1 client the whole reply is one delta. */
  stream(input: ChatInput): TurnStream<ChatReply> {
    const origin = { kind: "chat" as const, id: input.id ?? newRequestId(), request: chatRequest(input) };
    const stream = new TurnStream<ChatReply>(this.host, origin, ({ message, cancelled }, known, answer) =>
      answer ?? {
        user_id: this.userId ?? known.userId ?? "",
        session_id: known.sessionId ?? "",
        session_name: known.sessionName ?? "",
        message,
        ...(cancelled ? { cancelled: true as const } : {}),
      },
    );
    this.follow(stream);
    return stream;
  }

  /** Type 4. */
  async deleteSession(sessionId: string): Promise<void> {
    await this.request(MessageType.DeleteSession, { session_id: sessionId });
  }

  /** Type 5: the names of the models the user may use. */
  async models(): Promise<string[]> {
    return (await this.request(MessageType.ModelList, {})).models;
  }

  /** Type 6: the balance in dollars. */
  async balance(): Promise<number> {
    return (await this.request(MessageType.Balance, {})).balance;
  }

  /** Type 8 (v2): a turn's deltas after `afterSeq` (-1: all), then the live ones, as a stream. */
  resume(sessionId: string, turn: number, afterSeq = -1): TurnStream<ResumedTurn> {
    const stream = new TurnStream<ResumedTurn>(
      this.host,
      { kind: "resume" },
      ({ message, cancelled }, known) => ({ user_id: this.userId ?? known.userId ?? "", session_id: sessionId, turn, message, ...(cancelled ? { cancelled: true as const } : {}) }),
      { sessionId, turn, afterSeq },
    );
    this.follow(stream);
    return stream;
  }

  /** Type 9 (v2): cancels the session's running turn; resolves with its number once it has ended. */
  async cancel(sessionId: string): Promise<number> {
    return (await this.request(MessageType.CancelTurn, { session_id: sessionId })).turn;
  }

  /** Any request type, typed; `user_id` is added when the client has one. */
  request<T extends RequestType>(type: T, data: Requests[T], options: { id?: string } = {}): Promise<Answers[T]> {
    return this.enqueue(type, this.withUser(data), options.id ?? newRequestId(), null);
  }

  // ---- events and lifetime ------------------------------------------------------------------------------------

  /** `turn`: every turn event this socket receives (v2: its own turns and those of the sessions it watches).
   *  `connection`: the connection's state changes. Returns a function that removes the listener. */
  on<K extends keyof Listeners>(event: K, listener: Listeners[K]): () => void {
    const set = this.listeners[event] as Set<Listeners[K]>;
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Closes the socket; requests still waiting reject with ChatClientError("closed"). */
  close(): void {
    this.shutdown(new ChatClientError("closed", "the client was closed"));
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private withUser<D extends object>(data: D): D {
    return this.userId === undefined ? data : { user_id: this.userId, ...data };
  }

  private follow(stream: StreamOwner): void {
    if (this.currentState === "closed") {
      stream.fail(new ChatClientError("closed", "the client was closed"));
      return;
    }
    this.streams.add(stream);
    stream.begin();
  }

  private enqueue<T extends RequestType>(type: T, data: Requests[T], id: string, owner: StreamOwner | null): Promise<Answers[T]> {
    if (this.currentState === "closed") return Promise.reject(new ChatClientError("closed", "the client was closed"));
    if (this.pending.has(id)) return Promise.reject(new Error(`request id ${id} is already waiting for its answer`));
    return new Promise<Answers[T]>((resolve, reject) => {
      const entry: Pending = { id, type, data, text: JSON.stringify({ type, data, id }), resolve: resolve as (data: unknown) => void, reject, owner, retried: false };
      this.pending.set(id, entry);
      if (this.currentState === "open") this.frames?.send(entry.text);
    });
  }

  /** Sends a pending request (again), last in line. */
  private transmit(entry: Pending): void {
    this.pending.delete(entry.id);
    this.pending.set(entry.id, entry);
    if (this.currentState !== "open") return;
    try {
      this.frames?.send(entry.text);
    } catch {
      // the socket is closing: its close event brings the next one, and this request is sent there
    }
  }

  private receive(text: string): void {
    const frame = parseFrame(text);
    if (!frame) return;
    if (isErrorFrame(frame)) {
      // An error the backend could not tie to a request (a frame too large) answers the oldest one: answers come in order.
      const entry = frame.id !== undefined ? this.pending.get(frame.id) : this.pending.values().next().value;
      if (!entry) return;
      this.pending.delete(entry.id);
      if (entry.type === MessageType.DeleteSession && entry.retried && frame.code === ErrorCode.SessionNotFound) {
        entry.resolve({ user_id: entry.data.user_id ?? "" }); // the first attempt deleted it before its answer was lost
      } else entry.reject(new ChatBackendError(frame.code, frame.error, frame.type, frame.id, frame.detail));
      return;
    }
    if (isEventFrame(frame)) {
      for (const stream of this.streams) stream.offer(frame.data);
      for (const listener of this.listeners.turn) this.call(listener, frame.data);
      return;
    }
    const entry = frame.id === undefined ? undefined : this.pending.get(frame.id);
    if (!entry) return;
    this.pending.delete(entry.id);
    entry.resolve(frame.data);
  }

  /** The socket URL with the credential, asked of the token function each time there is one. */
  private async connectUrl(): Promise<string> {
    if (this.token === undefined) return this.socketUrl;
    const url = new URL(this.socketUrl);
    url.searchParams.set("token", typeof this.token === "function" ? await this.token() : this.token);
    return url.href;
  }

  private async openSocket(): Promise<void> {
    const url = await this.connectUrl();
    const socket = await this.factory(url);
    const frames: FrameSocket = new FrameSocket(socket, {
      text: (text) => {
        if (this.frames === frames) this.receive(text);
      },
      closed: (info) => {
        if (this.frames === frames) this.lost(info);
      },
    });
    await this.opened(frames, url);
    if (this.currentState === "closed") {
      frames.close();
      throw new ChatClientError("closed", "the client was closed");
    }
    this.frames = frames;
    if (frames.closed) throw new ChatClientError("disconnected", "the WebSocket closed as it opened");
  }

  /** The socket open, or the reason it is not (the URL, refused / DNS / timeout, the server's refusal). `url`
   *  carries the credential, so the refusal asked for is this credential's (the message shows it masked). */
  private async opened(frames: FrameSocket, url: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), this.connectTimeoutMs)));
    try {
      if ((await Promise.race([frames.opened.then(() => "open" as const), timeout])) === "open") return;
    } catch (error) {
      if (this.currentState === "closed") throw error;
      throw (this.lastFailure = await connectionFailure(url, null));
    } finally {
      clearTimeout(timer);
    }
    frames.close();
    throw (this.lastFailure = await connectionFailure(url, { afterMs: this.connectTimeoutMs }));
  }

  /** The socket dropped without close(): reconnect, or close when that is off. A socket closed because its
   *  credential ended reconnects only with a token function to ask for a fresh one (the same credential would be
   *  refused), at once. */
  private lost(info: CloseInfo): void {
    this.frames = null;
    if (this.currentState === "closed") return;
    if (!this.policy) {
      this.shutdown(new ChatClientError("disconnected", "the WebSocket closed (reconnecting is off)"));
      return;
    }
    if (info.code === CloseCode.CredentialEnded) {
      if (typeof this.token !== "function") {
        this.shutdown(new ChatClientError("disconnected", `the backend closed the WebSocket: ${info.reason || "credential ended"} (pass \`token\` as a function to sign in again)`));
        return;
      }
      this.attempt = 0;
    }
    this.setState("reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const policy = this.policy!;
    if (this.attempt >= policy.maxAttempts) {
      const last = this.lastFailure ? `; the last: ${this.lastFailure.message}` : "";
      this.shutdown(new ChatClientError("disconnected", `the WebSocket could not be reopened (${this.attempt} attempts)${last}`));
      return;
    }
    this.retryTimer = setTimeout(() => void this.reconnect(), backoffDelay(this.attempt++, policy));
  }

  private async reconnect(): Promise<void> {
    this.retryTimer = undefined;
    try {
      await this.openSocket();
    } catch {
      this.frames = null;
      if (this.currentState !== "closed") this.scheduleReconnect();
      return;
    }
    this.attempt = 0;
    this.lastFailure = null;
    this.setState("open");
    this.recover();
  }

  /**
   * After a reconnect, brings every request that has no answer yet to the new socket, in their order:
   * - reads (types 0, 1, 2, 5, 6) are sent again as they are: they change nothing;
   * - a chat message sent with `send()`, or whose turn had not started yet, is sent again with the SAME id: the
   *   backend answers it from its idempotency log when it already ran (or waits for it when it still runs), so
   *   it never runs twice;
   * - a streamed turn that had started is resumed instead (type 8 after the last delta held): re-sending its chat
   *   message would only bring the final answer once the turn ends, while a resume brings the missing deltas
   *   now, each once, and then the ending (docs/protocol.md 9.3);
   * - a delete is sent again; a "Session not found" answer to it then means the first one deleted it;
   * - a cancel is sent again (cancelling twice is harmless; code 110 if the turn has ended since).
   * Sessions the old socket watched are not watched by the new one until read again (history) or resumed.
   */
  private recover(): void {
    const recovered = new Set<StreamOwner>();
    for (const entry of [...this.pending.values()]) {
      if (this.pending.get(entry.id) !== entry) continue; // a stream dropped or replaced it meanwhile
      if (!entry.owner) {
        entry.retried = true;
        this.transmit(entry);
      } else if (!recovered.has(entry.owner)) {
        recovered.add(entry.owner);
        entry.owner.recover();
      }
    }
    for (const stream of [...this.streams]) if (!recovered.has(stream)) stream.recover();
  }

  private shutdown(error: ChatClientError): void {
    if (this.currentState === "closed") return;
    this.setState("closed");
    clearTimeout(this.retryTimer);
    const frames = this.frames;
    this.frames = null;
    frames?.close(1000, "client closed");
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
    for (const stream of [...this.streams]) stream.fail(error);
    this.streams.clear();
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of this.listeners.connection) this.call(listener, state);
  }

  /** A listener that throws does not stop the others, nor the client: its error is thrown again on its own. */
  private call<A>(listener: (arg: A) => void, arg: A): void {
    try {
      listener(arg);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function chatRequest(input: ChatInput): ChatMessageRequest {
  const request: ChatMessageRequest = { session_id: input.sessionId, message: input.message };
  if (typeof input.model === "number") request.model_id = input.model;
  else if (input.model !== undefined) request.model_name = input.model;
  if (input.prompt !== undefined) request.session_prompt = input.prompt;
  if (input.file !== undefined) request.file_name = input.file;
  return request;
}
