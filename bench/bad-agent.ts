// npm run bench:bad-agent: does an agent that answers outside the protocol (an HTML page, random bytes) delay other
// users? Runs the backend against the scripted test agent over gRPC-web (the protocol of network agents), and
// measures user B's turn latency alone, then while user A's turns get HTML and random-byte answers, side by side
// in one run. Prints both spreads and how long A's bad turns took to fail.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseCommand } from "../scripts/lib/cli.ts";
import { bin, run } from "../scripts/lib/lib.ts";
import { createUser, failingTurn, openClient, timed, turn } from "./lib/client.ts";
import { BACKEND_VARS, backendConfig, freePort, setDevtoolsNetwork, startWrangler } from "./lib/stack.ts";
import { mapSpread, spread } from "./lib/stats.ts";

parseCommand({
  usage: "npm run bench:bad-agent",
  description:
    "User B's turn latency alone, then while user A's agent answers HTML and random bytes (gRPC-web, the protocol of\n" +
    "network agents), side by side in one run on 127.0.0.1; prints both spreads and how long A's bad turns took to fail.",
  options: {},
});
const TURNS = 200;
const stateDir = mkdtempSync(path.join(os.tmpdir(), "chat-bad-agent-"));
// The backend's own configuration, with its AGENT binding pointed at the scripted test agent.
const config = backendConfig("bench-bad-agent", { agentService: "scripted-agent" });
run(bin("buf"), ["generate"]);
run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir, "-c", "wrangler.toml"], { stdio: ["ignore", "ignore", "inherit"] });
const port = await freePort();
const backend = await startWrangler(
  "bad-agent backend",
  ["-c", config, "-c", "test/agents/wrangler.toml", "--persist-to", stateDir, ...BACKEND_VARS, "--var", "AI_PROTOCOL:grpc-web",
    "--var", "AI_TIMEOUT_MS:3000"],
  port,
);
try {
  await setDevtoolsNetwork(backend.inspectorPort, false);
  const base = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const [userA, userB] = [await createUser(base), await createUser(base)];
  const b = await openClient(wsUrl, userB);
  let session = await turn(b, "NEW", "brief warm up");
  const bTurns = async () => {
    const latencies: number[] = [];
    for (let i = 0; i < TURNS; i++) latencies.push((await timed(async () => (session = await turn(b, session, `brief ${i}`))))[0]);
    return latencies;
  };
  const alone = await bTurns();
  // A sends a bad turn every 50 ms on its own socket (a steady trickle, not a flood that would only measure CPU
  // contention on this machine) while B runs the same turns again.
  const a = await openClient(wsUrl, userA);
  let running = true;
  const badFailures: number[] = [];
  const bad = (async () => {
    for (let i = 0; running; i++) {
      const marker = i % 2 === 0 ? "garbage:html" : "garbage:bytes";
      badFailures.push(await failingTurn(a, marker));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const meanwhile = await bTurns();
  running = false;
  await bad;
  console.log(JSON.stringify({ userB_alone_ms: mapSpread(spread(alone)), userB_while_A_gets_garbage_ms: mapSpread(spread(meanwhile)), userA_bad_turn_fails_in_ms: mapSpread(spread(badFailures)) }, null, 2));
} finally {
  await backend.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(config, { force: true });
}
