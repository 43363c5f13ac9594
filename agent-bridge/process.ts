// Owns running the agent bridge as its own process, through an entry operators use (main.ts, what `npm run
// agent:bridge` runs, or the built file), for the tests and the bridge benchmark: start it, read its log, stop it.
import { spawn } from "node:child_process";
import path from "node:path";
import { root } from "../scripts/lib/lib.ts";

export interface AgentBridgeProcess {
  /** Its base URL, from the line it logs when it listens. */
  url: string;
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then its exit code (null if a signal ended it). */
  stop(): Promise<number | null>;
}

/** Starts the bridge with these arguments (port 0 in --listen picks a free port) and environment: main.ts through
 *  tsx, or with `built`, that bundle under plain node from its own folder and without NODE_OPTIONS (no loader), as
 *  on an agent's host. */
export async function spawnAgentBridge(args: string[], env: Record<string, string> = {}, { built }: { built?: string } = {}): Promise<AgentBridgeProcess> {
  // tsx as a loader in this very process (no tsx parent), so SIGTERM reaches the entry itself.
  const command = built ? [built] : ["--import", "tsx", path.join(import.meta.dirname, "main.ts")];
  const inherited = { ...process.env };
  if (built) delete inherited.NODE_OPTIONS;
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: built ? path.dirname(built) : root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...inherited, ...env },
  });
  // Never outlives the process that started it, whatever becomes of its test.
  const orphan = () => child.kill("SIGTERM");
  process.once("exit", orphan);
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      process.off("exit", orphan);
      resolve(code);
    }),
  );
  const started = Date.now();
  let url: string | undefined;
  while (!(url = /agent-bridge: listening on (http:\/\/\S+)/.exec(output)?.[1])) {
    if (child.exitCode !== null) throw new Error(`the agent bridge exited (${child.exitCode}):\n${output}`);
    if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`the agent bridge did not start within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
