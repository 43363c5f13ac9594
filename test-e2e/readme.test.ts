// The README's first client example (hello.mjs) runs as written, on the Node running the tests (20 on our
// machines), against a running backend: only its port is changed to the stack's.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUser, startStack, type Stack } from "./stack";

const root = path.resolve(import.meta.dirname, "..");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { storage: "d1" }); // as `npm run dev` runs it, which the README starts with
});

afterAll(async () => {
  await stack?.stop();
});

/** The first js block after the README says to save it as hello.mjs. */
function helloSnippet(): string {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const after = readme.slice(readme.indexOf("save this as `hello.mjs`"));
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
