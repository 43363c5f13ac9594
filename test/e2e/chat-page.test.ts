// The built-in chat page at / in real Chromium (Debian's /usr/bin/chromium driven by playwright-core) against the
// whole stack as `npm run dev` runs it (local D1; the token sign-in part runs on the PostgreSQL stack): create a user
// (who is shown its id to copy), a streamed conversation, files shown by their names where they were sent, a reload
// mid-stream that resumes, the balance, Stop, a system prompt, deleting a chat (also on a touch screen), a
// phone-sized screen, signing in with a token (AUTH_MODE=token) and its files through signed links, the favicon, and
// no console errors. Also takes the README's screenshots (into docs/images/ with UPDATE_SCREENSHOTS=1).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { balanceOf, screenshotFolder, startStack, type Stack } from "./stack";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
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
/** A real PNG (a small bar chart, drawn and captured by Chromium) to attach as an image. */
let chartPng: Buffer;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium\` (.ci/run does)`);
  }
  stack = await startStack({}, { storage: "d1" }); // what `npm run dev` runs on a fresh clone
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  chartPng = await drawChart(browser);
});

async function drawChart(on: Browser): Promise<Buffer> {
  const canvas = await on.newPage({ viewport: { width: 240, height: 140 } });
  const bars = [40, 75, 55, 110, 90].map((h, i) => `<rect x="${20 + i * 42}" y="${125 - h}" width="30" height="${h}" rx="3" fill="#2f5bd3"/>`).join("");
  await canvas.setContent(`<body style="margin:0"><svg width="240" height="140"><rect width="240" height="140" fill="#fff"/>${bars}<path d="M10 126h220" stroke="#1d2330"/></svg></body>`);
  const png = await canvas.screenshot({ clip: { x: 0, y: 0, width: 240, height: 140 } });
  await canvas.close();
  return png;
}

/** The roles of the conversation's bubbles, top to bottom. */
const bubbleRoles = (on: Page) => on.locator("#messages .msg").evaluateAll((items) => items.map((item) => item.classList[1]));

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** What the stacks printed lately, shown when a test fails: the backend's log says why a turn failed. */
const stackTails: (() => string)[] = [() => stack?.output() ?? ""];
afterEach(({ task }) => {
  if (task.result?.state !== "fail") return;
  for (const output of stackTails) console.error(`--- the stack's output, last 4000 characters ---\n${output().slice(-4000)}`);
});

const lastAssistant = () => page.locator("#messages .msg.assistant").last();
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 50 });

/** Sends a message with Enter and waits until its reply has streamed in part, but not finished. */
async function sendAndSeeItStream(text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await poll(async () => (await lastAssistant().getAttribute("data-state")) === "streaming" && ((await lastAssistant().textContent()) ?? "").length > 0).toBe(true);
}

/** Waits for the last reply to end, and expects it to have ended well (naming the page's error if not). */
async function replyFinished(): Promise<string> {
  await poll(() => lastAssistant().getAttribute("data-state")).toMatch(/^(done|error|cancelled)$/);
  expect({ state: await lastAssistant().getAttribute("data-state"), error: await page.locator("#chat-error").textContent() }).toEqual({ state: "done", error: "" });
  return (await lastAssistant().textContent()) ?? "";
}

it("serves the page and its files with a Content-Security-Policy (scripts only from itself), never framed, no referrer off-site, no sniffing", async () => {
  for (const file of ["/", "/app.js", "/style.css"]) {
    const response = await fetch(`${stack.baseUrl}${file}`);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
    expect(directives).toMatchObject({ "default-src": "'none'", "script-src": "'self'", "connect-src": "'self'", "frame-ancestors": "'none'" });
    expect({
      referrer: response.headers.get("referrer-policy"),
      sniffing: response.headers.get("x-content-type-options"),
      framing: response.headers.get("x-frame-options"),
    }).toEqual({ referrer: "no-referrer", sniffing: "nosniff", framing: "DENY" });
  }
  // The Chromium tests below fail on any console error, which is where a policy violation shows.
});

