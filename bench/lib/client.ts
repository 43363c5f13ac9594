// The benchmark's clients: the client library (chat-backend/client) for the backend, its raw frame layer for the echo
// floors (text echoed back as it is), timing, and the calls a chat client makes (admin user creation through the
// typed admin client, a chat turn, the backend's storage counters). The library adds no timer to a request: a turn's time is its round trip.
import { ChatBackendError, ChatClient, openFrameSocket, type FrameSocket } from "chat-backend/client";
import { nodeSocket } from "chat-backend/client/node";
import { adminClient, createUser as createUserWith } from "../../client/http-api";

export type { ChatClient, TurnEvent } from "chat-backend/client";

/** The admin token the benchmark starts the backend with (token mode refuses one under 32 bytes). */
export const ADMIN = "bench-admin-token-of-thirty-two-bytes";

/** A client acting as `userId`, on a v1 socket unless `v2`; with `token`, signed in with it (AUTH_MODE=token). It
 *  does not reconnect: a dropped socket fails the run. */
export function openClient(wsUrl: string, userId: string, options: { v2?: boolean; token?: string } = {}): Promise<ChatClient> {
  return ChatClient.connect({ url: wsUrl, userId, v2: options.v2 ?? false, socket: nodeSocket, reconnect: false, ...(options.token ? { token: options.token } : {}) });
}

/** A socket to the echo floors: each text sent is answered with the same text, in order. */
export class EchoSocket {
  private readonly waiting: ((text: string) => void)[] = [];
  private frames!: FrameSocket;

  static async open(url: string): Promise<EchoSocket> {
    const socket = new EchoSocket();
    socket.frames = await openFrameSocket(nodeSocket, url, { text: (text) => socket.waiting.shift()?.(text), closed: () => {} });
    return socket;
  }
  send(text: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.frames.send(text);
    });
  }
  close(): void {
    this.frames.close();
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<[ms: number, value: T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/** A benchmark user with model 4 and `balance` dollars: its id. */
export async function createUser(base: string, balance = 1000): Promise<string> {
  return (await createUserWith(adminClient(base, { token: ADMIN }), { username: "bench", models: [4], balance })).user_id;
}

/** One chat turn; returns the session id (a new one when `sessionId` is "NEW"). */
export async function turn(client: ChatClient, sessionId: string, message: string): Promise<string> {
  return (await client.send({ sessionId, model: "gpt-4-turbo", message, prompt: "Be brief." })).session_id;
}

/** A chat turn that must fail: how long the backend took to say so. */
export async function failingTurn(client: ChatClient, message: string): Promise<number> {
  const [ms, outcome] = await timed(() => client.send({ sessionId: "NEW", model: "gpt-4-turbo", message }).then(
    (reply) => reply,
    (error: unknown) => error,
  ));
  if (!(outcome instanceof ChatBackendError)) throw new Error(`a bad answer was accepted: ${JSON.stringify(outcome)}`);
  return ms;
}

/** D1 round trips the backend counted so far (STORAGE_METRICS). */
export interface StorageCounts {
  reads: number;
  writes: number;
}

export const storageCounts = async (base: string): Promise<StorageCounts> => (await fetch(`${base}/__metrics/storage`)).json() as Promise<StorageCounts>;
