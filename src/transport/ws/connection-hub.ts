// Owns WebSockets (a Durable Object per user, or per connection when the user is unknown at connect time):
// accepts them with the Hibernation API and answers each frame, in order, on the socket it came from.
import { DurableObject } from "cloudflare:workers";
import { configOf } from "../../config";
import type { ChatStore } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { answerFrame, type ConnectionWrites } from "./dispatch";
import { AccessGuard } from "../../domain/operations/access-guard";
import { FrameRate } from "./frame-rate";
import { socketUserOf } from "./socket-user";

/** Kept with the socket across hibernation. */
interface SocketAttachment {
  /** Names the socket: the runtime may hand the same socket over as different objects. */
  id: string;
  /** File URLs for the agent default to this origin. */
  origin: string;
  /** The user the socket authenticated as (AUTH_MODE=token), or null. */
  user: string | null;
  /** Sessions this connection's turns wrote to that its reads have not waited for yet. */
  written: string[];
}

export class ConnectionHub extends DurableObject<Env> {
  private readonly config = configOf(this.env);
  /** The tail of each socket's pending answers: frames of one socket are answered in the order they came. */
  private readonly pending = new Map<string, Promise<void>>();
  private store: ChatStore | null = null;
  private readonly guard = new AccessGuard();
  /** Per socket, in memory: a hub that hibernated starts its sockets afresh. */
  private readonly rates = new Map<string, FrameRate>();

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const attachment: SocketAttachment = { id: crypto.randomUUID(), origin: new URL(request.url).origin, user: socketUserOf(request), written: [] };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const { id } = socket.deserializeAttachment() as SocketAttachment;
    const overRate = !this.rateOf(id).take(Date.now()); // counted when the frame arrives
    const previous = this.pending.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.answer(socket, message, overRate));
    this.pending.set(id, next);
    void next.finally(() => {
      if (this.pending.get(id) === next) this.pending.delete(id);
    });
    return next;
  }

  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    this.forget(socket);
    try {
      socket.close(code, reason);
    } catch {
      // Already closed by the runtime.
    }
  }

  override webSocketError(socket: WebSocket): void {
    this.forget(socket);
  }

  private forget(socket: WebSocket): void {
    const { id } = socket.deserializeAttachment() as SocketAttachment;
    this.pending.delete(id);
    this.rates.delete(id);
  }

  private rateOf(socketId: string): FrameRate {
    let rate = this.rates.get(socketId);
    if (!rate) this.rates.set(socketId, (rate = new FrameRate(this.config.MAX_FRAMES_PER_SECOND, Date.now())));
    return rate;
  }

  private async answer(socket: WebSocket, message: string | ArrayBuffer, overRate: boolean): Promise<void> {
    // Read again: the previous frame of this socket may have changed it.
    const attachment = socket.deserializeAttachment() as SocketAttachment;
    const context = {
      env: this.env,
      config: this.config,
      store: (this.store ??= openStore(this.config.storage)),
      origin: attachment.origin,
      user: attachment.user,
      guard: this.guard,
      overRate,
    };
    const frame = await answerFrame(message, context, attachedWrites(socket, attachment));
    try {
      socket.send(JSON.stringify(frame));
    } catch {
      // The client went away while its request was being answered; nothing to deliver it to.
    }
  }
}

/** The connection's written sessions, read from and saved to the socket's attachment. */
function attachedWrites(socket: WebSocket, attachment: SocketAttachment): ConnectionWrites {
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
