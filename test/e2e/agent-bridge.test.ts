// The agent bridge alone, in front of a native gRPC (HTTP/2) AIService served by connect-node that implements every
// method and records what reached it: gRPC-web and Connect clients over HTTP/1.1 call Process, Summarize and
// ProcessStream through it, with deadlines, cancels, errors, metadata, the credential, the health route, its log and
// its shutdown; the npm script's argument checks and SIGTERM; and the standalone build run by plain node.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { createRequire } from "node:module";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client, type HandlerContext, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService, ResponseChunkSchema } from "../../gen/ai_service_pb";
import { startAgentBridge, type AgentBridge } from "../../agent-bridge/bridge.ts";
import { bundleAgentBridge } from "../../agent-bridge/build.ts";
import { spawnAgentBridge } from "../../agent-bridge/process.ts";

const TOKEN = "bridge-test-token";
const auth = { authorization: `Bearer ${TOKEN}` };

interface Seen {
  method: string;
  message: string;
  headers: Headers;
  timeoutMs: number | undefined;
  aborted: Promise<unknown>;
}

/** A native gRPC agent: answers by the message's instructions and records each call's metadata, deadline and abort. */
async function startUpstream(): Promise<{ target: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const record = (method: string, context: HandlerContext, message = "") => {
    seen.push({
      method,
      message,
      headers: new Headers(context.requestHeader),
      timeoutMs: context.timeoutMs(),
      aborted: new Promise((resolve) => context.signal.addEventListener("abort", () => resolve(context.signal.reason), { once: true })),
    });
  };
  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
  const implementation: Partial<ServiceImpl<typeof AIService>> = {
    async process(request, context) {
      record("Process", context, request.chatMessage);
      const failing = /^fail:(\d+)$/.exec(request.chatMessage);
      if (failing) {
        const detail = { desc: ResponseChunkSchema, value: { textDelta: "a detail" } };
        throw new ConnectError(`upstream refused: ü ${failing[1]}`, Number(failing[1]) as Code, { "x-app-error": "yes" }, [detail]);
      }
      const slow = /^slow:(\d+)$/.exec(request.chatMessage);
      if (slow) await wait(Number(slow[1]), context.signal);
      context.responseHeader.set("x-app-header", "header-value");
      context.responseTrailer.set("x-app-trailer", "trailer-value");
      return { responseText: `upstream: ${request.chatMessage}`, cost: 0.25 };
    },
    async *processStream(request, context) {
      record("ProcessStream", context, request.chatMessage);
      context.responseHeader.set("x-app-header", "stream-header");
      const pieces = Number(/^pieces:(\d+)$/.exec(request.chatMessage)?.[1] ?? 3);
      for (let i = 0; i < pieces; i++) {
        if (i > 0) await wait(150, context.signal);
        yield { textDelta: `piece ${i};`, cost: i === pieces - 1 ? 0.5 : 0 };
      }
      if (request.chatMessage === "stream-then-fail") throw new ConnectError("failed mid-stream", Code.DataLoss);
      context.responseTrailer.set("x-app-trailer", "stream-trailer");
    },
    async summarize(request, context) {
      record("Summarize", context);
      return { summary: `${request.previousSummary}+${request.turn}`, cost: 0.125 };
    },
  };
  const server = http2.createServer(connectNodeAdapter({ routes: (router) => void router.service(AIService, implementation) }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    target: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const transports: [string, (url: string) => Transport][] = [
  ["grpc-web", (url) => createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })],
  ["connect (binary)", (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true })],
  ["connect (JSON)", (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1" })],
];

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let bridge: AgentBridge;
const logLines: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  bridge = await startAgentBridge({ listen: "127.0.0.1:0", target: upstream.target, authToken: TOKEN, log: (line) => logLines.push(line) });
});

afterAll(async () => {
  await bridge?.close();
  await upstream?.close();
});

const lastSeen = () => upstream.seen[upstream.seen.length - 1]!;

