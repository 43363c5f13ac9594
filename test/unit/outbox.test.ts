// The outbox of chat events: staged before the commit, published in the turns' order once committed, retried
// through the alarm when the mirror fails, and resolved against the database after an instance died mid-turn.
import { describe, expect, it } from "vitest";
import { TurnOutbox, type OutboxReads } from "../../src/domain/session/outbox";
import type { ChatEvent } from "../../src/events/chat-event";
import type { EventMirror } from "../../src/events/redis-mirror";
import type { HistoryEntry, SessionRecord, UserRecord } from "../../src/storage/chat-store";
import { gate, settle } from "./deferred";
import { chatEvent, session } from "./fixtures";
import { MemoryStorage } from "./memory-storage";

const RETRY_MS = 5000;

class RecordingMirror implements EventMirror {
  readonly published: { turnKey: string; event: ChatEvent }[] = [];
  failing = false;
  async publish(turnKey: string, event: ChatEvent): Promise<string> {
    if (this.failing) throw new Error("redis unreachable");
    this.published.push({ turnKey, event });
    return `${this.published.length}-0`;
  }
}

function setUp() {
  const storage = new MemoryStorage();
  const mirror = new RecordingMirror();
  const wakeUps: number[] = [];
  const kept: Promise<void>[] = [];
  const outbox = new TurnOutbox(storage.asStorage(), mirror, async (ms) => void wakeUps.push(ms), RETRY_MS, (done) => kept.push(done));
  const drained = async () => {
    await Promise.all(kept);
    await settle();
  };
  return { outbox, storage, mirror, wakeUps, drained };
}

/** A database holding what the outbox reads back for a staged turn. */
function databaseWith(history: HistoryEntry[], summary: string, balanceMicros: number): OutboxReads {
  return {
    readHistoryFrom: async () => history,
    findSession: async (): Promise<SessionRecord> => ({ ...session, summary }),
    findUser: async (): Promise<UserRecord> => ({ id: session.userId, username: "u", balanceMicros }),
  };
}

