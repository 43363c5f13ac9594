// The benchmark's report: the figures of bench/results/latest.json (keys, rounding, targets met or missed) from what
// the phases measured for each checkout (and each alternating round), the markdown of docs/benchmarks.md (the
// current checkout's tables, the side-by-side table with a --baseline, idle sockets by process, billable units and
// their cost), and writing both.
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { root } from "../../scripts/lib/lib.ts";
import type { Checkout } from "./baseline.ts";
import type { BilledUnits, CallFloor, EchoFloor, HistoryScaling, IdleSockets, MeterCounts, SequentialTurns, StreamedTurns } from "./phases.ts";
import { costPerMillion, DO_GB, PRICE_TABLE, PRICES_READ_ON, WS_MESSAGES_PER_REQUEST, type Units } from "./prices.ts";
import type { ProcessRoles } from "./proc.ts";
import { batchWindowMs } from "./stack.ts";
import { mapSpread, median, round, type Spread } from "./stats.ts";

/** What the phases measured for one checkout in one alternating round. */
export interface RoundMeasured {
  /** Sequential turns and throughput with devtools' network recording on (as wrangler dev starts; measured in the
   *  first round only, see bench/run.ts), then off. */
  seq: SequentialTurns | null;
  /** Measured in the first round only (see bench/run.ts). */
  throughput: Spread | null;
  seqOff: SequentialTurns;
  throughputOff: Spread;
  history: HistoryScaling;
  /** Streamed turns on v2 sockets (recording off); null where the checkout has none. */
  streamed: StreamedTurns | null;
}

/** Sequential and concurrent turns of one variant of the current checkout, by round. */
export type VariantRounds = { seq: SequentialTurns; throughput: Spread }[];

/** The current checkout with sign-in off and on, measured alternately. */
export interface SignInCompared {
  none: VariantRounds;
  token: VariantRounds;
}

/** The current checkout with its turn log line written and muted (bench/meter/turn-log.ts), measured alternately. */
export interface TurnLogCompared {
  logged: VariantRounds;
  muted: VariantRounds;
}

/** One variant's figures: medians over its rounds. */
export interface VariantFigures {
  seq_p50_ms: number;
  cpu_ms_per_turn: number;
  throughput_per_s: number;
}

/** Everything measured for one checkout. */

export interface StackRun {
  checkout: Checkout;
  rounds: RoundMeasured[];
  /** Idle sockets on the runtime's own port, and (fewer) through wrangler's dev proxy. */
  idle: IdleSockets;
  idleProxied: IdleSockets;
  billed: BilledUnits;
}

/** About the run itself. */
export interface RunInfo {
  quick: boolean;
  rounds: number;
  /** performance.now() when the run started. */
  started: number;
  load: { start: number[]; end: number[] };
  /** Seconds spent preparing and starting the stacks. */
  setupSeconds: number;
  fileLimit: number;
}

export interface TurnFigures {
  seq_p50_ms: number;
  seq_p99_ms: number;
  seq_spread_ms: Spread;
  seq_p50_first50_ms: number;
  seq_p50_last50_ms: number;
  cpu_ms_per_turn: number;
  throughput_per_s: number;
  throughput_rounds_per_s: { p10: number; p50: number; p90: number; n: number };
  ratio_p50_to_echo_p50: number;
  rss_mb_growth_300_turns: number;
}

export interface SubrequestFloor {
  p50_ms: number;
  spread_ms: Spread;
  cpu_ms_per_call: number;
}

/** The figures of one checkout in one round. */
export interface RoundFigures {
  turn: TurnFigures;
  turn_devtools_network_off: TurnFigures;
  history: { last_n_ms_at_100: number; last_n_ms_at_100000: number; spread_at_100_ms: Spread; spread_at_100000_ms: Spread };
  stream: {
    first_delta_overhead_ms: number;
    first_delta_overhead_spread_ms: Spread;
    throughput_deltas_per_s: number;
    throughput_rounds_per_s: { p10: number; p50: number; p90: number; n: number };
    cpu_ms_per_delta: number;
  } | null;
  storage: { writes_per_turn: number; reads_per_turn_warm: number; writes_per_turn_devtools_network_off: number };
}

export interface IdleFigures {
  sockets: number;
  users: number;
  answering: number;
  /** Why fewer sockets were opened than planned, if so. */
  failure: string | null;
  idle_seconds: number;
  open_seconds: number;
  rss_mb_before: Record<keyof ProcessRoles, number>;
  rss_mb_after: Record<keyof ProcessRoles, number>;
  /** (RSS after - before) / sockets, in KB, by process role and for the runtime processes (proxy + runtime). */
  kb_per_socket: Record<keyof ProcessRoles | "runtime_processes", number>;
  wake_p50_ms: number;
  wake_spread_ms: Spread;
}

export interface BillingFigures {
  turns: number;
  connect: Units;
  unary: Units & { cost_per_million_turns_usd: number; cost_parts_usd: Record<string, number>; do_calls_by_method: Record<string, number> };
  streamed: (Units & { cost_per_million_turns_usd: number; cost_parts_usd: Record<string, number>; do_calls_by_method: Record<string, number> }) | null;
  chunks: number;
}

/** One checkout's figures. */
export interface StackFigures {
  label: string;
  commit: string;
  rounds: RoundFigures[];
  idle: IdleFigures;
  idle_through_dev_proxy: IdleFigures;
  billing: BillingFigures;
}

