// The benchmark's measured phases: the echo floors, sequential and concurrent turns, history scaling and idle
// sockets, each returning its raw figures (latency spreads, throughput, CPU, RSS, storage counts).
import { createUser, EchoSocket, openClient, storageCounts, timed, turn, type TurnEvent } from "./client.ts";
import type { MeterCounts } from "../meter/counts.ts";
import type { StreamAgent } from "./stream-agent.ts";
import { cpuMs, quiesce, rssByRole, rssMb, withWrangler, type ProcessRoles } from "./proc.ts";
import { batchWindowMs, setDevtoolsNetwork, type SeededHistories, type WranglerDev } from "./stack.ts";
import { median, spread, type Spread } from "./stats.ts";

/** How much each phase does (bench/run.ts: a full or a --quick run). */
export interface Plan {
  echoWarm: number;
  echoCount: number;
  warmTurns: number;
  seqTurns: number;
  sessions: number;
  turnsPerSession: number;
  rounds: number;
  historySessions: number;
  idle: IdlePlan;
  /** Turns the billable-units phase meters (unary, then streamed with one watcher). */
  billedTurns: number;
}

export interface CallFloor {
  latency: Spread;
  cpuPerCall: number;
}

export interface EchoFloor {
  latency: Spread;
  throughput: Spread;
  d1: CallFloor & { rssGrowth: number };
  subrequest: { recorded: CallFloor; unrecorded: CallFloor };
}

/** How a client gets its credential for a backend with sign-in on; null: sign-in is off (it names its user). */
export type SignIn = ((userId: string) => Promise<string>) | null;

export interface SequentialTurns {
  latency: Spread;
  first50: number;
  last50: number;
  cpuPerTurn: number;
  rssGrowth: number;
  writesPerTurn: number;
  readsPerTurn: number;
}

/** Latency spreads of a cold session's first turn, by history size. */
export type HistoryScaling = Record<string, Spread>;

export interface StreamedTurns {
  /** Client got the first delta minus agent sent the first chunk, per turn. */
  firstDeltaOverhead: Spread;
  deltasPerSecond: Spread;
  cpuPerDelta: number;
  chunksPerTurn: number;
  concurrentTurns: number;
}

/** Latency and runtime processes' CPU of echoes of frames starting with `prefix`. */
async function floorOf(plan: Plan, socket: EchoSocket, prefix: string, pids: number[], wranglerPid: number): Promise<CallFloor> {
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`${prefix} warm ${i}`);
  const before = { cpu: cpuMs(pids) };
  const latencies: number[] = [];
  for (let i = 0; i < plan.seqTurns; i++) latencies.push((await timed(() => socket.send(`${prefix} ${i}`)))[0]);
  const cpu = cpuMs(pids) - before.cpu;
  await quiesce(withWrangler(wranglerPid)); // wrangler's Node process may still be logging these calls
  return { latency: spread(latencies), cpuPerCall: cpu / plan.seqTurns };
}

export async function echoFloor(plan: Plan, port: number, pids: number[], echo: WranglerDev): Promise<EchoFloor> {
  const socket = await EchoSocket.open(`ws://127.0.0.1:${port}/`);
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`warm ${i}`);
  const latencies: number[] = [];
  for (let i = 0; i < plan.echoCount; i++) latencies.push((await timed(() => socket.send(`ping ${i}`)))[0]);
  // The same round trip with one D1 query in it: what a single D1 round trip costs in this runtime.
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`d1: warm ${i}`);
  const d1Before = { cpu: cpuMs(pids), rss: rssMb(pids) };
  const d1Latencies: number[] = [];
  for (let i = 0; i < plan.seqTurns; i++) d1Latencies.push((await timed(() => socket.send(`d1: ${i}`)))[0]);
  const d1 = { latency: spread(d1Latencies), cpuPerCall: (cpuMs(pids) - d1Before.cpu) / plan.seqTurns, rssGrowth: rssMb(pids) - d1Before.rss };
  // One service-binding fetch per echo, with devtools' network recording as wrangler dev starts it, then off.
  const recorded = await floorOf(plan, socket, "fetch:", pids, echo.pid);
  await setDevtoolsNetwork(echo.inspectorPort, false);
  const subrequest = { recorded, unrecorded: await floorOf(plan, socket, "fetch:", pids, echo.pid) };
  socket.close();
  const sockets = await Promise.all(Array.from({ length: plan.sessions }, () => EchoSocket.open(`ws://127.0.0.1:${port}/`)));
  const rounds: number[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    const [elapsed] = await timed(() => Promise.all(sockets.map(async (s) => {
      for (let i = 0; i < plan.turnsPerSession; i++) await s.send(`m ${i}`);
    })));
    rounds.push((plan.sessions * plan.turnsPerSession) / (elapsed / 1000));
  }
  sockets.forEach((s) => s.close());
  return { latency: spread(latencies), throughput: spread(rounds), d1, subrequest };
}

