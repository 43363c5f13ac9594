// Owns the tests' one raw-frame WebSocket client, for the workerd suites (a socket upgraded through the Worker) and
// the end-to-end stack (Node's `ws`) alike: it sends any frame, malformed ones too, and reads every frame in the
// order it came; its typed methods send the protocol's requests and read its answers and turn events (protocol/).
import { FrameSocket, type CloseInfo, type WebSocketLike } from "chat-backend/client";
import { MessageType, type AnswerFrame, type ChatMessageRequest, type ErrorFrame, type Requests, type RequestType, type TurnEvent } from "../../protocol";

/** Any frame as read, before the test knows which kind it is: every field a server frame may carry, optional. */
export type Frame = { type?: number; data?: Record<string, unknown>; error?: string; code?: number; id?: string; detail?: string };

/** What a request of type T gets back: its answer or an error frame; `data`, `error` and `code` read on either. */
export type Reply<T extends RequestType> = (AnswerFrame<T> & { error?: undefined; code?: undefined }) | (ErrorFrame & { data?: undefined });

/** A turn event whose other kinds' fields read as absent, so a test reads `text` or `message` of any event. */
export type AnyTurnEvent = Open<TurnEvent>;
type KeysOf<U> = U extends unknown ? keyof U : never;
type Open<U, All = U> = U extends unknown ? U & { [K in Exclude<KeysOf<All>, keyof U>]?: undefined } : never;

export interface FrameClientOptions {
  /** How long `next` waits for a frame, and `closing` for the close, before failing the test (default 10 s). */
  timeoutMs?: number;
}

export class FrameClient {
  private readonly received: Frame[] = [];
  private readonly waiting: ((frame: Frame) => void)[] = [];
  private readonly frames: FrameSocket;
  private readonly closeInfo: Promise<CloseInfo>;
  private readonly timeoutMs: number;

  /** A client on a socket that is open, or opening (then `open` waits for it). */
  constructor(socket: WebSocketLike, options: FrameClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
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

  /** A client once its socket is open (rejects when it cannot be opened). */
  static async open(socket: WebSocketLike, options: FrameClientOptions = {}): Promise<FrameClient> {
    const client = new FrameClient(socket, options);
    await client.frames.opened;
    return client;
  }

  /** How the socket closed, whoever closed it. */
  closing(): Promise<CloseInfo> {
    return this.within(this.closeInfo, "the socket stayed open");
  }

  get closed(): boolean {
    return this.frames.closed;
  }

  /** Sends a frame: a string or bytes as they are, anything else as JSON. */
  send(frame: unknown): void {
    this.frames.send(frame);
  }

  /** The next frame this socket receives. */
  next(): Promise<Frame> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    let waiter: (frame: Frame) => void = () => {};
    const arrived = new Promise<Frame>((resolve) => this.waiting.push((waiter = resolve)));
    // A waiter that gave up is dropped: the next frame goes to the next caller, not to a failed one (a property test
    // shrinking after a timeout would otherwise pair every later answer with the request before it).
    return this.within(arrived, "no frame received").catch((error: unknown) => {
      const index = this.waiting.indexOf(waiter);
      if (index >= 0) this.waiting.splice(index, 1);
      throw error;
    });
  }

  /** Sends any frame and reads the next one. */
  async request(frame: unknown): Promise<Frame> {
    this.send(frame);
    return this.next();
  }

  /** Sends a request of type T and reads the next frame as its reply (on a v2 socket, send no turn meanwhile). */
  async ask<T extends RequestType>(type: T, data: Requests[T], id?: string): Promise<Reply<T>> {
    return (await this.request(id === undefined ? { type, data } : { type, data, id })) as Reply<T>;
  }

  /** A chat message (type 3) with the fields the existing client sends, and its reply. */
  chat(userId: string, sessionId: string, message: string, fields: Partial<ChatMessageRequest> = {}): Promise<Reply<3>> {
    return this.ask(MessageType.ChatMessage, { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "", ...fields });
  }

  /** The next frame, which must be a turn event (type 7, protocol v2). */
  async event(): Promise<AnyTurnEvent> {
    const frame = await this.next();
    if (!isEvent(frame)) throw new Error(`not a turn event: ${JSON.stringify(frame)}`);
    return frame.data as AnyTurnEvent;
  }

  /** Turn events up to the next frame that is not one (an answer or an error), and that frame. */
  async untilAnswer(): Promise<{ events: AnyTurnEvent[]; answer: Frame }> {
    const events: AnyTurnEvent[] = [];
    for (;;) {
      const frame = await this.next();
      if (!isEvent(frame)) return { events, answer: frame };
      events.push(frame.data as AnyTurnEvent);
    }
  }

  /** Turn events up to and including the turn's last one (its end, error or cancel); any other frame fails. */
  async untilTurnEnds(): Promise<AnyTurnEvent[]> {
    const events: AnyTurnEvent[] = [];
    for (;;) {
      const event = await this.event();
      events.push(event);
      if (event.event !== "start" && event.event !== "delta") return events;
    }
  }

  close(): void {
    this.frames.close(1000, "test done");
  }

  private within<T>(promise: Promise<T>, failure: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${failure} within ${this.timeoutMs / 1000} s`)), this.timeoutMs)));
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** A turn event's frame: type 7, answering no request (no `id`), not an error. */
function isEvent(frame: Frame): boolean {
  return frame.type === MessageType.TurnEvent && !("id" in frame) && !("error" in frame);
}
