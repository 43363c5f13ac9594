// Owns the choice of storage engine (STORAGE=d1|postgres). Durable Objects keep one store for their lifetime;
// an HTTP request opens one and closes it when it is done (postgres.js clients cannot outlive a request).
import { readConfig } from "../config";
import type { ChatStore } from "./chat-store";
import { DrizzleChatStore } from "./drizzle-store";
import { countedD1 } from "./d1-metrics";
import { d1Engine, postgresEngine } from "./engines";

export function openStore(env: Env): ChatStore {
  if (readConfig(env).STORAGE === "postgres") {
    const { HYPERDRIVE } = env as { HYPERDRIVE?: Hyperdrive };
    if (!HYPERDRIVE) throw new Error("STORAGE=postgres needs a [[hyperdrive]] binding named HYPERDRIVE");
    return new DrizzleChatStore(postgresEngine(HYPERDRIVE.connectionString));
  }
  const config = readConfig(env);
  return new DrizzleChatStore(d1Engine(config.STORAGE_METRICS ? countedD1(env.DB) : env.DB));
}