export async function sequentialTurns(plan: Plan, base: string, wsUrl: string, pids: number[], signIn: SignIn = null): Promise<SequentialTurns> {
  const userId = await createUser(base);
  const socket = await openClient(wsUrl, userId, signIn ? { token: await signIn(userId) } : {});
  let sessionId = await turn(socket, "NEW", "warm up");
  for (let i = 1; i < plan.warmTurns; i++) await turn(socket, sessionId, `warm ${i}`);
  await new Promise((r) => setTimeout(r, 200));
  const before = { cpu: cpuMs(pids), rss: rssMb(pids), storage: await storageCounts(base) };
  const latencies: number[] = [];
  for (let i = 0; i < plan.seqTurns; i++) latencies.push((await timed(() => turn(socket, sessionId, `question ${i}`)))[0]);
  // The turns' database batches commit up to a window after their replies; they are part of what the turns cost.
  await new Promise((r) => setTimeout(r, batchWindowMs + 500));
  const after = { cpu: cpuMs(pids), rss: rssMb(pids), storage: await storageCounts(base) };
  socket.close();
  return {
    latency: spread(latencies),
    first50: median(latencies.slice(0, 50)),
    last50: median(latencies.slice(-50)),
    cpuPerTurn: (after.cpu - before.cpu) / plan.seqTurns,
    rssGrowth: after.rss - before.rss,
    writesPerTurn: (after.storage.writes - before.storage.writes) / plan.seqTurns,
    readsPerTurn: (after.storage.reads - before.storage.reads) / plan.seqTurns,
  };
}

/** Throughput of 50 sessions x 20 sequential turns, concurrently: the median of `rounds` rounds on the same warm
 *  sessions (each opened with a turn whose writes are committed before the first round). */
export async function concurrentTurns(plan: Plan, base: string, wsUrl: string, rounds: number, signIn: SignIn = null): Promise<Spread> {
  const users = await Promise.all(Array.from({ length: plan.sessions }, () => createUser(base)));
  const sockets = await Promise.all(users.map(async (u) => openClient(wsUrl, u, signIn ? { token: await signIn(u) } : {})));
  const sessions = await Promise.all(users.map((_, i) => turn(sockets[i]!, "NEW", "start")));
  await new Promise((r) => setTimeout(r, batchWindowMs + 500));
  const throughputs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [elapsed] = await timed(() => Promise.all(users.map(async (_, i) => {
      for (let t = 0; t < plan.turnsPerSession; t++) await turn(sockets[i]!, sessions[i]!, `round ${round} turn ${t}`);
    })));
    throughputs.push((plan.sessions * plan.turnsPerSession) / (elapsed / 1000));
  }
  sockets.forEach((s) => s.close());
  return spread(throughputs);
}

/** The first turn on cold sessions seeded with long histories: round `round` takes its own share of them, so every
 *  session is cold when timed. */
