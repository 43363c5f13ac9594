// Serves a Connect service implementation from a Worker's fetch handler (Connect and gRPC-web protocols).
import type { DescService } from "@bufbuild/protobuf";
import { createConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";

export type FetchHandler = (request: Request) => Promise<Response>;

export function serveService<S extends DescService>(service: S, implementation: Partial<ServiceImpl<S>>): FetchHandler {
  const router = createConnectRouter().service(service, implementation);
  const byPath = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h, { httpVersion: "1.1" })]));
  return async (request) => {
    const handler = byPath.get(new URL(request.url).pathname);
    return handler ? handler(request) : new Response("Not found", { status: 404 });
  };
}
