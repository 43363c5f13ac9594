// Process accounting from /proc for the benchmark: a wrangler dev's process tree, its CPU time and RSS, and
// waiting until it is quiet.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

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
