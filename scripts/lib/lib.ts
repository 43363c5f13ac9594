// Shared by the npm scripts, the benchmark and the tests: run wrangler and other tools offline and quietly, failing loudly.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import net from "node:net";
import path from "node:path";

export const root: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = (name: string): string => path.join(root, "node_modules", ".bin", name);

/** Without these, wrangler tries to reach Cloudflare and waits on a network that drops packets.
 *  node_modules/.bin is on PATH so buf finds protoc-gen-es even when a script runs outside npm. */
export const offlineEnv: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

export function run(command: string, args: string[], options: SpawnSyncOptions = {}): void {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: offlineEnv, ...options });
  if (result.status !== 0) {
    console.error(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

export function wrangler(args: string[], options?: SpawnSyncOptions): void {
  run(bin("wrangler"), args, options);
}

/** Runs a command offline and returns what it printed; throws with its output when it fails (for library code,
 *  which must not exit the process). */
export function capture(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { cwd: root, env: offlineEnv, encoding: "utf8", maxBuffer: 1 << 30, ...options });
  const stdout = String(result.stdout ?? "");
  if (result.status !== 0) {
    const output = `${stdout}\n${String(result.stderr ?? "")}`.trim();
    throw new Error(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status ?? result.signal ?? result.error?.message}):\n${output}`);
  }
  return stdout;
}

export function start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(command, args, { cwd: root, stdio: "inherit", env: offlineEnv, ...options });
}

export const LOCAL_STATE = ".wrangler/state";

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
