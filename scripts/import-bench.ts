// npm run bench:import [-- --sessions 10000]: builds an original-schema database with that many sessions
// (several history sizes, files, empty histories) and times the import into a fresh PostgreSQL database.
import { parseArgs } from "node:util";
import { importOriginal, PostgresTarget } from "../tools/import-original.ts";
import { createOriginalDatabase } from "../tools/original-fixture.ts";
import { ensureDatabase, migratePostgres } from "../tools/postgres.ts";

const { values } = parseArgs({ options: { sessions: { type: "string", default: "10000" } } });
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const original = await createOriginalDatabase(server, "chat_original_bench", { sessions: Number(values.sessions) });
const target = await ensureDatabase(server, "chat_backend_import_bench");
await migratePostgres(target, { reset: true });
console.log(`original: ${original.sessions} sessions, ${original.entries} history entries, ${original.files} files, ${original.users} users`);
const first = await importOriginal({ from: original.url, target: new PostgresTarget(target) });
const again = await importOriginal({ from: original.url, target: new PostgresTarget(target), log: () => {}, warn: () => {} });
console.log(`second run (nothing new): ${again.seconds.toFixed(2)} s; first run ${(original.entries / first.seconds).toFixed(0)} history entries/s`);
