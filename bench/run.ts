// npm run bench [-- --quick] [-- --baseline <ref>]: measures a chat turn against the runtime's own floor (a bare
// hibernating Durable Object echo, same runtime, same run), how cost grows with history and concurrency, what idle
// sockets cost, streamed (protocol v2) turns, and what a turn bills on Cloudflare. With --baseline, the same phases
// run against a checkout of that ref too, alternating (current, baseline, current, baseline), and each figure is
// printed with its ratio. Starts what it needs on 127.0.0.1, stops all of it, prints the tables, writes
// bench/results/latest.json and docs/benchmarks.md. This file holds the plan and the order of the phases;
// bench/lib/ does the work.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseCommand, usageError } from "../scripts/lib/cli.ts";
import { root } from "../scripts/lib/lib.ts";
import { currentCheckout, prepareBaseline, type Checkout } from "./lib/baseline.ts";
import {
  billedUnits, concurrentTurns, echoFloor, historyScaling, idleEchoSockets, idleSockets, sequentialTurns, streamedTurns,
  type BilledUnits, type IdleSockets, type Plan, type SignIn, type StreamedTurns,
} from "./lib/phases.ts";
import { processRoles, quiesce, runtimePids, runtimePort, withWrangler } from "./lib/proc.ts";
import { summarize, writeReport, type SignInCompared, type StackRun, type TurnLogCompared, type VariantRounds } from "./lib/report.ts";
import { startStreamAgent, type StreamAgent } from "./lib/stream-agent.ts";
import { BACKEND_VARS, SIGNED_IN_VARS, signIn, backendConfig, freePort, meteredEntry, seedHistories, setDevtoolsNetwork, startWrangler, type SeededHistories, type WranglerDev } from "./lib/stack.ts";

const { values } = parseCommand({
  usage: "npm run bench [-- --quick] [-- --baseline <git-ref>]",
  description:
    "Measures a chat turn against the runtime's own floor, history and concurrency scaling, idle sockets, streamed\n" +
    "turns and billable units per turn, on 127.0.0.1; prints tables, writes bench/results/latest.json and\n" +
    "docs/benchmarks.md. With --baseline, runs every phase against that ref too (built in .bench-baseline/<sha>),\n" +
    "alternating, and prints each figure with its ratio (baseline / current).",
  options: {
    quick: { type: "boolean", default: false, description: "fewer rounds and warm-up turns, sockets idle 10 s instead of 60, for a shorter run" },
    baseline: { type: "string", value: "REF", description: "a git ref to measure side by side with this checkout" },
  },
});
const quick = values.quick;
const IDLE = { sockets: 10_000, users: 1_000 };
const plan: Plan = quick
  ? { echoWarm: 20, echoCount: 200, warmTurns: 20, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 3, historySessions: 2, idle: { ...IDLE, idleSeconds: 10 }, billedTurns: 50 }
  : { echoWarm: 50, echoCount: 500, warmTurns: 50, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 5, historySessions: 5, idle: { ...IDLE, idleSeconds: 60 }, billedTurns: 200 };

/**
 * Each idle socket is a file descriptor in this process and in the runtime (and two in wrangler's dev proxy, which
 * the 10,000 skip): raise this process's limit (inherited by the runtimes it starts) when allowed. With too low a
 * limit the idle phase holds fewer sockets and says so.
 */
