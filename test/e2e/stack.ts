// Starts the whole stack the way `npm run dev:pg` does (both Workers on PostgreSQL, mirror on, the Upstash
// stand-in), or the way `npm run dev` does (local D1, what a fresh clone runs), on free loopback ports, and talks to
// it like a client: WebSocket frames (the tests' frame client) and the admin API.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { DEV_SECRETS } from "../../scripts/lib/dev-settings.ts";
import { freePort } from "../../scripts/lib/lib.ts";
import { checkoutDatabase, databaseUrl } from "../../scripts/lib/postgres.ts";
import { FrameClient } from "../support/frame-client";
import { adminClient, answer, createUser as createUserWith, pathParams, type AdminClient, type UserChanges } from "../../client/http-api";

const root = path.resolve(import.meta.dirname, "../..");
export const UPSTASH_TOKEN = "dev-upstash-token";

export interface Stack {
  baseUrl: string;
  standInUrl: string;
  stream: string;
  /** The PostgreSQL database the stack stores into. */
  databaseUrl: string;
  /** The admin API's token: the stack's ADMIN_TOKEN setting, else the development one. */
  adminToken: string;
  /** What wrangler and the dev script printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export const E2E_DATABASE = checkoutDatabase("chat_backend_e2e");

/** Stacks still running: stopped when this test process exits, however the test file ended. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});

export interface StackOptions {
  /** A .dev.vars file under the settings; default none. */
  devVars?: string;
  /** Default E2E_DATABASE. Stacks started at once should share a database only when it is migrated already. */
  database?: string;
  /** How long it may take to answer /healthz; default 100 s (inside the e2e project's 120 s hook timeout). */
  healthyWithinMs?: number;
  /** `postgres` (default): `npm run dev:pg`; `d1`: `npm run dev`, with its own local state (no mirror, no stand-in). */
  storage?: "postgres" | "d1";
  /** Where `npm run dev` keeps local state (D1, Durable Objects); default a new temporary folder. A later stack given
   *  the same folder finds the earlier one's data. */
  persistTo?: string;
}

/** Starts the stack with these settings. If it does not come up, it is stopped before the error is thrown. */
export async function startStack(vars: Record<string, string>, options: StackOptions = {}): Promise<Stack> {
  const database = options.database ?? E2E_DATABASE;
  const healthyWithinMs = options.healthyWithinMs ?? 100_000;
  const [port, inspector, standInPort] = [await freePort(), await freePort(), await freePort()];
  const stream = vars.REDIS_STREAM ?? "CHAT_STREAM";
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx", // loads TypeScript in this process (no tsx parent process), so SIGTERM reaches the entry itself
      "scripts/dev.ts",
      ...(options.storage === "d1" ? [] : ["--postgres"]),
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      options.persistTo ?? mkdtempSync(path.join(os.tmpdir(), "chat-e2e-")),
      "--dev-vars",
      options.devVars ?? "/dev/null",
      // Sign-in off unless a test turns it on (wrangler.toml ships AUTH_MODE=token; `npm run dev` turns it off too).
      ...Object.entries({ AUTH_MODE: "none", ...vars }).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    {
      cwd: root,
      env: { ...process.env, PG_DATABASE: database, UPSTASH_STANDIN_PORT: String(standInPort) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => (running.delete(child), resolve())));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the stack exited (${child.exitCode}):\n${output}`);
    const healthy = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() - started > healthyWithinMs) {
      await stop();
      throw new Error(`the stack did not become healthy within ${healthyWithinMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    baseUrl,
    standInUrl: `http://127.0.0.1:${standInPort}`,
    stream,
    databaseUrl: databaseUrl(process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres", database),
    adminToken: vars.ADMIN_TOKEN ?? DEV_SECRETS.ADMIN_TOKEN,
    output: () => output,
    stop,
  };
}

/** The stack's admin API (the typed client, client/http-api.ts). */
export function adminOf(stack: Stack): AdminClient {
  return adminClient(stack.baseUrl, { token: stack.adminToken });
}

/** A user with models 4 and 8 and `balance` dollars: its id. */
export async function createUser(stack: Stack, balance = 1): Promise<string> {
  return (await createUserWith(adminOf(stack), { username: "E2E User", models: [4, 8], balance })).user_id;
}

/** Changes a user (PATCH /admin/users/:user_id): the user as changed. */
export function changeUser(stack: Stack, userId: string, changes: UserChanges) {
  return answer(adminOf(stack).users[":user_id"].$patch({ param: pathParams({ user_id: userId }), json: changes }));
}

export async function balanceOf(stack: Stack, userId: string): Promise<number> {
  return (await answer(adminOf(stack).users[":user_id"].$get({ param: pathParams({ user_id: userId }) }))).balance;
}

export async function setFaults(stack: Stack, faults: { failNext?: number; mode?: "before" | "after"; down?: boolean }) {
  await fetch(`${stack.standInUrl}/__faults`, {
    method: "POST",
    headers: { authorization: `Bearer ${UPSTASH_TOKEN}` },
    body: JSON.stringify(faults),
  });
}

export type { FrameClient } from "../support/frame-client";

/** A raw-frame client on the stack's /ws (test/support/frame-client.ts); `path` "/ws?v=2" opts in to protocol v2
 *  (turn events). A frame may take up to a minute: the stack's agent may be a process on the same loaded cores. */
export function connectFrames(stack: Stack, path = "/ws"): Promise<FrameClient> {
  return FrameClient.open(new WebSocket(`${stack.baseUrl.replace("http", "ws")}${path}`), { timeoutMs: 60_000 });
}

/** Where the Chromium tests write the README's screenshots: docs/images with UPDATE_SCREENSHOTS=1, else a temporary
 *  folder, so a test run leaves the checkout as it was (a retaken PNG differs in a few bytes every time). */
export function screenshotFolder(): string {
  const folder = process.env.UPDATE_SCREENSHOTS === "1" ? path.resolve(import.meta.dirname, "../../docs/images") : path.join(os.tmpdir(), "chat-backend-screenshots");
  mkdirSync(folder, { recursive: true });
  return folder;
}
