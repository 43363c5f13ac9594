// A session started while the event mirror was off reaches the stream once the mirror is on: `npm run dev` without
// a mirror runs two turns, then runs again on the same local data with the mirror on (an Upstash stand-in over the
// real Redis); the session's next turn is its "new" entry, carrying its whole history, and the one after is "old".
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import IORedis from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startUpstashStandIn, type UpstashStandIn } from "../../scripts/lib/upstash-standin.ts";
import { connectFrames, createUser, startStack, type Stack } from "./stack";

const TOKEN = "mirror-turned-on-token";
const persistTo = mkdtempSync(path.join(os.tmpdir(), "chat-mirror-on-"));
const stream = `e2e-mirror-turned-on-${crypto.randomUUID()}`;
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
let redis: IORedis;
let standIn: UpstashStandIn;
let stack: Stack | undefined;
let userId: string;
let sessionId: string;

beforeAll(async () => {
  redis = new IORedis(redisUrl);
  // First the mirror is off: two turns of one session.
  const off = await startStack({}, { storage: "d1", persistTo });
  try {
    const client = await connectFrames(off);
    userId = await createUser(off);
    const first = await client.chat(userId, "NEW", "while the mirror was off");
    sessionId = first.data!.session_id!;
    expect((await client.chat(userId, sessionId, "still off")).error).toBeUndefined();
    client.close();
  } finally {
    await off.stop();
  }
  standIn = await startUpstashStandIn({ token: TOKEN, redisUrl });
  stack = await startStack({ UPSTASH_REDIS_REST_URL: standIn.url, UPSTASH_REDIS_REST_TOKEN: TOKEN, REDIS_STREAM: stream, MIRROR_RETRY_MS: "200" }, { storage: "d1", persistTo });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await standIn?.close();
  await redis.del(stream);
  redis.disconnect();
  rmSync(persistTo, { recursive: true, force: true });
});

async function entries(count: number): Promise<Record<string, string>[]> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const found = ((await redis.xrange(stream, "-", "+")) as [string, string[]][])
      .map(([, flat]) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!])))
      .filter((fields) => fields.sessionId === sessionId);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${count} stream entries for session ${sessionId}`);
}

it("the session's next turn is its new entry with the whole history, the one after is old", async () => {
  const client = await connectFrames(stack!);
  try {
    expect((await client.chat(userId, sessionId, "the mirror is on now")).error).toBeUndefined();
    const [started] = await entries(1);
    expect(started!.isNew).toBe("new");
    expect(started!.sessionName).toBe("while the mirror was off");
    const chats = JSON.parse(started!.chats!) as { role: string; content: string }[];
    expect(chats.filter((c) => c.role === "user").map((c) => c.content)).toEqual(["while the mirror was off", "still off", "the mirror is on now"]);
    expect(chats.map((c) => c.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);

    await client.chat(userId, sessionId, "and again");
    const all = await entries(2);
    expect(all.map((e) => e.isNew)).toEqual(["new", "old"]);
    expect((JSON.parse(all[1]!.chats!) as { content: string }[])[0]!.content).toBe("and again");
  } finally {
    client.close();
  }
});
