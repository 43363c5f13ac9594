// Owns opening the configured storage engine (D1 or PostgreSQL through Hyperdrive). Durable Objects keep one store
// for their lifetime; an HTTP request opens one and closes it when it is done (postgres.js clients cannot outlive a
// request).
import type { StorageBinding } from "../config";
import type { ChatStore } from "./chat-store";
import { countedD1 } from "./d1-metrics";
import { DrizzleChatStore } from "./drizzle-store";
import { d1Engine, postgresEngine, type PostgresClientUse } from "./engines";

/** A store for a Durable Object's lifetime (at most one PostgreSQL connection, none while idle), or with `use`
 *  "request" for one HTTP request. */
export function openStore(storage: StorageBinding, use: PostgresClientUse = "object"): ChatStore {
  if (storage.engine === "postgres") return new DrizzleChatStore(postgresEngine(storage.hyperdrive.connectionString, use));
  return new DrizzleChatStore(d1Engine(storage.countRoundTrips ? countedD1(storage.db) : storage.db));
}