it("creates a user, streams a conversation with a file, resumes a reply after a reload, and shows the balance", async () => {
  await page.goto(stack.baseUrl);
  expect(await page.title()).toBe("Chat-Backend");
  // Local mode (AUTH_MODE=none): a user id signs in; there is no token to paste.
  await poll(() => page.locator("#sign-in-mode").textContent()).toContain("Local mode");
  expect(await page.getByLabel("User id").isVisible()).toBe(true);
  expect(await page.locator("#token").isVisible()).toBe(false);
  await page.screenshot({ path: path.join(screenshotFolder(), "chat-page-sign-in.png") });

  // Create a user with the admin token (local dev's), which signs in as that user.
  await page.getByText("Create a user").click();
  await page.getByLabel("Admin token").fill("dev-admin-token");
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.baseUrl });
  await page.getByRole("button", { name: "Create user" }).click();
  await poll(() => page.locator("#chat").isVisible()).toBe(true);
  expect(await page.locator("#model option").count()).toBeGreaterThan(0); // shown only once the models are in
  const userId = await page.getByLabel("User id").inputValue();
  expect(userId).toMatch(/^[0-9a-f-]{36}$/);
  // The new user sees its id, which it needs to sign in again, and copies it.
  expect(await page.locator("#notice-text").textContent()).toContain(userId);
  await page.getByRole("button", { name: "Copy" }).click();
  await poll(() => page.getByRole("button", { name: "Copied" }).isVisible()).toBe(true);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(userId);
  // Signed out, the copied id signs in again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("User id").fill(await page.evaluate(() => navigator.clipboard.readText()));
  await page.getByRole("button", { name: "Open" }).click();
  await poll(() => page.locator("#chat").isVisible()).toBe(true);
  // An empty chat says what to do.
  expect(await page.getByText("A new chat. Write below").isVisible()).toBe(true);
  await poll(() => page.locator("#balance").textContent()).toBe("$1.0000");
  await poll(() => page.locator("#model option").allTextContents()).toContain("gpt-4-turbo");

  // A first message: the reply streams, then finishes; the new session shows in the sidebar.
  await sendAndSeeItStream(FIRST);
  const first = await replyFinished();
  expect(first).toContain(`You said: "${FIRST}"`);
  expect(first).toContain("files: 0");
  expect(first).toContain("system prompt: no");
  await poll(() => page.locator("#sessions .open").count()).toBe(1);
  await poll(() => page.locator("#balance").textContent()).not.toBe("$1.0000");

  expect(await page.getByText("A new chat. Write below").isVisible()).toBe(false);

  // A file: uploaded into the session and sent with the next message; the agent sees one file. The page shows it by
  // the name it had, right after the message it went with, while the turn runs and after a reload alike.
  await page.getByLabel("Attach a file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("some notes\n") });
  await sendAndSeeItStream(WITH_FILE);
  expect(await bubbleRoles(page)).toEqual(["user", "assistant", "user", "file", "assistant"]);
  expect(await replyFinished()).toContain("files: 1");
  const fileLink = page.locator("#messages .msg.file a").last();
  expect(await fileLink.textContent()).toBe("notes.txt");
  expect(await fileLink.getAttribute("href")).toMatch(new RegExp(`^${stack.baseUrl}/uploads/[A-Za-z0-9_-]{22}\\.txt$`));
  const served = await page.request.get((await fileLink.getAttribute("href"))!);
  expect(await served.text()).toBe("some notes\n");
  await page.reload();
  await poll(() => page.locator("#messages .msg.file a").last().textContent()).toBe("notes.txt");
  expect(await bubbleRoles(page)).toEqual(["user", "assistant", "user", "file", "assistant"]);

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
  expect(await bubbleRoles(page)).toEqual(["user", "assistant", "user", "file", "assistant", "user", "assistant"]);

  // The balance went down by what the turns cost, on the page and in the admin API alike.
  const balance = await balanceOf(stack, userId);
  expect(balance).toBeLessThan(1);
  await poll(() => page.locator("#balance").textContent()).toBe(`$${balance.toFixed(4)}`);

  // The page's own files load: the favicon (no /favicon.ico 404 either, for a tab that shows a file), the icons.
  for (const asset of ["/favicon.svg", "/favicon.ico", "/select-arrow.svg", "/file-icon.svg"]) expect((await page.request.get(`${stack.baseUrl}${asset}`)).status(), asset).toBe(200);
  expect(await page.locator('link[rel="icon"]').getAttribute("href")).toBe("/favicon.svg");
  expect(problems).toEqual([]);
}, 120_000);

