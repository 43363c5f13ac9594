// sync:original against a database built from scripts/lib/original-schema.sql: our users, grants, balances and models
// land in the original's user_data and model_details, a second run changes nothing, admin changes are carried by
// the next run, and Sync-Backend's writes for a user and model only we had then satisfy the foreign keys.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, offlineEnv } from "../../scripts/lib/lib.ts";
import { createOriginalSchema } from "../../scripts/lib/original-fixture.ts";
import { checkoutDatabase, ensureDatabase, migratePostgres } from "../../scripts/lib/postgres.ts";

const root = path.resolve(import.meta.dirname, "../..");
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";

const ALICE = "6f1c4a52-0d7e-4b8e-9a51-2f4c1d0e9a01";
const BOB = "0b0b0b0b-1111-4222-8333-444455556666";
const CAROL = "ca401ca4-01ca-401c-a401-ca401ca401ca"; // imported from the original earlier: in both
const DAVE = "da7eda7e-da7e-4a7e-9a7e-da7eda7eda7e"; // created later
const OTTO = "0770a770-0770-4770-8770-0770a770a770"; // only in the original
const SESSION = "5e55105e-5510-4e55-9105-e55105e55105";
const SEEDED_MODELS = [0, 1, 2, 3, 4, 5, 6, 7, 8];

let originalUrl: string;
let oursUrl: string;
let original: postgres.Sql;
let ours: postgres.Sql;

interface Counts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

/** Runs `npm run sync:original`'s script; its report is on stdout, warnings and failures on stderr. */
function syncCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/sync-original.ts", ...args], { cwd: root, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Syncs, expects success, returns the report's counts per table and the warnings. */
function sync(...from: string[]): { counts: Record<string, Counts>; warnings: string[] } {
  const { status, stdout, stderr } = syncCli("--to", originalUrl, ...from);
  if (status !== 0) throw new Error(`sync:original exited ${status}: ${stderr}`);
  const counts = Object.fromEntries(
    [...stdout.matchAll(/^\s+(\w+)\s+read\s+(\d+)\s+inserted\s+(\d+)\s+updated\s+(\d+)\s+unchanged\s+(\d+)\s+skipped\s+(\d+)$/gm)].map((m) => [
      m[1]!,
      { read: Number(m[2]), inserted: Number(m[3]), updated: Number(m[4]), unchanged: Number(m[5]), skipped: Number(m[6]) },
    ]),
  );
  return { counts, warnings: stderr.split("\n").filter((line) => line.startsWith("warning:")) };
}
const fromOurs = () => sync("--from", oursUrl);

/** The original's user rows, comparable: ordered by name, created_at as epoch ms, xmin tells whether a row was rewritten. */
async function originalUsers(db = original) {
  const rows = await db<{ user_id: string; username: string; models: number[] | null; balance: number | null; created_ms: number; xmin: string }[]>`
    select user_id::text, username, models, balance, (extract(epoch from created_at) * 1000)::float8 as created_ms, xmin::text
    from user_data order by username`;
  return rows.map((r) => ({ ...r }));
}
async function originalModels(db = original) {
  const rows = await db<{ model_id: number; model_name: string; context_length: number; xmin: string }[]>`
    select model_id, model_name, context_length, xmin::text from model_details order by model_id`;
  return rows.map((r) => ({ ...r }));
}
const withoutXmin = <T extends { xmin: string }>(rows: T[]) => rows.map(({ xmin: _, ...rest }) => rest);
const user = (user_id: string, username: string, models: number[], balance: number) => ({ user_id, username, models, balance });
const comparable = (rows: Awaited<ReturnType<typeof originalUsers>>) => rows.map(({ user_id, username, models, balance }) => ({ user_id, username, models, balance }));

async function grant(userId: string, ...modelIds: number[]): Promise<void> {
  await ours`insert into user_models ${ours(modelIds.map((model_id) => ({ user_id: userId, model_id })))}`;
}

beforeAll(async () => {
  originalUrl = await createOriginalSchema(server, checkoutDatabase("chat_original_sync"));
  oursUrl = await ensureDatabase(server, checkoutDatabase("chat_backend_sync_test"));
  await migratePostgres(oursUrl, { reset: true });
  original = postgres(originalUrl, { max: 1, onnotice: () => {} });
  ours = postgres(oursUrl, { max: 1, onnotice: () => {} });

  // Ours: the seeded models plus one an operator added; users with and without grants, one imported from the
  // original, one whose id the original cannot hold.
  await ours`insert into models (id, name, provider, context_length, input_micros_per_1k, output_micros_per_1k) values (1000, 'custom-llm', 'ollama', 8192, 100, 200)`;
  await ours`insert into users ${ours([
    { id: ALICE, username: "Alice", balance_micros: 1_250_000, created_at: 1_700_000_000_123 },
    { id: BOB, username: "Bob", balance_micros: 0, created_at: 1_700_000_001_000 },
    { id: CAROL, username: "Carol (imported)", balance_micros: 4_321_000, created_at: 1_700_000_002_000 },
    { id: "legacy-user", username: "Legacy", balance_micros: 10_000_000, created_at: 1_700_000_003_000 },
  ])}`;
  await grant(ALICE, 5, 4, 1000);
  await grant(CAROL, 8, 4);
  await grant("legacy-user", 4);

  // The original as the original Chat-Backend left it: its models (inserted at its start), Carol with an older
  // balance and her grants in another order, and Otto, whom we never imported.
  const seeded = await ours<{ id: number; name: string; context_length: number }[]>`select id, name, context_length from models where id < 1000`;
  await original`insert into model_details ${original(seeded.map((m) => ({ model_id: m.id, model_name: m.name, context_length: m.context_length })))}`;
  await original`insert into user_data (user_id, username, models, balance, created_at) values
    (${CAROL}, 'Carol (imported)', '{8,4}', 5, '2024-01-02 03:04:05'),
    (${OTTO}, 'Otto (original only)', '{0}', 2.5, '2024-01-02 03:04:05')`;
}, 60_000);

