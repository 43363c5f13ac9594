// npm run bench [-- --quick]: measures a chat turn against the runtime's own floor (a bare hibernating
// Durable Object echo, same runtime, same run), how cost grows with history and concurrency, and what idle
// sockets cost. Starts what it needs on 127.0.0.1 (the backend with an instant agent, the echo floor), stops
// all of it, prints a table, writes bench/results/latest.json and docs/benchmarks.md.
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { bin, offlineEnv, root, run } from "../tools/lib.ts";

const quick = process.argv.includes("--quick");
const plan = quick
  ? { echoWarm: 20, echoCount: 200, warmTurns: 20, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 3, historySessions: 2, idleSockets: 1000 }
  : { echoWarm: 50, echoCount: 500, warmTurns: 50, seqTurns: 300, sessions: 50, turnsPerSession: 20, rounds: 5, historySessions: 5, idleSockets: 1000 };
const ADMIN = "bench-admin-token";
/** The backend's write-behind window, as wrangler.toml ships it. */
const batchWindowMs = Number(/^STORE_BATCH_WINDOW_MS = "(\d+)"/m.exec(readFileSync(path.join(root, "wrangler.toml"), "utf8"))?.[1] ?? 1000);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

// ---------- statistics ----------
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => {
  const s = sorted(xs);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const median = (xs) => quantile(xs, 0.5);
const spread = (xs) => ({ p10: quantile(xs, 0.1), p50: median(xs), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), n: xs.length });
const round = (x, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

// ---------- processes ----------
async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  const out = [];
  const walk = (p) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

/** Every process of a wrangler dev, its Node processes too (with devtools' network recording on, wrangler's
 *  Node process logs every subrequest's events, for a while after they happened). */
const withWrangler = (wranglerPid) => [wranglerPid, ...descendants(wranglerPid)];

/** The workerd processes (proxy and runtime) that a wrangler dev process runs. */
const runtimePids = (wranglerPid) => descendants(wranglerPid).filter((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("workerd");
  } catch {
    return false;
  }
});

function cpuMs(pids) {
  return pids.reduce((sum, p) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    } catch {
      return sum;
    }
  }, 0);
}

function rssMb(pids) {
  return pids.reduce((sum, p) => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
      return sum + kb / 1024;
    } catch {
      return sum;
    }
  }, 0);
}

async function startWrangler(name, args, port) {
  const inspectorPort = await freePort();
  const child = spawn(bin("wrangler"), ["dev", ...args, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)], {
    cwd: root,
    env: offlineEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Everything wrangler prints goes to bench/results/<name>.log; memory keeps only what startup needs.
  const log = createWriteStream(path.join(root, "bench/results", `${name.replace(/\W+/g, "-")}.log`));
  let output = "";
  const collect = (chunk) => {
    log.write(chunk);
    output = (output + chunk).slice(-64 * 1024);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    if (output.includes("Ready on")) break;
    if (i > 600) throw new Error(`${name} did not start within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    inspectorPort,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.kill("SIGTERM")))),
  };
}

/**
 * Turns devtools' network recording on or off through wrangler's own inspector port, as closing DevTools' Network
 * panel would. wrangler dev turns it on at start: the runtime then reports every subrequest (each D1 query, each
 * service-binding call) to wrangler's inspector proxy and on to its Node process, which logs it. A deployed
 * Worker has no inspector; this shows what that recording costs.
 */
async function setDevtoolsNetwork(inspectorPort, on) {
  const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  const answered = new Promise((resolve) => ws.on("message", (data) => JSON.parse(String(data)).id === 1 && resolve()));
  ws.send(JSON.stringify({ id: 1, method: on ? "Network.enable" : "Network.disable" }));
  await answered;
  ws.close();
}

/**
 * Waits (at most 30 s) until these processes use under 5% of a core: wrangler's Node process can still be writing
 * the log of an earlier phase's subrequests, and that would compete with the next phase for the 2 cores.
 */
async function quiesce(pids) {
  for (let i = 0; i < 60; i++) {
    const before = cpuMs(pids);
    await new Promise((r) => setTimeout(r, 500));
    if (cpuMs(pids) - before < 25) return;
  }
  console.warn("processes still busy after 30 s; measuring anyway");
}

// ---------- clients ----------
class Socket {
  constructor(ws) {
    this.ws = ws;
    this.waiting = [];
    ws.on("message", (data) => this.waiting.shift()?.(String(data)));
  }
  static open(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve(new Socket(ws)));
      ws.once("error", reject);
    });
  }
  send(text) {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.ws.send(text);
    });
  }
  async request(frame) {
    return JSON.parse(await this.send(JSON.stringify(frame)));
  }
  close() {
    this.ws.close();
  }
}

async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

async function createUser(base, balance = 1000) {
  const response = await fetch(`${base}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ username: "bench", models: [4], balance }),
  });
  if (response.status !== 201) throw new Error(`createUser ${response.status}: ${await response.text()}`);
  return (await response.json()).user_id;
}

