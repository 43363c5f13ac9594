// The built-in chat page at / in real Chromium (Debian's /usr/bin/chromium driven by playwright-core) against the
// whole stack: create a user, a streamed conversation, a file attached, a reload mid-stream that resumes, the
// balance, and no console errors. Also takes the README's screenshots (docs/images/).
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { balanceOf, startStack, type Stack } from "./stack";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IMAGES = path.resolve(import.meta.dirname, "../docs/images");
/** The offline reference agent echoes the message and streams its reply in pieces of about four words, 20 ms apart
 *  (its AGENT_CHUNK_DELAY_MS): a message this long makes a reply that streams for seconds, so a reload lands
 *  mid-reply. (The stack's --var settings reach the backend Worker only, not the agent's.) */
const LONG_MESSAGE = `Reload me ${"please ".repeat(800)}`.trim();
/** Long enough that its echoed reply streams for about a second, so the page is seen streaming it. */
const padded = (text: string) => `${text} ${"and ".repeat(200)}`.trim();
const FIRST = padded("Hello from Chromium");
const WITH_FILE = padded("What is in the file?");

let stack: Stack;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium\` (.ci/run does)`);
  }
  stack = await startStack({});
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const lastAssistant = () => page.locator("#messages .msg.assistant").last();
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 50 });

/** Sends a message with Enter and waits until its reply has streamed in part, but not finished. */
async function sendAndSeeItStream(text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await poll(async () => (await lastAssistant().getAttribute("data-state")) === "streaming" && ((await lastAssistant().textContent()) ?? "").length > 0).toBe(true);
}

async function replyFinished(): Promise<string> {
  await poll(() => lastAssistant().getAttribute("data-state")).toBe("done");
  return (await lastAssistant().textContent()) ?? "";
}

it("creates a user, streams a conversation with a file, resumes a reply after a reload, and shows the balance", async () => {
  await page.goto(stack.baseUrl);
  expect(await page.title()).toBe("Chat-Backend");
  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: path.join(IMAGES, "chat-page-sign-in.png") });

  // Create a user with the admin token (local dev's), which signs in as that user.
  await page.getByText("Create a user").click();
  await page.getByLabel("Admin token").fill("dev-admin-token");
  await page.getByRole("button", { name: "Create user" }).click();
  await poll(() => page.locator("#chat").isVisible()).toBe(true);
  const userId = await page.getByLabel("User id (local mode)").inputValue();
  expect(userId).toMatch(/^[0-9a-f-]{36}$/);
  await poll(() => page.locator("#balance").textContent()).toBe("$1.0000");
  await poll(() => page.locator("#model option").allTextContents()).toContain("gpt-4-turbo");

  // A first message: the reply streams, then finishes; the new session shows in the sidebar.
  await sendAndSeeItStream(FIRST);
  const first = await replyFinished();
  expect(first).toContain(`You said: "${FIRST}"`);
  expect(first).toContain("files: 0");
  await poll(() => page.locator("#sessions button").count()).toBe(1);
  await poll(() => page.locator("#balance").textContent()).not.toBe("$1.0000");

  // A file: uploaded into the session and sent with the next message; the agent sees one file.
  await page.getByLabel("Attach a file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("some notes\n") });
  await sendAndSeeItStream(WITH_FILE);
  expect(await replyFinished()).toContain("files: 1");
  const fileLink = page.locator("#messages .msg.file a").last();
  expect(await fileLink.getAttribute("href")).toMatch(/^\/uploads\/.+\.txt$/);
  const served = await page.request.get(`${stack.baseUrl}${await fileLink.getAttribute("href")}`);
  expect(await served.text()).toBe("some notes\n");

  // A reload while the reply streams: the page resumes the turn and the reply finishes, whole.
  await sendAndSeeItStream(LONG_MESSAGE);
  const pending = JSON.parse((await page.evaluate(() => sessionStorage.getItem("chat-backend.pending-turn"))) ?? "null") as { userMessage: string; text: string } | null;
  expect(pending?.userMessage).toBe(LONG_MESSAGE);
  const before = pending!.text;
  expect(before.length).toBeGreaterThan(0);
  await page.reload();
  await poll(() => page.locator("#messages .msg.user").last().textContent()).toBe(LONG_MESSAGE);
  const resumed = await replyFinished();
  expect(resumed.startsWith(before)).toBe(true);
  expect(resumed).toContain(`You said: "${LONG_MESSAGE}"`);
  expect(resumed).toMatch(/model: gpt-4-turbo \(.+\)\.$/);
  // ...and is what the session stored (the page shows the history once the resumed turn has ended).
  await poll(() => page.locator("#messages .msg.user").allTextContents()).toEqual([FIRST, WITH_FILE, LONG_MESSAGE]);
  expect(await lastAssistant().textContent()).toBe(resumed);
  await page.screenshot({ path: path.join(IMAGES, "chat-page.png") });

  // The balance went down by what the turns cost, on the page and in the admin API alike.
  const balance = await balanceOf(stack, userId);
  expect(balance).toBeLessThan(1);
  await poll(() => page.locator("#balance").textContent()).toBe(`$${balance.toFixed(4)}`);

  expect(problems).toEqual([]);
}, 120_000);
