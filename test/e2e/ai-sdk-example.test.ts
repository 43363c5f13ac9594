// The AI SDK example app (examples/ai-sdk-react: React, useChat, ChatBackendTransport) in real Chromium against the
// stack as `npm run dev` runs it (local D1, AUTH_MODE=none). The test builds the app with Vite and serves the build
// on its own origin, as a team's app would be: send and stream, a file turn, Stop keeps the partial reply, a reload
// mid-reply resumes to the stored reply, a refused turn shows its error, the chat list, the turn's number and charge
// (message metadata). Takes the README's screenshot (docs/images/ai-sdk-example.png with UPDATE_SCREENSHOTS=1). Also drives the same transport
// from Node 20 (`ws` sockets from chat-backend/client/node) against that stack.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { preview, type PreviewServer } from "vite";
import { readUIMessageStream } from "ai";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { nodeSocket } from "chat-backend/client/node";
import { ChatBackendTransport, type ChatBackendUIMessage } from "chat-backend/client/ai-sdk";
import { freePort } from "../../scripts/lib/lib.ts";
import { changeUser, createUser, screenshotFolder, startStack, type Stack } from "./stack";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROOT = path.resolve(import.meta.dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples/ai-sdk-react");
/** The offline reference agent echoes the message ("You said: …") in pieces of about four words, 20 ms apart: a
 *  message this long streams for seconds, so Stop and a reload land mid-reply. */
const LONG_MESSAGE = `Keep going ${"please ".repeat(800)}`.trim();
const padded = (text: string) => `${text} ${"and ".repeat(200)}`.trim();
const FIRST = padded("Hello from useChat");
const WITH_FILE = padded("What is in the file?");

let stack: Stack;
let app: PreviewServer;
let appUrl: string;
let browser: Browser;
let page: Page;
let userId: string;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install chromium\` (.ci/run does)`);
  // The build this test serves is `npm run build:example`'s (a production build: this process's NODE_ENV is "test").
  execFileSync("npm", ["run", "--silent", "build:example", "--", "--logLevel", "error"], { cwd: ROOT, env: { ...process.env, NODE_ENV: "production" }, stdio: "inherit" });
  const configFile = path.join(EXAMPLE, "vite.config.ts");
  app = await preview({ configFile, logLevel: "error", preview: { port: await freePort(), strictPort: true } });
  stack = await startStack({ AUTH_MODE: "none" }, { storage: "d1" });
  appUrl = `${app.resolvedUrls?.local[0] ?? ""}?backend=${encodeURIComponent(stack.baseUrl)}`;
  userId = await createUser(stack, 1);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.stack ?? error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (app ? app.httpServer.close(() => resolve()) : resolve()));
  await stack?.stop();
});

afterEach(async ({ task }) => {
  if (task.result?.state !== "fail") return;
  console.error(`--- the page's problems ---\n${problems.join("\n")}\n--- its text ---\n${(await page?.locator("body").innerText().catch(() => "")) ?? ""}`);
  console.error(`--- the stack's output, last 4000 characters ---\n${stack?.output().slice(-4000)}`);
});

const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 50 });
const lastAssistant = () => page.locator("#messages .msg.assistant").last();
const lastAssistantText = async () => (await lastAssistant().locator("p").allTextContents()).join("");

