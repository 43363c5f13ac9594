// Owns the HTTP surface of the Worker: CORS, health, the WebSocket hand-off, file and admin routes, bench metrics.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { allowedOrigins, readConfig } from "../../config";
import { storageCounts } from "../../storage/d1-metrics";
import { adminRoutes } from "./admin-routes";
import { withStore, type AppEnv } from "./app-env";
import { fileRoutes } from "./file-routes";

export const app = new Hono<AppEnv>();

app.use("*", (c, next) => {
  const allowed = allowedOrigins(readConfig(c.env));
  return cors({
    origin: allowed === "*" ? "*" : (origin) => (allowed.includes(origin) ? origin : null),
    allowHeaders: ["Content-Type", "Authorization"],
    allowMethods: ["GET", "POST", "PATCH", "OPTIONS"],
  })(c, next);
});

for (const path of ["/healthz", "/admin/*", "/upload", "/uploads/*", "/files/*"]) app.use(path, withStore);

app.get("/healthz", async (c) => {
  const storage = readConfig(c.env).STORAGE;
  try {
    await c.var.store.ping();
    return c.json({ status: "ok", storage });
  } catch (error) {
    console.error("health check failed", error);
    return c.json({ status: "unavailable", storage }, 503);
  }
});

/** Sockets live in a Durable Object (hibernating); the Worker only picks which one. */
app.get("/ws", (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ message: "Expected a WebSocket upgrade", data: null }, 426);
  }
  const allowed = allowedOrigins(readConfig(c.env));
  const origin = c.req.header("Origin");
  if (allowed !== "*" && origin && !allowed.includes(origin)) {
    return c.json({ message: `Origin not allowed: ${origin}`, data: null }, 403);
  }
  const userId = c.req.query("user_id");
  const hubs = c.env.CONNECTIONS;
  const id = userId && userId.length <= 200 ? hubs.idFromName(`user:${userId}`) : hubs.newUniqueId();
  return hubs.get(id).fetch(c.req.raw);
});

app.get("/__metrics/storage", (c) =>
  readConfig(c.env).STORAGE_METRICS ? c.json(storageCounts()) : c.json({ message: "Not found", data: null }, 404),
);

app.route("/admin", adminRoutes);
app.route("/", fileRoutes);

app.notFound((c) => c.json({ message: "Not found", data: null }, 404));
app.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  console.error(`${c.req.method} ${c.req.path} failed`, error);
  return c.json({ message: "Internal Server Error", data: null }, 500);
});

