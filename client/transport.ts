// Owns the client's raw frame layer: a WebSocket-like socket, opened, sending frames, handing over text frames.
// The socket is a browser's or workerd's WebSocket, or `ws` in Node; plus request ids. It knows nothing of requests
// and answers (client.ts does), so tests can send malformed frames through it.
import { ChatClientError } from "./errors";
import type { ServerFrame } from "../protocol";

/** What the client needs of a WebSocket; a browser's, workerd's and the `ws` package's all fit. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
}

/** Makes a socket for a URL: connecting (it is then awaited) or already open (a workerd socket `accept()`ed). */
export type SocketFactory = (url: string) => WebSocketLike | Promise<WebSocketLike>;

const OPEN = 1;
const CLOSING = 2;

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface FrameListener {
  /** Each text frame, as received. */
  text(text: string): void;
  /** The socket closed (once), whoever closed it. */
  closed(info: CloseInfo): void;
}

/** One socket: frames out as text, text frames in, one close. */
export class FrameSocket {
  private isClosed = false;
  /** Resolves when the socket is open; rejects if it closes or fails first. */
  readonly opened: Promise<void>;

  constructor(
    readonly socket: WebSocketLike,
    private readonly listener: FrameListener,
  ) {
    socket.addEventListener("message", (event) => this.listener.text(typeof event.data === "string" ? event.data : String(event.data)));
    let failed: (error: Error) => void = () => {};
    if (socket.readyState === OPEN) this.opened = Promise.resolve();
    else if (socket.readyState >= CLOSING) {
      this.opened = Promise.reject(new ChatClientError("disconnected", "the WebSocket closed before it opened"));
      queueMicrotask(() => this.markClosed({ code: 1006, reason: "closed before use" }));
    } else {
      this.opened = new Promise<void>((resolve, reject) => {
        failed = reject;
        socket.addEventListener("open", () => resolve());
        socket.addEventListener("error", () => reject(new ChatClientError("disconnected", "the WebSocket failed before it opened")));
      });
    }
    this.opened.catch(() => {}); // a caller that never awaits it is told by `closed`
    socket.addEventListener("close", (event) => {
      failed(new ChatClientError("disconnected", `the WebSocket closed before it opened (code ${event.code})`));
      this.markClosed({ code: event.code, reason: event.reason });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends a frame: a string or bytes as they are, anything else as JSON. */
  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  close(code = 1000, reason = ""): void {
    if (this.isClosed) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  private markClosed(info: CloseInfo): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.listener.closed(info);
  }
}

/** A socket from the factory, open (rejects when it cannot be opened). */
export async function openFrameSocket(factory: SocketFactory, url: string, listener: FrameListener): Promise<FrameSocket> {
  const frames = new FrameSocket(await factory(url), listener);
  await frames.opened;
  return frames;
}

/** The runtime's own WebSocket (browsers, workerd, Node 22+). Node 20 has none: use connectNode from
 *  `chat-backend/client/node`, or pass `socket`. */
export const globalSocketFactory: SocketFactory = (url) => {
  const WebSocketClass = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!WebSocketClass) throw new ChatClientError("disconnected", "this runtime has no global WebSocket: use connectNode from chat-backend/client/node, or pass `socket`");
  return new WebSocketClass(url);
};

/** A frame as the backend sends it; null for text that is not a JSON object. */
export function parseFrame(text: string): ServerFrame | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as ServerFrame) : null;
  } catch {
    return null;
  }
}

/** A random UUID (version 4), also where crypto.randomUUID is missing (a browser page over plain http). */
export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
