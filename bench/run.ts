// npm run bench [-- --quick]: measures a chat turn against the runtime's own floor (a bare hibernating
// Durable Object echo, same runtime, same run), how cost grows with history and concurrency, what idle sockets
// cost, and streamed (protocol v2) turns. Starts what it needs on 127.0.0.1 (the backend with an instant agent, the echo floor), stops
// all of it, prints a table, writes bench/results/latest.json and docs/benchmarks.md.
// This file holds the plan and the order of the phases; bench/lib/ does the work.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseCommand } from "../tools/cli.ts";
import { bin, root, run } from "../tools/lib.ts";
import { ADMIN } from "./lib/client.ts";
import { concurrentTurns, echoFloor, historyScaling, idleSockets, sequentialTurns, streamedTurns, type Plan } from "./lib/phases.ts";
import { startStreamAgent, type StreamAgent } from "./lib/stream-agent.ts";
import { quiesce, runtimePids, withWrangler } from "./lib/proc.ts";
import { summarize, writeReport } from "./lib/report.ts";
import { backendConfig, freePort, seedHistories, setDevtoolsNetwork, startWrangler, type WranglerDev } from "./lib/stack.ts";

const { values } = parseCommand({
  usage: "npm run bench [-- --quick]",
  description:
    "Measures a chat turn against the runtime's own floor, history and concurrency scaling, idle sockets and streamed\n" +
    "turns, on 127.0.0.1 (about 1.5 minutes); prints a table, writes bench/results/latest.json and docs/benchmarks.md.",
  options: { quick: { type: "boolean", default: false, description: "fewer rounds and warm-up turns, for a shorter run" } },
});
const quick = values.quick;
const plan: Plan = quick
  ? { echoWarm: 20, echoCount: 200, warmTurns: 20, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 3, historySessions: 2, idleSockets: 1000 }
  : { echoWarm: 50, echoCount: 500, warmTurns: 50, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 5, historySessions: 5, idleSockets: 1000 };

const started = performance.now();
mkdirSync(path.join(root, "bench/results"), { recursive: true });
const stateDir = mkdtempSync(path.join(os.tmpdir(), "chat-bench-"));
const running: WranglerDev[] = [];
let streamAgent: StreamAgent | null = null;
try {
  run(bin("buf"), ["generate"]);
  run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { stdio: ["ignore", "ignore", "inherit"] });
  mkdirSync(path.join(stateDir, "echo"));
  const seeded = seedHistories(stateDir, [[100, plan.historySessions], [100_000, plan.historySessions]]);

  const echoPort = await freePort();
  const echo = await startWrangler("echo floor", ["-c", "bench/echo/wrangler.toml", "--persist-to", path.join(stateDir, "echo")], echoPort);
  running.push(echo);
  const backendPort = await freePort();
  const backend = await startWrangler(
    "backend",
    ["-c", backendConfig("bench-backend"), "-c", "bench/instant-agent/wrangler.toml", "--persist-to", stateDir,
      "--var", "STORAGE_METRICS:true", "--var", `ADMIN_TOKEN:${ADMIN}`, "--var", "MAX_FRAMES_PER_SECOND:1000000", "--var", "FILE_URL_SECRET:bench"],
    backendPort,
  );
  running.push(backend);
  const base = `http://127.0.0.1:${backendPort}`;
  const wsUrl = `ws://127.0.0.1:${backendPort}/ws`;
  const pids = runtimePids(backend.pid);

  const loadStart = os.loadavg();
  const everything = () => [...withWrangler(echo.pid), ...withWrangler(backend.pid)];
  console.log("echo floor…");
  const floor = await echoFloor(plan, echoPort, runtimePids(echo.pid), echo);
  await quiesce(everything());
  console.log("sequential turns (devtools network recording on, as wrangler dev starts)…");
  const seq = await sequentialTurns(plan, base, wsUrl, pids);
  await quiesce(everything());
  console.log("concurrent turns…");
  // One round: with recording on, wrangler's inspector proxy makes an HTTP request to its Node process for every
  // recorded event; under sustained load those pile up until workerd runs out of file descriptors.
  const throughput = await concurrentTurns(plan, base, wsUrl, 1);
  await setDevtoolsNetwork(backend.inspectorPort, false);
  await quiesce(everything());
  console.log("sequential turns (devtools network recording off)…");
  const seqOff = await sequentialTurns(plan, base, wsUrl, pids);
  await quiesce(everything());
  console.log("concurrent turns…");
  const throughputOff = await concurrentTurns(plan, base, wsUrl, plan.rounds);
  await quiesce(everything());
  console.log("history 100 vs 100,000…");
  const history = await historyScaling(wsUrl, seeded);
  console.log("idle sockets…");
  const idle = await idleSockets(plan, wsUrl, base, pids);

  // Streaming (protocol v2) against an agent in this process, reached over the network (AI_SERVER_URL wins over
  // the AGENT binding): a second backend on its own state.
  await backend.stop();
  streamAgent = await startStreamAgent();
  const streamState = path.join(stateDir, "stream");
  mkdirSync(streamState);
  run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", streamState], { stdio: ["ignore", "ignore", "inherit"] });
  const streamPort = await freePort();
  const streamBackend = await startWrangler(
    "stream backend",
    ["-c", backendConfig("bench-stream-backend"), "--persist-to", streamState, "--var", `AI_SERVER_URL:${streamAgent.url}`, "--var", "AI_PROTOCOL:connect",
      "--var", `ADMIN_TOKEN:${ADMIN}`, "--var", "MAX_FRAMES_PER_SECOND:1000000", "--var", "FILE_URL_SECRET:bench"],
    streamPort,
  );
  running.push(streamBackend);
  await setDevtoolsNetwork(streamBackend.inspectorPort, false);
  await quiesce([...withWrangler(echo.pid), ...withWrangler(streamBackend.pid)]);
  console.log("streamed turns (protocol v2, devtools network recording off)…");
  const streamed = await streamedTurns(plan, `http://127.0.0.1:${streamPort}`, `ws://127.0.0.1:${streamPort}/ws`, streamAgent, runtimePids(streamBackend.pid));
  const load = { start: loadStart, end: os.loadavg() };

  const report = summarize({ quick, rounds: plan.rounds, started, load }, { floor, seq, throughput, seqOff, throughputOff, history, idle, streamed });
  writeReport(report.results, report.targets);
} finally {
  await Promise.all(running.map((r) => r.stop()));
  await streamAgent?.close();
  rmSync(stateDir, { recursive: true, force: true });
}
