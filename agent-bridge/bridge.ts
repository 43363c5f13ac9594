// Owns the agent bridge: serves a gRPC service (AIService by default) over gRPC-web and Connect on HTTP/1.1 and
// forwards every call, unary or server-streaming, to a native gRPC (HTTP/2) agent, so a Worker can reach an agent
// it cannot speak to (workerd has no h2c). Deadlines, status codes, messages and application metadata pass both
// ways; the upstream's transport headers do not. It can require the agent credential, serves GET /healthz, logs one
// line per call and shuts down gracefully.
import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import net from "node:net";
import type { DescMessage, DescMethod, DescMethodServerStreaming, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor, type Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AIService } from "../gen/ai_service_pb.ts";

export interface AgentBridgeOptions {
  /** Where to listen: "host:port" ("[::1]:port" for IPv6); port 0 picks a free one. */
  listen: string;
  /** The native gRPC agent: "host:port" (h2c), or an http:// or https:// URL. */
  target: string;
  /** When set, calls must carry `authorization: Bearer <authToken>`; others get Unauthenticated. */
  authToken?: string | null;
  /** Forward the caller's `authorization` header to the target (off: it stops at the bridge). */
  forwardAuthorization?: boolean;
  /** How long close() lets calls in flight finish before it cancels them. Default 5000. */
  graceMs?: number;
  /** One line per call, and a few about the bridge's life. Default: console.log. */
  log?: (line: string) => void;
  /** The service to bridge; every unary and server-streaming method of it is forwarded. Default: AIService. */
  service?: DescService;
}

export interface AgentBridge {
  /** The bridge's base URL, e.g. http://127.0.0.1:8090. */
  url: string;
  /** The target's base URL, e.g. http://127.0.0.1:50051. */
  target: string;
  /** Stops accepting, lets calls in flight finish (up to graceMs, then cancels them), closes the upstream connection. */
  close(): Promise<void>;
}

const DEFAULT_GRACE_MS = 5_000;

/** Request and response headers that belong to a hop, not to the application: never copied across the bridge. */
const TRANSPORT_HEADERS = new Set([
  "authorization",
  "accept",
  "accept-encoding",
  "cdn-loop",
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "date",
  "expect",
  "forwarded",
  "host",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "server",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "vary",
  "via",
  "x-grpc-web",
  "x-real-ip",
  "x-user-agent",
]);
/** Prefixes of the same: protocol framing (gRPC, Connect), pseudo-headers, proxies' and Cloudflare's own. */
const TRANSPORT_PREFIXES = ["grpc-", "connect-", "trailer-", ":", "x-forwarded-", "cf-"];

/** The application metadata among `from`: no transport headers, no grpc-*, connect-* or trailer-* framing. */
export function applicationHeaders(from: Headers, keep: readonly string[] = []): Headers {
  const out = new Headers();
  from.forEach((value, name) => {
    const lower = name.toLowerCase();
    const transport = TRANSPORT_HEADERS.has(lower) || TRANSPORT_PREFIXES.some((prefix) => lower.startsWith(prefix));
    if (keep.includes(lower) || !transport) out.append(name, value);
  });
  return out;
}

/** "host:port", "[v6]:port" or a URL: the target's base URL (h2c unless https://). */
export function targetUrl(target: string): string {
  if (/^https?:\/\//i.test(target)) {
    const url = new URL(target);
    if (url.pathname !== "/" || url.search || url.hash) throw new Error(`target "${target}": give a base URL without a path`);
    return url.origin;
  }
  const { host, port } = parseHostPort(target, "target");
  if (port === 0) throw new Error(`target "${target}": port 0 is not a target`);
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** "host:port" or "[v6]:port", with a port 0-65535. */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`${what} "${value}": expected host:port (e.g. 127.0.0.1:8090), port 0-65535`);
  return { host: (match[1] ?? match[2])!, port };
}

export async function startAgentBridge(options: AgentBridgeOptions): Promise<AgentBridge> {
  const log = options.log ?? ((line: string) => console.log(line));
  const service = options.service ?? AIService;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const target = targetUrl(options.target);
  const { host, port } = parseHostPort(options.listen, "listen");
  const token = options.authToken || null;

  const sessions = new Http2SessionManager(target);
  const upstream = createGrpcTransport({ baseUrl: target, sessionManager: sessions });
  const keep = options.forwardAuthorization ? ["authorization"] : [];
  const inFlight = new InFlight();
  const cancelAll = new AbortController();

  const forward: Forwarding = { upstream, keep, shutdown: cancelAll.signal };
  const interceptors = [logCalls(log), ...(token ? [requireBearer(token)] : [])];
  const adapter = connectNodeAdapter({
    interceptors,
    routes: (router) => {
      for (const method of service.methods) {
        if (isUnary(method)) router.rpc(method, forwardUnary(forward, method));
        else if (isServerStreaming(method)) router.rpc(method, forwardServerStream(forward, method));
        // Client and bidi streaming need HTTP/2 end to end, which gRPC-web over HTTP/1.1 cannot carry: not routed (404).
      }
    },
  });
  let draining = false;
  const server = http.createServer((request, response) => {
    if (draining) {
      response.writeHead(503, { connection: "close", "content-type": "text/plain" }).end("the agent bridge is shutting down\n");
      return;
    }
    // A request is in flight until its response is written out (or its connection is gone), trailers included.
    inFlight.start();
    response.once("close", () => inFlight.end());
    if (request.method === "GET" && (request.url === "/healthz" || request.url?.startsWith("/healthz?"))) {
      void health(target).then((body) => {
        response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
      });
      return;
    }
    adapter(request, response);
  });
  // Longer than the usual idle timeouts of proxies and clients in front of it, so they close idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  log(`agent-bridge: listening on ${url} (gRPC-web, Connect), forwarding ${service.typeName} to ${target} (gRPC)${token ? ", agent credential required" : ""}`);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (!(await inFlight.drained(graceMs))) {
        log(`agent-bridge: cancelling ${inFlight.count} call(s) still running after ${graceMs} ms`);
        cancelAll.abort();
        await inFlight.drained(1_000);
      }
      server.closeAllConnections();
      sessions.abort();
      await closed;
      log("agent-bridge: stopped");
    })());
  return { url, target, close };
}

