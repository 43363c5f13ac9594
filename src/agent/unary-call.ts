// Owns one unary call to the agent over Connect or gRPC-web: a POST of binary protobuf built from connect-es's own
// protocol pieces (content types, headers, envelopes, trailers, error JSON, status codes), reading at most
// AI_MAX_REPLY_BYTES of the reply and never trusting a length it declares. connect-es's transports are not used
// for these calls: their per-call machinery costs about as much CPU as the rest of a turn, and their envelope
// reader allocates whatever length a reply's first envelope header declares before any of it arrives, so an HTML
// page or random bytes cost a gigabyte-sized allocation that held the isolate for seconds in workerd
// (repro/connect-envelope-allocation/ shows it: 5.2 s for a 41-byte page). Errors are ConnectErrors with the
// agent's code.
import { create, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, validateResponse } from "@connectrpc/connect/protocol-grpc-web";
import { readEnvelopes, replyTooLarge } from "./envelopes";
import { decode, expectContentType, methodUrl, replyContentType, requestHeaders, type RpcEndpoint } from "./rpc-wire";

export type UnaryMethod<I extends DescMessage, O extends DescMessage> = (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>;

/** The method as a function taking the request and call options (timeoutMs, signal), like a connect-es client's. */
export function unaryMethod<I extends DescMessage, O extends DescMessage>(endpoint: RpcEndpoint, method: DescMethodUnary<I, O>): UnaryMethod<I, O> {
  const url = methodUrl(endpoint, method);
  const grpcWeb = endpoint.protocol === "grpc-web";
  return async (request, options = {}) => {
    const message = toBinary(method.input, create(method.input, request));
    const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter((s) => s !== undefined);
    try {
      const response = await endpoint.fetch(url, {
        method: "POST",
        headers: requestHeaders(endpoint.protocol, false, options.timeoutMs),
        body: grpcWeb ? encodeEnvelope(0, message) : message,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
        redirect: "manual",
      });
      const reply = grpcWeb ? await grpcWebReply(response, endpoint.maxReplyBytes) : await connectReply(response, endpoint.maxReplyBytes);
      return decode(method.output, reply);
    } catch (error) {
      throw ConnectError.from(error);
    }
  };
}

async function connectReply(response: Response, maxBytes: number): Promise<Uint8Array> {
  const body = await readAtMost(response, maxBytes);
  if (response.status !== 200) throw errorFromJsonBytes(body, response.headers, new ConnectError(`HTTP ${response.status}`, codeFromHttpStatus(response.status)));
  expectContentType(response, replyContentType("connect", false));
  return body;
}

async function grpcWebReply(response: Response, maxBytes: number): Promise<Uint8Array> {
  const { headerError } = validateResponse(response.status, response.headers); // throws for a non-2xx status
  if (headerError) throw headerError; // a trailers-only answer: the status came in the headers
  expectContentType(response, replyContentType("grpc-web", false));
  let message: Uint8Array | undefined;
  let trailer: Headers | undefined;
  for await (const { flags, data } of readEnvelopes(response.body, maxBytes)) {
    if (flags === trailerFlag) trailer = trailerParse(data);
    else if (flags !== 0) throw new ConnectError(`protocol error: unsupported envelope flags ${flags}`, Code.Internal);
    else if (message) throw new ConnectError("protocol error: more than one message in a unary reply", Code.Internal);
    else message = data;
  }
  if (!trailer) throw new ConnectError("protocol error: the reply has no trailer", Code.Internal);
  const trailerError = findTrailerError(trailer);
  if (trailerError) throw trailerError;
  if (!message) throw new ConnectError("protocol error: the reply has no message", Code.Internal);
  return message;
}

/** The whole body, refusing one over `maxBytes` as soon as it is known to be (by Content-Length or while reading). */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    throw replyTooLarge(maxBytes);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw replyTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
