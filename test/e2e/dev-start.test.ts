// What `npm run dev` does before wrangler starts (scripts/lib/dev-start.ts), as a newcomer meets it: a port in use is one
// clear line at once with nothing left running, and local D1 migrations apply without a question even in a
// terminal, then are skipped while nothing changed; sign-in is off and says so, and the merged settings stay in the
// checkout's .wrangler/ folder only while it runs.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/lib.ts";
import { startStack } from "./stack";

const root = path.resolve(import.meta.dirname, "../..");
const temporary: string[] = [];
const stateDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-dev-start-"));
  temporary.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Processes whose command line mentions `text` (this machine's /proc). */
function processesMentioning(text: string): string[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        return command.includes(text) ? [`${pid}: ${command}`] : [];
      } catch {
        return [];
      }
    });
}

it("npm run dev on a port in use says so in one line, naming who holds it, and leaves nothing running", async () => {
  const port = await freePort();
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
  const persistTo = stateDir();
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts", "--port", String(port), "--persist-to", persistTo, "--dev-vars", "/dev/null"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).not.toBe(0);
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${port} is in use by pid ${process.pid}`);
    expect(lines[0]).toContain("--port N");
    expect(processesMentioning(persistTo)).toEqual([]);
  } finally {
    holder.close();
  }
});

it("applies local D1 migrations without asking, in a terminal too, then skips them while nothing changed", async () => {
  const persistTo = stateDir();
  // `script` gives the command a terminal, where wrangler would ask "continue? (Y/n)" if its stdin were one; a
  // question would hang this test until its timeout.
  const program = `const { applyLocalMigrations } = await import("./scripts/lib/dev-start.ts"); console.log("RESULT", applyLocalMigrations(process.argv[1]), applyLocalMigrations(process.argv[1]));`;
  const command = [process.execPath, "--import", "tsx", "--input-type=module", "-e", program, persistTo].map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
  const { stdout } = await promisify(execFile)("script", ["-qec", command, "/dev/null"], { cwd: root, timeout: 90_000 });
  expect(stdout).toMatch(/RESULT applied unchanged/);
  const databases = readdirSync(path.join(persistTo, "v3", "d1"), { recursive: true }) as string[];
  expect(databases.some((file) => file.endsWith(".sqlite") && !file.endsWith("metadata.sqlite"))).toBe(true);
  expect(existsSync(path.join(persistTo, "chat-backend-d1-migrations.json"))).toBe(true);
}, 120_000);

it("npm run dev says sign-in is off, keeps its merged settings (secrets among them) in .wrangler/dev, and removes them when stopped", async () => {
  const stack = await startStack({}, { storage: "d1" });
  const port = new URL(stack.baseUrl).port;
  const settingsFile = path.join(root, ".wrangler", "dev", `settings-${port}.env`);
  try {
    expect(stack.output()).toContain(`dev: http://127.0.0.1:${port}, sign-in off (AUTH_MODE=none`);
    expect(await (await fetch(`${stack.baseUrl}/healthz`)).json()).toMatchObject({ auth: "none" });
    expect(readFileSync(settingsFile, "utf8")).toContain("ADMIN_TOKEN='dev-admin-token'");
    expect(statSync(settingsFile).mode & 0o777).toBe(0o600);
    expect(processesMentioning(`--env-file ${settingsFile}`)).not.toEqual([]);
    expect(processesMentioning(os.tmpdir() + "/chat-backend-dev-")).toEqual([]); // main's settings folder
  } finally {
    await stack.stop();
  }
  expect(existsSync(settingsFile)).toBe(false);
});