export async function historyScaling(wsUrl: string, seeded: SeededHistories, round = 0): Promise<HistoryScaling> {
  const socket = await openClient(wsUrl, seeded.userId);
  const result: HistoryScaling = {};
  for (const [size, ids] of Object.entries(seeded.sessions)) {
    const latencies: number[] = [];
    const share = Math.floor(ids.length / seeded.rounds);
    // Each seeded session's object is cold: its first turn builds the agent's context from storage.
    for (const id of ids.slice(round * share, (round + 1) * share)) latencies.push((await timed(() => turn(socket, id, "continue")))[0]);
    result[size] = spread(latencies);
  }
  socket.close();
  return result;
}

/**
 * Streamed turns on v2 sockets, against an agent in this process: the time from the agent writing a turn's first
 * chunk to the client receiving its first delta (sequential turns of 5 chunks 2 ms apart), then deltas a second
 * and runtime CPU per delta with `plan.sessions` turns of 50 chunks each streaming at once.
 */
export async function streamedTurns(plan: Plan, base: string, wsUrl: string, agent: StreamAgent, pids: number[], tag = ""): Promise<StreamedTurns> {
  const userId = await createUser(base);
  const socket = await openClient(wsUrl, userId, { v2: true });
  const firstDeltaAt = new Map<string, number>();
  let sent = "";
  socket.on("turn", (event) => {
    const at = performance.now();
    if (event.event === "delta" && event.seq === 0) firstDeltaAt.set(sent, at);
  });
  sent = `chunks:5 gap:2 ${tag} warm 0`;
  const sessionId = await turn(socket, "NEW", sent);
  for (let i = 1; i < plan.warmTurns; i++) await turn(socket, sessionId, (sent = `chunks:5 gap:2 ${tag} warm ${i}`));
  const overheads: number[] = [];
  for (let i = 0; i < plan.seqTurns; i++) {
    await turn(socket, sessionId, (sent = `chunks:5 gap:2 ${tag} turn ${i}`));
    const agentSent = agent.firstChunkAt.get(sent);
    const clientGot = firstDeltaAt.get(sent);
    if (agentSent === undefined || clientGot === undefined) throw new Error(`turn "${sent}": no first chunk or no first delta seen`);
    overheads.push(clientGot - agentSent);
  }
  socket.close();

  const chunks = 50;
  const users = await Promise.all(Array.from({ length: plan.sessions }, () => createUser(base)));
  const sockets = await Promise.all(users.map((u) => openClient(wsUrl, u, { v2: true })));
  let deltas = 0;
  const count = (event: TurnEvent) => {
    if (event.event === "delta") deltas++;
  };
  sockets.forEach((s) => s.on("turn", count));
  const sessions = await Promise.all(users.map((_, i) => turn(sockets[i]!, "NEW", `chunks:${chunks} start`)));
  await new Promise((r) => setTimeout(r, batchWindowMs + 500));
  const rounds: number[] = [];
  let cpu = 0;
  let roundDeltas = 0;
  for (let round = 0; round < plan.rounds; round++) {
    deltas = 0;
    const cpuBefore = cpuMs(pids);
    const [elapsed] = await timed(() => Promise.all(users.map((_, i) => turn(sockets[i]!, sessions[i]!, `chunks:${chunks} round ${round}`))));
    if (deltas !== plan.sessions * chunks) throw new Error(`round ${round}: ${deltas} deltas, expected ${plan.sessions * chunks}`);
    roundDeltas += deltas;
    rounds.push(deltas / (elapsed / 1000));
    // The round's database batches are part of its cost, and land before the next round starts.
    await new Promise((r) => setTimeout(r, batchWindowMs + 500));
    cpu += cpuMs(pids) - cpuBefore;
  }
  sockets.forEach((s) => s.close());
  return { firstDeltaOverhead: spread(overheads), deltasPerSecond: spread(rounds), cpuPerDelta: cpu / roundDeltas, chunksPerTurn: chunks, concurrentTurns: plan.sessions };
}