const chatFrame = (userId, sessionId, message) => ({
  type: 3,
  data: { user_id: userId, session_id: sessionId, model_name: "gpt-4-turbo", message, session_prompt: "Be brief." },
});

async function turn(socket, userId, sessionId, message) {
  const answer = await socket.request(chatFrame(userId, sessionId, message));
  if (answer.error) throw new Error(`turn failed: ${JSON.stringify(answer)}`);
  return answer.data.session_id;
}

const storageCounts = async (base) => (await fetch(`${base}/__metrics/storage`)).json();

// ---------- seeding long histories (before the backend starts: same local D1 state) ----------
function seedHistories(stateDir, sizes) {
  const userId = "bench-history-user";
  const statements = [
    `INSERT INTO users (id, username, balance_micros, created_at) VALUES ('${userId}', 'history', 1000000000, 0) ON CONFLICT DO NOTHING;`,
    `INSERT INTO user_models (user_id, model_id) VALUES ('${userId}', 4) ON CONFLICT DO NOTHING;`,
  ];
  const sessions = {};
  for (const [size, count] of sizes) {
    sessions[size] = [];
    for (let k = 0; k < count; k++) {
      const id = crypto.randomUUID();
      sessions[size].push(id);
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

// ---------- scenarios ----------
/** Latency and runtime processes' CPU of echoes of frames starting with `prefix`. */
async function floorOf(socket, prefix, pids, wranglerPid) {
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`${prefix} warm ${i}`);
  const before = { cpu: cpuMs(pids) };
  const latencies = [];
  for (let i = 0; i < plan.seqTurns; i++) latencies.push((await timed(() => socket.send(`${prefix} ${i}`)))[0]);
  const cpu = cpuMs(pids) - before.cpu;
  await quiesce(withWrangler(wranglerPid)); // wrangler's Node process may still be logging these calls
  return { latency: spread(latencies), cpuPerCall: cpu / plan.seqTurns };
}

async function echoFloor(port, pids, echo) {
  const socket = await Socket.open(`ws://127.0.0.1:${port}/`);
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`warm ${i}`);
  const latencies = [];
  for (let i = 0; i < plan.echoCount; i++) latencies.push((await timed(() => socket.send(`ping ${i}`)))[0]);
  // The same round trip with one D1 query in it: what a single D1 round trip costs in this runtime.
  for (let i = 0; i < plan.echoWarm; i++) await socket.send(`d1: warm ${i}`);
  const d1Before = { cpu: cpuMs(pids), rss: rssMb(pids) };
  const d1Latencies = [];
  for (let i = 0; i < plan.seqTurns; i++) d1Latencies.push((await timed(() => socket.send(`d1: ${i}`)))[0]);
  const d1 = { latency: spread(d1Latencies), cpuPerCall: (cpuMs(pids) - d1Before.cpu) / plan.seqTurns, rssGrowth: rssMb(pids) - d1Before.rss };
  // One service-binding fetch per echo, with devtools' network recording as wrangler dev starts it, then off.
  const subrequest = { recorded: await floorOf(socket, "fetch:", pids, echo.child.pid) };
  await setDevtoolsNetwork(echo.inspectorPort, false);
  subrequest.unrecorded = await floorOf(socket, "fetch:", pids, echo.child.pid);
  socket.close();
  const sockets = await Promise.all(Array.from({ length: plan.sessions }, () => Socket.open(`ws://127.0.0.1:${port}/`)));
  const rounds = [];
  for (let round = 0; round < plan.rounds; round++) {
    const [elapsed] = await timed(() => Promise.all(sockets.map(async (s) => {
      for (let i = 0; i < plan.turnsPerSession; i++) await s.send(`m ${i}`);
    })));
    rounds.push((plan.sessions * plan.turnsPerSession) / (elapsed / 1000));
  }
  sockets.forEach((s) => s.close());
  return { latency: spread(latencies), throughput: spread(rounds), d1, subrequest };
}

async function sequentialTurns(base, wsUrl, pids) {
  const userId = await createUser(base);
  const socket = await Socket.open(wsUrl);
  let sessionId = await turn(socket, userId, "NEW", "warm up");
  for (let i = 1; i < plan.warmTurns; i++) await turn(socket, userId, sessionId, `warm ${i}`);
  await new Promise((r) => setTimeout(r, 200));
  const before = { cpu: cpuMs(pids), rss: rssMb(pids), storage: await storageCounts(base) };
  const latencies = [];
  for (let i = 0; i < plan.seqTurns; i++) latencies.push((await timed(() => turn(socket, userId, sessionId, `question ${i}`)))[0]);
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
async function concurrentTurns(base, wsUrl, rounds) {
  const users = await Promise.all(Array.from({ length: plan.sessions }, () => createUser(base)));
  const sockets = await Promise.all(users.map(() => Socket.open(wsUrl)));
  const sessions = await Promise.all(users.map((u, i) => turn(sockets[i], u, "NEW", "start")));
  await new Promise((r) => setTimeout(r, batchWindowMs + 500));
  const throughputs = [];
  for (let round = 0; round < rounds; round++) {
    const [elapsed] = await timed(() => Promise.all(users.map(async (u, i) => {
      for (let t = 0; t < plan.turnsPerSession; t++) await turn(sockets[i], u, sessions[i], `round ${round} turn ${t}`);
    })));
    throughputs.push((plan.sessions * plan.turnsPerSession) / (elapsed / 1000));
  }
  sockets.forEach((s) => s.close());
  return spread(throughputs);
}

async function historyScaling(wsUrl, seeded) {
  const socket = await Socket.open(wsUrl);
  const result = {};
  for (const [size, ids] of Object.entries(seeded.sessions)) {
    const latencies = [];
    // Each seeded session's object is cold: its first turn builds the agent's context from storage.
    for (const id of ids) latencies.push((await timed(() => turn(socket, seeded.userId, id, "continue")))[0]);
    result[size] = spread(latencies);
  }
  socket.close();
  return result;
}

async function idleSockets(wsUrl, base, pids) {
  const userId = await createUser(base);
  const before = rssMb(pids);
  const sockets = [];
  for (let i = 0; i < plan.idleSockets; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, plan.idleSockets - i) }, () => Socket.open(wsUrl)))));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMb(pids);
  const answers = await Promise.all(sockets.map((s) => s.request({ type: 0, data: { user_id: userId } })));
  sockets.forEach((s) => s.close());
  return { sockets: sockets.length, answering: answers.filter((a) => a.type === 0 && !a.error).length, before, after };
}

