// npm run bench:profile [-- --turns N --sessions N --baseline <git-ref>]: a CPU profile of the backend's isolate while 50 sessions (or
// --sessions) answer turns concurrently (devtools network recording off, as a deployed Worker runs), taken through
// wrangler's inspector port. Prints the functions with the most self time and with the most total time (callees
// included), and writes bench/results/turns.cpuprofile (open it in Chrome DevTools' Performance panel).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { numberOption, parseCommand, usageError } from "../scripts/lib/cli.ts";
import { bin, root, run } from "../scripts/lib/lib.ts";
import { currentCheckout, prepareBaseline, type Checkout } from "./lib/baseline.ts";
import { createUser, openClient, turn } from "./lib/client.ts";
import { BACKEND_VARS, backendConfig, freePort, setDevtoolsNetwork, startWrangler } from "./lib/stack.ts";

const { values } = parseCommand({
  usage: "npm run bench:profile [-- --turns N --sessions N --baseline <git-ref>]",
  description:
    "A CPU profile of the backend's isolate while sessions answer turns concurrently; prints the functions with the\n" +
    "most self time and most total time, and writes bench/results/turns.cpuprofile (open it in Chrome DevTools'\n" +
    "Performance panel). --sessions 1 profiles sequential turns; --baseline profiles that ref instead (checked out as\n" +
    "npm run bench does it), to compare the two function by function.",
  options: {
    turns: { type: "string", value: "N", default: "40", description: "turns per session" },
    sessions: { type: "string", value: "N", default: "50", description: "sessions at once, one user's" },
    baseline: { type: "string", value: "REF", description: "profile this git ref (a worktree in .bench-baseline/) instead of this checkout" },
  },
});
const TURNS_PER_SESSION = numberOption("--turns", values.turns, { min: 1, max: 100_000 });
const SESSIONS = numberOption("--sessions", values.sessions, { min: 1, max: 1_000 });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; scriptId: string };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A devtools protocol session on wrangler's inspector port (the backend Worker's isolate). */
async function inspector(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  const scripts: string[] = [];
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; method?: string; params?: { scriptId: string } };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    if (message.method === "Debugger.scriptParsed" && message.params) scripts.push(message.params.scriptId);
  });
  return {
    call<T>(method: string, params: object = {}): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve) => {
        pending.set(id, (result) => resolve(result as T));
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    /** The source of every script the isolate runs, by script id (for naming anonymous functions). */
    async sources(): Promise<Map<string, string[]>> {
      await this.call("Debugger.enable");
      const sources = new Map<string, string[]>();
      for (const id of scripts) sources.set(id, (await this.call<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: id })).scriptSource.split("\n"));
      await this.call("Debugger.disable");
      return sources;
    },
    close: () => ws.close(),
  };
}

async function load(base: string, wsUrl: string, turns: number): Promise<number> {
  const userId = await createUser(base, 1_000_000);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const socket = await openClient(wsUrl, userId);
      let sessionId = "NEW";
      for (let t = 0; t < turns; t++) sessionId = await turn(socket, sessionId, `session ${s} turn ${t}`);
      socket.close();
    }),
  );
  return (SESSIONS * turns) / ((performance.now() - started) / 1000);
}

/**
 * Time per function (name and location, with its source line), most first: `self` counts a sample for the function
 * running, `total` for every function on the sample's stack (once each, so recursion is not counted twice).
 */
function functionTimes(profile: Profile, sources: Map<string, string[]>, kind: "self" | "total"): { name: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map(profile.nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node.id] as const)));
  const keyOf = ({ callFrame: frame }: ProfileNode) => {
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : "";
    const line = sources.get(frame.scriptId)?.[frame.lineNumber]?.trim().slice(0, 70) ?? "";
    return `${frame.functionName || "(anonymous)"} ${where} ${line ? `| ${line}` : ""}`.trim();
  };
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const keys = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = kind === "total" ? parentOf.get(node) : undefined) keys.add(keyOf(byId.get(node)!));
    for (const key of keys) totals.set(key, (totals.get(key) ?? 0) + ms);
    all += ms;
  });
  return [...totals].map(([name, ms]) => ({ name, ms, share: ms / all })).sort((a, b) => b.ms - a.ms);
}

let checkout: Checkout;
try {
  checkout = values.baseline === undefined ? currentCheckout() : prepareBaseline(values.baseline);
} catch (error) {
  usageError((error as Error).message);
}
const stateDir = mkdtempSync(path.join(os.tmpdir(), "chat-profile-"));
run(bin("buf"), ["generate"]);
run(path.join(checkout.dir, "node_modules", ".bin", "wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { stdio: ["ignore", "ignore", "inherit"], cwd: checkout.dir });
const port = await freePort();
const backend = await startWrangler(
  "profile backend",
  ["-c", backendConfig("bench-profile-backend", { minify: false, dir: checkout.dir }), "-c", path.join(root, "bench/instant-agent/wrangler.toml"), "--persist-to", stateDir, ...BACKEND_VARS,
    // One user's 50 sessions at once: above the default per-user limit on turns in flight.
    "--var", "MAX_TURNS_IN_FLIGHT_PER_USER:1000"],
  port,
  checkout.dir,
);
try {
  await setDevtoolsNetwork(backend.inspectorPort, false);
  const base = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  await load(base, wsUrl, 5); // warm: code compiled, objects created
  const devtools = await inspector(backend.inspectorPort);
  await devtools.call("Profiler.enable");
  await devtools.call("Profiler.setSamplingInterval", { interval: 100 });
  await devtools.call("Profiler.start");
  const throughput = await load(base, wsUrl, TURNS_PER_SESSION);
  const { profile } = await devtools.call<{ profile: Profile }>("Profiler.stop");
  const sources = await devtools.sources();
  devtools.close();
  writeFileSync(path.join(root, "bench/results/turns.cpuprofile"), JSON.stringify(profile));

  const top = functionTimes(profile, sources, "self");
  const turns = SESSIONS * TURNS_PER_SESSION;
  const busy = top.filter((t) => !/^\((idle|program|garbage collector)\)/.test(t.name)).reduce((sum, t) => sum + t.ms, 0);
  console.log(`${checkout.label} (${checkout.commit}): ${turns} turns at ${throughput.toFixed(0)}/s; backend isolate busy ${(busy / turns).toFixed(3)} ms per turn (sampled)`);
  console.log("self time, top 25 (ms per turn, share of samples):");
  for (const entry of top.slice(0, 25)) console.log(`  ${(entry.ms / turns).toFixed(4).padStart(8)}  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`);
  console.log("total time (callees included), top 25 of the Worker's own functions (ms per turn, share of samples):");
  const own = functionTimes(profile, sources, "total").filter((t) => /index\.js:/.test(t.name));
  for (const entry of own.slice(0, 25)) console.log(`  ${(entry.ms / turns).toFixed(4).padStart(8)}  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`);
} finally {
  await backend.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
