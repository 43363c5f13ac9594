// Owns the Hono environment of the HTTP routes: the Worker's bindings, its parsed configuration, the request's store
// and its authenticated user.
import type { MiddlewareHandler } from "hono";
import { configOf, type Config } from "../../config";
import type { ProvenCredential } from "../../domain/accounts/credentials";
import type { ChatStore } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";

/** `user`: the user the request's credential proved (AUTH_MODE=token), or null; `credential`: what ends that
 *  credential (set by authenticate.ts). */
export type AppEnv = { Bindings: Env; Variables: { config: Config; store: ChatStore; user: string | null; credential: ProvenCredential | null } };

/** Hands the configuration (parsed once per environment) to the routes. */
export const withConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("config", configOf(c.env));
  await next();
};

/** Opens the store for this request and closes it once the response is on its way. */
export const withStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  const store = openStore(c.var.config.storage, "request");
  c.set("store", store);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(store.close());
  }
};