/** Sockets held open and idle across users, what they cost in memory, and how a socket answers afterwards. */
export interface IdleSockets {
  sockets: number;
  users: number;
  /** Seconds the sockets sat idle before the wake-up requests. */
  idleSeconds: number;
  /** Seconds it took to open them all. */
  openSeconds: number;
  answering: number;
  /** Why opening stopped short of the plan, if it did. */
  failure: string | null;
  /** RSS in MB per process role, before opening and once all were open. */
  before: Record<keyof ProcessRoles, number>;
  after: Record<keyof ProcessRoles, number>;
  /** Latency of one request on a socket idle for idleSeconds (one socket per user, one after another). */
  wake: Spread;
}

/** One idle socket: `ask` sends one request and resolves with its answer. */
interface IdleHandle {
  ask(): Promise<unknown>;
  close(): void;
}

/** The idle plan: how many sockets, over how many users, idle for how long. */
export interface IdlePlan {
  sockets: number;
  users: number;
  idleSeconds: number;
}

/**
 * Opens `plan.sockets` sockets spread evenly over `plan.users` users (`open(user)`), measures the RSS of each
 * process role once they are open, lets them sit idle, then times one request on one socket of each of up to 200
 * users (one after another) and asks every socket once (how many answer). Closes them all.
 */
export async function holdIdle(plan: IdlePlan, roles: ProcessRoles, open: (user: number) => Promise<IdleHandle>): Promise<IdleSockets> {
  const before = rssByRole(roles);
  const sockets: IdleHandle[] = [];
  const started = performance.now();
  try {
    let failure: string | null = null;
    // A socket that fails to open (the runtime out of descriptors, say) stops the opening: the phase then reports
    // the sockets it holds and why it stopped, instead of ending the run.
    for (let i = 0; i < plan.sockets && failure === null; i += 200) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(200, plan.sockets - i) }, (_, k) => open((i + k) % plan.users)));
      for (const result of batch) {
        if (result.status === "fulfilled") sockets.push(result.value);
        else failure ??= `socket ${i + 1}..${i + batch.length}: ${(result.reason as Error).message}`;
      }
    }
    if (failure !== null) console.warn(`bench: the idle phase opened ${sockets.length} of ${plan.sockets} sockets (${failure})`);
    const openSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssByRole(roles);
    await new Promise((r) => setTimeout(r, plan.idleSeconds * 1000));
    const wake: number[] = [];
    // sockets[u] is the first socket of user u (sockets go to users round-robin).
    for (let u = 0; u < Math.min(200, plan.users, sockets.length); u++) wake.push((await timed(() => sockets[u]!.ask()))[0]);
    let answering = 0;
    for (let i = 0; i < sockets.length; i += 500) {
      const answers = await Promise.allSettled(sockets.slice(i, i + 500).map((s) => s.ask()));
      answering += answers.filter((a) => a.status === "fulfilled").length;
    }
    return { sockets: sockets.length, users: plan.users, idleSeconds: plan.idleSeconds, openSeconds, answering, failure, before, after, wake: spread(wake) };
  } finally {
    sockets.forEach((s) => s.close());
  }
}

/** The backend's idle sockets: v1 clients of the users seeded as "bench-idle-<i>", each user's on its own hub
 *  (`?user_id=`, AUTH_MODE=none); a request is type 0 (user details). */
export function idleSockets(plan: IdlePlan, wsUrl: string, roles: ProcessRoles): Promise<IdleSockets> {
  return holdIdle(plan, roles, async (user) => {
    const url = new URL(wsUrl);
    url.searchParams.set("user_id", `bench-idle-${user}`);
    const client = await openClient(url.href, `bench-idle-${user}`);
    return { ask: () => client.userDetails(), close: () => client.close() };
  });
}

/** The echo floor holding as many: sockets in rooms (one object per room, as one hub per user). */
export function idleEchoSockets(plan: IdlePlan, port: number, roles: ProcessRoles): Promise<IdleSockets> {
  return holdIdle(plan, roles, async (user) => {
    const socket = await EchoSocket.open(`ws://127.0.0.1:${port}/?room=idle-${user}`);
    return { ask: () => socket.send("ping"), close: () => socket.close() };
  });
}

