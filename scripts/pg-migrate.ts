// npm run db:migrate:pg [-- --reset]: applies migrations-pg/ to DATABASE_URL
// (default postgres://postgres:postgres@127.0.0.1:5432/chat_backend, created when missing).
import { describeError, fail, parseCommand, urlOption } from "./lib/cli.ts";
import { ensureDatabase, migratePostgres } from "./lib/postgres.ts";

const DEFAULT_URL = "postgres://postgres:postgres@127.0.0.1:5432/chat_backend";
const { values } = parseCommand({
  usage: "npm run db:migrate:pg [-- --reset]",
  description: `Applies the PostgreSQL migrations (migrations-pg/) to DATABASE_URL (default ${DEFAULT_URL}), creating the database when it is missing.`,
  options: {
    reset: { type: "boolean", default: false, description: "drop every table of the database first (loses its data)" },
  },
  notes: ["environment: DATABASE_URL, the database to migrate"],
});
const target = new URL(urlOption("DATABASE_URL", process.env.DATABASE_URL ?? DEFAULT_URL, ["postgres:", "postgresql:"]));
const database = target.pathname.slice(1) || "chat_backend";
target.pathname = "/postgres";
try {
  const url = await ensureDatabase(target.toString(), database);
  await migratePostgres(url, { reset: values.reset });
} catch (error) {
  fail(`database ${database}: ${describeError(error)}`);
}
console.log(`migrations-pg applied to ${database}${values.reset ? " (reset first)" : ""}`);
