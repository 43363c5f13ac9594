// Owns the client's Node entry, `chat-backend/client/node`: sockets from the `ws` package (Node 20 has none).
// Kept apart from index.ts so that browser and Worker bundles never reach `ws`.
import { ChatClient, type ClientOptions } from "./client";
import type { WebSocketLike } from "./transport";

/** A socket factory for Node: `ws`, loaded on first use. */
export async function nodeSocket(url: string): Promise<WebSocketLike> {
  const { default: WebSocket } = await import("ws");
  return new WebSocket(url);
}

/** ChatClient.connect with `ws` sockets. */
export function connectNode(options: Omit<ClientOptions, "socket">): Promise<ChatClient> {
  return ChatClient.connect({ ...options, socket: nodeSocket });
}

export * from "./index";
