// Owns running examples/python-agent (a native gRPC agent on Debian's python3-grpcio) for the tests and the bridge
// benchmark: checks the Debian packages (failing loudly with the install command), generates its code from proto/
// with python3-grpc-tools, starts it on a free port and stops it.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { root } from "./lib.ts";

/** Debian's interpreter: the packages below are installed for it, not for a pyenv or venv python3 on PATH. */
export const DEBIAN_PYTHON = process.env.PYTHON_AGENT_PYTHON || "/usr/bin/python3";
export const PYTHON_AGENT_PACKAGES = ["python3-grpcio", "python3-protobuf", "python3-grpc-tools"] as const;
export const PYTHON_AGENT_INSTALL = `sudo apt-get install -y --no-install-recommends ${PYTHON_AGENT_PACKAGES.join(" ")}`;

/** Throws, naming the install command, unless Debian's python can import grpc, protobuf and grpc_tools. */
export function requirePythonAgentPackages(): void {
  const check = spawnSync(DEBIAN_PYTHON, ["-c", "import grpc, google.protobuf, grpc_tools.protoc"], { encoding: "utf8" });
  if (check.status !== 0) {
    const why = check.error ? String(check.error) : check.stderr.trim().split("\n").pop();
    throw new Error(`The Python agent needs Debian's ${PYTHON_AGENT_PACKAGES.join(", ")} for ${DEBIAN_PYTHON} (${why}).\nInstall them: ${PYTHON_AGENT_INSTALL}`);
  }
}

/** Generates ai_service_pb2.py and ai_service_pb2_grpc.py from proto/ into `dir` (python3-grpc-tools' protoc). */
export function generatePythonStubs(dir: string): void {
  const result = spawnSync(
    DEBIAN_PYTHON,
    ["-m", "grpc_tools.protoc", "-I", path.join(root, "proto"), `--python_out=${dir}`, `--grpc_python_out=${dir}`, path.join(root, "proto", "ai_service.proto")],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`grpc_tools.protoc failed (${result.status}): ${result.stderr}`);
}

export interface PythonAgent {
  /** "127.0.0.1:<port>", for the bridge's --target. */
  target: string;
  /** Everything it printed so far. */
  output(): string;
  /** The requests it logged (one JSON object a Process call), in order. */
  calls(): PythonAgentCall[];
  stop(): Promise<void>;
}

export interface PythonAgentCall {
  method: string;
  message: string;
  files: string[];
  history: number;
  model: string;
  /** The names of the metadata (headers) the call carried. */
  metadata: string[];
  /** The call's deadline as the agent saw it, ms left; null without one. */
  deadline_ms: number | null;
}

/** Starts the agent on a free loopback port (it binds port 0 and says which one it got). */
export async function startPythonAgent(options: { cost?: number } = {}): Promise<PythonAgent> {
  requirePythonAgentPackages();
  const gen = mkdtempSync(path.join(os.tmpdir(), "python-agent-gen-"));
  generatePythonStubs(gen);
  const args = [path.join(root, "examples/python-agent/agent.py"), "--listen", "127.0.0.1:0", "--gen", gen];
  if (options.cost !== undefined) args.push("--cost", String(options.cost));
  const child = spawn(DEBIAN_PYTHON, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
  // Never outlives the process that started it, whatever becomes of its test.
  const orphan = () => child.kill("SIGTERM");
  process.once("exit", orphan);
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      process.off("exit", orphan);
      resolve();
    }),
  );
  const started = Date.now();
  let port: string | undefined;
  while (!(port = /listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1])) {
    if (child.exitCode !== null) throw new Error(`the Python agent exited (${child.exitCode}):\n${output}`);
    if (Date.now() - started > 15_000) {
      child.kill("SIGKILL");
      throw new Error(`the Python agent did not start within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    target: `127.0.0.1:${port}`,
    output: () => output,
    calls: () => [...output.matchAll(/^python-agent: call (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as PythonAgentCall),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(gen, { recursive: true, force: true });
    },
  };
}
