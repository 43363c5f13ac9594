// npm run bench:import [-- --sessions 10000]: builds an original-schema database with that many sessions
// (several history sizes, files, empty histories) and times the import into a fresh PostgreSQL database.
import { numberOption, parseCommand } from "./lib/cli.ts";
import { importOriginal, PostgresTarget } from "./lib/import-original.ts";
import { createOriginalDatabase } from "./lib/original-fixture.ts";
import { ensureDatabase, migratePostgres } from "./lib/postgres.ts";

const { values } = parseCommand({
  usage: "npm run bench:import [-- --sessions N]",
  description:
    "Builds an original-schema database (chat_original_bench) with N sessions of several history sizes, imports it into a\n" +
    "fresh chat_backend_import_bench, then again (nothing new), and prints both times. Uses PostgreSQL at DATABASE_URL\n" +
    "(default 127.0.0.1:5432), or one started from the Debian package by scripts/with-services.sh.",
  options: { sessions: { type: "string", value: "N", default: "10000", description: "sessions in the original database" } },
});
const sessions = numberOption("--sessions", values.sessions, { min: 1, max: 10_000_000 });
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const original = await createOriginalDatabase(server, "chat_original_bench", { sessions });
const target = await ensureDatabase(server, "chat_backend_import_bench");
await migratePostgres(target, { reset: true });
console.log(`original: ${original.sessions} sessions, ${original.entries} history entries, ${original.files} files, ${original.users} users`);
const first = await importOriginal({ from: original.url, target: new PostgresTarget(target) });
const again = await importOriginal({ from: original.url, target: new PostgresTarget(target), log: () => {}, warn: () => {} });
console.log(`second run (nothing new): ${again.seconds.toFixed(2)} s; first run ${(original.entries / first.seconds).toFixed(0)} history entries/s`);
