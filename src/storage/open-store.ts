// Owns the choice of storage engine (STORAGE=d1|postgres). Durable Objects keep one store for their lifetime;
// an HTTP request opens one and closes it when it is done (postgres.js clients cannot outlive a request).
import { readConfig } from "../config";
import type { ChatStore } from "./chat-store";
import { DrizzleChatStore } from "./drizzle-store";
import { d1Engine, postgresEngine } from "./engines";

export function openStore(env: Env): ChatStore {
  if (readConfig(env).STORAGE === "postgres") {
    const { HYPERDRIVE } = env as { HYPERDRIVE?: Hyperdrive };
    if (!HYPERDRIVE) throw new Error("STORAGE=postgres needs a [[hyperdrive]] binding named HYPERDRIVE");
    return new DrizzleChatStore(postgresEngine(HYPERDRIVE.connectionString));
  }
  return new DrizzleChatStore(d1Engine(env.DB));
}
