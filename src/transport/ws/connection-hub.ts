// Owns WebSockets (a Durable Object per user, or per connection when the user is unknown at connect time):
// accepts them with the Hibernation API, answers each frame, in order, on the socket it came from, and hands the
// live turn events session objects deliver to the v2 sockets watching their session. Its one alarm belongs to
// CredentialWatch (sockets whose credential ended are closed).
import { DurableObject } from "cloudflare:workers";
import { configOf } from "../../config";
import { CloseCode, type TurnEvent } from "../../../protocol";
import type { ChatStore } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { answerFrame, readFrame, type ConnectionWrites } from "./dispatch";
import { AccessGuard } from "../../domain/operations/access-guard";
import { sessionIdsOf } from "../../domain/session/session-ids";
import { FrameRate } from "./frame-rate";
import type { HandlerContext } from "./handlers";
import { MAX_WATCHED_SESSIONS, TurnFeed, type LiveSocket } from "./live-socket";
import { CredentialWatch, endSocket, hasExpired, type SocketCredential, type WatchedSocket } from "./credential-watch";
import { socketUserOf } from "./socket-user";

/** Kept with the socket across hibernation. */
interface SocketAttachment {
  /** Names the socket: the runtime may hand the same socket over as different objects. */
  id: string;
  /** File URLs for the agent default to this origin. */
  origin: string;
  /** The user the socket authenticated as (AUTH_MODE=token), or null. */
  user: string | null;
  /** What ends the socket's credential (AUTH_MODE=token); null: nothing (AUTH_MODE=none). */
  credential: SocketCredential | null;
  /** Sessions this connection's turns wrote to that its reads have not waited for yet. */
  written: string[];
  /** 2: the socket opted in to live turns (`/ws?v=2`). */
  version: 1 | 2;
  /** Sessions whose live turns a v2 socket gets, the most recent first. */
  watching: string[];
}

/** What the hub keeps of a socket while it is awake; rebuilt from the attachment after hibernation. */
interface SocketState {
  attachment: SocketAttachment;
  /** The tail of the socket's pending answers: its frames are answered in the order they came. */
  pending: Promise<void>;
  rate: FrameRate;
  feed: TurnFeed | null;
}

