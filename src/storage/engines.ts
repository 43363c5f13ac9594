// Owns what differs between storage engines: the dialect's tables and how several statements run
// atomically (D1: one batch; PostgreSQL: one transaction). Everything else is written once in drizzle-store.ts.
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import { drizzle as drizzleD1, type DrizzleD1Database } from "drizzle-orm/d1";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as d1Schema from "./schema";
import * as pgSchema from "./schema.pg";
import { schemasAgree } from "./schema-drift";

/** The query builder the store is written against. For PostgreSQL it is a pg database over tables whose row
 *  types are proven identical (schema-drift.ts), so the same builder calls produce the right SQL for each. */
export type StoreDb = DrizzleD1Database<typeof d1Schema>;
export type StoreTables = Pick<typeof d1Schema, keyof typeof schemasAgree>;
export type Statements = readonly [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

export interface SqlEngine {
  readonly name: "d1" | "postgres";
  readonly db: StoreDb;
  readonly tables: StoreTables;
  /** Whether atomic writes run side by side (PostgreSQL's read-committed transactions), so one that reads a row
   *  and then writes it must hold the row first; a D1 batch runs alone. */
  readonly interleaves: boolean;
  /** Runs the statements `build` makes as one atomic write. */
  atomic<T extends Statements>(build: (db: StoreDb) => T): Promise<BatchResponse<T>>;
  /** Runs independent reads together (one round trip on D1). */
  readTogether<T extends Statements>(build: (db: StoreDb) => T): Promise<BatchResponse<T>>;
  /** Releases connections; the engine must not be used afterwards. */
  close(): Promise<void>;
}

export function d1Engine(binding: D1Database): SqlEngine {
  const db = drizzleD1(binding, { schema: d1Schema });
  return {
    name: "d1",
    db,
    tables: d1Schema,
    interleaves: false,
    atomic: (build) => db.batch(build(db)),
    readTogether: (build) => db.batch(build(db)),
    close: () => Promise.resolve(),
  };
}

/**
 * How many connections a client may open and how long an idle one stays. A Durable Object keeps its client for
 * its lifetime: one connection at most (postgres.js pipelines its concurrent queries on it), closed after a second
 * without queries, so an idle object holds none and a server's connections are shared by the objects that work
 * now. An HTTP request's client is closed with the request; a few connections let its reads run side by side.
 */
export type PostgresClientUse = "object" | "request";
const PG_CLIENT = { object: { max: 1, idle_timeout: 1 }, request: { max: 4, idle_timeout: 30 } } as const;

export function postgresEngine(connectionString: string, use: PostgresClientUse): SqlEngine {
  // Hyperdrive pools connections itself (locally, each client connection is a server connection).
  const client = postgres(connectionString, { ...PG_CLIENT[use], fetch_types: false });
  const pgDb = drizzlePostgres(client, { schema: pgSchema });
  const db = pgDb as unknown as StoreDb;
  return {
    name: "postgres",
    db,
    tables: pgSchema as unknown as StoreTables,
    interleaves: true,
    atomic: (build) =>
      pgDb.transaction(async (tx) => {
        const results: unknown[] = [];
        for (const statement of build(tx as unknown as StoreDb)) results.push(await statement);
        return results;
      }) as never,
    readTogether: (build) => Promise.all(build(db)) as never,
    close: () => client.end({ timeout: 5 }),
  };
}
