// Starting and stopping the benchmark's wrangler dev stacks on 127.0.0.1: free ports, startup and logs, devtools'
// network recording, the backend's write-behind window, and long histories seeded into local D1 beforehand.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import WebSocket from "ws";
import { bin, freePort, offlineEnv, root, run } from "../../tools/lib.ts";

export { freePort };

/** The backend's write-behind window, as wrangler.toml ships it. */
export const batchWindowMs = Number(/^STORE_BATCH_WINDOW_MS = "(\d+)"/m.exec(readFileSync(path.join(root, "wrangler.toml"), "utf8"))?.[1] ?? 1000);

/**
 * The backend's wrangler.toml as the benchmarks run it: without the per-client upgrade limit (every benchmark
 * socket comes from one client), optionally with its AGENT binding pointed at another agent Worker, and unminified
 * when asked (a profile then names functions as the source does). Written to .wrangler/ (git-ignored); returns its path.
 */
export function backendConfig(name: string, { agentService, minify = true }: { agentService?: string; minify?: boolean } = {}): string {
  let text = readFileSync(path.join(root, "wrangler.toml"), "utf8")
    .replace(/\[\[ratelimits\]\][^[]*/, "")
    .replace('main = "src/index.ts"', `main = "${path.join(root, "src/index.ts")}"`)
    .replace('directory = "public"', `directory = "${path.join(root, "public")}"`); // paths are relative to the config file
  if (agentService) text = text.replace('service = "chat-reference-agent"', `service = "${agentService}"`);
  if (!minify) text = text.replace(/^minify = true$/m, "minify = false");
  const file = path.join(root, ".wrangler", `${name}.toml`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** A running `wrangler dev`. */
export interface WranglerDev {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** The wrangler process's id (the root of its process tree). */
  pid: number;
  inspectorPort: number;
  stop(): Promise<void>;
}

export async function startWrangler(name: string, args: string[], port: number): Promise<WranglerDev> {
  const inspectorPort = await freePort();
  const child = spawn(bin("wrangler"), ["dev", ...args, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)], {
    cwd: root,
    env: offlineEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Everything wrangler prints goes to bench/results/<name>.log; memory keeps only what startup needs.
  const log = createWriteStream(path.join(root, "bench/results", `${name.replace(/\W+/g, "-")}.log`));
  let output = "";
  let ready = false;
  const collect = (chunk: Buffer) => {
    log.write(chunk);
    output = (output + chunk).slice(-64 * 1024);
    // wrangler dev watches the sources: an edit during a run reloads the Worker and drops every socket.
    if (ready && String(chunk).includes("Reloading local server")) {
      console.error(`bench: wrangler reloaded ${name} because a file it watches changed; its sockets are gone and the figures are not valid. Run the benchmark again without editing files.`);
    }
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    if (output.includes("Ready on")) {
      ready = true;
      break;
    }
    if (i > 600) throw new Error(`${name} did not start within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    inspectorPort,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM")))),
  };
}

/**
 * Turns devtools' network recording on or off through wrangler's own inspector port, as closing DevTools' Network
 * panel would. wrangler dev turns it on at start: the runtime then reports every subrequest (each D1 query, each
 * service-binding call) to wrangler's inspector proxy and on to its Node process, which logs it. A deployed
 * Worker has no inspector; this shows what that recording costs.
 */
export async function setDevtoolsNetwork(inspectorPort: number, on: boolean): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  const answered = new Promise<void>((resolve) => ws.on("message", (data) => (JSON.parse(String(data)) as { id?: number }).id === 1 && resolve()));
  ws.send(JSON.stringify({ id: 1, method: on ? "Network.enable" : "Network.disable" }));
  await answered;
  ws.close();
}

/** Sessions seeded with long histories, by history size, all of one user. */
export interface SeededHistories {
  userId: string;
  sessions: Record<number, string[]>;
}

/** Seeds sessions with long histories into local D1 before the backend starts (it then runs on the same state). */
export function seedHistories(stateDir: string, sizes: [size: number, count: number][]): SeededHistories {
  const userId = "bench-history-user";
  const statements = [
    `INSERT INTO users (id, username, balance_micros, created_at) VALUES ('${userId}', 'history', 1000000000, 0) ON CONFLICT DO NOTHING;`,
    `INSERT INTO user_models (user_id, model_id) VALUES ('${userId}', 4) ON CONFLICT DO NOTHING;`,
  ];
  const sessions: Record<number, string[]> = {};
  for (const [size, count] of sizes) {
    const ids: string[] = (sessions[size] = []);
    for (let k = 0; k < count; k++) {
      const id = crypto.randomUUID();
      ids.push(id);
      statements.push(
        `INSERT INTO sessions (id, user_id, model_id, name, prompt, summary, created_at, last_active_at) VALUES ('${id}', '${userId}', 4, 'history ${size}', 'p', 'summary', 0, 0);`,
        // Rows made by the database itself: a recursive CTE, so 100,000 entries need no huge SQL file.
        `INSERT INTO messages (session_id, seq, role, content, created_at) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${size - 1}) SELECT '${id}', i, CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END, 'history entry ' || i, 0 FROM n;`,
      );
    }
  }
  const file = path.join(stateDir, "seed.sql");
  writeFileSync(file, statements.join("\n"));
  run(bin("wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", stateDir, "--file", file], { stdio: ["ignore", "ignore", "inherit"] });
  return { userId, sessions };
}
