// Owns `chat-backend/client/ai-sdk`: ChatBackendTransport, the AI SDK's ChatTransport (for `useChat`) on protocol v2
// through ChatClient: a chat id maps to a session, a message is a streamed turn, Stop cancels it (type 9), a reload
// resumes it (type 8), and a session's history loads as UIMessage[]. The chunk mapping is ai-sdk-chunks.ts.
import type { ChatTransport, FileUIPart, UIMessageChunk } from "ai";
import { z } from "zod";
import { TurnChunks, type ChatBackendChunk, type ChatBackendUIMessage, type TurnMetadata } from "./ai-sdk-chunks";
import { ChatStore, memoryStorage, type KeyValueStorage, type RunningTurn, type StoredFile } from "./ai-sdk-store";
import { ChatClient, type ClientOptions } from "./client";
import { ChatBackendError, ChatClientError } from "./errors";
import { ErrorCode, type HistoryEntry } from "../protocol";
import type { TurnStream } from "./stream";
import { newRequestId } from "./transport";
import { fileUrl, httpBaseOf, uploadFile, type HttpFetch } from "./upload";

export { errorCodeOf, errorText, TurnChunks, type ChatBackendChunk, type ChatBackendUIMessage, type TurnMetadata } from "./ai-sdk-chunks";
export { memoryStorage, type KeyValueStorage } from "./ai-sdk-store";
export { UploadError } from "./upload";

export interface ChatBackendTransportOptions {
  /** The backend's WebSocket URL, e.g. `ws://127.0.0.1:8787/ws`. */
  url: string;
  /** Its HTTP origin for uploads and file links (default: from `url`, `ws://host/ws` → `http://host`). */
  httpUrl?: string;
  /** The user (AUTH_MODE=none). */
  userId?: string;
  /** The credential (AUTH_MODE=token): called when the socket connects or reconnects and before each upload. */
  token?: () => string | Promise<string>;
  /** Where chat ids, their sessions and a running turn are kept (default in memory; in a browser pass `localStorage`
   *  so that a reload finds its chats and resumes the reply it was streaming). */
  storage?: KeyValueStorage;
  /** The model of a turn whose request names none (`body.model`), e.g. for a new chat. */
  model?: string;
  /** As ChatClient's: how sockets are made (in Node 20, `nodeSocket` from `chat-backend/client/node`). */
  socket?: ClientOptions["socket"];
  reconnect?: ClientOptions["reconnect"];
  /** Sends the HTTP requests (uploads, and file parts given by URL); default the runtime's `fetch`. */
  fetch?: HttpFetch;
}

/** What `useChat`'s `sendMessage(message, { body })` (or `metadata`) may carry for a turn. */
const TurnOptions = z.object({
  /** The model name: a new chat needs one (or the transport's `model`); an existing one keeps its own without. */
  model: z.string().min(1).optional(),
  /** The system prompt: stored on the session, replacing its previous one. */
  prompt: z.string().optional(),
});
type TurnOptions = z.infer<typeof TurnOptions>;

type SendOptions = Parameters<ChatTransport<ChatBackendUIMessage>["sendMessages"]>[0];
type ReconnectOptions = Parameters<ChatTransport<ChatBackendUIMessage>["reconnectToStream"]>[0];
type Emit = (chunks: ChatBackendChunk[]) => void;

/** A chat of the user, for a chat list: its AI SDK chat id (a session's own id when no chat id was mapped to it). */
export interface ChatSummary {
  chatId: string;
  sessionId: string;
  name: string;
}

interface Following {
  chatId: string;
  abortSignal: AbortSignal | undefined;
  /** The balance before the turn was sent (the charge is read against it); undefined for a resumed turn. */
  balanceBefore?: number;
  /** What to remember once the turn has started, to resume it after a reload (sent turns only). */
  remember?: Omit<RunningTurn, "sessionId" | "turn">;
}

export class ChatBackendTransport implements ChatTransport<ChatBackendUIMessage> {
  private readonly store: ChatStore;
  private readonly baseUrl: string;
  private readonly fetch: HttpFetch;
  private connecting: Promise<ChatClient> | null = null;
  /** Resumes started by loadMessages, handed to reconnectToStream (by chat id). */
  private readonly held = new Map<string, TurnStream<ResumableReply>>();
  /** Chats whose turns this transport is streaming now, and how many (a message sent right after a Stop overlaps
   *  the stopped turn's last moments). */
  private readonly following = new Map<string, number>();

  constructor(private readonly options: ChatBackendTransportOptions) {
    this.store = new ChatStore(options.storage ?? memoryStorage());
    this.baseUrl = options.httpUrl?.replace(/\/$/, "") ?? httpBaseOf(options.url);
    this.fetch = options.fetch ?? ((request) => fetch(request));
  }