/** Waits (bounded) until the agent has received `count` calls in all. */
async function agentHas(count: number): Promise<void> {
  for (let i = 0; i < 400 && upstream.seen.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(upstream.seen.length).toBe(count);
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe.each(transports)("over %s", (_, transport) => {
  let client: Client<typeof AIService>;
  beforeAll(() => {
    client = createClient(AIService, transport(bridge.url));
  });

  it("forwards Process and Summarize, with the reply's application headers and trailers", async () => {
    const headers = new Headers();
    const trailers = new Headers();
    const options: CallOptions = { headers: { ...auth, "x-request-id": "r-1" }, onHeader: (h) => h.forEach((v, k) => headers.set(k, v)), onTrailer: (t) => t.forEach((v, k) => trailers.set(k, v)) };
    const reply = await client.process({ chatMessage: "hello", fileName: ["https://f/1"] }, options);
    expect(reply.responseText).toBe("upstream: hello");
    expect(reply.cost).toBe(0.25);
    expect(headers.get("x-app-header")).toBe("header-value");
    expect(trailers.get("x-app-trailer")).toBe("trailer-value");
    expect(lastSeen().headers.get("x-request-id")).toBe("r-1");

    const summary = await client.summarize({ previousSummary: "before", turn: "User: a\n\nAssistant: b" }, { headers: auth });
    expect(summary).toMatchObject({ summary: "before+User: a\n\nAssistant: b", cost: 0.125 });
    expect(lastSeen().method).toBe("Summarize");
  });

  it("streams ProcessStream piece by piece as the agent produces it", async () => {
    const arrivals: number[] = [];
    const texts: string[] = [];
    const trailers = new Headers();
    const started = performance.now();
    for await (const chunk of client.processStream({ chatMessage: "pieces:4" }, { headers: auth, onTrailer: (t) => t.forEach((v, k) => trailers.set(k, v)) })) {
      arrivals.push(performance.now() - started);
      texts.push(chunk.textDelta);
    }
    expect(texts).toEqual(["piece 0;", "piece 1;", "piece 2;", "piece 3;"]);
    // The agent waits 150 ms between pieces: a bridge that buffered would deliver them together.
    expect(arrivals[3]! - arrivals[0]!).toBeGreaterThan(300);
    expect(trailers.get("x-app-trailer")).toBe("stream-trailer");
  });

  it("relays an error raised mid-stream after the pieces before it", async () => {
    const texts: string[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of client.processStream({ chatMessage: "stream-then-fail" }, { headers: auth })) texts.push(chunk.textDelta);
      })(),
    );
    expect(texts).toHaveLength(3);
    expect(error.code).toBe(Code.DataLoss);
    expect(error.rawMessage).toBe("failed mid-stream");
  });

  it("passes the caller's deadline to the agent, and the agent's DeadlineExceeded back", async () => {
    await client.process({ chatMessage: "quick" }, { headers: auth, timeoutMs: 4_000 });
    const { timeoutMs } = lastSeen();
    expect(timeoutMs).toBeGreaterThan(3_000);
    expect(timeoutMs).toBeLessThanOrEqual(4_000);

    await client.process({ chatMessage: "no deadline" }, { headers: auth });
    expect(lastSeen().timeoutMs).toBeUndefined();

    const error = await failure(client.process({ chatMessage: "slow:5000" }, { headers: auth, timeoutMs: 300 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    await expect(lastSeen().aborted).resolves.toBeDefined(); // the agent's call was given up too
  });

  it("cancels the agent's call when the caller goes away mid-stream", async () => {
    const controller = new AbortController();
    const stream = client.processStream({ chatMessage: "pieces:50" }, { headers: auth, signal: controller.signal });
    for await (const _ of stream) break; // the first piece, then leave
    controller.abort();
    const reason = await Promise.race([lastSeen().aborted, new Promise((resolve) => setTimeout(() => resolve("not aborted"), 3_000))]);
    expect(reason).not.toBe("not aborted");
  });

  it.each([Code.InvalidArgument, Code.NotFound, Code.PermissionDenied, Code.ResourceExhausted, Code.FailedPrecondition, Code.Internal, Code.Unavailable, Code.Unimplemented])(
    "relays the agent's status %s with its message, details and application metadata, not its transport headers",
    async (code) => {
      const error = await failure(client.process({ chatMessage: `fail:${code}` }, { headers: auth }));
      expect(error.code).toBe(code);
      expect(error.rawMessage).toBe(`upstream refused: ü ${code}`);
      expect(error.findDetails(ResponseChunkSchema)).toEqual([create(ResponseChunkSchema, { textDelta: "a detail" })]);
      expect(error.metadata.get("x-app-error")).toBe("yes");
      // Upstream gRPC framing would make a gRPC-web or Connect client misread the answer.
      expect(error.metadata.get("content-type") ?? "").not.toMatch(/^application\/grpc(\+proto)?$/);
      expect(error.metadata.get("grpc-accept-encoding")).toBeNull();
    },
  );

  it("refuses calls without the credential or with a wrong one (Unauthenticated), before the agent", async () => {
    const before = upstream.seen.length;
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }] as Record<string, string>[]) {
      const error = await failure(client.process({ chatMessage: "let me in" }, { headers }));
      expect(error.code).toBe(Code.Unauthenticated);
    }
    expect(upstream.seen.length).toBe(before);
    expect(logLines.some((line) => /method=ai_service\.AIService\/Process status=Unauthenticated ms=\d/.test(line))).toBe(true);
  });

  it("does not forward the credential, nor proxies' and Cloudflare's headers, to the agent", async () => {
    const hopHeaders = { "x-forwarded-for": "203.0.113.9", via: "1.1 proxy", "cf-worker": "example.workers.dev", "x-tenant": "t-1" };
    await client.process({ chatMessage: "who am i" }, { headers: { ...auth, ...hopHeaders } });
    const { headers } = lastSeen();
    for (const name of ["authorization", "x-forwarded-for", "via", "cf-worker"]) expect(headers.get(name)).toBeNull();
    expect(headers.get("x-tenant")).toBe("t-1");
  });
});

