// Owns running the agent bridge as its own process, through the entry operators use (agent-bridge/main.ts, what
// `npm run agent:bridge` runs), for the tests and the bridge benchmark: start it, read its log, stop it with SIGTERM.
import { spawn } from "node:child_process";
import path from "node:path";
import { root } from "../tools/lib.ts";

export interface AgentBridgeProcess {
  /** Its base URL, from the line it logs when it listens. */
  url: string;
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then its exit code (null if a signal ended it). */
  stop(): Promise<number | null>;
}

/** Starts `agent-bridge/main.ts` with these arguments (port 0 in --listen picks a free port) and environment. */
export async function spawnAgentBridge(args: string[], env: Record<string, string> = {}): Promise<AgentBridgeProcess> {
  // tsx as a loader in this very process (no tsx parent), so SIGTERM reaches the entry itself.
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "main.ts"), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
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