  /** The ChatClient underneath (connected on first use, again after it closed): for models, balance, sessions. */
  async connection(): Promise<ChatClient> {
    const current = (this.connecting ??= this.open());
    let client: ChatClient;
    try {
      client = await current;
    } catch (error) {
      if (this.connecting === current) this.connecting = null;
      throw error;
    }
    if (client.state !== "closed") return client;
    if (this.connecting === current) this.connecting = null;
    return this.connection();
  }

  /** The session of an AI SDK chat id, or null before its first turn. */
  sessionOf(chatId: string): string | null {
    return this.store.session(chatId);
  }

  /** The user's chats, most recently active first. A session no chat id maps to is listed under its own id. */
  async chats(): Promise<ChatSummary[]> {
    const sessions = await (await this.connection()).sessions();
    return sessions.map(({ session_id, session_name }) => {
      let chatId = this.store.chatOf(session_id);
      if (chatId === null) {
        chatId = session_id;
        this.store.link(chatId, session_id);
      }
      return { chatId, sessionId: session_id, name: session_name };
    });
  }

  /**
   * A chat's stored history as UIMessage[], for `useChat({ messages })`. When the chat had a turn streaming (the page
   * was reloaded mid-reply) and it still runs, its user message comes last and `reconnectToStream` streams its reply;
   * when it ended meanwhile, the history holds it and there is nothing to resume.
   */
  async loadMessages(chatId: string): Promise<ChatBackendUIMessage[]> {
    const sessionId = this.store.session(chatId);
    if (sessionId === null) return [];
    const client = await this.connection();
    const running = this.following.has(chatId) ? null : this.store.running(chatId);
    // The resume goes out before the history read, on the same socket: if the turn ends before the history is
    // answered, the history has it (type 2 waits for every answered turn of its session) and nothing is resumed.
    let ended = false;
    const resumed = running && running.sessionId === sessionId ? (this.held.get(chatId) ?? client.resume(running.sessionId, running.turn)) : null;
    resumed?.done.then(
      () => (ended = true),
      () => (ended = true),
    );
    let entries: HistoryEntry[];
    try {
      entries = await client.history(sessionId);
    } catch (error) {
      // A new chat's first turn: its session is stored when the turn commits, so it has no history to read yet.
      const firstTurn = resumed && !ended && error instanceof ChatBackendError && error.code === ErrorCode.SessionNotFound;
      if (!firstTurn) throw error;
      entries = [];
    }
    const messages = historyMessages(sessionId, entries, (name) => fileUrl(this.baseUrl, name));
    if (!running || !resumed) return messages;
    if (ended) {
      this.held.delete(chatId);
      this.store.setRunning(chatId, null);
      return messages;
    }
    this.held.set(chatId, resumed);
    return [...messages, runningUserMessage(running, this.baseUrl)];
  }

  sendMessages(options: SendOptions): Promise<ReadableStream<UIMessageChunk>> {
    const mapper = new TurnChunks(newRequestId());
    return Promise.resolve(
      chunkStream(async (emit) => {
        try {
          await this.send(emit, mapper, options);
        } catch (error) {
          emit(mapper.fail(error));
        }
      }),
    );
  }

  /** Resumes the turn this chat was streaming when the page went away (from its first delta, as a new assistant
   *  message), or null when it streams none. */
  async reconnectToStream({ chatId, abortSignal }: ReconnectOptions): Promise<ReadableStream<UIMessageChunk> | null> {
    const running = this.following.has(chatId) ? null : this.store.running(chatId);
    const held = this.held.get(chatId);
    this.held.delete(chatId);
    if (!running) return null;
    const client = await this.connection();
    const stream = held ?? client.resume(running.sessionId, running.turn);
    const mapper = new TurnChunks(newRequestId());
    return chunkStream(async (emit) => {
      try {
        await this.follow(emit, mapper, client, stream, { chatId, abortSignal });
      } catch (error) {
        // A turn that ended too long ago to resume (or never ran) is nothing to show: the history has what it left.
        if (error instanceof ChatClientError && error.reason === "unknown-turn") return;
        emit(mapper.fail(error));
      }
    });
  }