describe("the bridge process", () => {
  it("logs one line per call with method, status and latency", async () => {
    const client = createClient(AIService, createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "1.1" }));
    const before = logLines.length;
    await client.process({ chatMessage: "logged" }, { headers: auth });
    await failure(client.process({ chatMessage: `fail:${Code.NotFound}` }, { headers: auth }));
    for await (const _ of client.processStream({ chatMessage: "pieces:2" }, { headers: auth }));
    const lines = logLines.slice(before);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^agent-bridge: call method=ai_service\.AIService\/Process status=OK ms=\d+\.\d+ protocol=grpc-web$/);
    expect(lines[1]).toMatch(/method=ai_service\.AIService\/Process status=NotFound ms=\d+\.\d+ protocol=grpc-web error="upstream refused: ü 5"$/);
    expect(lines[2]).toMatch(/method=ai_service\.AIService\/ProcessStream status=OK ms=\d+\.\d+/);
  });

  it("answers GET /healthz with its target and whether it is reachable", async () => {
    const health = await fetch(`${bridge.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", target: `http://${upstream.target}`, targetReachable: true });
  });

  it("forwards the credential when asked to", async () => {
    const forwarding = await startAgentBridge({ listen: "127.0.0.1:0", target: upstream.target, authToken: TOKEN, forwardAuthorization: true, log: () => {} });
    try {
      const client = createClient(AIService, createGrpcWebTransport({ baseUrl: forwarding.url, httpVersion: "1.1" }));
      await client.process({ chatMessage: "forwarded" }, { headers: auth });
      expect(lastSeen().headers.get("authorization")).toBe(auth.authorization);
    } finally {
      await forwarding.close();
    }
  });

  it("answers Unavailable when the agent is down, and says so on /healthz", async () => {
    const dead = await startAgentBridge({ listen: "127.0.0.1:0", target: "127.0.0.1:1", log: () => {} });
    try {
      const client = createClient(AIService, createGrpcWebTransport({ baseUrl: dead.url, httpVersion: "1.1" }));
      expect((await failure(client.process({ chatMessage: "anyone?" }))).code).toBe(Code.Unavailable);
      expect(await (await fetch(`${dead.url}/healthz`)).json()).toMatchObject({ targetReachable: false });
    } finally {
      await dead.close();
    }
  });

  it("on close, refuses new calls, lets calls in flight finish, and cancels those that outlast the grace period", async () => {
    const lines: string[] = [];
    const closing = await startAgentBridge({ listen: "127.0.0.1:0", target: upstream.target, graceMs: 1_000, log: (line) => lines.push(line) });
    const client = createClient(AIService, createGrpcWebTransport({ baseUrl: closing.url, httpVersion: "1.1" }));
    const before = upstream.seen.length;
    const finishing = client.process({ chatMessage: "slow:300" });
    const outlasting = client.process({ chatMessage: "slow:10000" });
    // Both calls are in flight once the agent has them (a request still on its way when the bridge closes meets a
    // closed connection, as with any server).
    await agentHas(before + 2);
    const started = performance.now();
    const closed = closing.close();
    const refused = await failure(client.process({ chatMessage: "too late" }));
    expect(refused.code).toBe(Code.Unavailable);
    expect((await finishing).responseText).toBe("upstream: slow:300");
    expect((await failure(outlasting)).code).toBe(Code.Unavailable);
    await closed;
    expect(performance.now() - started).toBeLessThan(8_000); // well before the 10 s call would have ended
    expect(lines.some((line) => line.includes("cancelling 1 call(s)"))).toBe(true);
  });

  it("npm run agent:bridge refuses bad settings loudly", async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--listen", "127.0.0.1:8090"], {}, /--target \(or AGENT_BRIDGE_TARGET\) is required/],
      [["--listen", "8090", "--target", "127.0.0.1:50051"], {}, /--listen "8090": expected host:port/],
      [["--listen", "127.0.0.1:8090"], { AGENT_BRIDGE_TARGET: "127.0.0.1:99999" }, /target "127.0.0.1:99999": expected host:port/],
      [["--target", "127.0.0.1:50051", "--grace-ms", "5s"], {}, /--grace-ms "5s"/],
      [["--target", "127.0.0.1:50051", "--tagret", "x"], {}, /Unknown option '--tagret'/],
      [["--target", "127.0.0.1:50051"], { AGENT_BRIDGE_FORWARD_AUTH: "yes" }, /AGENT_BRIDGE_FORWARD_AUTH "yes"/],
    ];
    for (const [args, env, message] of cases) {
      const error = await spawnAgentBridge(args, env).then(
        async (started) => (await started.stop(), new Error(`started with ${args.join(" ")}`)),
        (e: Error) => e,
      );
      expect(error.message).toMatch(/exited \(2\)/);
      expect(error.message).toMatch(message);
    }
  }, 180_000);

  it("npm run agent:bridge takes its settings from the environment, and on SIGTERM finishes the call in flight and exits 0", async () => {
    const bridgeProcess = await spawnAgentBridge(["--listen", "127.0.0.1:0"], { AGENT_BRIDGE_TARGET: upstream.target, AGENT_AUTH_TOKEN: TOKEN });
    const client = createClient(AIService, createGrpcWebTransport({ baseUrl: bridgeProcess.url, httpVersion: "1.1" }));
    expect((await failure(client.process({ chatMessage: "no credential" }))).code).toBe(Code.Unauthenticated);
    const before = upstream.seen.length;
    const inFlight = client.process({ chatMessage: "slow:500" }, { headers: auth });
    await agentHas(before + 1);
    const exitCode = bridgeProcess.stop();
    expect((await inFlight).responseText).toBe("upstream: slow:500");
    expect(await exitCode).toBe(0);
    expect(bridgeProcess.output()).toMatch(/SIGTERM: no new calls/);
    expect(bridgeProcess.output()).toMatch(/status=OK/);
  }, 90_000);
});

