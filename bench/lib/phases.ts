// The benchmark's measured phases: the echo floors, sequential and concurrent turns, history scaling and idle
// sockets, each returning its raw figures (latency spreads, throughput, CPU, RSS, storage counts).
import { createUser, EchoSocket, openClient, storageCounts, timed, turn, type ChatClient, type TurnEvent } from "./client.ts";
import type { StreamAgent } from "./stream-agent.ts";
import { cpuMs, quiesce, rssMb, withWrangler } from "./proc.ts";
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
  idleSockets: number;
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

export interface IdleSockets {
  sockets: number;
  answering: number;
  before: number;
  after: number;
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

export async function sequentialTurns(plan: Plan, base: string, wsUrl: string, pids: number[]): Promise<SequentialTurns> {
  const userId = await createUser(base);
  const socket = await openClient(wsUrl, userId);
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
export async function concurrentTurns(plan: Plan, base: string, wsUrl: string, rounds: number): Promise<Spread> {
  const users = await Promise.all(Array.from({ length: plan.sessions }, () => createUser(base)));
  const sockets = await Promise.all(users.map((u) => openClient(wsUrl, u)));
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

export async function historyScaling(wsUrl: string, seeded: SeededHistories): Promise<HistoryScaling> {
  const socket = await openClient(wsUrl, seeded.userId);
  const result: HistoryScaling = {};
  for (const [size, ids] of Object.entries(seeded.sessions)) {
    const latencies: number[] = [];
    // Each seeded session's object is cold: its first turn builds the agent's context from storage.
    for (const id of ids) latencies.push((await timed(() => turn(socket, id, "continue")))[0]);
    result[size] = spread(latencies);
  }
  socket.close();
  return result;
}

export async function idleSockets(plan: Plan, wsUrl: string, base: string, pids: number[]): Promise<IdleSockets> {
  const userId = await createUser(base);
  const before = rssMb(pids);
  const sockets: ChatClient[] = [];
  for (let i = 0; i < plan.idleSockets; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, plan.idleSockets - i) }, () => openClient(wsUrl, userId)))));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMb(pids);
  const answers = await Promise.allSettled(sockets.map((s) => s.userDetails()));
  sockets.forEach((s) => s.close());
  return { sockets: sockets.length, answering: answers.filter((a) => a.status === "fulfilled").length, before, after };
}

/**
 * Streamed turns on v2 sockets, against an agent in this process: the time from the agent writing a turn's first
 * chunk to the client receiving its first delta (sequential turns of 5 chunks 2 ms apart), then deltas a second
 * and runtime CPU per delta with `plan.sessions` turns of 50 chunks each streaming at once.
 */
export async function streamedTurns(plan: Plan, base: string, wsUrl: string, agent: StreamAgent, pids: number[]): Promise<StreamedTurns> {
  const userId = await createUser(base);
  const socket = await openClient(wsUrl, userId, { v2: true });
  const firstDeltaAt = new Map<string, number>();
  let sent = "";
  socket.on("turn", (event) => {
    const at = performance.now();
    if (event.event === "delta" && event.seq === 0) firstDeltaAt.set(sent, at);
  });
  sent = "chunks:5 gap:2 warm 0";
  const sessionId = await turn(socket, "NEW", sent);
  for (let i = 1; i < plan.warmTurns; i++) await turn(socket, sessionId, (sent = `chunks:5 gap:2 warm ${i}`));
  const overheads: number[] = [];
  for (let i = 0; i < plan.seqTurns; i++) {
    await turn(socket, sessionId, (sent = `chunks:5 gap:2 turn ${i}`));
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
