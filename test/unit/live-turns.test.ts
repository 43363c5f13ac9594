// A session's live turn in plain Node (in-memory storage, a hub link that records what it is handed): the races a
// workerd suite cannot time, and what storage keeps.
import { afterEach, expect, it, vi } from "vitest";
import { LiveTurns } from "../../src/domain/session/live-turns";
import { StreamLog } from "../../src/domain/session/stream-log";
import type { TurnEvent } from "../../protocol";
import { MAX_DELTA_CHARS } from "../../src/domain/session/turn-events";
import { Watchers } from "../../src/domain/session/watchers";
import { SessionAlarm } from "../../src/domain/session/wake-up";
import { ChatError } from "../../src/domain/errors";
import { MemoryStorage } from "./memory-storage";

afterEach(() => vi.useRealTimers());

/** A session's live turns over fresh storage; `gate` holds every hand-over to a hub until it is opened. */
function setup() {
  const storage = new MemoryStorage();
  const handed: { hub: string; events: TurnEvent[] }[] = [];
  let open = () => undefined as void;
  let gate = Promise.resolve();
  const link = async (hub: string, _session: string, events: TurnEvent[]) => {
    await gate;
    handed.push({ hub, events });
    return 1;
  };
  const alarm = new SessionAlarm(storage.asStorage());
  const log = new StreamLog(storage.asStorage(), alarm.wakeUp, { retainMs: 600_000, longestTurnMs: 630_000 });
  const turns = new LiveTurns(log, new Watchers(storage.asStorage(), link));
  return {
    storage,
    handed,
    turns,
    close: () => (gate = new Promise<void>((resolve) => (open = resolve))),
    open: () => open(),
    start: (watcher: string | null = "hub-a") => turns.start({ userId: "u", sessionId: "s", sessionName: "n", userMessage: "m", watcher }),
  };
}

const noOwnerCheck = async () => {
  throw new Error("the owner check was not expected");
};

it("answers a resume that arrives while the turn's ending is being delivered with done and the ending", async () => {
  const live = setup();
  const turn = await live.start();
  turn.piece("a");
  turn.piece("b");
  live.close(); // the requesting hub is slow to take the ending
  const ending = turn.end({ event: "end" });
  const resumed = await live.turns.resume("u", "s", turn.number, 0, "hub-b", noOwnerCheck);
  expect(resumed.state).toBe("done");
  expect(resumed.events.map((e) => e.event)).toEqual(["delta", "end"]);
  expect(resumed.events.at(-1)).toMatchObject({ message: "ab" });
  live.open();
  await ending;
});

it("refuses a cancel once the reply is complete, and cancels a running one after it ends", async () => {
  const live = setup();
  const turn = await live.start();
  turn.replyComplete = true;
  await expect(live.turns.cancel("u")).rejects.toMatchObject({ code: 110, message: "No turn is running in this session: the reply was already complete" });
  turn.replyComplete = false;
  await expect(live.turns.cancel("someone else")).rejects.toBeInstanceOf(ChatError);
  let cancelled = false;
  const cancel = live.turns.cancel("u").then((n) => (cancelled = true, n));
  expect(turn.cancelled).toBe(true);
  await Promise.resolve();
  expect(cancelled).toBe(false); // not before the turn has ended
  await turn.end({ event: "cancelled" });
  expect(await cancel).toBe(turn.number);
  await expect(live.turns.cancel("u")).rejects.toMatchObject({ code: 110 });
});

