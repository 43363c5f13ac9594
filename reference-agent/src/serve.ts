// Serves a Connect service implementation from a Worker's fetch handler (Connect and gRPC-web protocols), refusing
// calls without the agent credential when one is configured.
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";

export type FetchHandler = (request: Request) => Promise<Response>;

export function serveService<S extends DescService>(service: S, implementation: Partial<ServiceImpl<S>>, options: { token?: string } = {}): FetchHandler {
  const interceptors = options.token ? [requireBearer(options.token)] : [];
  const router = createConnectRouter({ interceptors }).service(service, implementation);
  const byPath = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h, { httpVersion: "1.1" })]));
  return async (request) => {
    const handler = byPath.get(new URL(request.url).pathname);
    return handler ? handler(request) : new Response("Not found", { status: 404 });
  };
}

/** Calls must carry `Authorization: Bearer <token>` (the backend's AI_AUTH_TOKEN); others get Unauthenticated. */
function requireBearer(token: string): Interceptor {
  const expected = new TextEncoder().encode(`Bearer ${token}`);
  return (next) => async (request) => {
    const presented = new TextEncoder().encode(request.header.get("authorization") ?? "");
    if (!sameBytes(presented, expected)) throw new ConnectError("a valid agent credential is required", Code.Unauthenticated);
    return next(request);
  };
}

/** Compares without an early exit, so the time taken says nothing about where a guess went wrong. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.byteLength ^ b.byteLength;
  for (let i = 0; i < b.byteLength; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}
