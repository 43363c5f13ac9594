// Sync-Backend never collides with an imported session: the original's database (scripts/lib/original-schema.sql, filled
// by scripts/lib/original-fixture.ts) imported with `npm run import:original`, then served by the dev:pg stack with the
// mirror on. The first turn here of an imported session, whatever its history (none, an empty `[]`, some), is
// `isNew: "old"`, so Sync-Backend updates the rows it has instead of inserting a second one; a session started here
// is still "new". Sync-Backend's writes are played against the original database as it makes them.
import { spawnSync } from "node:child_process";
import path from "node:path";
import IORedis from "ioredis";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOriginalDatabase } from "../../scripts/lib/original-fixture.ts";
import { checkoutDatabase, ensureDatabase, migratePostgres } from "../../scripts/lib/postgres.ts";
import { changeUser, connectFrames, createUser, startStack, type FrameClient, type Stack } from "./stack";

const root = path.resolve(import.meta.dirname, "../..");
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const GROUP = "sync-backend";

let originalDb: postgres.Sql;
let stack: Stack;
let client: FrameClient;
let redis: IORedis;
type Imported = { session_id: string; user_id: string };
let emptyHistory: Imported;
let noChatRow: Imported;
let someHistory: Imported;

beforeAll(async () => {
  const original = await createOriginalDatabase(server, checkoutDatabase("chat_original_sync_imported"), { sessions: 6 });
  originalDb = postgres(original.url, { max: 1, onnotice: () => {} });
  const pick = async (where: postgres.PendingQuery<postgres.Row[]>) =>
    (await originalDb<Imported[]>`select s.session_id::text, s.user_id::text from session_details s left join chat_details c using (session_id) where ${where} limit 1`)[0]!;
  emptyHistory = await pick(originalDb`c.chats = '[]'::jsonb`);
  noChatRow = await pick(originalDb`c.session_id is null`);
  someHistory = await pick(originalDb`jsonb_array_length(c.chats) > 2`);

  const database = checkoutDatabase("chat_backend_sync_imported");
  const target = await ensureDatabase(server, database);
  await migratePostgres(target, { reset: true });
  const imported = spawnSync(process.execPath, ["--import", "tsx", "scripts/import-original.ts", "--from", original.url, "--to-postgres", target], { cwd: root, encoding: "utf8" });
  expect(imported.status, imported.stderr).toBe(0);

  redis = new IORedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const stream = `e2e-sync-imported-${crypto.randomUUID()}`;
  await redis.xgroup("CREATE", stream, GROUP, "$", "MKSTREAM");
  stack = await startStack({ REDIS_STREAM: stream, MIRROR_RETRY_MS: "200" }, { database });
  client = await connectFrames(stack);
  // The imported users may use gpt-4-turbo and have money (the admin API; sync:original would carry it over).
  for (const { user_id } of [emptyHistory, noChatRow, someHistory]) {
    expect(await changeUser(stack, user_id, { models: [4], balance: 5 })).toMatchObject({ models: [4], balance: 5 });
  }
}, 180_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
  if (stack) await redis.del(stack.stream);
  redis?.disconnect();
  await originalDb?.end();
});

/** The stream's entries for a session, waiting (bounded) until `count` arrived. */
async function entriesOf(sessionId: string, count: number): Promise<Record<string, string>[]> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const entries = ((await redis.xrange(stack.stream, "-", "+")) as [string, string[]][])
      .map(([, flat]) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!])))
      .filter((fields) => fields.sessionId === sessionId);
    if (entries.length >= count) return entries;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${count} stream entries for session ${sessionId}`);
}

/** What Sync-Backend does with an "old" entry: append the turn's chats to the session's chat_details row. */
async function syncBackendUpdates(entry: Record<string, string>): Promise<number> {
  const result = await originalDb`update chat_details set chats = ${originalDb.json(JSON.parse(entry.chats!))}::jsonb, chats_summary = ${entry.chatsSummary!} where session_id = ${entry.sessionId!}`;
  return result.count;
}

it("an imported session with an empty history gets isNew old on its first turn here, and Sync-Backend's update lands", async () => {
  const reply = await client.chat(emptyHistory.user_id, emptyHistory.session_id, "first turn here");
  expect(reply.error).toBeUndefined();
  const [entry] = await entriesOf(emptyHistory.session_id, 1);
  expect(entry!.isNew).toBe("old");
  expect(JSON.parse(entry!.chats!).map((c: { content: string }) => c.content)[0]).toBe("first turn here");
  expect(await syncBackendUpdates(entry!)).toBe(1);
  const [row] = await originalDb`select chats from chat_details where session_id = ${emptyHistory.session_id}`;
  expect((row!.chats as { role: string }[]).map((c) => c.role)).toEqual(["user", "assistant"]);
  expect(await originalDb`select 1 from session_details where session_id = ${emptyHistory.session_id}`).toHaveLength(1); // no second one
});

it("an imported session with history is old too, as before", async () => {
  await client.chat(someHistory.user_id, someHistory.session_id, "and one more");
  const [entry] = await entriesOf(someHistory.session_id, 1);
  expect(entry!.isNew).toBe("old");
  expect(await syncBackendUpdates(entry!)).toBe(1);
});

it("an imported session without a chat_details row is old; the migration guide's statement gives Sync-Backend the row to update", async () => {
  await client.chat(noChatRow.user_id, noChatRow.session_id, "hello again");
  const [entry] = await entriesOf(noChatRow.session_id, 1);
  expect(entry!.isNew).toBe("old");
  expect(await syncBackendUpdates(entry!)).toBe(0); // what would stop Sync-Backend: nothing to update
  // docs/migrating-from-chat-backend.md, section 7, run on the original before the cut-over.
  const guide = (await import("node:fs")).readFileSync(path.join(root, "docs/migrating-from-chat-backend.md"), "utf8");
  const statement = /```sql\n(INSERT INTO chat_details[\s\S]*?;)\n```/.exec(guide)?.[1];
  expect(statement).toBeDefined();
  await originalDb.unsafe(statement!);
  expect(await syncBackendUpdates(entry!)).toBe(1);
  const [row] = await originalDb`select chats from chat_details where session_id = ${noChatRow.session_id}`;
  expect((row!.chats as { content: string }[])[0]!.content).toBe("hello again");
});

it("a session started here is still new on its first turn, old after", async () => {
  const userId = await createUser(stack);
  const first = await client.chat(userId, "NEW", "a session of ours");
  const sessionId = first.data!.session_id!;
  await client.chat(userId, sessionId, "second");
  const entries = await entriesOf(sessionId, 2);
  expect(entries.map((e) => e.isNew)).toEqual(["new", "old"]);
});
