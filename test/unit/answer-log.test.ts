// The answer log: a retry within the window gets the stored answer, another user's retry gets nothing, and a warm
// object answers both from memory (storage is read once per object lifetime), also past the replies it keeps.
import { expect, it } from "vitest";
import { AnswerLog } from "../../src/domain/session/answer-log";
import { MemoryStorage } from "./memory-storage";

const WINDOW_MS = 60_000;

/** Storage that counts its reads. */
class CountingStorage extends MemoryStorage {
  reads = 0;
  override async get<T>(key: string): Promise<T | undefined> {
    this.reads++;
    return super.get<T>(key);
  }
  override async list<T>(options?: { prefix?: string; limit?: number }): Promise<Map<string, T>> {
    this.reads++;
    return super.list<T>(options);
  }
}

function setUp(storage = new CountingStorage()) {
  const log = new AnswerLog<string>(storage.asStorage(), async () => undefined, WINDOW_MS);
  /** A turn as turn/ runs it: look for an earlier answer, then store this one with the turn and keep it. */
  const answer = async (id: string, user: string, reply: string, now: number) => {
    const earlier = await log.find(id, user, now);
    if (earlier !== null) return earlier;
    await storage.put(log.entry(id, user, reply, now));
    log.kept(id, { userId: user, reply, at: now });
    return reply;
  };
  return { storage, log, answer };
}

it("answers a retry with the stored answer and reads storage only once per object lifetime", async () => {
  const { storage, answer } = setUp();
  expect(await answer("a", "u", "first", 0)).toBe("first");
  const readsWhenWarm = storage.reads;
  expect(readsWhenWarm).toBe(1);
  for (let i = 0; i < 200; i++) expect(await answer(`id-${i}`, "u", `reply ${i}`, i)).toBe(`reply ${i}`);
  expect(await answer("id-199", "u", "ran again", 300)).toBe("reply 199");
  expect(await answer("a", "other user", "theirs", 300)).toBe("theirs");
  expect(storage.reads).toBe(readsWhenWarm);
  // An answer older than the replies kept in memory is still found, from storage.
  expect(await answer("id-0", "u", "ran again", 400)).toBe("reply 0");
});

it("finds answers an earlier instance stored, and none past the window", async () => {
  const first = setUp();
  await first.answer("a", "u", "before the crash", 0);
  const fresh = setUp(first.storage);
  expect(await fresh.answer("a", "u", "ran again", 10)).toBe("before the crash");
  expect(await fresh.answer("a", "u", "ran again", WINDOW_MS + 1)).toBe("ran again");
});

it("prunes answers past the window from storage and memory", async () => {
  const { storage, log, answer } = setUp();
  await answer("old", "u", "old", 0);
  await answer("new", "u", "new", WINDOW_MS / 2);
  await log.prune(WINDOW_MS + 1);
  expect(storage.keys("answer:")).toEqual(["answer:new"]);
  expect(await log.find("new", "u", WINDOW_MS + 2)).toBe("new");
});
