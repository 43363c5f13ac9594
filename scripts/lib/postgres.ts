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
 * Settings for a database only tests use, applied to every later connection: commits do not wait for the disk (a
 * CI machine's slow fsync stalled every session object's commit at once), and a transaction whose client vanished
 * mid-way (a test aborting a session object while its commit is on the wire) is ended after 5 s instead of holding
 * its row locks for the rest of the run.
 */
export async function tuneTestDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const database = `"${new URL(url).pathname.slice(1).replace(/"/g, '""')}"`;
    await sql.unsafe(`alter database ${database} set synchronous_commit = off`);
    await sql.unsafe(`alter database ${database} set idle_in_transaction_session_timeout = '5s'`);
  } finally {
    await sql.end();
  }
}
