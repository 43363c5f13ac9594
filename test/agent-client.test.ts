// The agent client against a real Connect server (the reference agent Worker), over gRPC-web and Connect.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { createAgentClient } from "../src/agent/agent-client";
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
  const agent = createAgentClient({ kind: "binding", protocol, binding: testEnv.REFERENCE_AGENT }, 1_000_000);

  it("Process returns the offline model's reply describing the context it received, with a cost", async () => {
    const response = await agent.process(turnRequest);
    expect(response.responseText).toBe(
      'You said: "What is 2 + 2?"\n\nContext received: 3 history entries, summary: yes, system prompt: yes, files: 2, model: gpt-4-turbo (openai).',
    );
    expect(response.cost).toBeGreaterThan(0);
    expect(response.timestamp).toBeDefined();
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
  const agent = createAgentClient({ kind: "url", baseUrl: "http://127.0.0.1:9", protocol: "grpc-web" }, 1_000_000);
  const failure = await agent.process(turnRequest, { timeoutMs: 2000 }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConnectError);
});

describe.each<"grpc-web" | "connect">(["grpc-web", "connect"])("an agent that answers outside the protocol, over %s", (protocol) => {
  const agent = createAgentClient({ kind: "binding", protocol, binding: testEnv.AGENT }, 1_000_000);

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
