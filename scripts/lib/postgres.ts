// PostgreSQL helpers for the npm scripts and the test setup: create a database, apply migrations-pg/.
import { createHash } from "node:crypto";
import path from "node:path";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { root } from "./lib.ts";

/** A database name of this checkout's own, so tests of two checkouts on one server never meet. */
export function checkoutDatabase(base: string): string {
  return `${base}_${createHash("sha256").update(root).digest("hex").slice(0, 8)}`;
}

/** The same server, another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  if (!url.password) url.password = "postgres"; // Hyperdrive wants one; trust auth ignores it
  return url.toString();
}

export async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!exists) await sql.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await sql.end();
  }
  return databaseUrl(serverUrl, database);
}

/** Applies pending migrations from migrations-pg/; with reset, drops everything first. */
export async function migratePostgres(url: string, { reset = false }: { reset?: boolean } = {}): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    if (reset) await sql.unsafe("drop schema if exists public cascade; drop schema if exists drizzle cascade; create schema public;");
    await migrate(drizzle(sql), { migrationsFolder: path.join(root, "migrations-pg") });
  } finally {
    await sql.end();
  }
}

/**
 * Prepares a database only tests use, once, before any test connects. A test makes the database refuse a write by
 * adding its content to `test_refused_writes` (a trigger made here checks it), never with DDL during the run: a
 * session object torn down mid-statement (a test file ending, or aborting objects, while a commit is on the wire)
 * leaves its server connection waiting for the rest of the statement forever (active, ClientRead), still holding
 * its table lock; a CREATE TRIGGER then queued behind it, and every later insert into that table behind the
 * CREATE TRIGGER, so every later PostgreSQL test timed out (CI's fresh-clone failures). Commits do not wait for the
 * disk: a database the tests throw away needs no durability.
 */
export async function prepareTestDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const database = `"${new URL(url).pathname.slice(1).replace(/"/g, '""')}"`;
    await sql.unsafe(`alter database ${database} set synchronous_commit = off`);
    await sql.unsafe(`
      create table test_refused_writes (content text primary key);
      create function refuse_test_writes() returns trigger as $body$
        begin
          if exists (select 1 from test_refused_writes where content = new.content) then raise exception 'refused by the test'; end if;
          return new;
        end $body$ language plpgsql;
      create trigger refuse_test_writes before insert on messages for each row execute function refuse_test_writes();`);
  } finally {
    await sql.end();
  }
}
