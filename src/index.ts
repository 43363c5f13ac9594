// The Worker's entry: checks the configuration at start (a bad setting stops the Worker with a message naming
// it) and says which agent, storage and mirror it uses; the Hono app serves HTTP; the Durable Object classes are
// exported for their bindings.
import { env } from "cloudflare:workers";
import { configOf, describeConfig } from "./config";
import { app } from "./transport/http/app";

export { ConnectionHub } from "./transport/ws/connection-hub";
export { ChatSession } from "./domain/session/chat-session";
export { UserAccount } from "./domain/accounts/user-account";

console.log(describeConfig(configOf(env)));

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
