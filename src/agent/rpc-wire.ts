// Owns what unary and streaming agent calls share on the wire: where a method is posted, the request headers of
// each protocol, the reply's content type check and message decoding.
import { fromBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { contentTypeStreamProto, contentTypeUnaryProto, protocolVersion } from "@connectrpc/connect/protocol-connect";
import { contentTypeProto as grpcWebContentType, validateResponse } from "@connectrpc/connect/protocol-grpc-web";

/** How the agent is reached: a fetch (a service binding's or the network's), its base URL and protocol. */
export interface RpcEndpoint {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  baseUrl: string;
  protocol: "connect" | "grpc-web";
  maxReplyBytes: number;
  /** AI_AUTH_TOKEN, sent as a bearer credential; null: none. */
  token: string | null;
}

export function methodUrl(endpoint: RpcEndpoint, method: DescMethod): string {
  return `${endpoint.baseUrl.replace(/\/+$/, "")}/${method.parent.typeName}/${method.name}`;
}

/** The reply's content type for a call of this shape (gRPC-web uses one for both). */
export function replyContentType(protocol: RpcEndpoint["protocol"], streaming: boolean): string {
  if (protocol === "grpc-web") return grpcWebContentType;
  return streaming ? contentTypeStreamProto : contentTypeUnaryProto;
}

/** Request headers; `timeoutMs` tells the agent how long the backend waits for the whole call. */
export function requestHeaders({ protocol, token }: RpcEndpoint, streaming: boolean, timeoutMs: number | undefined): Record<string, string> {
  const headers: Record<string, string> =
    protocol === "grpc-web"
      ? { "content-type": grpcWebContentType, "x-grpc-web": "1" }
      : { "content-type": replyContentType(protocol, streaming), "connect-protocol-version": String(protocolVersion) };
  if (token) headers.authorization = `Bearer ${token}`;
  if (timeoutMs) headers[protocol === "grpc-web" ? "grpc-timeout" : "connect-timeout-ms"] = protocol === "grpc-web" ? `${timeoutMs}m` : String(timeoutMs);
  return headers;
}

export function decode<O extends DescMessage>(schema: O, bytes: Uint8Array): MessageShape<O> {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    throw new ConnectError(`protocol error: the reply is not a ${schema.typeName} (${String(error)})`, Code.Internal);
  }
}

export function expectContentType(response: Response, expected: string): void {
  const type = response.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== expected) throw new ConnectError(`protocol error: the agent answered ${type ?? "no content type"}, not ${expected}`, Code.Internal);
}

/** A gRPC-web reply's status and content type; its body is cancelled when they refuse it. */
export function checkGrpcWebResponse(response: Response, streaming: boolean): void {
  try {
    const { headerError } = validateResponse(response.status, response.headers); // throws for a non-2xx status
    if (headerError) throw headerError; // a trailers-only answer: the status came in the headers
    expectContentType(response, replyContentType("grpc-web", streaming));
  } catch (error) {
    response.body?.cancel().catch(() => undefined);
    throw error;
  }
}