const sessionRows = () => page.locator("#sessions li");
const currentRow = () => page.locator('#sessions li:has(.open[aria-current="true"])');

async function newChat(): Promise<void> {
  await page.getByRole("button", { name: "+ New chat" }).click();
  await poll(() => page.locator("#messages .msg").count()).toBe(0);
}

it("highlights a new chat in the sidebar once its reply, resumed after a reload, finishes", async () => {
  await newChat();
  expect(await page.getByText("A new chat. Write below").isVisible()).toBe(true);
  const rows = await sessionRows().count();
  await sendAndSeeItStream(LONG_MESSAGE);
  await page.reload();
  await replyFinished();
  await poll(() => sessionRows().count()).toBe(rows + 1);
  await poll(() => currentRow().count()).toBe(1);
  expect(await currentRow().locator(".open").textContent()).toBe("Reload me please please please please");
  expect(problems).toEqual([]);
}, 60_000);

it("names a chat whose first message is only a file after the file, and pads an error off the pane's edge", async () => {
  await newChat();
  await page.getByLabel("Attach a file").setInputFiles({ name: "trip-notes.txt", mimeType: "text/plain", buffer: Buffer.from("pack light\n") });
  await page.getByRole("button", { name: "Send" }).click();
  await replyFinished();
  // No empty bubble for the empty message: the file, then the reply; the same after a reload.
  expect(await bubbleRoles(page)).toEqual(["file", "assistant"]);
  await poll(() => currentRow().locator(".open").textContent()).toBe("trip-notes.txt");
  await page.reload();
  await poll(() => bubbleRoles(page)).toEqual(["file", "assistant"]);
  expect(await page.locator("#messages .msg.file a").textContent()).toBe("trip-notes.txt");

  // A file over MAX_FILE_SIZE (10 MB): the backend's reason shows, set in from the conversation's edge.
  await page.getByLabel("Attach a file").setInputFiles({ name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(11 * 1024 * 1024) });
  await page.getByLabel("Message").fill("Too big?");
  await page.getByRole("button", { name: "Send" }).click();
  await poll(() => page.locator("#chat-error").textContent()).toBe("File too large: the limit is 10 MB");
  const inset = await page.locator("#chat-error").evaluate((error) => {
    const text = document.createRange();
    text.selectNodeContents(error);
    return text.getBoundingClientRect().left - error.closest(".conversation")!.getBoundingClientRect().left;
  });
  expect(inset).toBeGreaterThanOrEqual(12);
  await page.getByLabel("Attach a file").setInputFiles([]);
  // The refused upload is the one failed load (the browser logs its 400 too).
  expect(problems.splice(0).filter((problem) => !/\b400\b/.test(problem))).toEqual([]);
}, 60_000);

async function sendAndFinish(text: string): Promise<string> {
  const replies = await page.locator("#messages .msg.assistant").count();
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await poll(() => page.locator("#messages .msg.assistant").count()).toBe(replies + 1);
  return replyFinished();
}

it("stops a streaming reply: the partial reply stays, marked stopped, and is what the session keeps", async () => {
  await newChat();
  await sendAndSeeItStream(LONG_MESSAGE);
  await page.getByRole("button", { name: "Stop" }).click();
  await poll(() => lastAssistant().getAttribute("data-state")).toBe("cancelled");
  const partial = (await lastAssistant().textContent()) ?? "";
  expect(partial.length).toBeGreaterThan(0);
  expect(`You said: "${LONG_MESSAGE}"`.startsWith(partial)).toBe(true); // cut off well before the reply's end
  expect(await page.getByRole("button", { name: "Send" }).isEnabled()).toBe(true);
  expect(await page.getByRole("button", { name: "Stop" }).isEnabled()).toBe(false);

  // After a reload the page shows the session as stored: the message and the partial reply.
  await page.reload();
  await poll(() => page.locator("#messages .msg.user").allTextContents()).toEqual([LONG_MESSAGE]);
  expect(await lastAssistant().textContent()).toBe(partial);
  expect(problems).toEqual([]);
}, 60_000);

