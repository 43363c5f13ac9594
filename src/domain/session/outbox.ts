// Owns a session's chat events: a turn's event is built and staged in the durable outbox (its Durable Object's
// storage) before the turn commits, and published once the turn and its summary are committed; anything unpublished
// is retried when the object's alarm wakes it. Publishing runs one at a time, so the stream gets each session's turns
// in order.
import type { ChatEvent } from "../../events/chat-event";
import type { EventMirror } from "../../events/redis-mirror";
import type { AccountStore, HistoryEntry, SessionRecord, SessionStore } from "../../storage/chat-store";
import { SerialQueue } from "../serial-queue";
import type { CommitReceipt } from "./journal";
import { SESSION_STORAGE, sessionKeys } from "./session-storage";
import type { WakeUp } from "./wake-up";

const PREFIX = SESSION_STORAGE.outbox;

/** What resolving a dead instance's staged turn reads back from the database. */
export type OutboxReads = Pick<SessionStore, "findSession" | "readHistoryFrom"> & Pick<AccountStore, "findUser">;

interface StagedTurn {
  state: "staged";
  sessionId: string;
  firstSeq: number;
  entryCount: number;
  event: ChatEvent;
}
interface ReadyTurn {
  state: "ready";
  sessionId: string;
  firstSeq: number;
  event: ChatEvent;
}
type OutboxEntry = StagedTurn | ReadyTurn;

/** What to do with an outbox entry now. */
type Resolution = { action: "publish"; event: ChatEvent } | { action: "drop" } | { action: "wait" };

const keyOf = sessionKeys.outbox;

/** A turn as its event tells it. */
export interface TurnForEvent {
  /** The session as the turn leaves it. */
  session: SessionRecord;
  entries: HistoryEntry[];
  firstSeq: number;
  /** The user's balance after the turn, as far as the turn knows it (the database's replaces it once committed). */
  balanceMicros: number;
}

/** A turn's event as staged: what publishing it needs. */
export interface StagedEvent {
  event: ChatEvent;
  firstSeq: number;
}

