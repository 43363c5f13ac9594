// What `npm run dev` and `dev:pg` say when something is in the way, as a newcomer meets it: settings the Worker
// would refuse (token mode without CORS_ORIGINS) in one line before wrangler starts, a busy inspector port naming
// --inspector-port, dev:pg's --help listing its ports, database and the variables that change them, and local
// D1 migrations reported in one line.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/lib.ts";

const root = path.resolve(import.meta.dirname, "../..");
const temporary: string[] = [];
const stateDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-dev-messages-"));
  temporary.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs scripts/dev.ts to its exit; what it printed on each stream. */
async function dev(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts", "--persist-to", stateDir(), "--dev-vars", "/dev/null", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout, stderr };
}

const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");

it("token mode without CORS_ORIGINS is one line naming the settings, before wrangler starts", async () => {
  const { code, stdout, stderr } = await dev(["--port", String(await freePort()), "--var", "AUTH_MODE:token", "--var", "AUTH_JWT_SECRET:s"]);
  expect(code).toBe(1);
  expect(stdout).toBe("");
  expect(lines(stderr)).toHaveLength(1);
  expect(stderr).toContain('AUTH_MODE="token" with CORS_ORIGINS="*"');
  expect(stderr).toContain("list your origins in CORS_ORIGINS");
  expect(stderr).toContain("--var NAME:VALUE");
  expect(stderr).not.toMatch(/wrangler|✘|ERROR/);
});

it("the same settings with CORS_ORIGINS listed pass the check (the dev script goes on to start)", async () => {
  const { startupProblem } = await import("../../scripts/lib/dev-check.ts");
  const secret = "a-development-secret-of-32-bytes-or-more"; // token mode refuses shorter ones
  expect(await startupProblem({ AUTH_MODE: "token", CORS_ORIGINS: "http://127.0.0.1:8787", FILE_URL_SECRET: secret, AUTH_JWT_SECRET: secret, ADMIN_TOKEN: secret })).toBeNull();
});

it("a busy inspector port names --inspector-port, not --port", async () => {
  const inspector = await freePort();
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(inspector, "127.0.0.1", resolve));
  try {
    const { code, stdout, stderr } = await dev(["--port", String(await freePort()), "--inspector-port", String(inspector)]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain(`inspector port ${inspector} is in use by pid ${process.pid}`);
    expect(stderr).toContain("`npm run dev -- --inspector-port N`");
    expect(stderr).not.toContain("--port N");
  } finally {
    holder.close();
  }
});

it("npm run dev:pg -- --help lists its ports, its database and the variables that change them", () => {
  const run = spawnSync("npm", ["run", "--silent", "dev:pg", "--", "--help"], { cwd: root, encoding: "utf8", timeout: 60_000 });
  expect(run.status).toBe(0);
  for (const text of ["--port N", "(default: 8787)", "--inspector-port N", "PG_DATABASE", "(default chat_backend)", "UPSTASH_STANDIN_PORT", "(default 8079)", "DATABASE_URL", "REDIS_URL"]) {
    expect(run.stdout).toContain(text);
  }
});

it("local D1 migrations print one line naming what they applied, and no question", () => {
  const persistTo = stateDir();
  const program = `const { applyLocalMigrations } = await import("./scripts/lib/dev-start.ts"); applyLocalMigrations(process.argv[1]);`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program, persistTo], { cwd: root, encoding: "utf8", timeout: 90_000 });
  expect(run.status).toBe(0);
  expect(lines(run.stdout)).toEqual([expect.stringMatching(new RegExp(`^D1 migrations: applied \\d+ to ${persistTo} \\(0000_init\\.sql, .*\\)$`))]);
  expect(run.stderr).toBe("");
}, 120_000);
