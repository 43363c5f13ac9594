// Owns the choice of storage engine for a request or Durable Object call.
import type { ChatStore } from "./chat-store";
import { D1ChatStore } from "./d1-store";

export function openStore(env: Env): ChatStore {
  return new D1ChatStore(env.DB);
}
