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
    atomic: (build) => db.batch(build(db)),
    readTogether: (build) => db.batch(build(db)),
    close: () => Promise.resolve(),
  };
}

/** Seconds an idle connection of a long-lived object stays open. */
const PG_IDLE_TIMEOUT_S = 30;

export function postgresEngine(connectionString: string): SqlEngine {
  // Hyperdrive pools connections itself; a few per client let independent reads run side by side.
  const client = postgres(connectionString, { max: 4, fetch_types: false, idle_timeout: PG_IDLE_TIMEOUT_S });
  const pgDb = drizzlePostgres(client, { schema: pgSchema });
  const db = pgDb as unknown as StoreDb;
  return {
    name: "postgres",
    db,
    tables: pgSchema as unknown as StoreTables,
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