  /** Closes the connection; the next call opens a new one. */
  close(): void {
    const current = this.connecting;
    this.connecting = null;
    void current?.then((client) => client.close(), () => {});
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private async open(): Promise<ChatClient> {
    const { url, userId, socket, reconnect, token } = this.options;
    return ChatClient.connect({
      url,
      v2: true,
      ...(userId !== undefined ? { userId } : {}),
      // The function itself, so the client asks it again when the backend ends the credential (close 4401).
      ...(token !== undefined ? { token } : {}),
      ...(socket ? { socket } : {}),
      ...(reconnect !== undefined ? { reconnect } : {}),
    });
  }

  private async token(): Promise<string | undefined> {
    return this.options.token ? await this.options.token() : undefined;
  }

  /** Sends the last user message as a turn: its file uploaded first, then the chat message, streamed. */
  private async send(emit: Emit, mapper: TurnChunks, { chatId, messages, abortSignal, body, metadata, trigger }: SendOptions): Promise<void> {
    if (trigger === "regenerate-message") {
      throw new Error("Chat-Backend does not regenerate replies: a session's history only grows; send the message again");
    }
    const last = messages.at(-1);
    if (!last || last.role !== "user") throw new Error("the last message must be the user's");
    const text = last.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
    const files = last.parts.filter((part): part is FileUIPart => part.type === "file");
    if (files.length > 1) throw new Error(`Chat-Backend takes one file per message, not ${files.length}`);
    const turn = turnOptions(body, metadata);
    const model = turn.model ?? this.options.model;
    const client = await this.connection();
    let sessionId = this.store.session(chatId) ?? "NEW";
    let file: StoredFile | undefined;
    if (files[0]) {
      if (model === undefined) throw new Error("a file needs a model to upload with: pass body.model or the transport's model");
      const part = files[0];
      const token = await this.token();
      const uploaded = await uploadFile({
        baseUrl: this.baseUrl,
        file: await fileBlob(part, this.fetch),
        filename: part.filename ?? "file",
        sessionId,
        model,
        ...(turn.prompt !== undefined ? { prompt: turn.prompt } : {}),
        ...(this.options.userId !== undefined ? { userId: this.options.userId } : {}),
        ...(token !== undefined ? { token } : {}),
        fetch: this.fetch,
      });
      sessionId = uploaded.sessionId;
      this.store.link(chatId, sessionId);
      file = { fileName: uploaded.fileName, mediaType: part.mediaType, url: uploaded.imageUrl, ...(part.filename !== undefined ? { filename: part.filename } : {}) };
    }
    const balanceBefore = await client.balance().catch(() => undefined);
    const stream = client.stream({
      sessionId,
      message: text,
      ...(model !== undefined ? { model } : {}),
      ...(turn.prompt ? { prompt: turn.prompt } : {}),
      ...(file ? { file: file.fileName } : {}),
    });
    await this.follow(emit, mapper, client, stream, {
      chatId,
      abortSignal,
      ...(balanceBefore !== undefined ? { balanceBefore } : {}),
      remember: { userText: text, ...(file ? { file } : {}) },
    });
  }

  /** Turns a stream's life into chunks: start once the turn started, each delta, then its end (with the charge). */
  private async follow(emit: Emit, mapper: TurnChunks, client: ChatClient, stream: TurnStream<ResumableReply>, how: Following): Promise<void> {
    const { chatId, abortSignal } = how;
    this.following.set(chatId, (this.following.get(chatId) ?? 0) + 1);
    const metadata = (): TurnMetadata => ({
      sessionId: stream.sessionId ?? "",
      ...(stream.sessionName !== undefined ? { sessionName: stream.sessionName } : {}),
      ...(stream.turn !== undefined ? { turn: stream.turn } : {}),
    });
    let begun = false;
    const begin = () => {
      const { sessionId, turn } = stream;
      if (begun || sessionId === undefined || turn === undefined) return;
      begun = true;
      this.store.link(chatId, sessionId);
      if (how.remember) this.store.setRunning(chatId, { sessionId, turn, ...how.remember });
      emit(mapper.start(metadata()));
    };
    // The stream learns its turn from the `start` event, which listeners get right after the stream does.
    const stopListening = client.on("turn", begin);
    const cancel = () => void stream.cancel().catch(() => {});
    abortSignal?.addEventListener("abort", cancel);
    if (abortSignal?.aborted) cancel();
    try {
      begin();
      for await (const delta of stream) {
        begin();
        emit(mapper.delta(delta.text, metadata()));
      }
      const reply = await stream.done;
      begin();
      const money = how.balanceBefore === undefined ? {} : await charge(client, how.balanceBefore);
      emit(mapper.end({ ...metadata(), ...money, ...(reply.cancelled ? { cancelled: true } : {}) }));
    } finally {
      stopListening();
      abortSignal?.removeEventListener("abort", cancel);
      const others = (this.following.get(chatId) ?? 1) - 1;
      if (others > 0) this.following.set(chatId, others);
      else this.following.delete(chatId);
      const running = this.store.running(chatId);
      if (running && running.sessionId === stream.sessionId && running.turn === stream.turn) this.store.setRunning(chatId, null);
    }
  }
}

/** How a followed turn ends: a sent turn's ChatReply or a resumed turn's ResumedTurn. */
interface ResumableReply {
  message: string;
  cancelled?: true;
}

/** The balance after a turn, and the charge: the balance before it minus after, in whole micro-dollars. */
async function charge(client: ChatClient, before: number): Promise<Pick<TurnMetadata, "charge" | "balance">> {
  const after = await client.balance().catch(() => undefined);
  return after === undefined ? {} : { balance: after, charge: Math.round((before - after) * 1e6) / 1e6 };
}

function turnOptions(body: object | undefined, metadata: unknown): TurnOptions {
  const fromBody = TurnOptions.safeParse(body ?? {});
  if (!fromBody.success) throw new Error(`Invalid request body for Chat-Backend: ${z.prettifyError(fromBody.error)}`);
  const fromMetadata = TurnOptions.safeParse(typeof metadata === "object" && metadata !== null ? metadata : {});
  if (!fromMetadata.success) throw new Error(`Invalid request metadata for Chat-Backend: ${z.prettifyError(fromMetadata.error)}`);
  return { ...fromMetadata.data, ...fromBody.data };
}

/** A ReadableStream fed by `run`, closed when it returns; chunks after the reader cancelled are dropped. */
function chunkStream(run: (emit: Emit) => Promise<void>): ReadableStream<UIMessageChunk> {
  let open = true;
  return new ReadableStream<UIMessageChunk>({
    start(controller) {
      const emit: Emit = (chunks) => {
        if (open) for (const chunk of chunks) controller.enqueue(chunk);
      };
      void run(emit).finally(() => {
        if (!open) return;
        open = false;
        controller.close();
      });
    },
    cancel() {
      open = false; // the reader left (useChat's stop): the turn itself is cancelled through the abort signal
    },
  });
}

/** A file part's bytes: decoded from a data URL (what useChat makes of a FileList), else fetched. */
async function fileBlob(part: FileUIPart, send: HttpFetch): Promise<Blob> {
  const data = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(part.url);
  if (data) {
    const payload = data[3] ?? "";
    const bytes = data[2] ? Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)) : new TextEncoder().encode(decodeURIComponent(payload));
    return new Blob([bytes], { type: part.mediaType });
  }
  const response = await send(new Request(part.url));
  if (!response.ok) throw new Error(`could not read the file ${part.filename ?? part.url}: HTTP ${response.status}`);
  return response.blob();
}

