// Owns WebSockets (a Durable Object per user, or per connection when the user is unknown at connect time):
// accepts them with the Hibernation API and answers each frame, in order, on the socket it came from.
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../../config";
import type { ChatStore } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { answerFrame } from "./dispatch";

interface SocketAttachment {
  origin: string;
}

export class ConnectionHub extends DurableObject<Env> {
  /** The tail of each socket's pending answers: frames of one socket are answered in the order they came. */
  private readonly pending = new Map<WebSocket, Promise<void>>();
  private store: ChatStore | null = null;
  /** Sessions this object's turns wrote to since its last read (read-your-writes for the user's connections). */
  private readonly writtenSessions = new Set<string>();

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    // Kept with the socket across hibernation: file URLs for the agent default to this origin.
    server.serializeAttachment({ origin: new URL(request.url).origin } satisfies SocketAttachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const previous = this.pending.get(socket) ?? Promise.resolve();
    const next = previous.then(() => this.answer(socket, message));
    this.pending.set(socket, next);
    void next.finally(() => {
      if (this.pending.get(socket) === next) this.pending.delete(socket);
    });
    return next;
  }

  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    this.pending.delete(socket);
    try {
      socket.close(code, reason);
    } catch {
      // Already closed by the runtime.
    }
  }

  override webSocketError(socket: WebSocket): void {
    this.pending.delete(socket);
  }

  private async answer(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const { origin } = socket.deserializeAttachment() as SocketAttachment;
    const frame = await answerFrame(message, { env: this.env, config: readConfig(this.env), store: (this.store ??= openStore(this.env)), origin, writtenSessions: this.writtenSessions });
    try {
      socket.send(JSON.stringify(frame));
    } catch {
      // The client went away while its request was being answered; nothing to deliver it to.
    }
  }
}