/** bench/results/latest.json. */
export interface Results {
  meta: {
    date: string;
    quick: boolean;
    rounds: number;
    machine: string;
    node: string;
    loadavg_start: number[];
    loadavg_end: number[];
    duration_s: number;
    setup_s: number;
    file_limit: number;
  };
  floor: {
    echo_p50_ms: number;
    echo_spread_ms: Spread;
    echo_throughput_per_s: number;
    echo_with_d1_read_p50_ms: number;
    echo_with_d1_read_spread_ms: Spread;
    d1_read_cpu_ms_per_call: number;
    d1_reads_rss_mb_growth_300: number;
    echo_with_subrequest: SubrequestFloor;
    echo_with_subrequest_devtools_network_off: SubrequestFloor;
    idle: IdleFigures;
    idle_through_dev_proxy: IdleFigures;
  };
  /** The current checkout first, then the baseline (if any). */
  stacks: StackFigures[];
  /** The current checkout with sign-in off and on (AUTH_MODE=none, token), alternating, recording off. */
  sign_in: { none: VariantFigures; token: VariantFigures; rounds: number };
  /** The current checkout with its turn log line written and muted, alternating, recording off. */
  turn_log: { logged: VariantFigures; muted: VariantFigures; rounds: number };
  targets: Record<string, boolean>;
  targets_devtools_network_off: Record<string, boolean>;
}

/** A target and whether it was met. */
export type Verdict = [name: string, ok: boolean];
export interface Targets {
  recorded: Verdict[];
  unrecorded: Verdict[];
}

const ROLES: (keyof ProcessRoles)[] = ["wrangler", "proxy", "runtime"];

function idleFigures(idle: IdleSockets): IdleFigures {
  const per = (role: keyof ProcessRoles) => round(((idle.after[role] - idle.before[role]) * 1024) / idle.sockets, 1);
  return {
    sockets: idle.sockets,
    users: idle.users,
    answering: idle.answering,
    failure: idle.failure,
    idle_seconds: idle.idleSeconds,
    open_seconds: round(idle.openSeconds, 1),
    rss_mb_before: Object.fromEntries(ROLES.map((r) => [r, round(idle.before[r], 1)])) as Record<keyof ProcessRoles, number>,
    rss_mb_after: Object.fromEntries(ROLES.map((r) => [r, round(idle.after[r], 1)])) as Record<keyof ProcessRoles, number>,
    kb_per_socket: {
      wrangler: per("wrangler"),
      proxy: per("proxy"),
      runtime: per("runtime"),
      runtime_processes: round(((idle.after.proxy + idle.after.runtime - idle.before.proxy - idle.before.runtime) * 1024) / idle.sockets, 1),
    },
    wake_p50_ms: round(idle.wake.p50),
    wake_spread_ms: mapSpread(idle.wake),
  };
}

const sum = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);

/** Per-turn units from the meter's totals over `turns` turns. */
function unitsOf(counts: MeterCounts, turns: number, cpuMs: number): Units {
  const per = (x: number) => x / turns;
  const wsMessages = per(sum(counts.wsMessages));
  const doCalls = per(sum(counts.doCalls));
  const alarms = per(counts.alarms);
  const doActiveMs = per(counts.doActiveMs);
  return {
    workerRequests: round(per(counts.workerRequests), 3),
    doCalls: round(doCalls, 3),
    wsMessages: round(wsMessages, 3),
    alarms: round(alarms, 3),
    doRequests: round(doCalls + wsMessages / WS_MESSAGES_PER_REQUEST + alarms, 3),
    doActiveMs: round(doActiveMs, 3),
    doGbSeconds: Number(((doActiveMs / 1000) * DO_GB).toPrecision(4)),
    doRowsRead: round(per(counts.doRowsRead), 3),
    doRowsWritten: round(per(counts.doRowsWritten), 3),
    d1RowsRead: round(per(counts.d1RowsRead), 3),
    d1RowsWritten: round(per(counts.d1RowsWritten), 3),
    d1Queries: round(per(counts.d1Queries), 3),
    subrequests: round(per(sum(counts.subrequests)), 3),
    cpuMs: round(cpuMs, 3),
  };
}

function billingFigures(billed: BilledUnits): BillingFigures {
  const priced = (counts: MeterCounts, cpu: number) => {
    const units = unitsOf(counts, billed.turns, cpu);
    const cost = costPerMillion(units);
    const byMethod = Object.fromEntries(Object.entries(counts.doCalls).map(([k, v]) => [k, round(v / billed.turns, 3)]));
    return { ...units, cost_per_million_turns_usd: round(cost.total, 3), cost_parts_usd: Object.fromEntries(Object.entries(cost.parts).map(([k, v]) => [k, round(v, 4)])), do_calls_by_method: byMethod };
  };
  return {
    turns: billed.turns,
    connect: unitsOf(billed.connect, 1, NaN),
    unary: priced(billed.unary, billed.unaryCpuMs),
    streamed: billed.streamed ? priced(billed.streamed, billed.streamedCpuMs) : null,
    chunks: billed.chunks,
  };
}

