// Owns one streamed turn as the client sees it: its deltas as an async iterator, its reply, cancel, and resume.
// Protocol v2 (docs/protocol.md section 9); across a reconnect it resumes from the last delta held, or re-sends
// the chat message with its id when the turn had not started.
import { ChatBackendError, ChatClientError } from "./errors";
import { MessageType, type Answers, type ChatMessageRequest, type ChatReply, type ErrorCode, type RequestType, type Requests, type TurnEvent } from "../protocol";
import { newRequestId } from "./transport";

/** One piece of a reply. Pieces in `seq` order concatenate to the reply. */
export interface Delta {
  seq: number;
  text: string;
  /** Sent again by a resume (the client did not hold it). */
  replay: boolean;
}

/** How a turn followed with `client.resume()` ended (it has no type-3 answer of its own). */
export interface ResumedTurn {
  user_id: string;
  session_id: string;
  turn: number;
  message: string;
  cancelled?: true;
}

/** What a stream asks of its client. */
export interface StreamHost {
  readonly userId: string | undefined;
  /** Sends a request that `owner` carries across a reconnect itself (the client does not re-send it). */
  send<T extends RequestType>(type: T, data: Requests[T], id: string, owner: StreamOwner): Promise<Answers[T]>;
  /** Sends the pending request `id` again, as it is. */
  resend(id: string): void;
  /** Drops the pending request `id`: its answer went with a socket that is gone. */
  forget(id: string): void;
  /** The id of the oldest request the socket has not answered yet. */
  oldestPending(): string | undefined;
  cancel(sessionId: string): Promise<number>;
  /** The stream has settled: it needs no more events. */
  finished(owner: StreamOwner): void;
}

/** A stream as its client drives it. */
export interface StreamOwner {
  /** Sends the stream's first request. */
  begin(): void;
  /** A turn event; true when it belongs to this stream. */
  offer(event: TurnEvent): boolean;
  /** The client has a new socket. */
  recover(): void;
  /** No answer can come any more. */
  fail(error: Error): void;
}

type Origin = { kind: "chat"; id: string; request: ChatMessageRequest } | { kind: "resume" };
type Ending = Extract<TurnEvent, { event: "end" | "error" | "cancelled" }>;

interface Known {
  sessionId?: string;
  turn?: number;
  sessionName?: string;
  userId?: string;
}

/**
 * A turn's reply as it is produced: `for await (const delta of stream)` yields each delta once, in order, across
 * reconnects; `done` is the final reply (a cancelled turn's partial one, with `cancelled: true`) or rejects with a
 * ChatBackendError carrying the code. Iterate it once. Leaving the loop early stops reading, not the turn: use
 * `cancel()` for that.
 */
export class TurnStream<R> implements AsyncIterable<Delta>, StreamOwner {
  readonly done: Promise<R>;
  /** Method syntax: a TurnStream<ChatReply> is then also a TurnStream<unknown>. */
  private readonly outcome: { resolve(value: R): void; reject(error: Error): void };
  private readonly queue: Delta[] = [];
  private readonly texts: string[] = [];
  private lastSeq: number;
  private wake: (() => void) | null = null;
  private settled: { ok: true } | { ok: false; error: Error } | null = null;
  private bound: boolean;
  private ending: Ending | null = null;
  /** The turn's type-3 answer will not come (it went with a lost socket, or there is none): its ending event settles it. */
  private followedByResume: boolean;
  private resumeId: string | null = null;
  private readonly known: Known;
  private readonly boundOrSettled: Promise<void>;
  private markBoundOrSettled!: () => void;

  /** Made by ChatClient.stream() and ChatClient.resume(). */
  constructor(
    private readonly host: StreamHost,
    private readonly origin: Origin,
    private readonly result: (ending: { message: string; cancelled: boolean }, known: Known, answer?: ChatReply) => R,
    from?: { sessionId: string; turn: number; afterSeq: number },
  ) {
    let outcome!: { resolve(value: R): void; reject(error: Error): void };
    this.done = new Promise<R>((resolve, reject) => (outcome = { resolve, reject }));
    this.outcome = outcome;
    this.done.catch(() => {}); // a caller that only iterates gets the error from the iterator
    this.boundOrSettled = new Promise((resolve) => (this.markBoundOrSettled = resolve));
    this.known = from ? { sessionId: from.sessionId, turn: from.turn } : {};
    this.bound = from !== undefined;
    this.followedByResume = origin.kind === "resume";
    this.lastSeq = from?.afterSeq ?? -1;
  }

  /** The turn's session: known once the turn started (at once for an existing session). */
  get sessionId(): string | undefined {
    return this.known.sessionId ?? (this.origin.kind === "chat" && this.origin.request.session_id !== "NEW" ? this.origin.request.session_id : undefined);
  }

  /** The turn's number in its session, once it started. */
  get turn(): number | undefined {
    return this.known.turn;
  }

  get sessionName(): string | undefined {
    return this.known.sessionName;
  }