export class TurnOutbox {
  private readonly publishing: SerialQueue;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly mirror: EventMirror,
    private readonly wakeUp: WakeUp,
    private readonly retryMs: number,
    keepAlive: (done: Promise<void>) => void,
  ) {
    this.publishing = new SerialQueue(keepAlive);
  }

  /**
   * Builds the turn's event and stages it before the turn commits; null when the turn is not mirrored: staging
   * failed (a mirror problem never fails the turn), or its event would start the session on the stream and the
   * history before it could not be read (`historySoFar`, rare). A staged event whose `isNew` is set starts the
   * session there: the turn journals the session as streamed.
   */
  async stageTurn(turn: TurnForEvent, historySoFar: () => Promise<HistoryEntry[]>): Promise<StagedEvent | null> {
    const { session, entries, firstSeq } = turn;
    // The stream's readers learn of a session from its first mirrored event ("new", which inserts it there): one
    // started here, even while the mirror was off (that event then carries the history so far), never an imported
    // one. (A record journaled before the field existed has none: such a session was already started the old way.)
    const startsStream = session.streamed === false;
    const earlier = startsStream && firstSeq > 0 ? await readEarlier(session.id, historySoFar) : [];
    // Without the history the event would start the session incomplete there: it waits for a later turn.
    if (earlier === null) return null;
    const event: ChatEvent = {
      userId: session.userId,
      sessionId: session.id,
      sessionPrompt: session.prompt,
      modelId: session.modelId,
      chats: [...earlier, ...entries],
      chatsSummary: session.summary,
      sessionName: session.name,
      isNew: startsStream,
      balanceMicros: turn.balanceMicros,
    };
    try {
      await this.stage(event, firstSeq);
      return { event, firstSeq };
    } catch (error) {
      console.error(`chat event of session ${event.sessionId} not staged`, error);
      return null;
    }
  }

  /** Publishes a staged turn once `committed` (its summary's commit, else its own) resolves: with its summary, and
   *  with the balance the database reported when it did. The turn need not wait for that. */
  publishTurn({ event, firstSeq }: StagedEvent, summary: string | null, committed: Promise<CommitReceipt>): void {
    this.publish(firstSeq, async () => {
      const receipt = await committed;
      return {
        ...event,
        chatsSummary: summary ?? event.chatsSummary,
        balanceMicros: receipt.balance === "known" ? receipt.balanceMicros : event.balanceMicros,
      };
    });
  }

  /** Before the turn commits: if this object dies before publishing, the alarm finds the turn. */
  async stage(event: ChatEvent, firstSeq: number): Promise<void> {
    const entry: StagedTurn = { state: "staged", sessionId: event.sessionId, firstSeq, entryCount: event.chats.length, event };
    await Promise.all([this.storage.put(keyOf(event.sessionId, firstSeq), entry), this.wakeUp(this.retryMs)]);
  }

  /** The turn did not commit: there is nothing to publish. */
  async drop(sessionId: string, firstSeq: number): Promise<void> {
    await this.storage.delete(keyOf(sessionId, firstSeq));
  }

  /**
   * Publishes the turn once `final` gives its event as committed (with its summary and balance), behind any turn
   * published before it. The caller does not wait: a mirror problem never delays or fails a turn.
   */
  publish(firstSeq: number, final: () => Promise<ChatEvent>): void {
    void this.publishing
      .run(async () => {
        const event = await final();
        const entry: ReadyTurn = { state: "ready", sessionId: event.sessionId, firstSeq, event };
        await this.storage.put(keyOf(event.sessionId, firstSeq), entry);
        await this.flushEntries(null);
      })
      .catch((error: unknown) => console.error("chat event not staged for publishing", error));
  }

  /**
   * From the alarm, with no turn running and the journal committed: publishes everything left behind, resolving
   * turns staged by an object that died mid-turn against the database (committed: published as stored now;
   * never committed: dropped).
   */
  recover(store: OutboxReads): Promise<void> {
    return this.publishing.run(() => this.flushEntries(store));
  }

  /** Resolves once every turn handed to publish() so far is published or left for the alarm: nothing of it is
   *  written after this (the session is being deleted). */
  settled(): Promise<void> {
    return this.publishing.drained();
  }

  /** Publishes ready turns in order, stopping at a turn still running (or at a failure: the alarm retries). */
  private async flushEntries(store: OutboxReads | null): Promise<void> {
    const entries = await this.storage.list<OutboxEntry>({ prefix: PREFIX });
    for (const [key, entry] of entries) {
      try {
        const resolution = await resolve(entry, store);
        if (resolution.action === "wait") return;
        if (resolution.action === "publish") await this.mirror.publish(`${entry.sessionId}:${entry.firstSeq}`, resolution.event);
        await this.storage.delete(key);
      } catch (error) {
        console.warn(`chat event ${key} not mirrored yet; retrying in ${this.retryMs} ms`, error);
        await this.wakeUp(this.retryMs);
        return;
      }
    }
  }
}

/** The session's whole history before this turn, for the event that first brings it to the stream (rare: only a
 *  session whose earlier turns ran while the mirror was off); null when it could not be read. */
async function readEarlier(sessionId: string, historySoFar: () => Promise<HistoryEntry[]>): Promise<HistoryEntry[] | null> {
  try {
    return await historySoFar();
  } catch (error) {
    console.warn(`session ${sessionId}: its history could not be read for the event that starts it on the stream; a later turn will`, error);
    return null;
  }
}

async function resolve(entry: OutboxEntry, store: OutboxReads | null): Promise<Resolution> {
  if (entry.state === "ready") return { action: "publish", event: entry.event };
  // A staged turn ahead is still running: waiting keeps the stream in the turns' order.
  if (!store) return { action: "wait" };
  return resolveStaged(store, entry);
}

/** A staged turn left by a dead instance, as the database has it now. */
async function resolveStaged(store: OutboxReads, staged: StagedTurn): Promise<Resolution> {
  const chats: HistoryEntry[] = await store.readHistoryFrom(staged.sessionId, staged.firstSeq, staged.entryCount);
  if (chats.length === 0) return { action: "drop" };
  const [session, user] = await Promise.all([store.findSession(staged.sessionId), store.findUser(staged.event.userId)]);
  const event: ChatEvent = {
    ...staged.event,
    chats,
    chatsSummary: session?.summary ?? staged.event.chatsSummary,
    balanceMicros: user?.balanceMicros ?? staged.event.balanceMicros,
  };
  return { action: "publish", event };
}