function roundFigures(m: RoundMeasured, floor: EchoFloor): RoundFigures {
  const none: Spread = { p10: NaN, p50: NaN, p90: NaN, p99: NaN, n: 0 };
  const noTurns: SequentialTurns = { latency: none, first50: NaN, last50: NaN, cpuPerTurn: NaN, rssGrowth: NaN, writesPerTurn: NaN, readsPerTurn: NaN };
  const turnFigures = (measuredSeq: SequentialTurns | null, measured: Spread | null): TurnFigures => {
    const seq = measuredSeq ?? noTurns;
    const throughput = measured ?? none;
    return {
      seq_p50_ms: round(seq.latency.p50),
      seq_p99_ms: round(seq.latency.p99),
      seq_spread_ms: mapSpread(seq.latency),
      seq_p50_first50_ms: round(seq.first50),
      seq_p50_last50_ms: round(seq.last50),
      cpu_ms_per_turn: round(seq.cpuPerTurn),
      throughput_per_s: round(throughput.p50, 0),
      throughput_rounds_per_s: { p10: round(throughput.p10, 0), p50: round(throughput.p50, 0), p90: round(throughput.p90, 0), n: throughput.n },
      ratio_p50_to_echo_p50: round(seq.latency.p50 / floor.latency.p50, 1),
      rss_mb_growth_300_turns: round(seq.rssGrowth, 1),
    };
  };
  const s = m.streamed;
  return {
    turn: turnFigures(m.seq, m.throughput),
    turn_devtools_network_off: turnFigures(m.seqOff, m.throughputOff),
    history: {
      last_n_ms_at_100: round(m.history[100]!.p50),
      last_n_ms_at_100000: round(m.history[100000]!.p50),
      spread_at_100_ms: mapSpread(m.history[100]!),
      spread_at_100000_ms: mapSpread(m.history[100000]!),
    },
    stream: s && {
      first_delta_overhead_ms: round(s.firstDeltaOverhead.p50),
      first_delta_overhead_spread_ms: mapSpread(s.firstDeltaOverhead),
      throughput_deltas_per_s: round(s.deltasPerSecond.p50, 0),
      throughput_rounds_per_s: { p10: round(s.deltasPerSecond.p10, 0), p50: round(s.deltasPerSecond.p50, 0), p90: round(s.deltasPerSecond.p90, 0), n: s.deltasPerSecond.n },
      cpu_ms_per_delta: round(s.cpuPerDelta, 4),
    },
    storage: {
      writes_per_turn: round((m.seq ?? noTurns).writesPerTurn, 2),
      reads_per_turn_warm: round(m.seqOff.readsPerTurn, 2),
      writes_per_turn_devtools_network_off: round(m.seqOff.writesPerTurn, 2),
    },
  };
}

/** The figures of latest.json and the targets (judged on the current checkout's first round), from what the
 *  phases measured. */
export function summarize(
  info: RunInfo,
  floor: EchoFloor,
  idleFloor: { direct: IdleSockets; proxied: IdleSockets },
  runs: StackRun[],
  signIn: SignInCompared,
  turnLog: TurnLogCompared,
): { results: Results; targets: Targets } {
  const subrequestFloor = (f: CallFloor): SubrequestFloor => ({ p50_ms: round(f.latency.p50), spread_ms: mapSpread(f.latency), cpu_ms_per_call: round(f.cpuPerCall) });
  const stacks: StackFigures[] = runs.map((run) => ({
    label: run.checkout.label,
    commit: run.checkout.commit,
    rounds: run.rounds.map((m) => roundFigures(m, floor)),
    idle: idleFigures(run.idle),
    idle_through_dev_proxy: idleFigures(run.idleProxied),
    billing: billingFigures(run.billed),
  }));
  const results: Omit<Results, "targets" | "targets_devtools_network_off"> = {
    meta: {
      date: new Date().toISOString(),
      quick: info.quick,
      rounds: info.rounds,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
      node: process.version,
      loadavg_start: info.load.start.map((x) => round(x, 2)),
      loadavg_end: info.load.end.map((x) => round(x, 2)),
      duration_s: round((performance.now() - info.started) / 1000, 1),
      setup_s: round(info.setupSeconds, 1),
      file_limit: info.fileLimit,
    },
    floor: {
      echo_p50_ms: round(floor.latency.p50),
      echo_spread_ms: mapSpread(floor.latency),
      echo_throughput_per_s: round(floor.throughput.p50, 0),
      echo_with_d1_read_p50_ms: round(floor.d1.latency.p50),
      echo_with_d1_read_spread_ms: mapSpread(floor.d1.latency),
      d1_read_cpu_ms_per_call: round(floor.d1.cpuPerCall),
      d1_reads_rss_mb_growth_300: round(floor.d1.rssGrowth, 1),
      echo_with_subrequest: subrequestFloor(floor.subrequest.recorded),
      echo_with_subrequest_devtools_network_off: subrequestFloor(floor.subrequest.unrecorded),
      idle: idleFigures(idleFloor.direct),
      idle_through_dev_proxy: idleFigures(idleFloor.proxied),
    },
    stacks,
    sign_in: { none: variantFigures(signIn.none), token: variantFigures(signIn.token), rounds: signIn.none.length },
    turn_log: { logged: variantFigures(turnLog.logged), muted: variantFigures(turnLog.muted), rounds: turnLog.logged.length },
  };
  const current = stacks[0]!;
  const first = current.rounds[0]!;
  const turnTargets = (t: TurnFigures, subrequestP50: number): Verdict[] => [
    ["turn.seq_p50_ms <= 2.0", t.seq_p50_ms <= 2],
    [`turn.seq_p50_ms <= 2.5 x echo-with-one-subrequest p50 (${subrequestP50} ms)`, t.seq_p50_ms <= 2.5 * subrequestP50],
    ["turn.seq_p50_last50_ms <= 1.2 x first50", t.seq_p50_last50_ms <= 1.2 * t.seq_p50_first50_ms],
    ["turn.cpu_ms_per_turn <= 2.0", t.cpu_ms_per_turn <= 2],
    ["turn.throughput_per_s >= 700 (50 sessions)", t.throughput_per_s >= 700],
    ["memory.rss_mb_growth_300_turns <= 20", t.rss_mb_growth_300_turns <= 20],
  ];
  const idle = current.idle;
  const warm = current.billing.unary;
  const accountCalls = Object.entries(warm.do_calls_by_method).filter(([k]) => k.startsWith("ACCOUNTS.")).reduce((a, [, v]) => a + v, 0);
  const unrecorded: Verdict[] = [
    ...turnTargets(first.turn_devtools_network_off, results.floor.echo_with_subrequest_devtools_network_off.p50_ms),
    [`10,000 idle sockets held, every one answering afterwards (${idle.answering} of ${idle.sockets})`, idle.sockets >= 10_000 && idle.answering === idle.sockets],
    [
      `memory per idle socket <= 1.5 x the echo floor's (${idle.kb_per_socket.runtime_processes} vs ${results.floor.idle.kb_per_socket.runtime_processes} KB)`,
      idle.kb_per_socket.runtime_processes <= 1.5 * results.floor.idle.kb_per_socket.runtime_processes,
    ],
    [`a warm turn makes 0 account calls (${round(accountCalls, 3)})`, accountCalls === 0],
    [`a warm turn reads 0 storage rows (Durable Object ${warm.doRowsRead}, D1 ${warm.d1RowsRead})`, warm.doRowsRead === 0 && warm.d1RowsRead === 0],
    [`a warm turn makes <= 1.1 Durable Object requests (${warm.doRequests})`, warm.doRequests <= 1.1],
    signInTarget(results.sign_in),
    ["history at 100,000 <= 1.2 x at 100", first.history.last_n_ms_at_100000 <= 1.2 * first.history.last_n_ms_at_100],
    ...(first.stream
      ? ([
        ["stream.first_delta_overhead_ms <= 1.0", first.stream.first_delta_overhead_ms <= 1],
        ["stream.cpu_ms_per_delta <= 0.1", first.stream.cpu_ms_per_delta <= 0.1],
      ] as Verdict[])
      : []),
  ];
  const targets = { recorded: turnTargets(first.turn, results.floor.echo_with_subrequest.p50_ms), unrecorded };
  return {
    results: { ...results, targets: Object.fromEntries(targets.recorded), targets_devtools_network_off: Object.fromEntries(targets.unrecorded) },
    targets,
  };
}

