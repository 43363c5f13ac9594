// The README's quick start runs as written against a running backend, only its port changed to the stack's: the
// user:create commands it shows (model ids, and names), and its first client example (hello.mjs) on the Node running
// the tests (20 on our machines), with and without its argument.
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/lib.ts";
import { createUser, startStack, type Stack } from "./stack";

const root = path.resolve(import.meta.dirname, "../..");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { storage: "d1" }); // as `npm run dev` runs it, which the README starts with
});

afterAll(async () => {
  await stack?.stop();
});

const readme = () => readFileSync(path.join(root, "README.md"), "utf8");

/** Every `npm run user:create -- …` command the README shows, as argument lists (quotes honoured). */
function userCreateCommands(): string[][] {
  const commands = [...readme().matchAll(/npm run user:create -- ([^\n`#]+)/g)].map((match) => match[1]!.trim());
  return commands.map((command) => [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((part) => part[1] ?? part[2]!));
}

/** The first js block after the README says to save it as hello.mjs. */
function helloSnippet(): string {
  const text = readme();
  const after = text.slice(text.indexOf("save this as `hello.mjs`"));
  const block = /```js\n([\s\S]*?)```/.exec(after)?.[1];
  if (!block) throw new Error("README.md has no js block after 'save this as `hello.mjs`'");
  return block;
}

it("hello.mjs: a reply, then the next one streamed, then the balance", async () => {
  const snippet = helloSnippet();
  expect(snippet).toContain("ws://127.0.0.1:8787/ws");
  // In the repository's folder, as the README says, so `chat-backend/client/node` resolves to the package itself.
  const dir = path.join(root, ".wrangler", `readme-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "hello.mjs");
  writeFileSync(file, snippet.replace("ws://127.0.0.1:8787/ws", stack.baseUrl.replace(/^http/, "ws") + "/ws"));
  try {
    const userId = await createUser(stack);
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", file, userId], { cwd: root, timeout: 30_000 });
    expect(stdout).toContain(`user_id: '${userId}'`);
    expect(stdout).toContain("session_name: 'Hello!'");
    expect(stdout).toContain("message: 'You said: \"Hello!\"");
    expect(stdout).toContain('You said: "And now in pieces?"'); // the streamed reply, written piece by piece
    expect(stdout).toMatch(/\(turn 1; balance 0\.\d+ dollars\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("npm run user:create as the README shows it: model ids, and model names", async () => {
  const commands = userCreateCommands().filter((args) => args.includes("--models") && !args.some((arg) => arg.includes("<")));
  expect(commands.map((args) => args[args.indexOf("--models") + 1])).toEqual(expect.arrayContaining(["4,5,8", "gpt-4-turbo,llama3.1:8b"]));
  for (const args of commands) {
    const run = spawnSync("npm", ["run", "--silent", "user:create", "--", ...args, "--url", stack.baseUrl], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const user = JSON.parse(run.stdout) as { user_id: string; models: number[] };
    const named = args[args.indexOf("--models") + 1]!.split(",");
    expect(user.models).toEqual(named.every((m) => /^\d+$/.test(m)) ? named.map(Number) : [4, 8]);
  }
}, 120_000);

it("hello.mjs without its argument prints its usage, not a schema error and a stack", async () => {
  const dir = path.join(root, ".wrangler", `readme-usage-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "hello.mjs");
  writeFileSync(file, helloSnippet().replace("ws://127.0.0.1:8787/ws", stack.baseUrl.replace(/^http/, "ws") + "/ws"));
  try {
    const run = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe("usage: npx tsx hello.mjs <user_id>   (npm run user:create prints one)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("hello.mjs against a port where nothing listens names the URL and the refusal", async () => {
  const dir = path.join(root, ".wrangler", `readme-refused-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "hello.mjs");
  const port = await freePort();
  writeFileSync(file, helloSnippet().replace("ws://127.0.0.1:8787/ws", `ws://127.0.0.1:${port}/ws`));
  try {
    const run = spawnSync(process.execPath, ["--import", "tsx", file, "some-user"], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`could not connect to ws://127.0.0.1:${port}/ws?v=2: connection refused: nothing listens on 127.0.0.1:${port}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