it("sends a new chat's system prompt with its first message, and the session keeps it", async () => {
  await newChat();
  await page.locator("#prompt-box summary").click();
  await page.getByLabel("System prompt", { exact: true }).fill("Answer briefly.");
  // With a file too: the chat this upload starts takes the prompt and is named from the message.
  await page.getByLabel("Attach a file").setInputFiles({ name: "plan.txt", mimeType: "text/plain", buffer: Buffer.from("1. ship\n") });
  expect(await sendAndFinish("Hello, with a system prompt")).toContain("system prompt: yes");
  await poll(() => currentRow().locator(".open").textContent()).toBe("Hello, with a system prompt");
  expect(await page.getByLabel("System prompt", { exact: true }).inputValue()).toBe(""); // sent once
  // The next turn, with an image and no prompt in the box: the agent still gets the session's prompt.
  await page.getByLabel("Attach a file").setInputFiles({ name: "sales chart.png", mimeType: "image/png", buffer: chartPng });
  const second = await sendAndFinish("What does the chart show?");
  expect(second).toContain("system prompt: yes");
  expect(second).toContain("files: 1");
  const image = page.locator("#messages .msg.file img").last();
  await poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(240);
  expect(await image.getAttribute("alt")).toBe("sales chart.png");
  await page.screenshot({ path: path.join(screenshotFolder(), "chat-page.png") });
  expect(problems).toEqual([]);
}, 60_000);