/** Sign-in on costs at most 10 % on every figure: latency and CPU up, throughput down. */
function signInTarget({ none, token }: Results["sign_in"]): Verdict {
  const ok = token.seq_p50_ms <= 1.1 * none.seq_p50_ms && token.cpu_ms_per_turn <= 1.1 * none.cpu_ms_per_turn && token.throughput_per_s >= none.throughput_per_s / 1.1;
  return [`AUTH_MODE=token within 10 % of none (p50 ${token.seq_p50_ms} vs ${none.seq_p50_ms} ms, CPU ${token.cpu_ms_per_turn} vs ${none.cpu_ms_per_turn} ms, ${token.throughput_per_s} vs ${none.throughput_per_s} turns/s)`, ok];
}

const variantFigures = (rounds: VariantRounds): VariantFigures => ({
  seq_p50_ms: round(median(rounds.map((r) => r.seq.latency.p50))),
  cpu_ms_per_turn: round(median(rounds.map((r) => r.seq.cpuPerTurn))),
  throughput_per_s: round(median(rounds.map((r) => r.throughput.p50)), 0),
});

/** Two variants of the current checkout side by side: the second's figures over the first's. */
function variantsTable(heading: string, intro: string, [aName, a]: [string, VariantFigures], [bName, b]: [string, VariantFigures]): string {
  const ratio = (x: number, y: number) => (y > 0 ? `${round(x / y, 2)}x` : "n/a");
  return `## ${heading}

${intro}

| figure | ${aName} | ${bName} | ${bName} / ${aName} |
|---|---|---|---|
| turn p50 (ms) | ${a.seq_p50_ms} | ${b.seq_p50_ms} | ${ratio(b.seq_p50_ms, a.seq_p50_ms)} |
| CPU per turn (ms) | ${a.cpu_ms_per_turn} | ${b.cpu_ms_per_turn} | ${ratio(b.cpu_ms_per_turn, a.cpu_ms_per_turn)} |
| turns/s (50 sessions) | ${a.throughput_per_s} | ${b.throughput_per_s} | ${ratio(b.throughput_per_s, a.throughput_per_s)} |
`;
}

function signInTable({ none, token, rounds }: Results["sign_in"]): string {
  return variantsTable(
    "Sign-in on and off (current checkout, recording off)",
    `The same Worker started twice, with AUTH_MODE=none (clients name their users) and AUTH_MODE=token (each client
presents a JWT when it connects; the credential is checked then, not per turn), measured alternately, ${rounds} rounds each; medians.`,
    ["none", none],
    ["token", token],
  );
}

function turnLogTable({ logged, muted, rounds }: Results["turn_log"]): string {
  return variantsTable(
    "The turn's log line under `wrangler dev` (current checkout, recording off)",
    `Every turn writes one JSON line with console.log (\`src/observability/log.ts\`), and every figure above includes it.
Here the same Worker runs the same turns with that line written and muted (\`bench/meter/turn-log.ts\` skips the
console.log call; the Worker still builds the line), alternately, ${rounds} rounds each; medians. The difference is
what \`wrangler dev\` does with a console line (its prefixing proxy and the runtime's console, which wrangler's
inspector connection receives); a deployed Worker hands the line to Workers Logs instead, at a cost this machine
cannot measure. The targets are judged with the line written.`,
    ["written", logged],
    ["muted", muted],
  );
}

