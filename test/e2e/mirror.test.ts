// The Redis event mirror end to end: the stack of `npm run dev:pg` with a .dev.vars copied from .dev.vars.example
// (its empty mirror settings must not turn the mirror off), read back by a consumer group with a plain Redis
// client (XREADGROUP, XACK) as the original Sync-Backend does.
import path from "node:path";
import IORedis from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { balanceOf, connectFrames, createUser, setFaults, startStack, type FrameClient, type Stack } from "./stack";

const GROUP = "sync-backend";
let stack: Stack;
let redis: IORedis;
let client: FrameClient;

interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

beforeAll(async () => {
  redis = new IORedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const stream = `e2e-chat-stream-${crypto.randomUUID()}`;
  await redis.xgroup("CREATE", stream, GROUP, "$", "MKSTREAM");
  stack = await startStack({ REDIS_STREAM: stream, MIRROR_RETRY_MS: "200" }, { devVars: path.join(import.meta.dirname, "../../.dev.vars.example") });
  client = await connectFrames(stack);
}, 120_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
  if (stack) await redis.del(stack.stream);
  redis?.disconnect();
});

beforeEach(() => setFaults(stack, { failNext: 0, down: false }));

/** Everything the consumer group has not seen yet, acknowledged. */
async function consume(): Promise<StreamEntry[]> {
  const reply = (await redis.xreadgroup("GROUP", GROUP, "consumer-1", "COUNT", 1000, "STREAMS", stack.stream, ">")) as
    | [string, [string, string[]][]][]
    | null;
  const entries = (reply?.[0]?.[1] ?? []).map(([id, flat]) => ({
    id,
    fields: Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])),
  }));
  if (entries.length > 0) await redis.xack(stack.stream, GROUP, ...entries.map((e) => e.id));
  return entries;
}

/** Consumes until `count` entries of this session arrived (bounded), then once more to catch duplicates. */
async function consumeTurns(sessionId: string, count: number): Promise<StreamEntry[]> {
  const seen: StreamEntry[] = [];
  for (let attempt = 0; attempt < 150 && seen.length < count; attempt++) {
    seen.push(...(await consume()).filter((e) => e.fields.sessionId === sessionId));
    if (seen.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

/** Every entry of the session in the whole stream, whoever consumed it. */
async function wholeStream(sessionId: string): Promise<string[]> {
  const entries = (await redis.xrange(stack.stream, "-", "+")) as [string, string[]][];
  return entries
    .map(([, flat]) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])))
    .filter((fields) => fields.sessionId === sessionId)
    .map((fields) => (JSON.parse(fields.chats!) as { content: string }[])[0]!.content);
}

const userTurns = (entries: StreamEntry[]) => entries.map((e) => (JSON.parse(e.fields.chats!) as { content: string }[])[0]!.content);

describe("chat events on the stream", () => {
  it("adds one entry per answered turn with the fields of spec section 7", async () => {
    const userId = await createUser(stack);
    const first = await client.chat(userId, "NEW", "Plan a trip to Lisbon", { session_prompt: "You are a travel agent." });
    const sessionId = first.data!.session_id!;
    await client.chat(userId, sessionId, "And Porto?");
    const entries = await consumeTurns(sessionId, 2);
    // A later turn of the same session proves nothing more was coming for these two.
    await client.chat(userId, sessionId, "Thanks");
    const after = await consumeTurns(sessionId, 1);
    expect(userTurns([...entries, ...after])).toEqual(["Plan a trip to Lisbon", "And Porto?", "Thanks"]);

    const [one, two] = entries;
    expect(Object.keys(one!.fields).sort()).toEqual(
      ["balance", "chats", "chatsSummary", "isNew", "modelId", "sessionId", "sessionName", "sessionPrompt", "userId"].sort(),
    );
    expect(one!.fields).toMatchObject({
      userId,
      sessionId,
      sessionPrompt: "You are a travel agent.",
      modelId: "4",
      sessionName: "Plan a trip to Lisbon",
      isNew: "new",
    });
    expect(two!.fields.isNew).toBe("old");
    const chats = JSON.parse(one!.fields.chats!) as { role: string; content: string }[];
    expect(chats.map((c) => c.role)).toEqual(["user", "assistant"]);
    expect(chats[1]!.content).toBe(first.data!.message);
    expect(one!.fields.chatsSummary).toContain("Plan a trip to Lisbon");
    expect(two!.fields.chatsSummary).toContain("And Porto?");
    expect(two!.fields.chatsSummary.startsWith(one!.fields.chatsSummary!)).toBe(true);
    expect(one!.fields.balance).toMatch(/^\d+\.\d{6}$/);
    expect(Number(after[0]!.fields.balance)).toBeCloseTo(await balanceOf(stack, userId), 6);
    expect(Number(one!.fields.balance)).toBeGreaterThan(Number(two!.fields.balance));
    const pending = (await redis.xpending(stack.stream, GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it.each([
    ["lost after Redis applied it", "after"],
    ["refused before Redis applied it", "before"],
  ] as const)("adds a turn exactly once when its first write was %s", async (_, mode) => {
    const userId = await createUser(stack);
    const sessionId = (await client.chat(userId, "NEW", "warm up")).data!.session_id!;
    await consumeTurns(sessionId, 1);
    await setFaults(stack, { failNext: 1, mode });
    const reply = await client.chat(userId, sessionId, "this write fails first");
    expect(reply.error).toBeUndefined();
    const retried = await consumeTurns(sessionId, 1);
    await client.chat(userId, sessionId, "next turn");
    const next = await consumeTurns(sessionId, 1);
    expect(userTurns([...retried, ...next])).toEqual(["this write fails first", "next turn"]);
    expect(await wholeStream(sessionId)).toEqual(["warm up", "this write fails first", "next turn"]);
  });

  it("never breaks a turn during a Redis outage, and mirrors every turn once it is back", async () => {
    const userId = await createUser(stack);
    await setFaults(stack, { down: true });
    const first = await client.chat(userId, "NEW", "during the outage 1");
    const sessionId = first.data!.session_id!;
    expect(first.error).toBeUndefined();
    for (const n of [2, 3]) expect((await client.chat(userId, sessionId, `during the outage ${n}`)).error).toBeUndefined();
    expect((await consume()).filter((e) => e.fields.sessionId === sessionId)).toEqual([]);

    await setFaults(stack, { down: false });
    const entries = await consumeTurns(sessionId, 3);
    await client.chat(userId, sessionId, "after the outage");
    const after = await consumeTurns(sessionId, 1);
    expect(userTurns([...entries, ...after])).toEqual(["during the outage 1", "during the outage 2", "during the outage 3", "after the outage"]);
    expect(await wholeStream(sessionId)).toEqual(["during the outage 1", "during the outage 2", "during the outage 3", "after the outage"]);
    expect(entries[0]!.fields.isNew).toBe("new");
  });
});