const MEDIA_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
};

function mediaTypeOf(fileName: string): string {
  return MEDIA_TYPES[fileName.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream";
}

/**
 * A stored history (type 2) as UIMessages: each user and assistant entry a message with one text part; a `file`
 * entry (it follows its turn's reply) becomes a file part of that turn's user message, with its original name and
 * the link the history gives (else /uploads/<stored name>).
 */
export function historyMessages(sessionId: string, entries: HistoryEntry[], urlOf: (fileName: string) => string): ChatBackendUIMessage[] {
  const messages: ChatBackendUIMessage[] = [];
  let lastUser: ChatBackendUIMessage | undefined;
  entries.forEach((entry, index) => {
    const id = `${sessionId}:${index}`;
    if (entry.role === "file") {
      // v2 histories give the original name and a link that works without a header (signed in token mode).
      lastUser?.parts.unshift({ type: "file", mediaType: mediaTypeOf(entry.content), filename: entry.name ?? entry.content, url: entry.url ?? urlOf(entry.content) });
      return;
    }
    const message: ChatBackendUIMessage = {
      id,
      role: entry.role,
      metadata: { sessionId },
      parts: [entry.role === "assistant" ? { type: "text", text: entry.content, state: "done" } : { type: "text", text: entry.content }],
    };
    if (entry.role === "user") lastUser = message;
    messages.push(message);
  });
  return messages;
}

function runningUserMessage(running: RunningTurn, baseUrl: string): ChatBackendUIMessage {
  const file = running.file;
  return {
    id: `${running.sessionId}:turn-${running.turn}:user`,
    role: "user",
    metadata: { sessionId: running.sessionId, turn: running.turn },
    parts: [
      ...(file ? [{ type: "file" as const, mediaType: file.mediaType, filename: file.filename ?? file.fileName, url: file.url ?? fileUrl(baseUrl, file.fileName) }] : []),
      { type: "text", text: running.userText },
    ],
  };
}