const isUnary = (method: DescMethod): method is DescMethodUnary => method.methodKind === "unary";
const isServerStreaming = (method: DescMethod): method is DescMethodServerStreaming => method.methodKind === "server_streaming";

interface Forwarding {
  upstream: Transport;
  /** Request headers forwarded although they are transport headers (authorization, when asked). */
  keep: readonly string[];
  /** Aborts every call still running when shutdown's grace period is over. */
  shutdown: AbortSignal;
}

/** Forwards a unary call: the request, the deadline left, the caller's abort and application headers go up; the
 *  reply, its application headers and trailers come back, or the upstream error without its transport metadata. */
function forwardUnary<I extends DescMessage, O extends DescMessage>({ upstream, keep, shutdown }: Forwarding, method: DescMethodUnary<I, O>) {
  return async (request: MessageShape<I>, context: HandlerContext): Promise<MessageShape<O>> => {
    const signal = AbortSignal.any([context.signal, shutdown]);
    try {
      const response = await upstream.unary(method, signal, context.timeoutMs(), applicationHeaders(context.requestHeader, keep), request);
      copyInto(context.responseHeader, applicationHeaders(response.header));
      copyInto(context.responseTrailer, applicationHeaders(response.trailer));
      return response.message;
    } catch (error) {
      throw relayedError(error, shutdown);
    }
  };
}

function forwardServerStream<I extends DescMessage, O extends DescMessage>({ upstream, keep, shutdown }: Forwarding, method: DescMethodServerStreaming<I, O>) {
  return async function* (request: MessageShape<I>, context: HandlerContext): AsyncGenerator<MessageShape<O>> {
    const signal = AbortSignal.any([context.signal, shutdown]);
    try {
      const response = await upstream.stream(method, signal, context.timeoutMs(), applicationHeaders(context.requestHeader, keep), createAsyncIterable([request]));
      copyInto(context.responseHeader, applicationHeaders(response.header));
      for await (const message of response.message) yield message;
      copyInto(context.responseTrailer, applicationHeaders(response.trailer));
    } catch (error) {
      throw relayedError(error, shutdown);
    }
  };
}

/** The upstream's code, message and details, with only its application metadata (a client that saw the upstream's
 *  content-type or grpc-status among an error's headers would read the wrong status); Unavailable for a call the
 *  bridge's shutdown cut short. */
function relayedError(error: unknown, shutdown: AbortSignal): ConnectError {
  if (shutdown.aborted) return new ConnectError("the agent bridge shut down before the agent answered", Code.Unavailable);
  const upstream = ConnectError.from(error);
  const relayed = new ConnectError(upstream.rawMessage, upstream.code, applicationHeaders(upstream.metadata), undefined, upstream.cause);
  relayed.details = upstream.details;
  return relayed;
}

function copyInto(to: Headers, from: Headers): void {
  from.forEach((value, name) => to.append(name, value));
}

/** Calls must carry `authorization: Bearer <token>`; compared in constant time (of equal-length digests). */
function requireBearer(token: string): Interceptor {
  const expected = digest(`Bearer ${token}`);
  return (next) => async (request) => {
    if (!timingSafeEqual(digest(request.header.get("authorization") ?? ""), expected)) {
      throw new ConnectError("a valid agent credential is required", Code.Unauthenticated);
    }
    return next(request);
  };
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/** One line per call when it ends: method, status (a gRPC code name), latency, protocol, and the message of a failure. */
function logCalls(log: (line: string) => void): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const contentType = request.header.get("content-type") ?? "";
    const protocol = contentType.startsWith("application/grpc-web") ? "grpc-web" : contentType.startsWith("application/grpc") ? "grpc" : "connect";
    const name = `${request.service.typeName}/${request.method.name}`;
    const done = (error: unknown) => {
      const status = error === null ? "OK" : Code[ConnectError.from(error).code];
      const failure = error === null ? "" : ` error=${JSON.stringify(ConnectError.from(error).rawMessage)}`;
      log(`agent-bridge: call method=${name} status=${status} ms=${(performance.now() - started).toFixed(2)} protocol=${protocol}${failure}`);
    };
    let response;
    try {
      response = await next(request);
    } catch (error) {
      done(error);
      throw error;
    }
    if (!response.stream) {
      done(null);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        let outcome: unknown = new ConnectError("the caller went away", Code.Canceled);
        try {
          yield* messages;
          outcome = null;
        } catch (error) {
          outcome = error;
          throw error;
        } finally {
          done(outcome);
        }
      })(),
    };
  };
}

/** Requests being answered now, and a way to wait for none. */
class InFlight {
  count = 0;
  private waiters: (() => void)[] = [];

  start(): void {
    this.count++;
  }

  end(): void {
    this.count--;
    if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** True when no call is running, within `ms`. */
  drained(ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** The health answer: the target, and whether a TCP connection to it opens within a second. */
async function health(target: string): Promise<{ status: "ok"; target: string; targetReachable: boolean }> {
  const url = new URL(target);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const targetReachable = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port, timeout: 1_000 });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => finish(true));
    socket.once("timeout", () => finish(false));
    socket.once("error", () => finish(false));
  });
  return { status: "ok", target, targetReachable };
}