  /** The reply so far. */
  get text(): string {
    return this.texts.join("");
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Delta, void, undefined> {
    for (;;) {
      const delta = this.queue.shift();
      if (delta) {
        yield delta;
        continue;
      }
      if (this.settled) {
        if (!this.settled.ok) throw this.settled.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * Cancels the turn (type 9) once it has started; the stream then ends with the partial reply and `done` has
   * `cancelled: true`. Does nothing when the turn ended first.
   */
  async cancel(): Promise<void> {
    await this.boundOrSettled;
    const sessionId = this.sessionId;
    if (this.settled || sessionId === undefined) return;
    try {
      await this.host.cancel(sessionId);
    } catch (error) {
      if (error instanceof ChatBackendError && error.code === 110) return; // it ended meanwhile
      throw error;
    }
  }

  /** Sends the stream's first request. */
  begin(): void {
    if (this.origin.kind === "chat") this.sendChat(this.origin.id, this.origin.request);
    else this.resumeFrom();
  }

  offer(event: TurnEvent): boolean {
    if (this.settled) return false;
    if (!this.bound) {
      if (event.event !== "start" || this.origin.kind !== "chat") return false;
      // The backend runs a socket's requests one at a time, in order: a turn that starts while this stream's chat
      // message is the oldest unanswered request, in its session (any, for "NEW") and with its text, is its turn.
      const { id, request } = this.origin;
      if (this.host.oldestPending() !== id || event.user_message !== request.message) return false;
      if (request.session_id !== "NEW" && event.session_id !== request.session_id) return false;
      Object.assign(this.known, { sessionId: event.session_id, turn: event.turn, sessionName: event.session_name });
      this.bound = true;
      this.markBoundOrSettled();
      return true;
    }
    if (event.session_id !== this.known.sessionId || event.turn !== this.known.turn) return false;
    if (event.event === "start") return true;
    if (event.event === "delta") {
      if (event.seq > this.lastSeq) this.push({ seq: event.seq, text: event.text, replay: event.replay });
      return true;
    }
    this.ending = event;
    if (this.followedByResume) this.settleFromEnding(event);
    return true;
  }

  recover(): void {
    if (this.settled) return;
    if (this.origin.kind === "chat" && !this.bound) {
      // Not started yet, as far as this client knows: the same frame with the same id either runs now or is
      // answered from the backend's idempotency log; it never runs twice.
      this.host.resend(this.origin.id);
      return;
    }
    // The turn started: resume it after the last delta held. Its type-3 answer went with the old socket.
    if (this.origin.kind === "chat") this.host.forget(this.origin.id);
    this.followedByResume = true;
    if (this.ending) this.settleFromEnding(this.ending);
    else this.resumeFrom();
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = { ok: false, error };
    this.outcome.reject(error);
    this.stop();
  }

  private sendChat(id: string, request: ChatMessageRequest): void {
    this.host.send(MessageType.ChatMessage, request, id, this).then(
      (answer) => this.finish(answer.message, answer.cancelled === true, answer),
      (error: Error) => this.fail(error),
    );
  }

  private resumeFrom(): void {
    const { sessionId, turn } = this.known;
    if (sessionId === undefined || turn === undefined) return;
    if (this.resumeId) this.host.forget(this.resumeId);
    const id = newRequestId();
    this.resumeId = id;
    this.host.send(MessageType.ResumeTurn, { session_id: sessionId, turn, after_seq: this.lastSeq }, id, this).then(
      (answer) => {
        if (this.resumeId !== id) return;
        this.resumeId = null;
        this.known.userId = answer.user_id;
        if (answer.state !== "unknown") return; // the deltas after lastSeq and the ending follow
        if (this.origin.kind === "chat") this.sendChat(this.origin.id, this.origin.request); // answered from the idempotency log
        else this.fail(new ChatClientError("unknown-turn", `turn ${turn} of session ${sessionId} is unknown: it never ran, or ended too long ago`));
      },
      (error: Error) => {
        if (this.resumeId === id) this.fail(error);
      },
    );
  }

  private settleFromEnding(ending: Ending): void {
    if (ending.event === "error") {
      const id = this.origin.kind === "chat" ? this.origin.id : undefined;
      this.fail(new ChatBackendError(ending.code as ErrorCode, ending.message, MessageType.ChatMessage, id));
    } else this.finish(ending.message, ending.event === "cancelled");
  }

  /** Settles with the final reply; text of it that no delta brought (an answer from the idempotency log, or a v1
   *  socket) comes as one last delta, so the deltas always make the reply. */
  private finish(message: string, cancelled: boolean, answer?: ChatReply): void {
    if (this.settled) return;
    const held = this.text;
    if (message.length > held.length && message.startsWith(held)) this.push({ seq: this.lastSeq + 1, text: message.slice(held.length), replay: false });
    this.settled = { ok: true };
    this.outcome.resolve(this.result({ message, cancelled }, this.known, answer));
    this.stop();
  }

  private push(delta: Delta): void {
    this.lastSeq = delta.seq;
    this.texts.push(delta.text);
    this.queue.push(delta);
    this.wakeReader();
  }

  private stop(): void {
    if (this.resumeId) this.host.forget(this.resumeId);
    this.resumeId = null;
    this.host.finished(this);
    this.markBoundOrSettled();
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