async function send(text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

/** Sends and waits until the reply has streamed in part, but not finished. */
async function sendAndSeeItStream(text: string): Promise<void> {
  const replies = await page.locator("#messages .msg.assistant").count();
  await send(text);
  await poll(async () => (await page.locator("#messages .msg.assistant").count()) > replies && (await lastAssistant().getAttribute("data-state")) === "streaming" && (await lastAssistantText()).length > 0).toBe(true);
}

async function replyFinished(): Promise<string> {
  await poll(() => lastAssistant().getAttribute("data-state")).not.toBe("streaming");
  expect(await page.locator("#chat-error").count()).toBe(0);
  return lastAssistantText();
}

it("signs in, streams replies through useChat, attaches a file, and lists the chat", async () => {
  await page.goto(appUrl);
  await page.getByLabel("User id or token").fill(userId);
  await page.getByRole("button", { name: "Sign in" }).click();
  await poll(() => page.getByLabel("Model").locator("option").allTextContents()).toEqual(["gpt-4-turbo", "llama3.1:8b"]);
  await poll(() => page.locator("#balance").textContent()).toBe("$1.0000");

  await sendAndSeeItStream(FIRST);
  const first = await replyFinished();
  expect(first).toContain(`You said: "${FIRST}"`);
  expect(first).toContain("files: 0");
  // The turn's number and charge came as the message's metadata.
  await poll(() => lastAssistant().locator(".meta").textContent()).toMatch(/^turn 0 · \$0\.\d{6}$/);
  await poll(() => page.getByRole("navigation", { name: "Chats" }).getByRole("button").allTextContents()).toEqual([FIRST.slice(0, 40).replace(/\s+\S*$/, "")]);
  await poll(() => page.locator("#balance").textContent()).not.toBe("$1.0000");

  // A file: useChat hands it over as a file part, the transport uploads it and attaches it to the turn.
  await page.getByLabel("Attach a file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("some notes\n") });
  await page.getByLabel("System prompt").fill("Answer briefly.");
  await sendAndSeeItStream(WITH_FILE);
  const second = await replyFinished();
  expect(second).toContain("files: 1");
  expect(second).toContain("system prompt: yes");
  expect(await page.locator("#messages .msg.user").last().locator("a.file").textContent()).toContain("notes.txt");
  await poll(() => lastAssistant().locator(".meta").textContent()).toMatch(/^turn 1 · /);

  // After a reload the chat is still open: its history, as stored, with the file on its message.
  await page.reload();
  await poll(() => page.locator("#messages .msg.user").count()).toBe(2);
  expect(await lastAssistantText()).toBe(second);
  const link = await page.locator("#messages .msg.user a.file").getAttribute("href");
  expect(link).toMatch(new RegExp(`^${stack.baseUrl}/uploads/.+\\.txt$`));
  expect(await (await page.request.get(link!)).text()).toBe("some notes\n");
  expect(problems).toEqual([]);
}, 120_000);

it("stops a streaming reply: the partial reply stays, and is what the session keeps", async () => {
  await page.getByRole("button", { name: "+ New chat" }).click();
  await poll(() => page.locator("#messages .msg").count()).toBe(0);
  await sendAndSeeItStream(LONG_MESSAGE);
  await page.getByRole("button", { name: "Stop" }).click();
  await poll(() => lastAssistant().getAttribute("data-state")).toBe("cancelled");
  expect(await lastAssistant().locator(".meta").textContent()).toMatch(/^turn 0 · stopped$/);
  const partial = await lastAssistantText();
  expect(partial.length).toBeGreaterThan(0);
  expect(`You said: "${LONG_MESSAGE}"`.startsWith(partial)).toBe(true); // cut off well before the reply's end
  expect(await page.getByRole("button", { name: "Send" }).isEnabled()).toBe(true);
  expect(await page.getByRole("button", { name: "Stop" }).isEnabled()).toBe(false);
  await poll(() => page.getByRole("navigation", { name: "Chats" }).getByRole("button").count()).toBe(2);

  // Stored: the message and the partial reply (the deltas that had left the backend when the cancel came, so at
  // least what the page showed).
  await page.reload();
  await poll(() => page.locator("#messages .msg.user").allTextContents()).toEqual([LONG_MESSAGE]);
  const stored = await lastAssistantText();
  expect(stored.startsWith(partial)).toBe(true);
  expect(`You said: "${LONG_MESSAGE}"`.startsWith(stored)).toBe(true);
  expect(problems).toEqual([]);
}, 60_000);

it("resumes a reply after a reload mid-stream, to the reply the session stored", async () => {
  await sendAndSeeItStream(LONG_MESSAGE);
  const before = await lastAssistantText();
  await page.reload();
  // The chat opens with the running turn's message; its reply streams on (reconnectToStream, type 8).
  await poll(() => page.locator("#messages .msg.user").allTextContents()).toEqual([LONG_MESSAGE, LONG_MESSAGE]);
  const resumed = await replyFinished();
  expect(resumed.startsWith(before)).toBe(true);
  expect(resumed).toContain(`You said: "${LONG_MESSAGE}"`);
  expect(resumed).toMatch(/model: gpt-4-turbo \(.+\)\.$/);
  // ...whole, once: the same text the session stored, as a further reload shows.
  await page.reload();
  await poll(() => page.locator("#messages .msg.assistant").count()).toBe(2);
  expect(await lastAssistantText()).toBe(resumed);
  expect(problems).toEqual([]);
}, 60_000);

it("shows a refused turn's error with its code, and the next turn works again", async () => {
  expect((await changeUser(stack, userId, { balance: 0 })).balance).toBe(0);
  const replies = await page.locator("#messages .msg.assistant").count();
  await send("Anyone there?");
  await poll(() => page.locator("#chat-error").textContent()).toBe("Insufficient balance (code 15)");
  expect(await page.locator("#messages .msg.assistant").count()).toBe(replies); // no reply bubble
  expect(await page.getByRole("button", { name: "Send" }).isEnabled()).toBe(true);

  expect((await changeUser(stack, userId, { balance: 1 })).balance).toBe(1);
  await sendAndSeeItStream(padded("Back again"));
  expect(await replyFinished()).toContain("You said: \"Back again");
  expect(await page.locator("#chat-error").count()).toBe(0);

  // A short chat with a file, for the README's screenshot.
  await page.getByRole("button", { name: "+ New chat" }).click();
  await poll(() => page.locator("#messages .msg").count()).toBe(0);
  await send("Hello! Which model are you?");
  expect(await replyFinished()).toContain("model: gpt-4-turbo");
  await page.getByLabel("Attach a file").setInputFiles({ name: "q3-report.txt", mimeType: "text/plain", buffer: Buffer.from("Revenue up 12%\n") });
  await send("Summarise the attached report.");
  await poll(() => page.locator("#messages .msg.assistant").count()).toBe(2);
  expect(await replyFinished()).toContain("files: 1");
  await poll(() => page.getByRole("navigation", { name: "Chats" }).getByRole("button").count()).toBe(3);
  await page.screenshot({ path: path.join(screenshotFolder(), "ai-sdk-example.png") });
  expect(problems).toEqual([]);
}, 60_000);

it("runs in Node 20 too: the transport on `ws` sockets streams a turn with a file and resumes nothing afterwards", async () => {
  const transport = new ChatBackendTransport({ url: `${stack.baseUrl.replace("http", "ws")}/ws`, userId, socket: nodeSocket, model: "gpt-4-turbo" });
  try {
    const file = { type: "file" as const, mediaType: "text/plain", filename: "node.txt", url: `data:text/plain;base64,${Buffer.from("from node\n").toString("base64")}` };
    const stream = await transport.sendMessages({
      chatId: "node-chat",
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
      messages: [{ id: "u1", role: "user", parts: [file, { type: "text", text: "Hello from Node" }] }],
    });
    let reply: ChatBackendUIMessage | undefined;
    for await (const snapshot of readUIMessageStream<ChatBackendUIMessage>({ stream, onError: (error) => expect.fail(String(error)) })) reply = snapshot;
    expect(reply?.parts).toEqual([{ type: "text", text: expect.stringContaining('You said: "Hello from Node"'), state: "done" }]);
    expect(reply?.parts[0]).toMatchObject({ text: expect.stringContaining("files: 1") });
    expect(reply?.metadata).toMatchObject({ sessionId: transport.sessionOf("node-chat"), turn: 0, charge: expect.any(Number) });
    expect(await transport.reconnectToStream({ chatId: "node-chat" })).toBeNull();
    expect((await transport.loadMessages("node-chat")).map((m) => [m.role, m.parts.map((p) => p.type)])).toEqual([
      ["user", ["file", "text"]],
      ["assistant", ["text"]],
    ]);
  } finally {
    transport.close();
  }
}, 60_000);
