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
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { readBody, readEnvelopes } from "./reply-body";
import { checkGrpcWebResponse, decode, expectContentType, methodUrl, replyContentType, requestHeaders, type RpcEndpoint } from "./rpc-wire";

export type UnaryMethod<I extends DescMessage, O extends DescMessage> = (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>;

/** The method as a function taking the request and call options (timeoutMs, signal), like a connect-es client's. */
export function unaryMethod<I extends DescMessage, O extends DescMessage>(endpoint: RpcEndpoint, method: DescMethodUnary<I, O>): UnaryMethod<I, O> {
  const url = methodUrl(endpoint, method);
  const grpcWeb = endpoint.protocol === "grpc-web";
  return async (request, options = {}) => {
    const message = toBinary(method.input, create(method.input, request));
    const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter((s) => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      const response = await endpoint.fetch(url, {
        method: "POST",
        headers: requestHeaders(endpoint, false, options.timeoutMs),
        body: grpcWeb ? encodeEnvelope(0, message) : message,
        signal,
        redirect: "manual",
      });
      const reply = grpcWeb ? await grpcWebReply(response, endpoint.maxReplyBytes, signal) : await connectReply(response, endpoint.maxReplyBytes, signal);
      return decode(method.output, reply);
    } catch (error) {
      throw ConnectError.from(error);
    }
  };
}

async function connectReply(response: Response, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const body = await readBody(response, maxBytes, signal);
  if (response.status !== 200) throw errorFromJsonBytes(body, response.headers, new ConnectError(`HTTP ${response.status}`, codeFromHttpStatus(response.status)));
  expectContentType(response, replyContentType("connect", false));
  return body;
}

async function grpcWebReply(response: Response, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  checkGrpcWebResponse(response, false);
  let message: Uint8Array | undefined;
  let trailer: Headers | undefined;
  for await (const { flags, data } of readEnvelopes(response, maxBytes, signal)) {
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