/** Writes bench/results/latest.json and docs/benchmarks.md, and prints the tables. */
export function writeReport({ results, targets }: { results: Results; targets: Targets }): void {
  writeFileSync(path.join(root, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const table = renderTable(results, targets);
  writeFileSync(path.join(root, "docs/benchmarks.md"), table);
  console.log(`\n${table}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : String(x));

/** The side-by-side figures: name, value in a stack's round (null: not measured there). */
const SIDE_BY_SIDE: [string, (r: RoundFigures) => number | null][] = [
  ["turn p50 ms (recording off)", (r) => r.turn_devtools_network_off.seq_p50_ms],
  ["turn p99 ms (recording off)", (r) => r.turn_devtools_network_off.seq_p99_ms],
  ["CPU ms per turn (recording off)", (r) => r.turn_devtools_network_off.cpu_ms_per_turn],
  ["turns/s, 50 sessions (recording off)", (r) => r.turn_devtools_network_off.throughput_per_s],
  ["RSS MB growth over 300 turns (recording off)", (r) => r.turn_devtools_network_off.rss_mb_growth_300_turns],
  ["turn p50 ms (recording on)", (r) => r.turn.seq_p50_ms],
  ["CPU ms per turn (recording on)", (r) => r.turn.cpu_ms_per_turn],
  ["turns/s, 50 sessions (recording on, one round)", (r) => r.turn.throughput_per_s],
  ["cold session's first turn ms, 100 entries", (r) => r.history.last_n_ms_at_100],
  ["cold session's first turn ms, 100,000 entries", (r) => r.history.last_n_ms_at_100000],
  ["D1 writes per turn (round trips)", (r) => r.storage.writes_per_turn_devtools_network_off],
  ["stream: first-delta overhead p50 ms", (r) => r.stream?.first_delta_overhead_ms ?? null],
  ["stream: deltas/s", (r) => r.stream?.throughput_deltas_per_s ?? null],
  ["stream: CPU ms per delta", (r) => r.stream?.cpu_ms_per_delta ?? null],
];
const SIDE_BY_SIDE_ONCE: [string, (s: StackFigures) => number | null][] = [
  ["Durable Object requests per unary turn (billed)", (s) => s.billing.unary.doRequests],
  ["Durable Object active ms per unary turn", (s) => s.billing.unary.doActiveMs],
  ["USD per million unary turns", (s) => s.billing.unary.cost_per_million_turns_usd],
  ["USD per million streamed turns, one watcher", (s) => s.billing.streamed?.cost_per_million_turns_usd ?? null],
  ["idle socket, KB of runtime processes' RSS", (s) => s.idle.kb_per_socket.runtime_processes],
  ["idle socket's answer after idling, p50 ms", (s) => s.idle.wake_p50_ms],
];

function sideBySide(r: Results): string {
  const [current, baseline] = r.stacks as [StackFigures, StackFigures];
  const rows = SIDE_BY_SIDE.map(([name, get]) => {
    const a = current.rounds.map(get);
    const b = baseline.rounds.map(get);
    const known = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null && Number.isFinite(x));
    const ratio = known(a).length > 0 && known(b).length > 0 ? round(mean(known(b)) / mean(known(a)), 2) : null;
    return `| ${name} | ${a.map(fmt).join(" / ")} | ${b.map(fmt).join(" / ")} | ${fmt(ratio)} |`;
  });
  const once = SIDE_BY_SIDE_ONCE.map(([name, get]) => {
    const a = get(current);
    const b = get(baseline);
    return `| ${name} | ${fmt(a)} | ${fmt(b)} | ${fmt(a !== null && b !== null ? round(b / a, 2) : null)} |`;
  });
  return `## Side by side

The same phases against \`${baseline.label}\` (\`${baseline.commit}\`, built in \`.bench-baseline/\`), alternating: current,
baseline, current, baseline. Each figure is shown per round (round 1 / round 2); the ratio is baseline / current
of their means (above 1: the baseline took more, or for throughputs did more). Billable units, idle sockets and
everything with recording on (whose recorded events take minutes to drain on a busy machine) were measured once
per checkout.

| figure | current \`${current.commit}\` | baseline \`${baseline.commit}\` | ratio baseline / current |
|---|---|---|---|
${[...rows, ...once].join("\n")}
`;
}

function idleTable(r: Results): string {
  const rows: [string, IdleFigures][] = [
    ["echo floor", r.floor.idle],
    ...r.stacks.map((s) => [`backend \`${s.commit}\``, s.idle] as [string, IdleFigures]),
    ["echo floor, through the dev proxy", r.floor.idle_through_dev_proxy],
    ...r.stacks.map((s) => [`backend \`${s.commit}\`, through the dev proxy`, s.idle_through_dev_proxy] as [string, IdleFigures]),
  ];
  const line = ([name, f]: [string, IdleFigures]) =>
    `| ${name} | ${f.sockets} / ${f.users} | ${f.answering} | ${f.open_seconds} | ${f.kb_per_socket.runtime_processes} | ${f.kb_per_socket.proxy} / ${f.kb_per_socket.runtime} / ${f.kb_per_socket.wrangler} | ${ROLES.map((x) => f.rss_mb_after[x]).join(" / ")} | ${f.idle_seconds > 0 ? `${f.wake_p50_ms} (p90 ${f.wake_spread_ms.p90}, p99 ${f.wake_spread_ms.p99}, n=${f.wake_spread_ms.n})` : `not idled: ${f.wake_p50_ms}`} |`;
  const idleSeconds = r.floor.idle.idle_seconds;
  return `## Idle sockets

Each row holds its sockets open at once, spread evenly over its users (the backend: seeded users, each user's sockets
on one hub object through \`?user_id=\`; the echo floor: as many rooms, one object each), measures the RSS of each
process of that \`wrangler dev\` once all are open, leaves them idle ${idleSeconds} s${r.meta.quick ? " (--quick; a full run idles 60 s)" : ""}, then times one request on one
socket of each of up to 200 users, one after another (the backend: type 0, user details; the echo: a text echoed),
and asks every socket once. KB per socket is (RSS after opening - before) / sockets: "dev proxy" is the workerd that
\`wrangler dev\` puts in front (it listens on the port and forwards every request and WebSocket to the runtime),
"runtime" the workerd running the Workers and objects, "wrangler" its Node process. The first rows connect to the
runtime's own port, as clients of a deployed Worker meet no dev proxy (the proxy also holds two descriptors per
socket, more than this machine's limit of ${r.meta.file_limit} allows for 10,000); the rows "through the dev proxy" open 1,000
sockets the way a client of \`wrangler dev\` does, to show what the proxy itself holds.

| | sockets / users | answered afterwards | s to open all | KB per socket, runtime processes | KB per socket: dev proxy / runtime / wrangler | RSS MB after: wrangler / dev proxy / runtime | answer after ${idleSeconds} s idle, p50 ms |
|---|---|---|---|---|---|---|---|
${rows.map(line).join("\n")}
${rows.filter(([, f]) => f.failure).map(([name, f]) => `\n${name}: opening stopped at ${f.sockets} sockets: ${f.failure}`).join("")}`;
}

function billingTable(r: Results): string {
  type Column = { name: string; units: BillingFigures["unary"] | null };
  const columns: Column[] = r.stacks.flatMap((s) => [
    { name: `\`${s.commit}\` unary`, units: s.billing.unary },
    { name: `\`${s.commit}\` streamed, one watcher`, units: s.billing.streamed },
  ]);
  const row = (name: string, get: (u: BillingFigures["unary"]) => string | number, how: string) =>
    `| ${name} | ${columns.map((c) => (c.units ? get(c.units) : "n/a")).join(" | ")} | ${how} |`;
  const calls = (u: BillingFigures["unary"]) => Object.entries(u.do_calls_by_method).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const connect = r.stacks.map((s) => `\`${s.commit}\`: ${s.billing.connect.workerRequests} Worker request, ${s.billing.connect.doCalls} Durable Object request(s), ${s.billing.connect.d1RowsRead} D1 rows read`).join("; ");
  const turns = r.stacks[0]!.billing.turns;
  return `## What a turn costs to run

Counted by the benchmark's meter (\`bench/meter/worker.ts\`): each checkout's Worker runs behind a wrapper that counts
nothing until the benchmark turns it on, then counts for fresh users only (objects made while it counts). Per turn,
over ${turns} sequential turns on a warm session, including the turns' write-behind batches to D1. "Streamed, one
watcher": a v2 socket's turns (the agent answers in ${r.stacks[0]!.billing.chunks} pieces) while a second v2 socket of the same user watches
the session (type 2).

| unit per turn | ${columns.map((c) => c.name).join(" | ")} | counted or derived |
|---|${columns.map(() => "---").join("|")}|---|
${[
  row("Worker requests", (u) => u.workerRequests, "counted: requests reaching the Worker's fetch (a turn arrives on an open socket, in a Durable Object)"),
  row("Durable Object calls (RPC or fetch)", (u) => u.doCalls, "counted: every method call or fetch on a stub, where it is called"),
  row("… by binding and method", calls, "counted"),
  row("incoming WebSocket messages", (u) => u.wsMessages, "counted: webSocketMessage calls of the objects"),
  row("alarms", (u) => u.alarms, "counted: alarm() calls"),
  row("Durable Object requests, billed", (u) => u.doRequests, `derived: calls + WebSocket messages / ${WS_MESSAGES_PER_REQUEST} + alarms`),
  row("Durable Object active ms", (u) => u.doActiveMs, "counted: wall time some handler of an object was running, summed over objects (overlaps once)"),
  row("Durable Object GB-s", (u) => u.doGbSeconds, `derived: active seconds x ${DO_GB} GB; an object that cannot hibernate (a pending timer) bills longer`),
  row("Durable Object rows read", (u) => u.doRowsRead, "derived from counted calls: key-value get/list one row per key (SQL: the cursor's rowsRead)"),
  row("Durable Object rows written", (u) => u.doRowsWritten, "derived from counted calls: put/delete one row per key, setAlarm one (SQL: rowsWritten)"),
  row("D1 rows read", (u) => u.d1RowsRead, "counted: D1's own meta.rows_read of every statement"),
  row("D1 rows written", (u) => u.d1RowsWritten, "counted: D1's meta.rows_written"),
  row("D1 statements", (u) => u.d1Queries, "counted"),
  row("subrequests (not billed)", (u) => u.subrequests, "counted: fetch() and service-binding calls (the agent)"),
  row("CPU ms, runtime processes", (u) => u.cpuMs, "measured: workerd's CPU over the turns / turns, the in-process agent's included; Durable Objects bill duration, not CPU"),
  row("**USD per million turns**", (u) => `**${u.cost_per_million_turns_usd}**`, "derived: the units above at the prices below (beyond included usage; Worker CPU: none, no Worker runs per turn)"),
].join("\n")}

Opening a socket: ${connect}.

Cloudflare's published Workers Paid prices, read on ${PRICES_READ_ON}:

${PRICE_TABLE}
`;
}

export function renderTable(r: Results, targets: Targets): string {
  const row = (name: string, value: string | number, note = "") => `| ${name} | ${value} | ${note} |`;
  const s = (x: Spread) => `p10 ${x.p10} / p90 ${x.p90} / p99 ${x.p99} (n=${x.n})`;
  const current = r.stacks[0]!;
  const first = current.rounds[0]!;
  const on = first.turn;
  const off = first.turn_devtools_network_off;
  const sub = r.floor.echo_with_subrequest;
  const subOff = r.floor.echo_with_subrequest_devtools_network_off;
  const both = (name: string, key: keyof TurnFigures, note = "") => `| ${name} | ${on[key]} | ${off[key]} | ${note} |`;
  const verdicts = (list: Verdict[]) => list.map(([name, ok]) => `- ${ok ? "met" : "MISSED"}: ${name}`).join("\n");
  const baseline = r.stacks[1];
  const command = `npm run bench${r.meta.quick || baseline ? " --" : ""}${r.meta.quick ? " --quick" : ""}${baseline ? ` --baseline ${baseline.label}` : ""}`;
  const stream = first.stream;
  return `# Benchmarks

Measured by \`${command}\` on ${r.meta.date.slice(0, 10)}, commit \`${current.commit}\`${baseline ? ` against \`${baseline.commit}\`` : ""}, ${r.meta.machine},
Node ${r.meta.node}, through \`wrangler dev\` (workerd on 127.0.0.1), AUTH_MODE=none. Load average ${r.meta.loadavg_start.join(" / ")} at the
start and ${r.meta.loadavg_end.join(" / ")} at the end (2 cores: above 2 the numbers are noisy). Run took ${r.meta.duration_s} s (${r.meta.setup_s} s of it
building and starting the stacks).
${Math.max(r.meta.loadavg_start[0] ?? 0, r.meta.loadavg_end[0] ?? 0) > os.cpus().length ? `
**The machine was busy with other work during this run (load average above its ${os.cpus().length} cores): every timing below is
noisy and only good for checking that the benchmark works; the counts (requests, rows, round trips) do not depend on it.**
` : ""}
## How to read it
- **floor** is a bare Durable Object that accepts WebSockets with the Hibernation API and echoes, in the same
  runtime and the same run: the cost of a WebSocket round trip through \`wrangler dev\` itself. Compare turn figures
  with it, not with numbers from another run or machine. Two more floors add one D1 \`select 1\`, or one
  service-binding fetch (a subrequest, as each agent call is), to each echo.
- **turn** is a chat message (type 3) answered end to end: hub object → session object → agent over Connect
  (\`bench/instant-agent\`: answers at once, a bare Connect responder whose ProcessStream sends the reply as one
  chunk, since it shares the runtime process and its CPU counts in every turn) → the turn journaled in the session object's own storage → reply. The summary
  (a second agent call) runs after the reply and before the next turn; the database gets the turns in batches
  of up to ${batchWindowMs} ms (\`STORE_BATCH_WINDOW_MS\`), and the sequential figures wait for that batch before they
  read CPU and storage counts. Latencies are medians after a warm-up, with the spread beside them. CPU is the
  runtime processes' (wrangler's proxy and the workerd running the Workers) user + system time divided by turns.
  wrangler's Node process is not counted: with recording on it spends several ms per turn logging, and it keeps
  doing so after a phase ends, so each phase starts only once every wrangler process is quiet.
- **devtools network recording**: \`wrangler dev\` enables DevTools' Network domain when it starts, so the runtime
  reports every subrequest (each D1 query, each agent call) to wrangler's inspector proxy, which forwards and
  logs each event in wrangler's Node process. A deployed Worker has no inspector. The benchmark measures the turn
  twice: as \`wrangler dev\` starts (recording on), then with recording turned off through wrangler's own inspector
  port (what closing the Network panel does). The subrequest floor shows the same difference without the backend.
  With recording on, wrangler's inspector proxy also makes one HTTP request to its Node process per recorded event:
  under sustained load they pile up until workerd runs out of file descriptors, so that column's throughput is
  one round of turns, not several.
- **logs**: every turn writes one JSON log line (\`src/observability/log.ts\`), and the turn figures include it.
  Under \`wrangler dev\` a console line costs the runtime far more than the Worker's part of it (building the line):
  the section "The turn's log line" below runs the same turns with it written and muted. A deployed Worker hands
  log lines to Workers Logs instead; that cost cannot be measured here.
- **history** times the first turn on a cold session holding 100 vs 100,000 entries: the context is built from
  storage by reading only the newest entries through the primary key.
- **stream** is protocol v2 (\`/ws?v=2\`): turns whose reply streams as type-7 deltas, against an agent that runs
  in the benchmark's own Node process (\`bench/lib/stream-agent.ts\`, reached over the network by a second backend
  with \`AI_SERVER_URL\`), so the agent's "first chunk written" and the client's "first delta received" share
  one clock. Recording is off for it.
- **storage** counts D1 round trips (statements or batches) with \`STORAGE_METRICS\`, not estimates. A session
  commits what its object journaled in ordered batches of a few statements each, however many turns they carry.
- **side by side** (\`--baseline <ref>\`): the ref is checked out as a git worktree in \`.bench-baseline/<sha>\`
  (git-ignored, kept between runs) with its own dependencies (this checkout's \`node_modules\` hard-linked when its
  \`package-lock.json\` is the same, else \`npm ci\`) and its own generated code, and run with its own
  \`wrangler.toml\` (upgrade limiter removed, AUTH_MODE=none set explicitly, as for this checkout). Both stacks and
  the echo floor run at once; each phase runs current, baseline, current, baseline, so slow drift of the machine
  falls on both. The instant agent and the benchmark's client are this checkout's for both.
- **billable units** and **idle sockets**: see their sections below.

## Floors

| figure | value | spread / note |
|---|---|---|
${[
  row("floor.echo_p50_ms", r.floor.echo_p50_ms, s(r.floor.echo_spread_ms)),
  row("floor.echo_throughput_per_s", r.floor.echo_throughput_per_s, `50 sockets x 20 round trips, median of ${r.meta.rounds} rounds`),
  row("floor.echo_with_d1_read_p50_ms", r.floor.echo_with_d1_read_p50_ms, `the echo plus one D1 \`select 1\`: ${s(r.floor.echo_with_d1_read_spread_ms)}`),
  row("floor.d1_read_cpu_ms_per_call", r.floor.d1_read_cpu_ms_per_call, "runtime processes' CPU per echo with one D1 read"),
  row("floor.d1_reads_rss_mb_growth_300", r.floor.d1_reads_rss_mb_growth_300, "RSS growth over 300 echoes with one D1 read each"),
  row("echo + one subrequest, p50 (recording on / off)", `${sub.p50_ms} / ${subOff.p50_ms}`, `off: ${s(subOff.spread_ms)}`),
  row("echo + one subrequest, CPU ms (recording on / off)", `${sub.cpu_ms_per_call} / ${subOff.cpu_ms_per_call}`, "runtime processes' CPU per echo with one fetch"),
].join("\n")}

