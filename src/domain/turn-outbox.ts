// Owns the durable outbox of a session's chat events (in its Durable Object's storage): a turn is staged
// before it commits and published after its summary, and anything unpublished is retried from an alarm.
import type { ChatEvent } from "../events/chat-event";
import type { EventMirror } from "../events/redis-mirror";
import type { ChatStore, HistoryEntry } from "../storage/chat-store";

const PREFIX = "outbox:";

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

const keyOf = (sessionId: string, firstSeq: number) => `${PREFIX}${sessionId}:${String(firstSeq).padStart(12, "0")}`;

export class TurnOutbox {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly mirror: EventMirror,
    private readonly retryMs: number,
  ) {}

  /** Before the turn commits: if this object dies before publishing, the alarm finds the turn. */
  async stage(event: ChatEvent, firstSeq: number): Promise<void> {
    const entry: StagedTurn = { state: "staged", sessionId: event.sessionId, firstSeq, entryCount: event.chats.length, event };
    await this.storage.put(keyOf(event.sessionId, firstSeq), entry);
    await this.storage.setAlarm(Date.now() + this.retryMs);
  }

  /** The turn did not commit: there is nothing to publish. */
  async drop(sessionId: string, firstSeq: number): Promise<void> {
    await this.storage.delete(keyOf(sessionId, firstSeq));
  }

  /** The turn and its summary are committed: publish it now, or later from the alarm. */
  async publish(event: ChatEvent, firstSeq: number): Promise<void> {
    const entry: ReadyTurn = { state: "ready", sessionId: event.sessionId, firstSeq, event };
    await this.storage.put(keyOf(event.sessionId, firstSeq), entry);
    await this.flush(null);
  }

  /**
   * Publishes every ready turn in order. Staged turns left by an object that died mid-turn are resolved
   * against storage (committed: published with what is stored now; not committed: dropped) when a store is given.
   */
  async flush(store: ChatStore | null): Promise<void> {
    const entries = await this.storage.list<OutboxEntry>({ prefix: PREFIX });
    for (const [key, entry] of entries) {
      try {
        // A staged turn ahead of this one is still running: stop, so the stream keeps the turns' order.
        const event = entry.state === "ready" ? entry.event : store ? await resolveStaged(store, entry) : undefined;
        if (event === undefined) return;
        if (event) await this.mirror.publish(`${entry.sessionId}:${entry.firstSeq}`, event);
        await this.storage.delete(key);
      } catch (error) {
        console.warn(`chat event ${key} not mirrored yet; retrying in ${this.retryMs} ms`, error);
        await this.storage.setAlarm(Date.now() + this.retryMs);
        return;
      }
    }
    if (entries.size > 0 && (await this.storage.list({ prefix: PREFIX, limit: 1 })).size === 0) await this.storage.deleteAlarm();
  }
}

/** The event of a staged turn as stored now, or null when the turn never committed. */
async function resolveStaged(store: ChatStore, staged: StagedTurn): Promise<ChatEvent | null> {
  const chats: HistoryEntry[] = await store.readHistoryFrom(staged.sessionId, staged.firstSeq, staged.entryCount);
  if (chats.length === 0) return null;
  const [session, user] = await Promise.all([store.findSession(staged.sessionId), store.findUser(staged.event.userId)]);
  return {
    ...staged.event,
    chats,
    chatsSummary: session?.summary ?? staged.event.chatsSummary,
    balanceMicros: user?.balanceMicros ?? staged.event.balanceMicros,
  };
}