afterAll(async () => {
  await original?.end();
  await ours?.end();
});

describe("sync:original", () => {
  it("is needed: before it, Sync-Backend's insert for a user only we have violates the original's foreign keys", async () => {
    const insert = original`insert into session_details (session_id, user_id, model_id, session_name) values (${SESSION}, ${ALICE}, '1000', 'Hello')`;
    await expect(insert).rejects.toMatchObject({ code: "23503" });
  });

  it("refuses a database without the original's tables, naming what is missing", () => {
    const { status, stderr } = syncCli("--to", oursUrl, "--from", oursUrl);
    expect(status).toBe(1);
    expect(stderr).toContain("is not an original Chat-Backend database");
    expect(stderr).toContain("user_data.user_id");
  });

  it("upserts our models and users, with grants and balances, into the original's tables", async () => {
    const { counts, warnings } = fromOurs();
    expect(counts.model_details).toEqual({ read: 10, inserted: 1, updated: 0, unchanged: 9, skipped: 0 });
    expect(counts.user_data).toEqual({ read: 4, inserted: 2, updated: 1, unchanged: 0, skipped: 1 });
    expect(warnings).toEqual([expect.stringMatching(/^warning: user "legacy-user" skipped: its id is not a UUID/)]);

    const seeded = await ours<{ id: number; name: string; context_length: number }[]>`select id, name, context_length from models where id < 1000 order by id`;
    expect(seeded.map((m) => m.id)).toEqual(SEEDED_MODELS);
    expect(withoutXmin(await originalModels())).toEqual([
      ...seeded.map((m) => ({ model_id: m.id, model_name: m.name, context_length: m.context_length })),
      { model_id: 1000, model_name: "custom-llm", context_length: 8192 },
    ]);
    const users = await originalUsers();
    expect(comparable(users)).toEqual([
      user(ALICE, "Alice", [4, 5, 1000], 1.25),
      user(BOB, "Bob", [], 0),
      user(CAROL, "Carol (imported)", [4, 8], 4.321),
      user(OTTO, "Otto (original only)", [0], 2.5),
    ]);
    // created_at comes from ours for a new row; an existing row keeps the original's.
    expect(users.find((u) => u.user_id === ALICE)!.created_ms).toBe(1_700_000_000_123);
    expect(users.find((u) => u.user_id === CAROL)!.created_ms).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
  });

  it("changes nothing when run again: no row is rewritten", async () => {
    const users = await originalUsers();
    const models = await originalModels();
    const { counts, warnings } = fromOurs();
    expect(counts.model_details).toEqual({ read: 10, inserted: 0, updated: 0, unchanged: 10, skipped: 0 });
    expect(counts.user_data).toEqual({ read: 4, inserted: 0, updated: 0, unchanged: 3, skipped: 1 });
    expect(warnings).toHaveLength(1);
    expect(await originalUsers()).toEqual(users); // xmin included: the same row versions
    expect(await originalModels()).toEqual(models);
  });

  it("carries admin changes on the next run: a balance, a grant, a new user and a new model", async () => {
    await ours`update users set balance_micros = 750000 where id = ${ALICE}`;
    await grant(BOB, 8);
    await ours`insert into models (id, name, provider, context_length, input_micros_per_1k, output_micros_per_1k) values (1001, 'custom-llm-2', 'ollama', 4096, 0, 0)`;
    await ours`insert into users (id, username, balance_micros, created_at) values (${DAVE}, 'Dave', 3000000, 1700000999000)`;
    await grant(DAVE, 1001);
    const carol = (await originalUsers()).find((u) => u.user_id === CAROL)!;

    const { counts } = fromOurs();
    expect(counts.model_details).toEqual({ read: 11, inserted: 1, updated: 0, unchanged: 10, skipped: 0 });
    expect(counts.user_data).toEqual({ read: 5, inserted: 1, updated: 2, unchanged: 1, skipped: 1 });
    expect((await originalModels()).at(-1)).toMatchObject({ model_id: 1001, model_name: "custom-llm-2", context_length: 4096 });
    const users = await originalUsers();
    expect(comparable(users)).toEqual([
      user(ALICE, "Alice", [4, 5, 1000], 0.75),
      user(BOB, "Bob", [8], 0),
      user(CAROL, "Carol (imported)", [4, 8], 4.321),
      user(DAVE, "Dave", [1001], 3),
      user(OTTO, "Otto (original only)", [0], 2.5),
    ]);
    expect(users.find((u) => u.user_id === CAROL)).toEqual(carol);
  });

  it("lets Sync-Backend write a turn of a synced user on a synced model, and agrees with the balance it writes", async () => {
    // What Sync-Backend does with a stream entry of Dave's first turn (isNew "new"), then a second ("old").
    await original`insert into session_details (session_id, user_id, model_id, session_name) values (${SESSION}, ${DAVE}, '1001', 'Hello')`;
    const first = [{ role: "user", content: "Hello" }, { role: "assistant", content: "Hi!" }];
    await original`insert into chat_details (session_id, session_prompt, chats, chats_summary) values (${SESSION}, '', ${original.json(first)}::jsonb, 'greeting')`;
    const second = [{ role: "user", content: "Bye" }, { role: "assistant", content: "Bye!" }];
    await original`update chat_details set chats = ${original.json(second)}::jsonb, chats_summary = 'greeting, farewell' where session_id = ${SESSION}`;
    const [chat] = await original`select chats, chats_summary from chat_details where session_id = ${SESSION}`;
    expect(chat).toEqual({ chats: [...first, ...second], chats_summary: "greeting, farewell" }); // the trigger appended

    // The turns cost Dave 12,346 micro-dollars: ours holds the new balance, the stream entry carried "2.987654".
    await ours`update users set balance_micros = 2987654 where id = ${DAVE}`;
    await original`update user_data set balance = ${Number("2.987654")} where user_id = ${DAVE}`;
    const { counts } = fromOurs();
    expect(counts.user_data).toMatchObject({ inserted: 0, updated: 0 });
  });

  it("reads a local D1 database through wrangler, offline, with the same result", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chat-sync-d1-"));
    const state = path.join(dir, "state");
    const wrangler = (...args: string[]) =>
      execFileSync(bin("wrangler"), [...args, "--local", "--persist-to", state], { cwd: root, env: offlineEnv, encoding: "utf8" });
    wrangler("d1", "migrations", "apply", "DB");
    // The same rows as our PostgreSQL database holds now.
    const literal = (v: string | number) => (typeof v === "number" ? String(v) : `'${v.replace(/'/g, "''")}'`);
    const insert = (table: string, rows: Record<string, string | number>[]) =>
      rows.length === 0 ? "" : `insert into ${table} (${Object.keys(rows[0]!).join(", ")}) values ${rows.map((r) => `(${Object.values(r).map(literal).join(", ")})`).join(", ")};\n`;
    type Values = Record<string, string | number>;
    const rows = async (query: Promise<Values[]>) => (await query).map((r) => ({ ...r }));
    const file = path.join(dir, "ours.sql");
    writeFileSync(
      file,
      insert("models", await rows(ours<Values[]>`select id, name, provider, context_length, input_micros_per_1k, output_micros_per_1k from models where id >= 1000`)) +
        insert("users", await rows(ours<Values[]>`select id, username, balance_micros::float8 as balance_micros, created_at::float8 as created_at from users`)) +
        insert("user_models", await rows(ours<Values[]>`select user_id, model_id from user_models`)),
    );
    wrangler("d1", "execute", "DB", "--file", file);

    const fresh = await createOriginalSchema(server, checkoutDatabase("chat_original_sync_d1"));
    const freshDb = postgres(fresh, { max: 1, onnotice: () => {} });
    try {
      const run = () => {
        const { status, stdout, stderr } = syncCli("--to", fresh, "--from-d1", "DB", "--local", "--persist-to", state);
        if (status !== 0) throw new Error(`sync:original exited ${status}: ${stderr}`);
        return stdout;
      };
      expect(run()).toMatch(/user_data\s+read\s+5\s+inserted\s+4\s+updated\s+0\s+unchanged\s+0\s+skipped\s+1$/m);
      const expected = comparable(await originalUsers()).filter((u) => u.user_id !== OTTO);
      expect(comparable(await originalUsers(freshDb))).toEqual(expected);
      expect(withoutXmin(await originalModels(freshDb))).toEqual(withoutXmin(await originalModels()));
      const users = await originalUsers(freshDb);
      expect(run()).toMatch(/user_data\s+read\s+5\s+inserted\s+0\s+updated\s+0\s+unchanged\s+4\s+skipped\s+1$/m);
      expect(await originalUsers(freshDb)).toEqual(users);
    } finally {
      await freshDb.end();
    }
  }, 300_000); // four wrangler runs: about 10 s on an idle machine, far more on busy shared cores
});