function raiseFileLimit(wanted: number): number {
  const current = () => Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${wanted}:${wanted}`], { stdio: "ignore" });
  } catch {
    // not allowed: keep the limit there is
  }
  return current();
}

/** One checkout's running stacks: the backend (metered entry, instant agent) and, where it streams, a backend
 *  whose agent is the stream agent in this process. */
interface Stack {
  checkout: Checkout;
  backend: WranglerDev;
  base: string;
  wsUrl: string;
  port: number;
  seeded: SeededHistories;
  stream: { backend: WranglerDev; base: string; wsUrl: string } | null;
  /** The same Worker with sign-in on (AUTH_MODE=token): the current checkout only. */
  signedIn: { backend: WranglerDev; base: string; wsUrl: string } | null;
}

/** Every wrangler dev this run starts, from the moment it is starting: a failure part-way stops them all. */
const launched: Promise<WranglerDev>[] = [];
function launch(...args: Parameters<typeof startWrangler>): Promise<WranglerDev> {
  const starting = startWrangler(...args);
  launched.push(starting);
  return starting;
}

const streams = (checkout: Checkout) => readFileSync(path.join(checkout.dir, "proto/ai_service.proto"), "utf8").includes("ProcessStream");
const wranglerIn = (dir: string) => path.join(dir, "node_modules", ".bin", "wrangler");

function migrate(dir: string, stateDir: string): void {
  execFileSync(wranglerIn(dir), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
}

async function startStack(checkout: Checkout, index: number, stateRoot: string, reps: number, streamAgent: StreamAgent): Promise<Stack> {
  const name = `bench-${index === 0 ? "current" : `baseline-${checkout.commit}`}`;
  const stateDir = path.join(stateRoot, String(index));
  mkdirSync(stateDir, { recursive: true });
  migrate(checkout.dir, stateDir);
  const seeded = seedHistories(stateDir, [[100, plan.historySessions * reps], [100_000, plan.historySessions * reps]], { dir: checkout.dir, idleUsers: plan.idle.users, rounds: reps });
  const port = await freePort();
  const config = backendConfig(name, { dir: checkout.dir, main: meteredEntry(name, checkout.dir) });
  const backendStarting = launch(
    `${name} backend`,
    ["-c", config, "-c", path.join(root, "bench/instant-agent/wrangler.toml"), "--persist-to", stateDir, "--var", "STORAGE_METRICS:true", ...BACKEND_VARS],
    port,
    checkout.dir,
  );
  let stream: Stack["stream"] = null;
  if (streams(checkout)) {
    const streamState = path.join(stateDir, "stream");
    mkdirSync(streamState);
    migrate(checkout.dir, streamState);
    const streamPort = await freePort();
    const streamBackend = await launch(
      `${name} stream backend`,
      ["-c", backendConfig(`${name}-stream`, { dir: checkout.dir }), "--persist-to", streamState, "--var", `AI_SERVER_URL:${streamAgent.url}`, "--var", "AI_PROTOCOL:connect", ...BACKEND_VARS],
      streamPort,
      checkout.dir,
    );
    await setDevtoolsNetwork(streamBackend.inspectorPort, false);
    stream = { backend: streamBackend, base: `http://127.0.0.1:${streamPort}`, wsUrl: `ws://127.0.0.1:${streamPort}/ws` };
  }
  let signedIn: Stack["signedIn"] = null;
  if (index === 0) {
    const signedInState = path.join(stateDir, "signed-in");
    mkdirSync(signedInState);
    migrate(checkout.dir, signedInState);
    const signedInPort = await freePort();
    const signedInBackend = await launch(
      `${name} signed-in backend`,
      ["-c", backendConfig(`${name}-signed-in`, { dir: checkout.dir }), "-c", path.join(root, "bench/instant-agent/wrangler.toml"), "--persist-to", signedInState, ...SIGNED_IN_VARS],
      signedInPort,
      checkout.dir,
    );
    await setDevtoolsNetwork(signedInBackend.inspectorPort, false);
    signedIn = { backend: signedInBackend, base: `http://127.0.0.1:${signedInPort}`, wsUrl: `ws://127.0.0.1:${signedInPort}/ws` };
  }
  const backend = await backendStarting;
  return { checkout, backend, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, port, seeded, stream, signedIn };
}

