// The benchmark's report: the figures of bench/results/latest.json (keys, rounding, targets met or missed) from what
// the phases measured, the markdown of docs/benchmarks.md, and writing both.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { root } from "../../tools/lib.ts";
import type { CallFloor, EchoFloor, HistoryScaling, IdleSockets, SequentialTurns, StreamedTurns } from "./phases.ts";
import { batchWindowMs } from "./stack.ts";
import { mapSpread, round, type Spread } from "./stats.ts";

/** What the phases measured, in the order bench/run.ts runs them. */
export interface Measured {
  floor: EchoFloor;
  /** Sequential turns and throughput with devtools' network recording on (as wrangler dev starts), then off. */
  seq: SequentialTurns;
  throughput: Spread;
  seqOff: SequentialTurns;
  throughputOff: Spread;
  history: HistoryScaling;
  idle: IdleSockets;
  /** Streamed turns on v2 sockets (recording off). */
  streamed: StreamedTurns;
}

/** About the run itself. */
export interface RunInfo {
  quick: boolean;
  rounds: number;
  /** performance.now() when the run started. */
  started: number;
  load: { start: number[]; end: number[] };
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

/** bench/results/latest.json. */
export interface Results {
  meta: {
    date: string;
    commit: string;
    quick: boolean;
    rounds: number;
    machine: string;
    node: string;
    loadavg_start: number[];
    loadavg_end: number[];
    duration_s: number;
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
  };
  turn: TurnFigures;
  turn_devtools_network_off: TurnFigures;
  history: {
    last_n_ms_at_100: number;
    last_n_ms_at_100000: number;
    spread_at_100_ms: Spread;
    spread_at_100000_ms: Spread;
    note: string;
  };
  idle: { sockets: number; answering: number; rss_mb_before: number; rss_mb_after: number };
  stream: {
    first_delta_overhead_ms: number;
    first_delta_overhead_spread_ms: Spread;
    throughput_deltas_per_s: number;
    throughput_rounds_per_s: { p10: number; p50: number; p90: number; n: number };
    cpu_ms_per_delta: number;
    note: string;
  };
  storage: { writes_per_turn: number; reads_per_turn_warm: number; writes_per_turn_devtools_network_off: number };
  memory: { rss_mb_growth_300_turns: number };
  targets: Record<string, boolean>;
  targets_devtools_network_off: Record<string, boolean>;
}

/** A target and whether it was met. */
export type Verdict = [name: string, ok: boolean];
export interface Targets {
  recorded: Verdict[];
  unrecorded: Verdict[];
}

/** The figures of latest.json and the targets, from what the phases measured. */
export function summarize(info: RunInfo, { floor, seq, throughput, seqOff, throughputOff, history, idle, streamed }: Measured): { results: Results; targets: Targets } {
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  })();
  const turnFigures = (seq: SequentialTurns, throughput: Spread): TurnFigures => ({
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
  });
  const subrequestFloor = (f: CallFloor): SubrequestFloor => ({
    p50_ms: round(f.latency.p50),
    spread_ms: mapSpread(f.latency),
    cpu_ms_per_call: round(f.cpuPerCall),
  });
  const measured = {
    meta: {
      date: new Date().toISOString(),
      commit,
      quick: info.quick,
      rounds: info.rounds,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
      node: process.version,
      loadavg_start: info.load.start.map((x) => round(x, 2)),
      loadavg_end: info.load.end.map((x) => round(x, 2)),
      duration_s: round((performance.now() - info.started) / 1000, 1),
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
    },
    turn: turnFigures(seq, throughput),
    turn_devtools_network_off: turnFigures(seqOff, throughputOff),
    history: {
      last_n_ms_at_100: round(history[100]!.p50),
      last_n_ms_at_100000: round(history[100000]!.p50),
      spread_at_100_ms: mapSpread(history[100]!),
      spread_at_100000_ms: mapSpread(history[100000]!),
      note: "first turn on a cold session (its context built from storage); type 2 has no paging",
    },
    idle: { sockets: idle.sockets, answering: idle.answering, rss_mb_before: round(idle.before, 1), rss_mb_after: round(idle.after, 1) },
    stream: {
      first_delta_overhead_ms: round(streamed.firstDeltaOverhead.p50),
      first_delta_overhead_spread_ms: mapSpread(streamed.firstDeltaOverhead),
      throughput_deltas_per_s: round(streamed.deltasPerSecond.p50, 0),
      throughput_rounds_per_s: {
        p10: round(streamed.deltasPerSecond.p10, 0),
        p50: round(streamed.deltasPerSecond.p50, 0),
        p90: round(streamed.deltasPerSecond.p90, 0),
        n: streamed.deltasPerSecond.n,
      },
      cpu_ms_per_delta: round(streamed.cpuPerDelta, 4),
      note: `${streamed.concurrentTurns} concurrent turns of ${streamed.chunksPerTurn} chunks; CPU includes the turns' own work (agent call, journal, summary, commits)`,
    },
    storage: {
      writes_per_turn: round(seq.writesPerTurn, 2),
      reads_per_turn_warm: round(seq.readsPerTurn, 2),
      writes_per_turn_devtools_network_off: round(seqOff.writesPerTurn, 2),
    },
    memory: { rss_mb_growth_300_turns: round(seq.rssGrowth, 1) },
  };
  const turnTargets = (t: TurnFigures): Verdict[] => [
    ["turn.seq_p50_ms <= 5", t.seq_p50_ms <= 5],
    ["turn.seq_p50_last50_ms <= 1.2 x first50", t.seq_p50_last50_ms <= 1.2 * t.seq_p50_first50_ms],
    ["turn.cpu_ms_per_turn <= 2", t.cpu_ms_per_turn <= 2],
    ["turn.throughput_per_s >= 700", t.throughput_per_s >= 700],
    ["memory.rss_mb_growth_300_turns <= 20", t.rss_mb_growth_300_turns <= 20],
  ];
  const shared: Verdict[] = [
    ["history at 100,000 <= 1.2 x at 100", measured.history.last_n_ms_at_100000 <= 1.2 * measured.history.last_n_ms_at_100],
    ["storage.reads_per_turn_warm = 0", measured.storage.reads_per_turn_warm === 0],
    ["storage.writes_per_turn <= 2", measured.storage.writes_per_turn <= 2],
    ["1,000 idle sockets held, each answering", measured.idle.sockets >= 1000 && measured.idle.answering === measured.idle.sockets],
  ];
  const streamTargets: Verdict[] = [["stream.first_delta_overhead_ms <= 2", measured.stream.first_delta_overhead_ms <= 2]];
  const targets = {
    recorded: [...turnTargets(measured.turn), ...shared],
    unrecorded: [...turnTargets(measured.turn_devtools_network_off), ...streamTargets],
  };
  return {
    results: { ...measured, targets: Object.fromEntries(targets.recorded), targets_devtools_network_off: Object.fromEntries(targets.unrecorded) },
    targets,
  };
}

