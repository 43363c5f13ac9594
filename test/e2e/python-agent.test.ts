// A native gRPC agent in Python (examples/python-agent, Debian's python3-grpcio) behind the agent bridge, called by
// the backend as an operator would run them: the bridge with a credential, the backend with AI_SERVER_URL, AI_PROTOCOL
// and AI_AUTH_TOKEN given as --var (nothing edited in wrangler.toml). Turns over the WebSocket get the agent's replies
// and are charged its costs; files reach it as URLs; its errors are code 6 and charge nothing, and so does a backend
// whose credential the bridge does not take (the bridge restarted with another one); a v2 socket gets its reply as
// one delta. Without the Debian packages this fails, naming the install command.
import IORedis from "ioredis";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnAgentBridge, type AgentBridgeProcess } from "../../agent-bridge/process.ts";
import { freePort } from "../../scripts/lib/lib.ts";
import { checkoutDatabase, ensureDatabase, migratePostgres } from "../../scripts/lib/postgres.ts";
import { startPythonAgent, type PythonAgent } from "../../scripts/lib/python-agent.ts";
import { balanceOf, connectFrames, createUser, startStack, type FrameClient, type Stack } from "./stack";

const TOKEN = "python-agent-e2e-token";
/** The agent's cost a turn, as it reports it (a float32 on the wire: 2000 micro-dollars once rounded). */
const COST = 0.002;
const AI_TIMEOUT_MS = 10_000;
const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";

let agent: PythonAgent;
let bridgePort: number;
let bridge: AgentBridgeProcess;
/** Every bridge process this file started, for its log and its exit code. */
const bridges: AgentBridgeProcess[] = [];
let stack: Stack;
let client: FrameClient;
let sql: postgres.Sql;
const stream = `e2e-python-agent-${crypto.randomUUID()}`;

/** The bridge, as an operator starts it, on the port the backend was given, requiring `token`. */
async function startBridge(token: string): Promise<AgentBridgeProcess> {
  const started = await spawnAgentBridge(["--listen", `127.0.0.1:${bridgePort}`, "--target", agent.target], { AGENT_AUTH_TOKEN: token });
  bridges.push(started);
  return started;
}

const bridgeLog = () => bridges.map((b) => b.output()).join("");

beforeAll(async () => {
  agent = await startPythonAgent({ cost: COST }); // throws with the apt-get command when the packages are missing
  bridgePort = await freePort();
  bridge = await startBridge(TOKEN);
  const database = checkoutDatabase("chat_backend_e2e_python");
  const url = await ensureDatabase(server, database);
  await migratePostgres(url);
  sql = postgres(url, { max: 1, onnotice: () => {} });
  const settings = { AI_SERVER_URL: bridge.url, AI_PROTOCOL: "grpc-web", AI_AUTH_TOKEN: TOKEN, AI_TIMEOUT_MS: String(AI_TIMEOUT_MS), REDIS_STREAM: stream };
  // wrangler dev takes far longer than usual to come up on a loaded two-core machine.
  stack = await startStack(settings, { database, healthyWithinMs: 150_000 });
  client = await connectFrames(stack);
}, 240_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
  const bridgeExit = await bridge?.stop();
  await agent?.stop();
  await sql?.end();
  const redis = new IORedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  await redis.del(stream);
  redis.disconnect();
  if (bridge) expect(bridgeExit).toBe(0); // SIGTERM: a clean, graceful exit
});

const newSession = async (userId: string, message: string) => {
  const reply = await client.chat(userId, "NEW", message);
  expect(reply.error).toBeUndefined();
  return { sessionId: reply.data!.session_id!, message: reply.data!.message! };
};

/** The user's ledger rows other than the opening credit, oldest first. */
const ledger = async (userId: string) =>
  (await sql<{ kind: string; delta_micros: string }[]>`select kind, delta_micros from cost_ledger where user_id = ${userId} and kind <> 'credit' order by id`).map(
    (row) => ({ kind: row.kind, micros: Number(row.delta_micros) }),
  );

/** Waits (bounded) until the user's ledger has `rows` rows besides the credit: turns commit just behind their replies. */
async function ledgerOf(userId: string, rows: number) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const entries = await ledger(userId);
    if (entries.length >= rows) return entries;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return ledger(userId);
}

const callsWith = (text: string) => agent.calls().filter((call) => call.message === text);

