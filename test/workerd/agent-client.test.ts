// The agent client against a real Connect server (the reference agent Worker), over gRPC-web and Connect.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CANCEL_USAGE_GRACE_MS, createAgentClient } from "../../src/agent/agent-client";
import { testEnv } from "./helpers/env";

const turnRequest = {
  userId: "u-1",
  sessionId: "s-1",
  chatMessage: "What is 2 + 2?",
  modelName: "gpt-4-turbo",
  modelProvider: "openai",
  sessionPrompt: "Answer briefly.",
  fileName: ["https://files.example/a.png", "https://files.example/b.pdf"],
  chatSummary: "User asked about arithmetic.",
  chatHistory: JSON.stringify([
    { role: "user", content: "hi" },
    { role: "assistant", content: "hello" },
    { role: "user", content: "can you add?" },
  ]),
  balance: 0.5,
  timestamp: timestampNow(),
};

describe.each<"grpc-web" | "connect">(["grpc-web", "connect"])("over %s", (protocol) => {
  const agent = createAgentClient({ kind: "binding", protocol, binding: testEnv.REFERENCE_AGENT, token: testEnv.TEST_REFERENCE_AGENT_TOKEN }, 1_000_000);

  it("is refused by the reference agent without its credential, or with a wrong one (Unauthenticated)", async () => {
    for (const token of [null, "wrong-token"]) {
      const stranger = createAgentClient({ kind: "binding", protocol, binding: testEnv.REFERENCE_AGENT, token }, 1_000_000);
      const failure = await stranger.process(turnRequest).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConnectError);
      expect((failure as ConnectError).code).toBe(Code.Unauthenticated);
    }
  });

  it("Process returns the offline model's reply describing the context it received, with a cost", async () => {
    const before = Date.now();
    const response = await agent.process(turnRequest);
    const after = Date.now();
    expect(response.responseText).toBe(
      'You said: "What is 2 + 2?"\n\nContext received: 3 history entries, summary: yes, system prompt: yes, files: 2, model: gpt-4-turbo (openai).',
    );
    expect(response.cost).toBeGreaterThan(0);
    // When the reply was made: during the call (the agent is another Worker, so allow its clock a second).
    expect(response.timestamp).toBeDefined();
    expect(timestampMs(response.timestamp!)).toBeGreaterThanOrEqual(before - 1000);
    expect(timestampMs(response.timestamp!)).toBeLessThanOrEqual(after + 1000);
  });

  it("ProcessStream streams the same reply in at least 5 pieces, as they are produced, with the same cost", async () => {
    const whole = await agent.process(turnRequest);
    const pieces: { text: string; at: number }[] = [];
    let cost = 0;
    for await (const chunk of agent.processStream(turnRequest, { silenceMs: 5000, callMs: 10_000 })) {
      pieces.push({ text: chunk.textDelta, at: Date.now() });
      cost += chunk.cost;
    }
    expect(pieces.length).toBeGreaterThanOrEqual(5);
    expect(pieces.map((p) => p.text).join("")).toBe(whole.responseText);
    expect(Math.fround(cost)).toBe(whole.cost);
    // AGENT_CHUNK_DELAY_MS (20) apart: the pieces did not come in one burst.
    expect(pieces.at(-1)!.at - pieces[0]!.at).toBeGreaterThanOrEqual(20 * (pieces.length - 2));
  });

  it("Process reports an empty context as such", async () => {
    const response = await agent.process({ ...turnRequest, chatHistory: "[]", chatSummary: "", sessionPrompt: "", fileName: [] });
    expect(response.responseText).toContain("Context received: 0 history entries, summary: no, system prompt: no, files: 0");
  });

  it("Summarize folds the turn into the previous summary", async () => {
    const response = await agent.summarize({
      modelName: "gpt-4-turbo",
      previousSummary: "- User: hi Assistant: hello",
      turn: "User: What is 2 + 2?\n\nAssistant: 4",
    });
    expect(response.summary).toBe("- User: hi Assistant: hello\n- User: What is 2 + 2? Assistant: 4");
    expect(response.cost).toBeGreaterThan(0);
  });
});

