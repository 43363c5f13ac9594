// Process accounting from /proc for the benchmark: a wrangler dev's process tree, its CPU time and RSS, and
// waiting until it is quiet.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

/** Every process of a wrangler dev, its Node processes too (with devtools' network recording on, wrangler's
 *  Node process logs every subrequest's events, for a while after they happened). */
export const withWrangler = (wranglerPid: number): number[] => [wranglerPid, ...descendants(wranglerPid)];

/** The workerd processes (proxy and runtime) that a wrangler dev process runs. */
export const runtimePids = (wranglerPid: number): number[] => descendants(wranglerPid).filter((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("workerd");
  } catch {
    return false;
  }
});

export function cpuMs(pids: number[]): number {
  return pids.reduce((sum, p) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ");
      return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    } catch {
      return sum;
    }
  }, 0);
}

export function rssMb(pids: number[]): number {
  return pids.reduce((sum, p) => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
      return sum + kb / 1024;
    } catch {
      return sum;
    }
  }, 0);
}

/**
 * Waits (at most 30 s) until these processes use under 5% of a core: wrangler's Node process can still be writing
 * the log of an earlier phase's subrequests, and that would compete with the next phase for the 2 cores.
 */
export async function quiesce(pids: number[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const before = cpuMs(pids);
    await new Promise((r) => setTimeout(r, 500));
    if (cpuMs(pids) - before < 25) return;
  }
  console.warn("processes still busy after 30 s; measuring anyway");
}

/** A wrangler dev's processes by role: wrangler's Node process, the dev proxy (the workerd that listens on the
 *  port clients connect to and forwards each request) and the runtime (the workerd running the Workers). */
export interface ProcessRoles {
  wrangler: number[];
  proxy: number[];
  runtime: number[];
}

/** Listening TCP sockets (IPv4 and IPv6): inode to port. */
function listeningSockets(): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue;
      sockets.set(fields[9]!, Number.parseInt(fields[1]!.split(":").pop()!, 16));
    }
  }
  return sockets;
}

/** The ports a process listens on. */
export function listeningPorts(pid: number): number[] {
  const sockets = listeningSockets();
  const ports = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const port = link.startsWith("socket:[") ? sockets.get(link.slice(8, -1)) : undefined;
        if (port !== undefined) ports.add(port);
      } catch {
        // the descriptor closed while we looked
      }
    }
  } catch {
    // the process ended
  }
  return [...ports];
}

export function processRoles(wranglerPid: number, port: number): ProcessRoles {
  const workerd = runtimePids(wranglerPid);
  const proxy = workerd.filter((pid) => listeningPorts(pid).includes(port));
  return { wrangler: [wranglerPid], proxy, runtime: workerd.filter((p) => !proxy.includes(p)) };
}

/**
 * The port on which the runtime workerd itself serves the Worker, behind wrangler's dev proxy: the one of its
 * listening ports that answers `probePath` with a 2xx. Connecting there skips the proxy (as deployed Workers have
 * none), which holds two descriptors per WebSocket.
 */
export async function runtimePort(roles: ProcessRoles, probePath: string): Promise<number | null> {
  for (const pid of roles.runtime) {
    for (const port of listeningPorts(pid)) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}${probePath}`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.ok) return port;
      } catch {
        // not an HTTP port of the Worker (the inspector, an internal socket)
      }
    }
  }
  return null;
}

export const rssByRole = (roles: ProcessRoles): Record<keyof ProcessRoles, number> => ({
  wrangler: rssMb(roles.wrangler),
  proxy: rssMb(roles.proxy),
  runtime: rssMb(roles.runtime),
});