describe("a Python grpcio agent behind the bridge", () => {
  it("answers turns: the replies are the agent's, with the history it was given", async () => {
    const userId = await createUser(stack);
    const first = await newSession(userId, "hello python");
    expect(first.message).toBe("echo: hello python | files: 0 | history: 0");
    const second = await client.chat(userId, first.sessionId, "and again");
    expect(second.data?.message).toBe("echo: and again | files: 0 | history: 2");

    const [call] = callsWith("and again");
    expect(call?.model).toBe("gpt-4-turbo");
    // The backend's deadline reached the agent through the bridge; the credential stopped at the bridge.
    expect(call?.deadline_ms).toBeGreaterThan(0);
    expect(call?.deadline_ms).toBeLessThanOrEqual(AI_TIMEOUT_MS);
    expect(call?.metadata).not.toContain("authorization");
    expect(bridgeLog()).toMatch(/method=ai_service\.AIService\/Process status=OK ms=\d/);
    // The agent has neither ProcessStream nor Summarize: the backend asked, heard Unimplemented, and fell back.
    expect(bridgeLog()).toMatch(/method=ai_service\.AIService\/ProcessStream status=Unimplemented/);
    expect(bridgeLog()).toMatch(/method=ai_service\.AIService\/Summarize status=Unimplemented/);
  });

  it("charges exactly the reported cost per turn, one ledger row each, and nothing for a summary", async () => {
    const userId = await createUser(stack, 1);
    const { sessionId } = await newSession(userId, "what does it cost");
    await client.chat(userId, sessionId, "and this one");
    expect(await ledgerOf(userId, 2)).toEqual([
      { kind: "turn", micros: -2000 },
      { kind: "turn", micros: -2000 },
    ]);
    expect(await balanceOf(stack, userId)).toBe(1 - 2 * 0.002);
  });

  it("hands the agent a working URL of a file uploaded to the session", async () => {
    const userId = await createUser(stack);
    const form = new FormData();
    form.set("file", new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])], { type: "image/png" }), "chart.png");
    for (const [name, value] of Object.entries({ user_id: userId, session_id: "NEW", model_name: "gpt-4-turbo", session_prompt: "" })) form.set(name, value);
    const upload = await fetch(`${stack.baseUrl}/upload`, { method: "POST", body: form });
    expect(upload.status).toBe(202);
    const { fileName, sessionId } = ((await upload.json()) as { data: { fileName: string; sessionId: string } }).data;

    const reply = await client.chat(userId, sessionId, "describe the chart", { file_name: fileName });
    expect(reply.data?.message).toBe("echo: describe the chart | files: 1 | history: 0");
    const urls = callsWith("describe the chart")[0]!.files;
    expect(urls).toHaveLength(1);
    expect(new URL(urls[0]!).pathname).toBe(`/files/${fileName}`);
    const file = await fetch(urls[0]!);
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  });

  it("turns the agent's error into code 6 and charges nothing", async () => {
    const userId = await createUser(stack, 1);
    const { sessionId } = await newSession(userId, "first a good turn");
    const failed = await client.chat(userId, sessionId, "fail on purpose");
    expect(failed).toMatchObject({ code: 6, error: "Unable to Receive Response To Query" });
    expect(callsWith("fail on purpose")).toHaveLength(1);
    expect(bridgeLog()).toMatch(/method=ai_service\.AIService\/Process status=Internal ms=[\d.]+ protocol=grpc-web error="the agent was asked to fail/);
    // A later turn's charge proves the failed one's would have landed by now.
    const after = await client.chat(userId, sessionId, "then another");
    expect(after.data?.message).toBe("echo: then another | files: 0 | history: 2");
    expect(await ledgerOf(userId, 2)).toEqual([
      { kind: "turn", micros: -2000 },
      { kind: "turn", micros: -2000 },
    ]);
    expect(await balanceOf(stack, userId)).toBe(1 - 2 * 0.002);
  });

  it("a backend with the wrong AI_AUTH_TOKEN gets code 6 and is charged nothing, and the bridge logs Unauthenticated", async () => {
    const userId = await createUser(stack, 1);
    // The bridge now requires another credential than the backend's (as after a rotation done on one side only).
    expect(await bridge.stop()).toBe(0);
    bridge = await startBridge("the-rotated-token");
    try {
      const reply = await client.chat(userId, "NEW", "let me in");
      expect(reply).toMatchObject({ code: 6, error: "Unable to Receive Response To Query" });
      expect(bridge.output()).toMatch(/method=ai_service\.AIService\/ProcessStream status=Unauthenticated ms=[\d.]+ protocol=grpc-web/);
      expect(callsWith("let me in")).toEqual([]);
      expect(await balanceOf(stack, userId)).toBe(1);
      expect(await ledger(userId)).toEqual([]);
    } finally {
      expect(await bridge.stop()).toBe(0);
      bridge = await startBridge(TOKEN);
    }
    expect((await client.chat(userId, "NEW", "and now?")).data?.message).toBe("echo: and now? | files: 0 | history: 0");
    expect(await ledgerOf(userId, 1)).toEqual([{ kind: "turn", micros: -2000 }]);
  });

  it("gives a v2 socket the reply as one delta (the agent has no ProcessStream)", async () => {
    const userId = await createUser(stack);
    const v2 = await connectFrames(stack, "/ws?v=2");
    try {
      v2.send({ type: 3, data: { user_id: userId, session_id: "NEW", model_name: "gpt-4-turbo", message: "stream me", session_prompt: "" } });
      const { events, answer } = await v2.untilAnswer();
      expect(events.map((event) => event.event)).toEqual(["start", "delta", "end"]);
      expect(events[1]).toMatchObject({ seq: 0, text: "echo: stream me | files: 0 | history: 0" });
      expect(answer.data?.message).toBe("echo: stream me | files: 0 | history: 0");
    } finally {
      v2.close();
    }
  });
});
