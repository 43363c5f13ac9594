// Owns the HTTP surface of the Worker: request logs, CORS, health, the WebSocket hand-off, file and admin routes,
// bench metrics, the OpenAPI document of them all, and the one failure renderer every route's errors go through.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import { ChatError, ErrorCode } from "../../domain/errors";
import { storageCounts } from "../../storage/d1-metrics";
import { userHubId, withSocketUser } from "../ws/socket-user";
import { adminRoutes } from "./admin-routes";
import { withConfig, withStore, type AppEnv } from "./app-env";
import { authenticate } from "./authenticate";
import { httpFailure, renderFailure } from "./failures";
import { fileRoutes } from "./file-routes";
import { serveOpenApi } from "./openapi";
import { failures, jsonAnswer, socketSecurity } from "./route-parts";
import { firstQueryValue, validationHook } from "./validation";
import { logRequest } from "../../observability/log";

export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// One log line per request, whatever answered it (a route, the failure renderer, the WebSocket hand-off).
app.use("*", async (c, next) => {
  const started = Date.now();
  await next();
  logRequest({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started, userId: c.get("user") ?? null });
});
app.use("*", withConfig);
app.use("*", (c, next) => {
  const allowed = c.var.config.corsOrigins;
  return cors({
    origin: allowed === "*" ? "*" : (origin) => (allowed.includes(origin) ? origin : null),
    allowHeaders: ["Content-Type", "Authorization"],
    allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
  })(c, next);
});

for (const path of ["/healthz", "/admin/*", "/upload", "/uploads/*", "/files/*"]) app.use(path, withStore);
// An upgrade needs the store only to look up an API key.
app.use("/ws", (c, next) => (c.var.config.auth.mode === "token" ? withStore(c, next) : next()));

const healthSchema = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    storage: z.enum(["d1", "postgres"]).meta({ description: "The STORAGE engine" }),
    auth: z.enum(["none", "token"]).meta({ description: "How clients sign in (AUTH_MODE): `none` trusts the user_id they send, `token` needs a credential" }),
  })
  .meta({ id: "Health" });

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Whether the Worker and its database answer",
  responses: { 200: jsonAnswer("The database answered", healthSchema), 503: jsonAnswer("The database did not answer", healthSchema) },
});

app.openapi(healthRoute, async (c) => {
  const { STORAGE: storage, auth } = c.var.config;
  try {
    await c.var.store.ping();
    return c.json({ status: "ok" as const, storage, auth: auth.mode }, 200);
  } catch (error) {
    console.error("health check failed", error);
    return c.json({ status: "unavailable" as const, storage, auth: auth.mode }, 503);
  }
});

/** The upgrade's query; nothing in it is refused (the hub reads `v` from the URL it is handed). */
const wsQuery = z.object({
  user_id: firstQueryValue().optional().meta({
    description: "AUTH_MODE=none: sockets giving the same user_id share one connection object (longer than 200 characters: their own). Ignored with AUTH_MODE=token.",
  }),
  token: firstQueryValue().optional().meta({ description: "AUTH_MODE=token: the credential (browsers cannot set Authorization on a WebSocket)" }),
  v: firstQueryValue().optional().meta({ description: "2 opts the socket into protocol v2 (docs/protocol.md section 9); anything else is v1" }),
});

const wsRoute = createRoute({
  method: "get",
  path: "/ws",
  tags: ["WebSocket"],
  summary: "Open the WebSocket (send Upgrade: websocket)",
  description:
    "Every chat operation runs over this socket; its messages are described in docs/protocol.md section 1 (and 9 for v2). " +
    "Refusals, in this order: 429, 401, 426, 403.",
  middleware: [limitUpgrades, authenticate({ fromQuery: true })],
  security: socketSecurity,
  request: { query: wsQuery },
  responses: {
    101: { description: "Switching Protocols: the socket is open" },
    ...failures({
      401: "AUTH_MODE=token and no credential, or one that proves no user",
      403: "CORS_ORIGINS is a list (or same-origin) without the request's Origin, which is not the backend's own either",
      426: "Not a WebSocket upgrade",
      429: "Too many upgrades from this client (CF-Connecting-IP) in the last minute",
    }),
  },
});

/**
 * Sockets live in a Durable Object (hibernating); the Worker only picks which one. With AUTH_MODE=token the
 * upgrade is refused (401) before any object wakes unless its credential proves a user, whose hub it reaches and
 * who becomes the socket's user; otherwise `?user_id=` picks a shared hub, as before.
 */
app.openapi(wsRoute, (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw httpFailure(426, "Expected a WebSocket upgrade");
  const allowed = c.var.config.corsOrigins;
  const origin = c.req.header("Origin");
  // The Worker's own pages (the chat page) are never cross-origin.
  if (allowed !== "*" && origin && origin !== new URL(c.req.url).origin && !allowed.includes(origin)) throw httpFailure(403, `Origin not allowed: ${origin}`);
  const user = c.var.user;
  const hubUser = user ?? c.req.valid("query").user_id;
  const hubs = c.env.CONNECTIONS;
  const id = hubUser && hubUser.length <= 200 ? userHubId(hubs, hubUser) : hubs.newUniqueId();
  return hubs.get(id).fetch(withSocketUser(c.req.raw, c.var.credential));
});

/** Upgrades per client (CF-Connecting-IP) are limited before anything is checked or woken (code 109, 429). */
async function limitUpgrades(c: Context<AppEnv>, next: Next): Promise<void> {
  const limiter = c.var.config.upgradeLimiter;
  const client = c.req.header("cf-connecting-ip") ?? "unknown";
  if (limiter && !(await limiter.limit({ key: `upgrade:${client}` })).success) {
    throw new ChatError(ErrorCode.RateLimited, "Too many requests: too many WebSocket connections from this client, try again in a minute");
  }
  await next();
}

const metricsRoute = createRoute({
  method: "get",
  path: "/__metrics/storage",
  tags: ["benchmarks"],
  summary: "Database round trips counted since the isolate started (benchmarks only)",
  responses: {
    200: jsonAnswer("The counts", z.object({ reads: z.number().int(), writes: z.number().int() })),
    ...failures({ 404: "STORAGE_METRICS is not true" }),
  },
});

app.openapi(metricsRoute, (c) => {
  if (!c.var.config.STORAGE_METRICS) throw httpFailure(404, "Not found");
  return c.json(storageCounts(), 200);
});

app.route("/admin", adminRoutes);
app.route("/", fileRoutes);
serveOpenApi(app);

app.notFound(() => {
  throw httpFailure(404, "Not found");
});
app.onError(renderFailure);