it("keeps a watched turn's deltas in batches within the storage's key limit, and finds them after a restart", async () => {
  vi.useFakeTimers();
  const live = setup();
  const turn = await live.start();
  for (let i = 0; i < 300; i++) turn.piece(`${i} `);
  expect(live.storage.keys("stream:delta:")).toHaveLength(0); // not one write per delta
  await vi.advanceTimersByTimeAsync(150);
  expect(live.storage.keys("stream:delta:")).toHaveLength(300);
  await turn.end({ event: "end" });

  // A new instance over the same storage (the object was evicted): the turn is done, every delta in order.
  const alarm = new SessionAlarm(live.storage.asStorage());
  const later = new LiveTurns(new StreamLog(live.storage.asStorage(), alarm.wakeUp, { retainMs: 600_000, longestTurnMs: 630_000 }), new Watchers(live.storage.asStorage(), async () => 1));
  const resumed = await later.resume("u", "s", 0, 297, "hub-c", noOwnerCheck);
  expect(resumed).toEqual({
    state: "done",
    events: [
      { session_id: "s", turn: 0, event: "delta", seq: 298, text: "298 ", replay: true },
      { session_id: "s", turn: 0, event: "delta", seq: 299, text: "299 ", replay: true },
      { session_id: "s", turn: 0, event: "end", message: Array.from({ length: 300 }, (_, i) => `${i} `).join("") },
    ],
  });
  // Another user's resume of it goes through the owner check.
  await expect(later.resume("v", "s", 0, -1, "hub-d", async () => Promise.reject(new ChatError(101)))).rejects.toMatchObject({ code: 101 });

  // Past its retention the alarm's prune forgets it.
  vi.setSystemTime(Date.now() + 600_001);
  await later.prune(Date.now());
  expect(live.storage.keys("stream:")).toEqual(["stream:next-turn", "stream:watchers"]);
});

it("writes a late watcher's earlier deltas once it resumes, and ends a turn an earlier instance left streaming as interrupted", async () => {
  vi.useFakeTimers();
  const live = setup();
  const turn = await live.start(null); // nobody watches: nothing stored (its count goes with its journal write)
  turn.piece("x");
  await vi.advanceTimersByTimeAsync(150);
  expect(live.storage.keys("stream:")).toEqual([]);
  const resumed = await live.turns.resume("u", "s", turn.number, -1, "hub-late", noOwnerCheck);
  expect(resumed).toMatchObject({ state: "streaming", events: [{ event: "delta", seq: 0, text: "x" }] });
  await vi.advanceTimersByTimeAsync(150);
  expect(live.storage.keys("stream:delta:")).toHaveLength(1);
  expect(await live.storage.get("stream:next-turn")).toBe(1); // learnt by a watcher: its count is stored
  // The object stops here, mid-turn. A later instance's alarm ends the turn as interrupted.
  const alarm = new SessionAlarm(live.storage.asStorage());
  const later = new LiveTurns(new StreamLog(live.storage.asStorage(), alarm.wakeUp, { retainMs: 600_000, longestTurnMs: 630_000 }), new Watchers(live.storage.asStorage(), async () => 1));
  await later.prune(Date.now());
  expect((await later.resume("u", "s", 0, -1, "hub-late", noOwnerCheck)).events.at(-1)).toEqual({
    session_id: "s",
    turn: 0,
    event: "error",
    code: 14,
    message: "Internal Server Error: the turn was interrupted",
  });
});

it("only collects the reply of a turn nobody watches: no event to any hub, nothing stored, the same text and deltas", async () => {
  vi.useFakeTimers();
  const live = setup();
  const turn = await live.start(null);
  const long = "y".repeat(MAX_DELTA_CHARS + 5);
  for (const piece of ["a", "", "b", long]) turn.piece(piece);
  await turn.end({ event: "end" });
  await vi.advanceTimersByTimeAsync(150);
  expect(live.handed).toEqual([]);
  expect(live.storage.keys("")).toEqual([]);
  expect(turn.text).toBe(`ab${long}`);
  expect(turn.deltas.map((delta) => delta.length)).toEqual([1, 1, MAX_DELTA_CHARS, 5]);
});

it("lists its kept turns on an alarm only when one of them is due to go: the alarm rings for the journal too", async () => {
  vi.useFakeTimers();
  const live = setup();
  for (let i = 0; i < 20; i++) {
    const turn = await live.start();
    turn.piece(`reply ${i}`);
    await turn.end({ event: "end" });
  }
  await live.turns.prune(Date.now()); // the first prune of an instance reads what it keeps
  const listed = live.storage.rowsListed;
  for (let i = 0; i < 10; i++) {
    await vi.advanceTimersByTimeAsync(2_000); // STORE_RETRY_MS: the journal's wake-ups while turns come
    await live.turns.prune(Date.now());
  }
  expect(live.storage.rowsListed).toBe(listed);
  expect(live.storage.keys("stream:turn:")).toHaveLength(20);

  // Past the first turn's retention they are read again, and the turns past it go.
  vi.setSystemTime(Date.now() + 600_000);
  await live.turns.prune(Date.now());
  expect(live.storage.rowsListed).toBeGreaterThan(listed);
  expect(live.storage.keys("stream:turn:")).toEqual([]);
});