it("an unreachable agent surfaces as a ConnectError", async () => {
  const agent = createAgentClient({ kind: "url", baseUrl: "http://127.0.0.1:9", protocol: "grpc-web", token: null }, 1_000_000);
  const failure = await agent.process(turnRequest, { timeoutMs: 2000 }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConnectError);
});

describe.each<"grpc-web" | "connect">(["grpc-web", "connect"])("an agent that answers outside the protocol, over %s", (protocol) => {
  const agent = createAgentClient({ kind: "binding", protocol, binding: testEnv.AGENT, token: null }, 1_000_000);

  it.each([
    ["garbage:html", Code.Internal],
    ["garbage:bytes", Code.Internal],
    ["garbage:huge", Code.ResourceExhausted],
  ])("fails %s with a protocol error at once, not a timeout", async (marker, code) => {
    const failure = await agent.process({ ...turnRequest, chatMessage: marker }, { timeoutMs: 10_000 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(code);
  });

  it("still answers the next call", async () => {
    expect((await agent.process({ ...turnRequest, chatMessage: "brief hello" })).responseText).toBe("ok: brief hello");
  });
});

describe.each<"grpc-web" | "connect">(["grpc-web", "connect"])("a streamed call's limits, over %s", (protocol) => {
  const agent = createAgentClient({ kind: "binding", protocol, binding: testEnv.AGENT, token: null }, 1_000_000);
  const failureOf = async (message: string, options: { silenceMs: number; callMs: number; signal?: AbortSignal }) => {
    try {
      for await (const _ of agent.processStream({ ...turnRequest, chatMessage: message }, options)) void _;
    } catch (error) {
      return error as ConnectError;
    }
    throw new Error("the call did not fail");
  };

  it("stops a reply that streams steadily past the call's deadline (AI_TURN_TIMEOUT_MS)", async () => {
    const failure = await failureOf("stream:40:20 steady", { silenceMs: 1000, callMs: 200 });
    expect(failure.code).toBe(Code.DeadlineExceeded);
    expect(failure.message).toContain("AI_TURN_TIMEOUT_MS");
  });

  it("stops an agent that falls silent mid-stream (AI_TIMEOUT_MS)", async () => {
    const failure = await failureOf("stall:2 quiet", { silenceMs: 200, callMs: 10_000 });
    expect(failure.code).toBe(Code.DeadlineExceeded);
    expect(failure.message).toContain("AI_TIMEOUT_MS");
  });

  it("stops when the caller aborts, and refuses a reply over AI_MAX_REPLY_BYTES", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    expect((await failureOf("stream:40:20 long", { silenceMs: 1000, callMs: 10_000, signal: abort.signal })).code).toBe(Code.Canceled);
    expect((await failureOf("garbage:huge", { silenceMs: 5000, callMs: 10_000 })).code).toBe(Code.ResourceExhausted);
  });

  it("answers Unimplemented where the agent has no ProcessStream; reply() then falls back to Process", async () => {
    expect((await failureOf("[unary-only] plain", { silenceMs: 5000, callMs: 10_000 })).code).toBe(Code.Unimplemented);
    const pieces = [];
    for await (const piece of agent.reply({ ...turnRequest, chatMessage: "brief [unary-only]" }, { silenceMs: 5000, callMs: 10_000 })) pieces.push(piece);
    expect(pieces.map((p) => p.text)).toEqual(["ok: brief [unary-only]"]);
  });
});

it("reads a stream cancelled before it began for the usage grace only, not until a usage chunk after it", async () => {
  const agent = createAgentClient({ kind: "binding", protocol: "connect", binding: testEnv.AGENT, token: null }, 1_000_000);
  const cancelled = new AbortController();
  cancelled.abort();
  // "usage:0:<ms>": empty heartbeats only, then, <ms> in, a usage chunk with the call's cost.
  const message = `usage:0:${CANCEL_USAGE_GRACE_MS + 1000} late`;
  const pieces = [];
  for await (const piece of agent.reply({ ...turnRequest, chatMessage: message }, { silenceMs: 5000, callMs: 10_000, signal: cancelled.signal })) pieces.push(piece);
  expect(pieces.every((piece) => piece.text === "" && piece.costDollars === 0)).toBe(true);
});
