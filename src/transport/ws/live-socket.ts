// Owns what a protocol v2 socket receives of live turns: type-7 frames for the sessions it watches, held back
// while a resume of that session is being answered (they follow its replayed events), and never a delta or an
// ending it already got.
import { MessageType, type EventFrame, type TurnEvent } from "../../../protocol";

/** A v2 socket, as the message handlers see it. */
export interface LiveSocket {
  /** The Durable Object id of the hub holding the socket: session objects send it their events. */
  hubId: string;
  /** The socket watches the session from now on. */
  watch(sessionId: string): void;
  /** Holds the session's events for this socket until `release`. */
  hold(sessionId: string): void;
  /** Sends `first`, then what was held, and stops holding. */
  release(sessionId: string, first: readonly TurnEvent[]): void;
  /** The session was deleted: the socket stops watching it and forgets its turns (a session started again under
   *  the same id, by a replayed request id, numbers its turns from 0). */
  forget(sessionId: string): void;
}

/** Sessions a socket watches: the most recent ones it asked about. */
export const MAX_WATCHED_SESSIONS = 16;
/** Turns a socket remembers having had events of, to drop what a resume and the live feed both bring. */
const MAX_REMEMBERED_TURNS = 64;

interface TurnProgress {
  lastSeq: number;
  ended: boolean;
}

/** One socket's feed of turn events (in memory: a hub that hibernated holds no resume open). */
export class TurnFeed {
  private readonly held = new Map<string, TurnEvent[]>();
  private readonly progress = new Map<string, TurnProgress>();

  constructor(private readonly send: (frame: string) => void) {}

  deliver(events: readonly TurnEvent[]): void {
    for (const event of events) {
      const held = this.held.get(event.session_id);
      if (held) held.push(event);
      else this.forward(event, false);
    }
  }

  hold(sessionId: string): void {
    if (!this.held.has(sessionId)) this.held.set(sessionId, []);
  }

  /** Sends what a resume replays (all of it: the client said what it has), then the live events that came
   *  meanwhile and are not among them. */
  release(sessionId: string, replayed: readonly TurnEvent[]): void {
    const held = this.held.get(sessionId) ?? [];
    this.held.delete(sessionId);
    for (const event of replayed) this.forward(event, true);
    for (const event of held) this.forward(event, false);
  }

  forget(sessionId: string): void {
    this.held.delete(sessionId);
    for (const key of [...this.progress.keys()]) if (key.startsWith(`${sessionId}:`)) this.progress.delete(key);
  }

  private forward(event: TurnEvent, replay: boolean): void {
    const key = `${event.session_id}:${event.turn}`;
    let progress = this.progress.get(key);
    if (!progress) {
      if (this.progress.size >= MAX_REMEMBERED_TURNS) this.progress.delete(this.progress.keys().next().value!);
      this.progress.set(key, (progress = { lastSeq: -1, ended: false }));
    }
    if (progress.ended && !replay) return;
    if (event.event === "delta") {
      if (event.seq <= progress.lastSeq && !replay) return;
      progress.lastSeq = event.seq;
    } else if (event.event !== "start") progress.ended = true;
    this.send(JSON.stringify({ type: MessageType.TurnEvent, data: event } satisfies EventFrame));
  }
}