/** Writes bench/results/latest.json and docs/benchmarks.md, and prints the table. */
export function writeReport(results: Results, targets: Targets): void {
  writeFileSync(path.join(root, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const table = renderTable(results, targets);
  writeFileSync(path.join(root, "docs/benchmarks.md"), table);
  console.log(`\n${table}`);
}

export function renderTable(r: Results, targets: Targets): string {
  const row = (name: string, value: string | number, note = "") => `| ${name} | ${value} | ${note} |`;
  const s = (x: Spread) => `p10 ${x.p10} / p90 ${x.p90} / p99 ${x.p99} (n=${x.n})`;
  const on = r.turn;
  const off = r.turn_devtools_network_off;
  const sub = r.floor.echo_with_subrequest;
  const subOff = r.floor.echo_with_subrequest_devtools_network_off;
  const both = (name: string, key: keyof TurnFigures, note = "") => `| ${name} | ${on[key]} | ${off[key]} | ${note} |`;
  const verdicts = (list: Verdict[]) => list.map(([name, ok]) => `- ${ok ? "met" : "MISSED"}: ${name}`).join("\n");
  return `# Benchmarks

Measured by \`npm run bench${r.meta.quick ? " -- --quick" : ""}\` on ${r.meta.date.slice(0, 10)}, commit \`${r.meta.commit}\`, ${r.meta.machine},
Node ${r.meta.node}, through \`wrangler dev\` (workerd on 127.0.0.1). Load average ${r.meta.loadavg_start.join(" / ")} at the
start and ${r.meta.loadavg_end.join(" / ")} at the end (2 cores: above 2 the numbers are noisy). Run took ${r.meta.duration_s} s.

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
  Under \`wrangler dev\`, workerd's \`console.log\` (behind wrangler's prefixing proxy) took 1.0-2.2 ms of the
  isolate's sampled time per line in \`npm run bench:profile -- --sessions 1\` (\`logTurn\`'s total time): a large part
  of what sequential turns gained since the logs came in. A deployed Worker hands log lines to Workers Logs instead;
  that cost cannot be measured here.
- **history** times the first turn on a cold session holding 100 vs 100,000 entries: the context is built from
  storage by reading only the newest entries through the primary key.
- **stream** is protocol v2 (\`/ws?v=2\`): turns whose reply streams as type-7 deltas, against an agent that runs
  in the benchmark's own Node process (\`bench/lib/stream-agent.ts\`, reached over the network by a second backend
  with \`AI_SERVER_URL\`), so the agent's "first chunk written" and the client's "first delta received" share
  one clock. Recording is off for it.
- **storage** counts D1 round trips (statements or batches) with \`STORAGE_METRICS\`, not estimates. A session
  commits what its object journaled in ordered batches of a few statements each, however many turns they carry.

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

## Turns

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

## History, idle sockets, storage

| figure | value | spread / note |
|---|---|---|
${[
  row("history.last_n_ms_at_100", r.history.last_n_ms_at_100, s(r.history.spread_at_100_ms)),
  row("history.last_n_ms_at_100000", r.history.last_n_ms_at_100000, s(r.history.spread_at_100000_ms)),
  row("idle.sockets", `${r.idle.sockets} (${r.idle.answering} answered afterwards)`, ""),
  row("idle.rss_mb_before / after", `${r.idle.rss_mb_before} / ${r.idle.rss_mb_after}`, "runtime processes' RSS"),
  row("storage.writes_per_turn", r.storage.writes_per_turn, `D1 round trips per turn (turn and summary batches); ${r.storage.writes_per_turn_devtools_network_off} with recording off`),
  row("storage.reads_per_turn_warm", r.storage.reads_per_turn_warm, "D1 round trips"),
].join("\n")}

## Streamed turns (protocol v2, recording off)

| figure | value | spread / note |
|---|---|---|
${[
  row("stream.first_delta_overhead_ms", r.stream.first_delta_overhead_ms, `client got the first delta minus agent wrote the first chunk, sequential turns of 5 chunks 2 ms apart: ${s(r.stream.first_delta_overhead_spread_ms)}`),
  row("stream.throughput_deltas_per_s", r.stream.throughput_deltas_per_s, `${r.stream.note}; median of ${r.stream.throughput_rounds_per_s.n} rounds, p10 ${r.stream.throughput_rounds_per_s.p10} / p90 ${r.stream.throughput_rounds_per_s.p90}`),
  row("stream.cpu_ms_per_delta", r.stream.cpu_ms_per_delta, "runtime processes' CPU over those rounds / deltas"),
].join("\n")}

## Targets

As \`wrangler dev\` starts (devtools network recording on):

${verdicts(targets.recorded)}

With devtools network recording off:

${verdicts(targets.unrecorded)}
`;
}