export class ConnectionHub extends DurableObject<Env> {
  private readonly config = configOf(this.env);
  private readonly sockets = new Map<string, SocketState>();
  private store: ChatStore | null = null;
  private readonly sessionIds = sessionIdsOf(this.config);
  private readonly guard = new AccessGuard(this.sessionIds);
  private readonly credentials = new CredentialWatch(this.ctx.storage);

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const url = new URL(request.url);
    // A hub named for a user holds only that user's sockets; a hub of one connection never reaches the limit.
    if (this.ctx.getWebSockets().length >= this.config.MAX_SOCKETS_PER_USER) return refuseSocket(server, client, this.config.MAX_SOCKETS_PER_USER);
    this.ctx.acceptWebSocket(server);
    const proven = socketUserOf(request);
    const attachment: SocketAttachment = {
      id: crypto.randomUUID(),
      origin: url.origin,
      user: proven?.userId ?? null,
      credential: proven && { keyId: proven.keyId, expiresAt: proven.expiresAt },
      written: [],
      version: url.searchParams.get("v") === "2" ? 2 : 1,
      watching: [],
    };
    server.serializeAttachment(attachment);
    if (attachment.credential) await this.credentials.accepted(attachment.credential);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = this.stateOf(socket);
    // Should the alarm be late, a frame on an expired credential still goes unanswered.
    if (state.attachment.credential && hasExpired(state.attachment.credential, Date.now())) {
      endSocket(socket, "Expired credential");
      this.forget(socket);
      return Promise.resolve();
    }
    const overRate = !state.rate.take(Date.now()); // counted when the frame arrives
    const afterAnswer: (() => void)[] = [];
    const ctx = this.handlerContext(socket, state, overRate, afterAnswer);
    const read = readFrame(message, ctx);
    const early = read.kind === "request" && read.handler.atOnce ? answerFrame(read, ctx, this.writesOf(socket, state)) : null;
    const next = state.pending.then(async () => {
      const frame = await (early ?? answerFrame(read, ctx, this.writesOf(socket, state)));
      send(socket, JSON.stringify(frame));
      for (const action of afterAnswer) action();
    });
    state.pending = next.catch(() => undefined);
    return next;
  }

  /** A session object's turn events; answers how many sockets watch the session (0: the hub is forgotten). */
  deliver(sessionId: string, events: TurnEvent[]): number {
    let watching = 0;
    for (const socket of this.ctx.getWebSockets()) {
      const state = this.stateOf(socket);
      if (!state.feed || !state.attachment.watching.includes(sessionId)) continue;
      watching++;
      state.feed.deliver(events);
    }
    return watching;
  }

  /** The admin API revoked an API key of this hub's user: closes the sockets it opened; answers how many. */
  revokeKey(keyId: string): number {
    const ended = this.credentials.revoked(this.watchedSockets(), keyId);
    for (const socket of ended) this.forget(socket);
    return ended.length;
  }

  /** A socket's JWT expired (the alarm is set for the earliest expiry). */
  override async alarm(): Promise<void> {
    const ended = await this.credentials.rang(this.watchedSockets(), Date.now());
    for (const socket of ended) this.forget(socket);
  }

  /** The open sockets that signed in with a credential. */
  private watchedSockets(): WatchedSocket[] {
    return this.ctx.getWebSockets().flatMap((socket) => {
      const { credential } = socket.deserializeAttachment() as SocketAttachment;
      return credential ? [{ socket, credential }] : [];
    });
  }

  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    this.forget(socket);
    // Answer the client's close frame, or it waits (about 10 s) and sees 1006. A client that closed without a code
    // (the browser's and `ws`'s default) arrives as 1005, which may not be sent back: answer those with 1000.
    const echo = sendableCloseCode(code);
    try {
      socket.close(echo ?? 1000, echo === null ? undefined : reason);
    } catch {
      // Already closed by the runtime.
    }
  }

  override webSocketError(socket: WebSocket): void {
    this.forget(socket);
  }

  private forget(socket: WebSocket): void {
    const { id } = socket.deserializeAttachment() as SocketAttachment;
    this.sockets.delete(id);
  }

  private stateOf(socket: WebSocket): SocketState {
    const attachment = socket.deserializeAttachment() as SocketAttachment;
    let state = this.sockets.get(attachment.id);
    if (!state) {
      attachment.version ??= 1; // sockets accepted before protocol v2 existed
      attachment.watching ??= [];
      attachment.credential ??= null; // sockets accepted before credentials could end them
      state = {
        attachment,
        pending: Promise.resolve(),
        rate: new FrameRate(this.config.MAX_FRAMES_PER_SECOND, Date.now()),
        feed: attachment.version === 2 ? new TurnFeed((frame) => send(socket, frame)) : null,
      };
      this.sockets.set(attachment.id, state);
    }
    return state;
  }

  private handlerContext(socket: WebSocket, state: SocketState, overRate: boolean, afterAnswer: (() => void)[]): HandlerContext {
    return {
      env: this.env,
      config: this.config,
      store: (this.store ??= openStore(this.config.storage)),
      origin: state.attachment.origin,
      user: state.attachment.user,
      guard: this.guard,
      sessionIds: this.sessionIds,
      overRate,
      live: state.feed && this.liveSocket(socket, state, state.feed),
      afterAnswer: (action) => afterAnswer.push(action),
    };
  }

  private liveSocket(socket: WebSocket, state: SocketState, feed: TurnFeed): LiveSocket {
    return {
      hubId: this.ctx.id.toString(),
      watch: (sessionId) => {
        const { attachment } = state;
        if (attachment.watching[0] === sessionId) return;
        attachment.watching = [sessionId, ...attachment.watching.filter((id) => id !== sessionId)].slice(0, MAX_WATCHED_SESSIONS);
        socket.serializeAttachment(attachment);
      },
      forget: (sessionId) => {
        state.attachment.watching = state.attachment.watching.filter((id) => id !== sessionId);
        socket.serializeAttachment(state.attachment);
        feed.forget(sessionId);
      },
      hold: (sessionId) => feed.hold(sessionId),
      release: (sessionId, first) => feed.release(sessionId, first),
    };
  }

  /** The connection's written sessions, kept in the socket's attachment. */
  private writesOf(socket: WebSocket, { attachment }: SocketState): ConnectionWrites {
    const save = (written: string[]) => {
      attachment.written = written;
      socket.serializeAttachment(attachment);
    };
    return {
      list: () => attachment.written,
      add: (sessionId) => {
        if (!attachment.written.includes(sessionId)) save([...attachment.written, sessionId]);
      },
      remove: (sessionIds) => save(attachment.written.filter((id) => !sessionIds.includes(id))),
    };
  }
}

/** Opens the socket only to close it at once with CloseCode.TooManySockets and a reason saying the limit: a browser sees
 *  neither the status nor the body of a refused upgrade, but it sees a close code. */
function refuseSocket(server: WebSocket, client: WebSocket, limit: number): Response {
  server.accept();
  server.close(CloseCode.TooManySockets, `Too many sockets: at most ${limit} per user`);
  return new Response(null, { status: 101, webSocket: client });
}

/** `code` if a close frame may carry it (1000-1003, 1007-1014, 3000-4999; RFC 6455 7.4), else null: 1005, 1006
 *  and 1015 only report what happened and may never be sent. */
function sendableCloseCode(code: number): number | null {
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  return Number.isInteger(code) && sendable ? code : null;
}

function send(socket: WebSocket, frame: string): void {
  try {
    socket.send(frame);
  } catch {
    // The client went away; nothing to deliver to.
  }
}
