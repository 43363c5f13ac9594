// Owns the HTTP surface of the Worker: request logs, CORS, health, the WebSocket hand-off, file and admin routes,
// bench metrics, and the one failure renderer every route's errors go through.
import { Hono, type Context, type Next } from "hono";
import { ChatError, ErrorCode } from "../../domain/errors";
import { cors } from "hono/cors";
import { storageCounts } from "../../storage/d1-metrics";
import { adminRoutes } from "./admin-routes";
import { withConfig, withStore, type AppEnv } from "./app-env";
import { httpFailure, renderFailure } from "./failures";
import { authenticate } from "./authenticate";
import { fileRoutes } from "./file-routes";
import { withSocketUser } from "../ws/socket-user";
import { logRequest } from "../../observability/log";

export const app = new Hono<AppEnv>();

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

app.get("/healthz", async (c) => {
  const storage = c.var.config.STORAGE;
  try {
    await c.var.store.ping();
    return c.json({ status: "ok", storage });
  } catch (error) {
    console.error("health check failed", error);
    return c.json({ status: "unavailable", storage }, 503);
  }
});

/**
 * Sockets live in a Durable Object (hibernating); the Worker only picks which one. With AUTH_MODE=token the
 * upgrade is refused (401) before any object wakes unless its credential proves a user, whose hub it reaches and
 * who becomes the socket's user; otherwise `?user_id=` picks a shared hub, as before.
 */
app.get("/ws", limitUpgrades, authenticate({ fromQuery: true }), (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw httpFailure(426, "Expected a WebSocket upgrade");
  const allowed = c.var.config.corsOrigins;
  const origin = c.req.header("Origin");
  if (allowed !== "*" && origin && !allowed.includes(origin)) throw httpFailure(403, `Origin not allowed: ${origin}`);
  const user = c.var.user;
  const hubUser = user ?? c.req.query("user_id");
  const hubs = c.env.CONNECTIONS;
  const id = hubUser && hubUser.length <= 200 ? hubs.idFromName(`user:${hubUser}`) : hubs.newUniqueId();
  return hubs.get(id).fetch(withSocketUser(c.req.raw, user));
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

app.get("/__metrics/storage", (c) => {
  if (!c.var.config.STORAGE_METRICS) throw httpFailure(404, "Not found");
  return c.json(storageCounts());
});

app.route("/admin", adminRoutes);
app.route("/", fileRoutes);

app.notFound(() => {
  throw httpFailure(404, "Not found");
});
app.onError(renderFailure);