describe("the standalone build, run by plain node outside the repository", () => {
  let folder: string;
  let built: string;

  beforeAll(async () => {
    // What `npm run build` writes to dist/agent-bridge.mjs, here in a folder of its own with no node_modules above it.
    folder = mkdtempSync(path.join(os.tmpdir(), "agent-bridge-build-"));
    built = path.join(folder, "agent-bridge.mjs");
    await bundleAgentBridge(built);
  }, 60_000);

  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("cannot reach the repository's packages, so it runs on what it bundles", () => {
    expect(() => createRequire(built).resolve("@connectrpc/connect")).toThrow(/Cannot find module/);
  });

  it("answers --help and refuses an unknown option in one message", () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const help = spawnSync(process.execPath, [built, "--help"], { cwd: folder, env, encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/node dist\/agent-bridge\.mjs --listen HOST:PORT --target/);
    expect(help.stdout).toMatch(/AGENT_AUTH_TOKEN/);
    const bogus = spawnSync(process.execPath, [built, "--bogus"], { cwd: folder, env, encoding: "utf8" });
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/Unknown option '--bogus'/);
    expect(bogus.stderr).not.toMatch(/^\s+at /m);
  });

  it("forwards a call to the agent with the credential, refuses one without, and exits 0 on SIGTERM", async () => {
    const bridgeProcess = await spawnAgentBridge(["--listen", "127.0.0.1:0", "--target", upstream.target], { AGENT_AUTH_TOKEN: TOKEN }, { built });
    let exitCode: number | null = null;
    try {
      const client = createClient(AIService, createGrpcWebTransport({ baseUrl: bridgeProcess.url, httpVersion: "1.1" }));
      expect((await failure(client.process({ chatMessage: "no credential" }))).code).toBe(Code.Unauthenticated);
      const before = upstream.seen.length;
      const reply = await client.process({ chatMessage: "through the built file" }, { headers: { ...auth, "x-request-id": "built-1" } });
      expect(reply.responseText).toBe("upstream: through the built file");
      expect(upstream.seen.length).toBe(before + 1);
      expect(lastSeen().headers.get("x-request-id")).toBe("built-1");
    } finally {
      exitCode = await bridgeProcess.stop();
    }
    expect(exitCode).toBe(0);
    expect(bridgeProcess.output()).toMatch(/method=ai_service\.AIService\/Process status=OK/);
  }, 90_000);
});