${baseline ? sideBySide(r) : ""}
## Turns (\`${current.commit}\`${baseline ? ", round 1" : ""})

| figure | devtools network recording on (as \`wrangler dev\` starts) | recording off | note |
|---|---|---|---|
${[
  both("turn.seq_p50_ms", "seq_p50_ms", `off: ${s(off.seq_spread_ms)}; on: ${s(on.seq_spread_ms)}`),
  both("turn.seq_p99_ms", "seq_p99_ms", "one session, 300 sequential turns"),
  both("turn.seq_p50_first50_ms", "seq_p50_first50_ms"),
  both("turn.seq_p50_last50_ms", "seq_p50_last50_ms"),
  both("turn.ratio_p50_to_echo_p50", "ratio_p50_to_echo_p50"),
  both("turn.cpu_ms_per_turn", "cpu_ms_per_turn", "runtime processes' CPU / turns"),
  both("turn.throughput_per_s", "throughput_per_s", `50 sessions x 20 sequential turns, concurrently; off: median of ${r.meta.rounds} rounds, p10 ${off.throughput_rounds_per_s.p10} / p90 ${off.throughput_rounds_per_s.p90}; on: one round (see above)`),
  both("memory.rss_mb_growth_300_turns", "rss_mb_growth_300_turns", "runtime processes' RSS"),
].join("\n")}

## History, storage (\`${current.commit}\`)

| figure | value | spread / note |
|---|---|---|
${[
  row("history.last_n_ms_at_100", first.history.last_n_ms_at_100, s(first.history.spread_at_100_ms)),
  row("history.last_n_ms_at_100000", first.history.last_n_ms_at_100000, s(first.history.spread_at_100000_ms)),
  row("storage.writes_per_turn", first.storage.writes_per_turn, `D1 round trips per turn (turn and summary batches); ${first.storage.writes_per_turn_devtools_network_off} with recording off`),
  row("storage.reads_per_turn_warm", first.storage.reads_per_turn_warm, "D1 round trips"),
].join("\n")}

## Streamed turns (protocol v2, recording off, \`${current.commit}\`)

| figure | value | spread / note |
|---|---|---|
${stream ? [
  row("stream.first_delta_overhead_ms", stream.first_delta_overhead_ms, `client got the first delta minus agent wrote the first chunk, sequential turns of 5 chunks 2 ms apart: ${s(stream.first_delta_overhead_spread_ms)}`),
  row("stream.throughput_deltas_per_s", stream.throughput_deltas_per_s, `50 concurrent turns of 50 chunks; CPU includes the turns' own work (agent call, journal, summary, commits); median of ${stream.throughput_rounds_per_s.n} rounds, p10 ${stream.throughput_rounds_per_s.p10} / p90 ${stream.throughput_rounds_per_s.p90}`),
  row("stream.cpu_ms_per_delta", stream.cpu_ms_per_delta, "runtime processes' CPU over those rounds / deltas"),
].join("\n") : row("(none)", "n/a", "this checkout has no protocol v2")}

${signInTable(r.sign_in)}
${turnLogTable(r.turn_log)}
${idleTable(r)}
${billingTable(r)}
## Targets (\`${current.commit}\`${baseline ? ", round 1" : ""})

As \`wrangler dev\` starts (devtools network recording on):

${verdicts(targets.recorded)}

With devtools network recording off (as the issue's targets are stated):

${verdicts(targets.unrecorded)}
`;
}
