// The Worker's entry: the Hono app serves HTTP; the Durable Object classes are exported for their bindings.
import { app } from "./transport/http/app";

export { ConnectionHub } from "./transport/ws/connection-hub";
export { ChatSession } from "./domain/chat-session";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
