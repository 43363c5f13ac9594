// The import from the original system: a database with the spec's section 8 schema, copied into PostgreSQL
// and into D1 (through the generated SQL file and wrangler), twice, with nothing changing the second time, and a
// warning for each original model imported without prices.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { beforeAll, describe, expect, it } from "vitest";
import { createOriginalDatabase, USER_WITHOUT_GRANTS } from "../../scripts/lib/original-fixture.ts";
import { bin, offlineEnv } from "../../scripts/lib/lib.ts";
import { checkoutDatabase, ensureDatabase, migratePostgres } from "../../scripts/lib/postgres.ts";
import { r2KeyFor } from "../../src/domain/files/file-names";

const root = path.resolve(import.meta.dirname, "../..");
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
let original: Awaited<ReturnType<typeof createOriginalDatabase>>;

/** Runs the import's CLI; its report is on stdout, its warnings on stderr. */
function importCli(...args: string[]): { stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/import-original.ts", "--from", original.url, ...args], { cwd: root, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`import:original exited ${result.status ?? result.signal}: ${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The model ids named by "warning: model <id> …" lines. */
const warnedModels = (stderr: string): number[] => [...stderr.matchAll(/^warning: model (\d+) /gm)].map((m) => Number(m[1]));

/** "sessions read 30 new 30" lines of the import's report. */
function reported(output: string): Record<string, { read: number; new: number }> {
  return Object.fromEntries(
    [...output.matchAll(/^\s+(\w+)\s+read\s+(\d+)\s+new\s+(\d+)$/gm)].map((m) => [m[1], { read: Number(m[2]), new: Number(m[3]) }]),
  );
}

beforeAll(async () => {
  original = await createOriginalDatabase(server, checkoutDatabase("chat_original_fixture"), { sessions: 30 });
}, 60_000);

describe("into PostgreSQL", () => {
  let target: string;
  beforeAll(async () => {
    target = await ensureDatabase(server, checkoutDatabase("chat_backend_import_test"));
    await migratePostgres(target, { reset: true });
  }, 60_000);

  it("copies users, grants, sessions, histories, files and summaries, keeping ids", async () => {
    const { stdout, stderr } = importCli("--to-postgres", target);
    const counts = reported(stdout);
    expect(counts.sessions).toEqual({ read: 30, new: 30 });
    expect(counts.messages).toEqual({ read: original.entries, new: original.entries });
    expect(counts.files).toEqual({ read: original.files, new: original.files });
    expect(counts.users).toEqual({ read: original.users, new: original.users });

    const source = postgres(original.url, { max: 1 });
    const ours = postgres(target, { max: 1 });
    try {
      const sessions = await source`
        select s.session_id::text as id, s.user_id::text, s.session_name, c.session_prompt, c.chats_summary, c.chats
        from session_details s left join chat_details c using (session_id)`;
      for (const s of sessions) {
        const [row] = await ours`select user_id, name, prompt, summary from sessions where id = ${s.id}`;
        expect(row).toEqual({ user_id: s.user_id, name: s.session_name ?? "New Chat", prompt: s.session_prompt ?? "", summary: s.chats_summary ?? "" });
        const history = await ours`select role, content from messages where session_id = ${s.id} order by seq`;
        expect(history.map((h) => ({ ...h }))).toEqual(s.chats ?? []);
      }
      expect(sessions.some((s) => s.chats === null)).toBe(true);
      expect(sessions.some((s) => Array.isArray(s.chats) && s.chats.length === 0)).toBe(true);
      expect(sessions.some((s) => s.chats?.some((c: { content: string }) => c.content === "appended"))).toBe(true);

      const [user] = await source`select user_id::text, username, balance, models from user_data where 99 = any(models) limit 1`;
      const [imported] = await ours`select username, balance_micros from users where id = ${user!.user_id}`;
      expect({ ...imported }).toEqual({ username: user!.username, balance_micros: String(Math.round(user!.balance * 1e6)) });
      const grants = await ours`select model_id from user_models where user_id = ${user!.user_id} order by model_id`;
      expect(grants.map((g) => g.model_id)).toEqual([4, 8, 42]); // 99 never existed
      expect(await ours`select name, provider from models where id = 42`).toEqual([{ name: "custom-model", provider: "imported" }]);
      // The original's schema lets models and balance be NULL: no grants, nothing to spend.
      const [bare] = await ours`select id, balance_micros from users where username = ${USER_WITHOUT_GRANTS}`;
      expect(bare!.balance_micros).toBe("0");
      expect(await ours`select model_id from user_models where user_id = ${bare!.id}`).toHaveLength(0);

      // Model 42 is not one of ours: it came in at zero prices, and the import said so, naming it.
      expect(warnedModels(stderr)).toEqual([42]);
      const [warning] = stderr.split("\n").filter((line) => line.startsWith("warning: model 42 "));
      expect(warning).toContain('"custom-model"');
      expect(warning).toContain("zero prices");
      expect(warning).toContain("UPDATE models SET provider = ");
      expect(warning).toContain("WHERE id = 42;");

      const files = await ours`select file_name, session_id, user_id, r2_key from files order by file_name`;
      expect(files).toHaveLength(original.files);
      for (const f of files) expect(f.r2_key).toBe(r2KeyFor(f.user_id, f.session_id, f.file_name));
    } finally {
      await source.end();
      await ours.end();
    }
  });

  it("changes nothing when run again", async () => {
    const ours = postgres(target, { max: 1 });
    const snapshot = () => ours`select (select count(*) from users) u, (select count(*) from sessions) s, (select count(*) from messages) m, (select count(*) from files) f, (select sum(balance_micros) from users) b`;
    const before = await snapshot();
    const { stdout, stderr } = importCli("--to-postgres", target);
    expect(Object.values(reported(stdout)).every((c) => c.new === 0)).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(warnedModels(stderr)).toEqual([42]); // still free to use: the warning repeats
    await ours.end();
  });

  it("stops warning about a model once an operator has priced it", async () => {
    const ours = postgres(target, { max: 1 });
    try {
      await ours`update models set provider = 'openai', input_micros_per_1k = 1000, output_micros_per_1k = 2000 where id = 42`;
      expect(warnedModels(importCli("--to-postgres", target).stderr)).toEqual([]);
      expect(await ours`select provider, input_micros_per_1k from models where id = 42`).toEqual([{ provider: "openai", input_micros_per_1k: 1000 }]);
    } finally {
      await ours.end();
    }
  });
});

describe("into D1", () => {
  it("writes a SQL file that wrangler applies, twice, with the same result", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chat-import-d1-"));
    const file = path.join(dir, "import.sql");
    const wrangler = (...args: string[]) =>
      execFileSync(bin("wrangler"), [...args, "--local", "--persist-to", path.join(dir, "state")], { cwd: root, env: offlineEnv, encoding: "utf8" });
    const tables = ["users", "sessions", "messages", "files", "user_models"];
    const counts = () => {
      const select = `select ${tables.map((t) => `(select count(*) from ${t}) as ${t}`).join(", ")}`;
      const out = JSON.parse(wrangler("d1", "execute", "DB", "--json", "--command", select)) as { results: Record<string, number>[] }[];
      return out[0]!.results[0]!;
    };
    wrangler("d1", "migrations", "apply", "DB");
    expect(warnedModels(importCli("--to-d1-sql", file).stderr)).toEqual([42]);
    wrangler("d1", "execute", "DB", "--file", file);
    const first = counts();
    expect(first).toEqual({ users: original.users, sessions: 30, messages: original.entries, files: original.files, user_models: expect.any(Number) });
    wrangler("d1", "execute", "DB", "--file", file);
    expect(counts()).toEqual(first);
  }, 300_000); // five wrangler runs: seconds each on an idle machine, 88 s in all seen on busy shared cores
});
