// Shared by the npm scripts: run wrangler and other tools offline and quietly, failing loudly.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const bin = (name) => path.join(root, "node_modules", ".bin", name);

/** Without these, wrangler tries to reach Cloudflare and waits on a network that drops packets.
 *  node_modules/.bin is on PATH so buf finds protoc-gen-es even when a script runs outside npm. */
export const offlineEnv = {
  ...process.env,
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: offlineEnv, ...options });
  if (result.status !== 0) {
    console.error(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

export function wrangler(args, options) {
  run(bin("wrangler"), args, options);
}

export function start(command, args, options = {}) {
  return spawn(command, args, { cwd: root, stdio: "inherit", env: offlineEnv, ...options });
}

export const LOCAL_STATE = ".wrangler/state";
/** Development defaults for secrets (see .dev.vars.example); never used by a deployed Worker. */
export const DEV_SECRETS = { ADMIN_TOKEN: "dev-admin-token", FILE_URL_SECRET: "dev-file-url-secret" };