it("fits a phone-sized screen: nothing scrolls sideways, the chats sit above the conversation, the composer is in view", async () => {
  await page.setViewportSize({ width: 390, height: 780 });
  try {
    // The chat with a system prompt and a file is still open.
    expect(await page.locator("#messages .msg").count()).toBeGreaterThan(0);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    for (const target of [page.getByLabel("Message"), page.getByRole("button", { name: "Send" }), page.getByRole("button", { name: "Stop" }), page.getByLabel("Model")]) {
      const box = (await target.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(box.y + box.height).toBeLessThanOrEqual(780);
    }
    const sidebar = (await page.getByRole("navigation", { name: "Sessions" }).boundingBox())!;
    const messages = (await page.locator("#messages").boundingBox())!;
    expect(sidebar.y + sidebar.height).toBeLessThanOrEqual(messages.y + 1);
    await page.screenshot({ path: path.join(screenshotFolder(), "chat-page-narrow.png") });
  } finally {
    await page.setViewportSize({ width: 1100, height: 700 });
  }
  expect(problems).toEqual([]);
}, 60_000);

it("deletes a chat from the sidebar once the user confirms, and keeps it when they do not", async () => {
  const before = await sessionRows().count();
  const name = (await currentRow().locator(".open").textContent()) ?? "";
  expect(before).toBeGreaterThan(1);

  const dismissed = page.waitForEvent("dialog").then((dialog) => dialog.dismiss());
  await currentRow().getByRole("button", { name: `Delete ${name}` }).click();
  await dismissed;
  expect(await sessionRows().count()).toBe(before);
  expect(await page.locator("#messages .msg").count()).toBeGreaterThan(0);

  const accepted = page.waitForEvent("dialog").then((dialog) => dialog.accept());
  await currentRow().getByRole("button", { name: `Delete ${name}` }).click();
  await accepted;
  await poll(() => sessionRows().count()).toBe(before - 1);
  expect(await page.locator("#messages .msg").count()).toBe(0);
  // Gone from the backend, not just from the page.
  await page.reload();
  await poll(() => sessionRows().count()).toBe(before - 1);
  expect(await page.locator("#sessions .open").allTextContents()).not.toContain(name);

  // A remembered chat that is gone (say, deleted in another tab) does not keep the user from signing in.
  await page.evaluate(() => sessionStorage.setItem("chat-backend.session", crypto.randomUUID()));
  await page.reload();
  await poll(() => sessionRows().count()).toBe(before - 1);
  expect(await page.locator("#chat").isVisible()).toBe(true);
  expect(await page.locator("#messages .msg").count()).toBe(0);
  expect(problems).toEqual([]);
}, 60_000);

it("deletes a chat on a touch screen, where nothing hovers", async () => {
  const userId = await page.getByLabel("User id").inputValue();
  const context = await browser.newContext({ viewport: { width: 390, height: 780 }, hasTouch: true, isMobile: true });
  try {
    const phone = await context.newPage();
    const phoneProblems: string[] = [];
    phone.on("console", (message) => {
      if (message.type() === "error") phoneProblems.push(`console: ${message.text()}`);
    });
    await phone.goto(stack.baseUrl);
    await phone.getByLabel("User id").fill(userId);
    await phone.getByRole("button", { name: "Open" }).tap();
    const rows = phone.locator("#sessions li");
    await poll(() => rows.count()).toBeGreaterThan(1);
    const before = await rows.count();
    expect(await phone.evaluate(() => matchMedia("(hover: none)").matches)).toBe(true);
    // No chat is open in this tab, so no row is hovered, focused or current: the delete control shows all the same.
    const last = rows.last();
    const name = (await last.locator(".open").textContent()) ?? "";
    const remove = last.getByRole("button", { name: `Delete ${name}` });
    expect(await remove.isVisible()).toBe(true);
    const accepted = phone.waitForEvent("dialog").then((dialog) => dialog.accept());
    await remove.tap();
    await accepted;
    await poll(() => rows.count()).toBe(before - 1);
    expect(await phone.locator("#sessions .open").allTextContents()).not.toContain(name);
    expect(phoneProblems).toEqual([]);
  } finally {
    await context.close();
  }
}, 60_000);

/** The development admin token is too short for token mode, which needs 32 bytes. */
const TOKEN_MODE_ADMIN_TOKEN = "e2e-admin-token-of-at-least-32-bytes";

describe("with AUTH_MODE=token", () => {
  let tokenStack: Stack;
  let tokenPage: Page;
  const tokenProblems: string[] = [];

  beforeAll(async () => {
    // As deployed (wrangler.toml): only the Worker's own page may call it, and secrets of at least 32 bytes.
    tokenStack = await startStack({ AUTH_MODE: "token", CORS_ORIGINS: "same-origin", FILE_URL_SECRET: "e2e-file-url-secret-of-32-bytes-or-more", ADMIN_TOKEN: TOKEN_MODE_ADMIN_TOKEN });
    stackTails.push(() => tokenStack.output());
    tokenPage = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    tokenPage.on("console", (message) => {
      if (message.type() === "error") tokenProblems.push(`console: ${message.text()}`);
    });
    tokenPage.on("pageerror", (error) => tokenProblems.push(`page error: ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await tokenPage?.close();
    await tokenStack?.stop();
  });

  it("creates a user with an API key, signs in with it, chats, stays signed in over a reload, and refuses a wrong token", async () => {
    await tokenPage.goto(tokenStack.baseUrl);
    await poll(() => tokenPage.locator("#sign-in-mode").textContent()).toContain("AUTH_MODE=token");
    expect(await tokenPage.getByLabel("Token (a JWT or API key)").isVisible()).toBe(true);
    expect(await tokenPage.locator("#user-id").isVisible()).toBe(false);

    await tokenPage.getByText("Create a user").click();
    await tokenPage.getByLabel("Admin token").fill(TOKEN_MODE_ADMIN_TOKEN);
    await tokenPage.getByRole("button", { name: "Create user" }).click();
    await poll(() => tokenPage.locator("#chat").isVisible()).toBe(true);
    // The chat shows only once the user's models are in, so a message sent at once has its model.
    expect(await tokenPage.locator("#model option").count()).toBeGreaterThan(0);
    const key = /cbk_\S+/.exec((await tokenPage.locator("#notice-text").textContent()) ?? "")?.[0];
    expect(key).toBeDefined();
    expect(await tokenPage.getByRole("button", { name: "Copy" }).isVisible()).toBe(true);

    await tokenPage.getByLabel("Message").fill("Hello with a key");
    await tokenPage.getByLabel("Message").press("Enter");
    // Ended, and without an error (the error's text is in the failure message if not).
    await poll(() => tokenPage.locator("#messages .msg.assistant").last().getAttribute("data-state")).toMatch(/^(done|error|cancelled)$/);
    expect({ state: await tokenPage.locator("#messages .msg.assistant").last().getAttribute("data-state"), error: await tokenPage.locator("#chat-error").textContent() }).toEqual({ state: "done", error: "" });
    expect(await tokenPage.locator("#messages .msg.assistant").last().textContent()).toContain('You said: "Hello with a key"');
    await tokenPage.reload();
    await poll(() => tokenPage.locator("#messages .msg.user").allTextContents()).toEqual(["Hello with a key"]);

    // Signed out, a wrong token is refused with the backend's reason; the issued key signs in again.
    await tokenPage.getByRole("button", { name: "Sign out" }).click();
    await tokenPage.getByLabel("Token (a JWT or API key)").fill("cbk_nosuchkey_wrongsecret");
    await tokenPage.getByRole("button", { name: "Open" }).click();
    await poll(() => tokenPage.locator("#sign-in-error").textContent()).toMatch(/^Sign-in refused: .+/);
    expect(await tokenPage.locator("#chat").isVisible()).toBe(false);
    await tokenPage.getByLabel("Token (a JWT or API key)").fill(key!);
    await tokenPage.getByRole("button", { name: "Open" }).click();
    await poll(() => tokenPage.locator("#sessions .open").count()).toBe(1);

    // The browser reports the refused upgrade and the refused check as failed loads (401); nothing else went wrong.
    expect(tokenProblems.splice(0).filter((problem) => !/401|WebSocket connection to .* failed/.test(problem))).toEqual([]);
  }, 120_000);

  /** Sends a message (with the file attached, if any) and waits for its reply to end well. */
  async function tokenSend(message: string, file?: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
    const replies = await tokenPage.locator("#messages .msg.assistant").count();
    if (file) await tokenPage.getByLabel("Attach a file").setInputFiles(file);
    await tokenPage.getByLabel("Message").fill(message);
    await tokenPage.getByLabel("Message").press("Enter");
    const reply = tokenPage.locator("#messages .msg.assistant").nth(replies);
    await poll(() => reply.getAttribute("data-state")).toMatch(/^(done|error|cancelled)$/);
    expect({ state: await reply.getAttribute("data-state"), error: await tokenPage.locator("#chat-error").textContent() }).toEqual({ state: "done", error: "" });
  }

  /** The image shows (it loaded: a browser sends no credential for an <img>, so only a signed link works). */
  async function imageShows(): Promise<void> {
    const image = tokenPage.locator("#messages .msg.file img").last();
    await poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(240);
    expect(new URL((await image.getAttribute("src"))!).searchParams.get("signature")).toBeTruthy();
  }

  /** Clicking the file's link downloads it under its original name, with the bytes that were attached. */
  async function downloads(name: string, bytes: Buffer): Promise<void> {
    const link = tokenPage.locator("#messages .msg.file a[download]").last();
    expect(await link.textContent()).toBe(name);
    const [download] = await Promise.all([tokenPage.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toBe(name);
    expect(readFileSync((await download.path())!)).toEqual(bytes);
  }

  it("shows an attached image and downloads an attached file through signed links, as sent and after a reload", async () => {
    const notes = Buffer.from("token-mode notes\n");
    await tokenPage.getByRole("button", { name: "+ New chat" }).click();
    await tokenSend("What is in this chart?", { name: "chart.png", mimeType: "image/png", buffer: chartPng });
    await imageShows();
    await tokenSend("And in these notes?", { name: "notes.txt", mimeType: "text/plain", buffer: notes });
    await downloads("notes.txt", notes);
    expect(await bubbleRoles(tokenPage)).toEqual(["user", "file", "assistant", "user", "file", "assistant"]);
    // The chat the image started is named from its first message.
    await poll(() => tokenPage.locator('#sessions .open[aria-current="true"]').textContent()).toBe("What is in this chart?");

    // After a reload the history's own signed links show and download the same files, in the same places.
    await tokenPage.reload();
    await poll(() => bubbleRoles(tokenPage)).toEqual(["user", "file", "assistant", "user", "file", "assistant"]);
    await imageShows();
    await downloads("notes.txt", notes);
    expect(tokenProblems).toEqual([]);
  }, 120_000);
});