const started = performance.now();
const loadStart = os.loadavg();
// The checkouts first: a bad --baseline is a usage error before anything starts.
const checkouts: Checkout[] = [currentCheckout()];
if (values.baseline !== undefined) {
  if (values.baseline === "") usageError("--baseline needs a git ref");
  try {
    checkouts.push(prepareBaseline(values.baseline));
  } catch (error) {
    usageError((error as Error).message);
  }
}
mkdirSync(path.join(root, "bench/results"), { recursive: true });
const stateRoot = mkdtempSync(path.join(os.tmpdir(), "chat-bench-"));
const running: WranglerDev[] = [];
let streamAgent: StreamAgent | null = null;
try {
  // Alternating runs: current, baseline, current, baseline (each phase twice per checkout) when comparing.
  const reps = checkouts.length > 1 ? 2 : 1;
  const fileLimit = raiseFileLimit(65_536);
  if (fileLimit < plan.idle.sockets + 2_000) {
    const sockets = Math.max(plan.idle.users, Math.floor((fileLimit - 2_000) / plan.idle.users) * plan.idle.users);
    console.warn(`bench: the file-descriptor limit is ${fileLimit} and cannot be raised: the idle phase holds ${sockets} sockets, not ${plan.idle.sockets}`);
    plan.idle.sockets = sockets;
  }
  execFileSync(path.join(root, "node_modules/.bin/buf"), ["generate"], { cwd: root, stdio: "inherit" });

  streamAgent = await startStreamAgent();
  const echoPort = await freePort();
  mkdirSync(path.join(stateRoot, "echo"));
  const echoStarting = launch("echo floor", ["-c", "bench/echo/wrangler.toml", "--persist-to", path.join(stateRoot, "echo")], echoPort);
  const stacks: Stack[] = [];
  for (const [index, checkout] of checkouts.entries()) {
    console.log(`starting ${checkout.label} (${checkout.commit})…`);
    const stack = await startStack(checkout, index, stateRoot, reps, streamAgent);
    stacks.push(stack);
    running.push(stack.backend, ...(stack.stream ? [stack.stream.backend] : []), ...(stack.signedIn ? [stack.signedIn.backend] : []));
  }
  const echo = await echoStarting;
  running.push(echo);
  const everything = () => running.flatMap((r) => withWrangler(r.pid));
  const pidsOf = (stack: Stack) => runtimePids(stack.backend.pid);
  const setupSeconds = (performance.now() - started) / 1000;

  /** Runs `phase` on every stack, `times` rounds, alternating; results by stack, then round. */
  async function alternate<T>(title: string, phase: (stack: Stack, round: number) => Promise<T>, times = reps, only = (_: Stack) => true): Promise<T[][]> {
    const results: T[][] = stacks.map(() => []);
    for (let round = 0; round < times; round++) {
      for (const [i, stack] of stacks.entries()) {
        if (!only(stack)) continue;
        await quiesce(everything());
        console.log(`${title} — ${stack.checkout.label}${times > 1 ? `, round ${round + 1}` : ""}…`);
        results[i]!.push(await phase(stack, round));
      }
    }
    return results;
  }

  await quiesce(everything());
  console.log("echo floor…");
  const floor = await echoFloor(plan, echoPort, runtimePids(echo.pid), echo);
  // Recording on: once per checkout. Every recorded event is forwarded to wrangler's Node process one by one; on a
  // busy machine they pile up, turning recording off then waits for them, and the runtime can block on them.
  const seq = await alternate("sequential turns (devtools network recording on, as wrangler dev starts)", (s) => sequentialTurns(plan, s.base, s.wsUrl, pidsOf(s)), 1);
  // One round: with recording on, wrangler's inspector proxy makes an HTTP request to its Node process for every
  // recorded event; under sustained load those pile up until workerd runs out of file descriptors.
  const throughput = await alternate("concurrent turns (recording on)", (s) => concurrentTurns(plan, s.base, s.wsUrl, 1), 1);
  for (const stack of stacks) await setDevtoolsNetwork(stack.backend.inspectorPort, false);
  const seqOff = await alternate("sequential turns (devtools network recording off)", (s) => sequentialTurns(plan, s.base, s.wsUrl, pidsOf(s)));
  const throughputOff = await alternate("concurrent turns (recording off)", (s) => concurrentTurns(plan, s.base, s.wsUrl, plan.rounds));
  // Variants of the current checkout, the same turns on each, alternating (2 rounds), recording off.
  const current = stacks[0]!;
  interface Variant {
    title: string;
    target: { backend: WranglerDev; base: string; wsUrl: string };
    signing?: SignIn;
    /** Run before the variant's turns. */
    prepare?: () => Promise<void>;
  }
  async function compareVariants(variants: [Variant, Variant]): Promise<[VariantRounds, VariantRounds]> {
    const rounds: [VariantRounds, VariantRounds] = [[], []];
    // One unmeasured round each first: a stack started only for a variant (the signed-in one) has run nothing
    // yet, and its first round would carry its warm-up against the other's.
    for (const { target, signing = null, prepare } of variants) {
      await prepare?.();
      await concurrentTurns(plan, target.base, target.wsUrl, 1, signing);
    }
    for (let round = 0; round < 2; round++) {
      for (const [i, { title, target, signing = null, prepare }] of variants.entries()) {
        await prepare?.();
        await quiesce(everything());
        console.log(`${title} — ${current.checkout.label}, round ${round + 1}…`);
        const seqTurns = await sequentialTurns(plan, target.base, target.wsUrl, runtimePids(target.backend.pid), signing);
        const concurrent = await concurrentTurns(plan, target.base, target.wsUrl, plan.rounds, signing);
        rounds[i]!.push({ seq: seqTurns, throughput: concurrent });
      }
    }
    return rounds;
  }
  // Sign-in off against on.
  const [none, token] = await compareVariants([
    { title: "sign-in off (AUTH_MODE=none)", target: current },
    { title: "sign-in on (AUTH_MODE=token)", target: current.signedIn!, signing: signIn },
  ]);
  const signInCompared: SignInCompared = { none, token };
  // The turn's log line written against muted: what wrangler dev's console costs per turn.
  const turnLog = (action: "mute" | "unmute") => async () => {
    const response = await fetch(`${current.base}/__bench/turn-log/${action}`, { method: "POST" });
    if (!response.ok) throw new Error(`turn log ${action}: ${response.status} ${await response.text()}`);
  };
  const [logged, muted] = await compareVariants([
    { title: "turn log line written", target: current, prepare: turnLog("unmute") },
    { title: "turn log line muted", target: current, prepare: turnLog("mute") },
  ]);
  await turnLog("unmute")();
  const turnLogCompared: TurnLogCompared = { logged, muted };
  const history = await alternate("history 100 vs 100,000", (s, round) => historyScaling(s.wsUrl, s.seeded, round));
  const billed = await alternate<BilledUnits>("billable units per turn", (s) => billedUnits(plan, s.base, s.wsUrl, pidsOf(s), s.stream !== null), 1);
  const streamed = await alternate<StreamedTurns>(
    "streamed turns (protocol v2, recording off)",
    (s, round) => streamedTurns(plan, s.stream!.base, s.stream!.wsUrl, streamAgent!, runtimePids(s.stream!.backend.pid), `${s.checkout.commit}-${round}`),
    reps,
    (s) => s.stream !== null,
  );
  // The idle sockets last: after them, thousands of closed connections linger in TIME_WAIT. The 10,000 connect to
  // the runtime's own port (a deployed Worker has no dev proxy); 1,000 more through wrangler's dev proxy show
  // what the proxy holds per socket.
  const viaProxy = { sockets: 1_000, users: 100, idleSeconds: 0 };
  // Through the proxy first: after 10,000 sockets close, the runtime gives memory back for a while, which would
  // read as negative growth here.
  await quiesce(everything());
  const echoRoles = processRoles(echo.pid, echoPort);
  console.log(`idle sockets: the echo floor holding ${viaProxy.sockets} through the dev proxy…`);
  const idleFloorProxied = await idleEchoSockets(viaProxy, echoPort, echoRoles);
  const idleProxied = await alternate<IdleSockets>(`idle sockets (${viaProxy.sockets} through the dev proxy)`, (s) => idleSockets(viaProxy, s.wsUrl, processRoles(s.backend.pid, s.port)), 1);
  await quiesce(everything());
  const echoDirect = await runtimePort(echoRoles, "/ping");
  // Without the runtime's own port, through the proxy: as many as its two descriptors per socket allow.
  const throughProxy = { ...plan.idle, sockets: Math.min(plan.idle.sockets, Math.floor((fileLimit - 2_000) / 2 / plan.idle.users) * plan.idle.users) };
  if (echoDirect === null) console.warn("bench: the echo floor's runtime port was not found; its idle sockets go through the dev proxy");
  console.log(`idle sockets: the echo floor holding ${plan.idle.sockets} across ${plan.idle.users} objects…`);
  const idleFloor = await idleEchoSockets(echoDirect ? plan.idle : throughProxy, echoDirect ?? echoPort, echoRoles);
  const idle = await alternate<IdleSockets>(`idle sockets (${plan.idle.sockets} across ${plan.idle.users} users)`, async (s) => {
    const roles = processRoles(s.backend.pid, s.port);
    const direct = await runtimePort(roles, "/healthz");
    if (direct === null) console.warn(`bench: ${s.checkout.label}'s runtime port was not found; its idle sockets go through the dev proxy`);
    return idleSockets(direct ? plan.idle : throughProxy, direct ? `ws://127.0.0.1:${direct}/ws` : s.wsUrl, roles);
  }, 1);
  const load = { start: loadStart, end: os.loadavg() };

  const runs: StackRun[] = stacks.map((stack, i) => ({
    checkout: stack.checkout,
    rounds: seqOff[i]!.map((_, round) => ({
      seq: seq[i]![round] ?? null,
      throughput: throughput[i]![round] ?? null,
      seqOff: seqOff[i]![round]!,
      throughputOff: throughputOff[i]![round]!,
      history: history[i]![round]!,
      streamed: streamed[i]![round] ?? null,
    })),
    idle: idle[i]![0]!,
    idleProxied: idleProxied[i]![0]!,
    billed: billed[i]![0]!,
  }));
  const report = summarize({ quick, rounds: plan.rounds, started, load, setupSeconds, fileLimit }, floor, { direct: idleFloor, proxied: idleFloorProxied }, runs, signInCompared, turnLogCompared);
  writeReport(report);
} finally {
  const launches = await Promise.allSettled(launched);
  await Promise.all(launches.flatMap((l) => (l.status === "fulfilled" ? [l.value.stop()] : [])));
  await streamAgent?.close();
  rmSync(stateRoot, { recursive: true, force: true });
  console.log(`npm run bench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
