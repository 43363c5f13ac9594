// The benchmark's clients: a WebSocket that pairs each frame with its answer, timing, and the calls a chat client
// makes (admin user creation, a chat turn, the backend's storage counters).
import WebSocket from "ws";
import { MessageType } from "../../src/transport/ws/frames.ts";

/** The admin token the benchmark starts the backend with. */
export const ADMIN = "bench-admin-token";

/** A frame the backend answers with. */
export interface Frame {
  type: number;
  data: Record<string, string>;
  error?: unknown;
}

/** A protocol v2 turn event (type 7) as the benchmark reads it. */
export interface TurnEvent {
  session_id: string;
  turn: number;
  event: string;
  seq?: number;
}

const EVENT_PREFIX = `{"type":${MessageType.TurnEvent},`;

export class Socket {
  private readonly waiting: ((text: string) => void)[] = [];
  /** Gets each turn event (v2 sockets) when it arrives; answers still pair with their requests. */
  onEvent: ((event: TurnEvent, at: number) => void) | null = null;

  constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = String(data);
      if (text.startsWith(EVENT_PREFIX)) this.onEvent?.((JSON.parse(text) as { data: TurnEvent }).data, performance.now());
      else this.waiting.shift()?.(text);
    });
  }
  static open(url: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve(new Socket(ws)));
      ws.once("error", reject);
    });
  }
  send(text: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.ws.send(text);
    });
  }
  async request(frame: unknown): Promise<Frame> {
    return JSON.parse(await this.send(JSON.stringify(frame))) as Frame;
  }
  close(): void {
    this.ws.close();
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<[ms: number, value: T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

export async function createUser(base: string, balance = 1000): Promise<string> {
  const response = await fetch(`${base}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ username: "bench", models: [4], balance }),
  });
  if (response.status !== 201) throw new Error(`createUser ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { user_id: string }).user_id;
}

const chatFrame = (userId: string, sessionId: string, message: string) => ({
  type: MessageType.ChatMessage,
  data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "Be brief." },
});

/** One chat turn; returns the session id (a new one when `sessionId` is "NEW"). */
export async function turn(socket: Socket, userId: string, sessionId: string, message: string): Promise<string> {
  const answer = await socket.request(chatFrame(userId, sessionId, message));
  if (answer.error) throw new Error(`turn failed: ${JSON.stringify(answer)}`);
  return answer.data.session_id;
}

/** D1 round trips the backend counted so far (STORAGE_METRICS). */
export interface StorageCounts {
  reads: number;
  writes: number;
}

export const storageCounts = async (base: string): Promise<StorageCounts> => (await fetch(`${base}/__metrics/storage`)).json() as Promise<StorageCounts>;
