// npm run bench:bridge [-- --n 1000]: the agent bridge's added latency. Starts the Python agent and the bridge (its
// own process, with a credential, as deployed), then calls Process N times directly over native gRPC and N times
// through the bridge over gRPC-web, alternating, and prints the medians and their difference, and the bridge's CPU
// time a call (which, unlike latency, a busy machine does not inflate).
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AIService } from "../gen/ai_service_pb.ts";
import { spawnAgentBridge } from "../agent-bridge/process.ts";
import { numberOption, parseCommand } from "./lib/cli.ts";
import { startPythonAgent } from "./lib/python-agent.ts";

const { values } = parseCommand({
  usage: "npm run bench:bridge -- [--n 1000] [--warmup 100]",
  description: "Times the Python agent's Process called directly over native gRPC and through the agent bridge over gRPC-web, alternating.",
  options: {
    n: { type: "string", value: "N", default: "1000", description: "calls each way" },
    warmup: { type: "string", value: "N", default: "100", description: "calls each way before timing" },
  },
});
const n = numberOption("--n", String(values.n), { min: 1 });
const warmup = numberOption("--warmup", String(values.warmup), { min: 0 });

const TOKEN = "bench-bridge-token";
const agent = await startPythonAgent();
const bridge = await spawnAgentBridge(["--listen", "127.0.0.1:0", "--target", agent.target], { AGENT_AUTH_TOKEN: TOKEN });
try {
  const direct = createClient(AIService, createGrpcTransport({ baseUrl: `http://${agent.target}` }));
  const bridged = createClient(AIService, createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "1.1" }));
  const request = { chatMessage: "bench", modelName: "gpt-4-turbo", chatHistory: "[]", sessionId: crypto.randomUUID(), userId: "bench" };
  const options = { timeoutMs: 10_000 };
  const bridgedOptions = { ...options, headers: { authorization: `Bearer ${TOKEN}` } };
  const time = async (call: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await call();
    return performance.now() - started;
  };
  const callDirect = () => direct.process(request, options);
  const callBridged = () => bridged.process(request, bridgedOptions);

  for (let i = 0; i < warmup; i++) await Promise.all([callDirect(), callBridged()]);
  const cpuBefore = cpuMs(bridge.pid);
  const directMs: number[] = [];
  const bridgedMs: number[] = [];
  for (let i = 0; i < n; i++) {
    // Alternating, and swapping which goes first, so drift in the machine's load falls on both alike.
    if (i % 2 === 0) {
      directMs.push(await time(callDirect));
      bridgedMs.push(await time(callBridged));
    } else {
      bridgedMs.push(await time(callBridged));
      directMs.push(await time(callDirect));
    }
  }
  const cpuAfter = cpuMs(bridge.pid);
  const pairDifferences = bridgedMs.map((ms, i) => ms - directMs[i]!);
  const row = (name: string, samples: number[]) =>
    `${name.padEnd(34)} ${[0.5, 0.9, 0.99].map((q) => quantile(samples, q).toFixed(3).padStart(8)).join(" ")}`;
  console.log(`\nProcess against examples/python-agent (grpcio), ${n} calls each, alternating, after ${warmup} warm-up pairs; ms`);
  console.log(`${"".padEnd(34)} ${["p50", "p90", "p99"].map((h) => h.padStart(8)).join(" ")}`);
  console.log(row("direct (native gRPC, HTTP/2)", directMs));
  console.log(row("through the bridge (gRPC-web, 1.1)", bridgedMs));
  console.log(row("per-pair difference", pairDifferences));
  console.log(`\nadded by the bridge: ${(quantile(bridgedMs, 0.5) - quantile(directMs, 0.5)).toFixed(3)} ms at p50 (difference of the medians)`);
  if (cpuBefore !== null && cpuAfter !== null) {
    console.log(`bridge CPU: ${((cpuAfter - cpuBefore) / n).toFixed(3)} ms a call (user + system, its one log line included)`);
  }
} finally {
  await bridge.stop();
  await agent.stop();
}
process.exit(0); // the direct client's HTTP/2 session would keep the process alive for its idle timeout

/** A process's CPU time so far (user + system), from /proc; null where there is none. */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}