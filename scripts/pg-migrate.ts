// npm run db:migrate:pg [-- --reset]: applies migrations-pg/ to DATABASE_URL
// (default postgres://postgres:postgres@127.0.0.1:5432/chat_backend, created when missing).
import { parseArgs } from "node:util";
import { ensureDatabase, migratePostgres } from "../tools/postgres.ts";

const { values } = parseArgs({ options: { reset: { type: "boolean", default: false } } });
const target = new URL(process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/chat_backend");
const database = target.pathname.slice(1) || "chat_backend";
target.pathname = "/postgres";
const url = await ensureDatabase(target.toString(), database);
await migratePostgres(url, { reset: values.reset });
console.log(`migrations-pg applied to ${database}${values.reset ? " (reset first)" : ""}`);