export type { MeterCounts };

async function meter(base: string, action: "on" | "off" | "reset" | ""): Promise<MeterCounts> {
  const response = await fetch(`${base}/__bench/meter${action ? `/${action}` : ""}`, { method: action ? "POST" : "GET" });
  if (!response.ok) throw new Error(`meter ${action || "read"}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { counts: MeterCounts }).counts;
}

/** What a socket's connect, unary turns, and streamed turns with one watcher bill, as the meter counted them. */
export interface BilledUnits {
  turns: number;
  connect: MeterCounts;
  unary: MeterCounts;
  /** Runtime processes' CPU per unary turn, ms (the agent's and workerd's own included). */
  unaryCpuMs: number;
  /** null when the checkout has no streamed turns (protocol v2). */
  streamed: MeterCounts | null;
  streamedCpuMs: number;
  /** Pieces the agent sends per streamed turn. */
  chunks: number;
}

/**
 * The billable-units phase, on a backend started with the meter (fresh users, so every object it meters is made
 * while it counts): a v1 socket's connect; `plan.billedTurns` sequential unary turns on a warm session; then the
 * same on a v2 socket whose session a second v2 socket of the same user watches (type 2), each reply in 5 pieces.
 * Each count includes the turns' write-behind batches (it waits out the window). Counts are totals over the turns.
 */
export async function billedUnits(plan: Plan, base: string, wsUrl: string, pids: number[], streaming: boolean): Promise<BilledUnits> {
  await meter(base, "on");
  try {
    const userId = await createUser(base);
    await meter(base, "reset");
    const socket = await openClient(wsUrl, userId);
    const connect = await meter(base, "");
    const sessionId = await turn(socket, "NEW", "warm up");
    for (let i = 1; i < 5; i++) await turn(socket, sessionId, `warm ${i}`);
    await new Promise((r) => setTimeout(r, batchWindowMs + 500));
    await meter(base, "reset");
    let cpu = cpuMs(pids);
    for (let i = 0; i < plan.billedTurns; i++) await turn(socket, sessionId, `billed ${i}`);
    await new Promise((r) => setTimeout(r, batchWindowMs + 500));
    const unary = await meter(base, "");
    const unaryCpuMs = (cpuMs(pids) - cpu) / plan.billedTurns;
    socket.close();

    const chunks = 5;
    if (!streaming) return { turns: plan.billedTurns, connect, unary, unaryCpuMs, streamed: null, streamedCpuMs: NaN, chunks };
    const writer = await openClient(wsUrl, userId, { v2: true });
    const watcher = await openClient(wsUrl, userId, { v2: true });
    const streamedSession = await turn(writer, "NEW", `chunks:${chunks} warm up`);
    await watcher.history(streamedSession);
    for (let i = 1; i < 5; i++) await turn(writer, streamedSession, `chunks:${chunks} warm ${i}`);
    let watched = 0;
    watcher.on("turn", (event) => void (event.event === "delta" && watched++));
    await new Promise((r) => setTimeout(r, batchWindowMs + 500));
    await meter(base, "reset");
    cpu = cpuMs(pids);
    for (let i = 0; i < plan.billedTurns; i++) await turn(writer, streamedSession, `chunks:${chunks} billed ${i}`);
    await new Promise((r) => setTimeout(r, batchWindowMs + 500));
    const streamed = await meter(base, "");
    const streamedCpuMs = (cpuMs(pids) - cpu) / plan.billedTurns;
    if (watched < plan.billedTurns) throw new Error(`the watcher saw ${watched} deltas over ${plan.billedTurns} streamed turns`);
    writer.close();
    watcher.close();
    return { turns: plan.billedTurns, connect, unary, unaryCpuMs, streamed, streamedCpuMs, chunks };
  } finally {
    await meter(base, "off");
  }
}
