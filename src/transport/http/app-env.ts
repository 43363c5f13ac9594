// Owns the Hono environment of the HTTP routes: the Worker's bindings and the request's store.
import type { MiddlewareHandler } from "hono";
import type { ChatStore } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";

export type AppEnv = { Bindings: Env; Variables: { store: ChatStore } };

/** Opens the store for this request and closes it once the response is on its way. */
export const withStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  const store = openStore(c.env);
  c.set("store", store);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(store.close());
  }
};