describe("TurnOutbox", () => {
  it("stages a turn durably before it commits and asks to be woken, so a dead instance's turn is found", async () => {
    const { outbox, storage, wakeUps } = setUp();
    await outbox.stage(chatEvent(0), 0);
    expect(storage.keys("outbox:")).toHaveLength(1);
    expect(wakeUps).toEqual([RETRY_MS]);
  });

  it("publishes turns in their order even when a later turn commits first", async () => {
    const { outbox, mirror, storage, drained } = setUp();
    await outbox.stage(chatEvent(0), 0);
    await outbox.stage(chatEvent(1), 2);
    const first = gate<ChatEvent>();
    outbox.publish(0, () => first.promise);
    outbox.publish(2, async () => chatEvent(1));
    await settle();
    expect(mirror.published).toEqual([]);
    first.open({ ...chatEvent(0), chatsSummary: "after turn 0" });
    await drained();
    expect(mirror.published.map((p) => p.turnKey)).toEqual([`${session.id}:0`, `${session.id}:2`]);
    expect(mirror.published[0]!.event.chatsSummary).toBe("after turn 0");
    expect(storage.keys("outbox:")).toEqual([]);
  });

  it("stops at a turn still running (staged) and publishes what follows once it is ready", async () => {
    const { outbox, mirror, drained } = setUp();
    await outbox.stage(chatEvent(0), 0);
    await outbox.stage(chatEvent(1), 2);
    outbox.publish(2, async () => chatEvent(1));
    await drained();
    expect(mirror.published).toEqual([]);
    outbox.publish(0, async () => chatEvent(0));
    await drained();
    expect(mirror.published.map((p) => p.turnKey)).toEqual([`${session.id}:0`, `${session.id}:2`]);
  });

  it("keeps an event the mirror refused and asks to be woken; recovery publishes it exactly once", async () => {
    const { outbox, mirror, storage, wakeUps, drained } = setUp();
    await outbox.stage(chatEvent(0), 0);
    mirror.failing = true;
    outbox.publish(0, async () => chatEvent(0));
    await drained();
    expect(storage.keys("outbox:")).toHaveLength(1);
    expect(wakeUps).toEqual([RETRY_MS, RETRY_MS]);

    mirror.failing = false;
    await outbox.recover(databaseWith([], "", 0));
    expect(mirror.published).toHaveLength(1);
    expect(storage.keys("outbox:")).toEqual([]);
  });

  it("recovers a turn staged by a dead instance: published as the database has it when it committed", async () => {
    const { outbox, mirror } = setUp();
    await outbox.stage(chatEvent(0), 0);
    const stored: HistoryEntry[] = [
      { role: "user", content: "question 0" },
      { role: "assistant", content: "answer 0" },
    ];
    await outbox.recover(databaseWith(stored, "stored summary", 123));
    expect(mirror.published).toEqual([
      { turnKey: `${session.id}:0`, event: { ...chatEvent(0), chats: stored, chatsSummary: "stored summary", balanceMicros: 123 } },
    ]);
  });

  it("drops a turn staged by a dead instance that never committed", async () => {
    const { outbox, mirror, storage } = setUp();
    await outbox.stage(chatEvent(0), 0);
    await outbox.recover(databaseWith([], "", 0));
    expect(mirror.published).toEqual([]);
    expect(storage.keys("outbox:")).toEqual([]);
  });

  it("drop() forgets a staged turn whose commit failed", async () => {
    const { outbox, storage } = setUp();
    await outbox.stage(chatEvent(0), 0);
    await outbox.drop(session.id, 0);
    expect(storage.keys("outbox:")).toEqual([]);
  });
  it("builds a turn's event from the session as the turn leaves it, and publishes it with its summary and the balance the database reported", async () => {
    const { outbox, mirror, drained } = setUp();
    const entries: HistoryEntry[] = [
      { role: "user", content: "question 1" },
      { role: "assistant", content: "answer 1" },
    ];
    const turn = { session: { ...session, name: "Renamed", streamed: true }, entries, firstSeq: 2, balanceMicros: 900 };
    const staged = await outbox.stageTurn(turn, () => Promise.reject(new Error("a session already on the stream needs no history")));
    expect(staged?.event).toMatchObject({ sessionName: "Renamed", chats: entries, isNew: false, balanceMicros: 900 });

    outbox.publishTurn(staged!, "summary 1", Promise.resolve({ balance: "known", balanceMicros: 850 }));
    await drained();
    expect(mirror.published).toEqual([{ turnKey: `${session.id}:2`, event: { ...staged!.event, chatsSummary: "summary 1", balanceMicros: 850 } }]);
  });

  it("keeps the turn's own balance and summary when the database did not report one and no summary came", async () => {
    const { outbox, mirror, drained } = setUp();
    const staged = await outbox.stageTurn({ session: { ...session, streamed: true, summary: "before" }, entries: [], firstSeq: 4, balanceMicros: 700 }, async () => []);
    outbox.publishTurn(staged!, null, Promise.resolve({ balance: "unknown" }));
    await drained();
    expect(mirror.published[0]?.event).toMatchObject({ chatsSummary: "before", balanceMicros: 700 });
  });

  it("starts a session on the stream with its history so far, or not at all while that history cannot be read", async () => {
    const { outbox, storage } = setUp();
    const earlier: HistoryEntry[] = [
      { role: "user", content: "question 0" },
      { role: "assistant", content: "answer 0" },
    ];
    const entries: HistoryEntry[] = [{ role: "user", content: "question 1" }];
    const turn = { session, entries, firstSeq: 2, balanceMicros: 900 };
    const staged = await outbox.stageTurn(turn, async () => earlier);
    expect(staged?.event).toMatchObject({ isNew: true, chats: [...earlier, ...entries] });

    await outbox.drop(session.id, 2);
    expect(await outbox.stageTurn(turn, () => Promise.reject(new Error("database unreachable")))).toBeNull();
    expect(storage.keys("outbox:")).toEqual([]);
  });
});