// ---------- main ----------
const started = performance.now();
mkdirSync(path.join(root, "bench/results"), { recursive: true });
const stateDir = mkdtempSync(path.join(os.tmpdir(), "chat-bench-"));
const running = [];
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
    ["-c", "wrangler.toml", "-c", "bench/instant-agent/wrangler.toml", "--persist-to", stateDir,
      "--var", "STORAGE_METRICS:true", "--var", `ADMIN_TOKEN:${ADMIN}`, "--var", "FILE_URL_SECRET:bench"],
    backendPort,
  );
  running.push(backend);
  const base = `http://127.0.0.1:${backendPort}`;
  const wsUrl = `ws://127.0.0.1:${backendPort}/ws`;
  const pids = runtimePids(backend.child.pid);

  const load = { start: os.loadavg() };
  const everything = () => [...withWrangler(echo.child.pid), ...withWrangler(backend.child.pid)];
  console.log("echo floor…");
  const floor = await echoFloor(echoPort, runtimePids(echo.child.pid), echo);
  await quiesce(everything());
  console.log("sequential turns (devtools network recording on, as wrangler dev starts)…");
  const seq = await sequentialTurns(base, wsUrl, pids);
  await quiesce(everything());
  console.log("concurrent turns…");
  // One round: with recording on, wrangler's inspector proxy makes an HTTP request to its Node process for every
  // recorded event; under sustained load those pile up until workerd runs out of file descriptors.
  const throughput = await concurrentTurns(base, wsUrl, 1);
  await setDevtoolsNetwork(backend.inspectorPort, false);
  await quiesce(everything());
  console.log("sequential turns (devtools network recording off)…");
  const seqOff = await sequentialTurns(base, wsUrl, pids);
  await quiesce(everything());
  console.log("concurrent turns…");
  const throughputOff = await concurrentTurns(base, wsUrl, plan.rounds);
  await quiesce(everything());
  console.log("history 100 vs 100,000…");
  const history = await historyScaling(wsUrl, seeded);
  console.log("idle sockets…");
  const idle = await idleSockets(wsUrl, base, pids);
  load.end = os.loadavg();

  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  })();
  const turnFigures = (seq, throughput) => ({
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
  const subrequestFloor = (f) => ({
    p50_ms: round(f.latency.p50),
    spread_ms: mapSpread(f.latency),
    cpu_ms_per_call: round(f.cpuPerCall),
  });
  const results = {
    meta: {
      date: new Date().toISOString(),
      commit,
      quick,
      rounds: plan.rounds,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
      node: process.version,
      loadavg_start: load.start.map((x) => round(x, 2)),
      loadavg_end: load.end.map((x) => round(x, 2)),
      duration_s: round((performance.now() - started) / 1000, 1),
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
      last_n_ms_at_100: round(history[100].p50),
      last_n_ms_at_100000: round(history[100000].p50),
      spread_at_100_ms: mapSpread(history[100]),
      spread_at_100000_ms: mapSpread(history[100000]),
      note: "first turn on a cold session (its context built from storage); type 2 has no paging",
    },
    idle: { sockets: idle.sockets, answering: idle.answering, rss_mb_before: round(idle.before, 1), rss_mb_after: round(idle.after, 1) },
    storage: {
      writes_per_turn: round(seq.writesPerTurn, 2),
      reads_per_turn_warm: round(seq.readsPerTurn, 2),
      writes_per_turn_devtools_network_off: round(seqOff.writesPerTurn, 2),
    },
    memory: { rss_mb_growth_300_turns: round(seq.rssGrowth, 1) },
  };
  const turnTargets = (t) => [
    ["turn.seq_p50_ms <= 5", t.seq_p50_ms <= 5],
    ["turn.seq_p50_last50_ms <= 1.2 x first50", t.seq_p50_last50_ms <= 1.2 * t.seq_p50_first50_ms],
    ["turn.cpu_ms_per_turn <= 2", t.cpu_ms_per_turn <= 2],
    ["turn.throughput_per_s >= 700", t.throughput_per_s >= 700],
    ["memory.rss_mb_growth_300_turns <= 20", t.rss_mb_growth_300_turns <= 20],
  ];
  const shared = [
    ["history at 100,000 <= 1.2 x at 100", results.history.last_n_ms_at_100000 <= 1.2 * results.history.last_n_ms_at_100],
    ["storage.reads_per_turn_warm = 0", results.storage.reads_per_turn_warm === 0],
    ["storage.writes_per_turn <= 2", results.storage.writes_per_turn <= 2],
    ["1,000 idle sockets held, each answering", results.idle.sockets >= 1000 && results.idle.answering === results.idle.sockets],
  ];
  const targets = { recorded: [...turnTargets(results.turn), ...shared], unrecorded: turnTargets(results.turn_devtools_network_off) };
  results.targets = Object.fromEntries(targets.recorded);
  results.targets_devtools_network_off = Object.fromEntries(targets.unrecorded);

  writeFileSync(path.join(root, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const table = renderTable(results, targets);
  writeFileSync(path.join(root, "docs/benchmarks.md"), table);
  console.log(`\n${table}`);
} finally {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(stateDir, { recursive: true, force: true });
}

function mapSpread(s) {
  return { p10: round(s.p10), p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), n: s.n };
}

function renderTable(r, targets) {
  const row = (name, value, note = "") => `| ${name} | ${value} | ${note} |`;
  const s = (x) => `p10 ${x.p10} / p90 ${x.p90} / p99 ${x.p99} (n=${x.n})`;
  const on = r.turn;
  const off = r.turn_devtools_network_off;
  const sub = r.floor.echo_with_subrequest;
  const subOff = r.floor.echo_with_subrequest_devtools_network_off;
  const both = (name, key, note = "") => `| ${name} | ${on[key]} | ${off[key]} | ${note} |`;
  const verdicts = (list) => list.map(([name, ok]) => `- ${ok ? "met" : "MISSED"}: ${name}`).join("\n");
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
  (\`bench/instant-agent\`: answers at once, a bare Connect unary responder, since it shares the runtime process
  and its CPU counts in every turn) → the turn journaled in the session object's own storage → reply. The summary
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
- **history** times the first turn on a cold session holding 100 vs 100,000 entries: the context is built from
  storage by reading only the newest entries through the primary key.
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

## Targets

As \`wrangler dev\` starts (devtools network recording on):

${verdicts(targets.recorded)}

With devtools network recording off:

${verdicts(targets.unrecorded)}
`;
}
