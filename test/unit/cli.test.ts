// The npm scripts' command lines (scripts/lib/cli.ts): --help prints usage and exits 0, a bad argument is one line on
// stderr and exit 2; every entry point reads its arguments through it; user:create's model names (scripts/lib/model-names.ts).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { numberOption, parseCommand, urlOption, type CommandSpec, type OptionSpec } from "../../scripts/lib/cli";
import { resolveModels } from "../../scripts/lib/model-names";

const root = path.resolve(import.meta.dirname, "../..");

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs `action` with process.exit, stdout and stderr captured. */
function capture(action: () => unknown): { code: number | null; stdout: string; stderr: string; result: unknown } {
  vi.stubEnv("npm_lifecycle_event", "thing");
  let stdout = "";
  let stderr = "";
  vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Exit(Number(code ?? 0));
  });
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void (stdout += `${parts.join(" ")}\n`));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: null, stdout, stderr, result: action() };
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stdout, stderr, result: undefined };
    throw error;
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const spec = {
  usage: "npm run thing -- --name NAME",
  description: "Does the thing.",
  options: {
    name: { type: "string", value: "NAME", description: "what to call it" },
    count: { type: "string", value: "N", default: "3", description: "how many" },
    reset: { type: "boolean", default: false, description: "start over" },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

describe("parseCommand", () => {
  it("prints usage, every option with its default, and --help, then exits 0", () => {
    const { code, stdout } = capture(() => parseCommand(spec, ["--name", "x", "--help"]));
    expect(code).toBe(0);
    expect(stdout).toContain("usage: npm run thing -- --name NAME");
    expect(stdout).toMatch(/--count N\s+how many \(default: 3\)/);
    expect(stdout).toMatch(/--reset\s+start over/);
    expect(stdout).toMatch(/-h, --help\s+show this help and exit/);
  });

  it("reads values and defaults", () => {
    const { code, result } = capture(() => parseCommand(spec, ["--name", "x", "--reset"]));
    expect(code).toBeNull();
    expect(result).toEqual({ values: { name: "x", count: "3", reset: true }, rest: [] });
  });

  it.each([
    [["--nmae", "x"], "unknown option --nmae"],
    [["--name"], "--name needs a value"],
    [["--count", "-1"], "--count needs a value (one that starts with '-' is written --count=-…)"],
    [["--reset=yes"], "--reset takes no value"],
    [["stray"], "unexpected argument 'stray'"],
  ])("refuses %j in one line on stderr with exit 2", (argv, message) => {
    const { code, stderr } = capture(() => parseCommand(spec, argv));
    expect(code).toBe(2);
    expect(stderr).toBe(`thing: ${message} (see --help)\n`);
  });

  it("passes unknown options and their values on, in order, when asked to", () => {
    const { result } = capture(() => parseCommand({ ...spec, passthrough: true }, ["--log-level", "debug", "--name=x", "-c", "a.toml", "--live-reload"]));
    expect(result).toEqual({ values: { name: "x", count: "3", reset: false }, rest: ["--log-level", "debug", "-c", "a.toml", "--live-reload"] });
  });

  it("checks numbers and URLs in one line", () => {
    expect(capture(() => numberOption("--port", "8000", { min: 1, max: 65535 })).result).toBe(8000);
    expect(capture(() => numberOption("--port", "80a", { min: 1, max: 65535 })).stderr).toContain("--port expects an integer from 1 to 65535, not '80a'");
    expect(capture(() => numberOption("--balance", "0.5", { min: 0, integer: false })).result).toBe(0.5);
    expect(capture(() => urlOption("--from", "localhost:5432", ["postgres:"])).stderr).toContain("--from expects a URL starting with postgres:, not 'localhost:5432'");
  });
});

describe("the npm entry points", () => {
  const entries = [
    ...readdirSync(path.join(root, "scripts")).filter((file) => file.endsWith(".ts")).map((file) => `scripts/${file}`),
    "bench/run.ts",
    "bench/profile.ts",
    "bench/bad-agent.ts",
    "agent-bridge/main.ts",
  ];

  /** Entry points with a command line of their own, tested where they live: the admin tool's commands
   *  (scripts/lib/admin-cli.ts) and the bridge's (agent-bridge/main.ts, standalone: it imports nothing from scripts/lib/). */
  const ownParsers = ["scripts/admin.ts", "agent-bridge/main.ts"];

  it.each(entries.filter((file) => !ownParsers.includes(file)))("%s reads its command line through parseCommand", (file) => {
    expect(readFileSync(path.join(root, file), "utf8")).toMatch(/\bparseCommand\(/);
  });

  it.each([
    ["scripts/admin.ts", ["users", "create", "--help"], 0, /usage/i],
    ["agent-bridge/main.ts", ["--help"], 0, /agent:bridge/],
    ["agent-bridge/main.ts", ["--bogus"], 2, /bogus/],
    ["scripts/bench-bridge.ts", ["--help"], 0, /bench:bridge/],
    ["scripts/pg-migrate.ts", ["--bogus"], 2, /^pg-migrate\.ts: unknown option --bogus \(see --help\)\n$/],
  ])("%s %j exits %i without a stack trace", (file, args, status, output) => {
    const run = spawnSync(process.execPath, ["--import", "tsx", file, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, npm_lifecycle_event: "" } });
    expect(run.status).toBe(status);
    expect(status === 0 ? run.stdout : run.stderr).toMatch(output);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 30_000);
});

describe("resolveModels", () => {
  const catalog = async () => [
    { id: 4, name: "gpt-4-turbo", retired_at: null },
    { id: 8, name: "llama3.1:8b", retired_at: null },
    { id: 9, name: "old-model", retired_at: "2026-01-01T00:00:00.000Z" },
  ];

  it("takes ids as they are, without asking for the catalog", async () => {
    const never = vi.fn(catalog);
    expect(await resolveModels(["4", "5", "4"], never)).toEqual({ ids: [4, 5] });
    expect(never).not.toHaveBeenCalled();
  });

  it("looks names up, exactly or ignoring case, next to ids", async () => {
    expect(await resolveModels(["gpt-4-turbo", "8", "LLAMA3.1:8B"], catalog)).toEqual({ ids: [4, 8] });
  });

  it("names what it does not know and lists the models in use", async () => {
    expect(await resolveModels(["gpt-5", "4"], catalog)).toEqual({ error: "no model named 'gpt-5'; the backend has: 4 gpt-4-turbo, 8 llama3.1:8b" });
  });
});
