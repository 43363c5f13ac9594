// Owns one server-streaming call to the agent over Connect or gRPC-web: posts the request, then yields each reply
// message as it arrives, bounded by the silence allowed before and between messages, by the whole call's
// deadline, by AI_MAX_REPLY_BYTES, and by the caller's abort signal. Errors are ConnectErrors with the agent's code
// (DeadlineExceeded for the backend's own limits, Canceled for the caller's abort).
import { create, toBinary, type DescMessage, type DescMethodServerStreaming, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, endStreamFlag, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { readBody, readEnvelopes } from "./reply-body";
import { checkGrpcWebResponse, decode, expectContentType, methodUrl, replyContentType, requestHeaders, type RpcEndpoint } from "./rpc-wire";

export interface StreamCallOptions {
  /** The longest wait for the first message and between two messages. */
  silenceMs: number;
  /** The longest the whole call may take. */
  callMs: number;
  /** Aborts the call (a cancelled turn). */
  signal?: AbortSignal;
}

export type StreamMethod<I extends DescMessage, O extends DescMessage> = (request: MessageInitShape<I>, options: StreamCallOptions) => AsyncGenerator<MessageShape<O>>;

export function streamMethod<I extends DescMessage, O extends DescMessage>(endpoint: RpcEndpoint, method: DescMethodServerStreaming<I, O>): StreamMethod<I, O> {
  const url = methodUrl(endpoint, method);
  const grpcWeb = endpoint.protocol === "grpc-web";
  return async function* (request, options) {
    const limits = new CallLimits(options);
    try {
      const response = await endpoint.fetch(url, {
        method: "POST",
        headers: requestHeaders(endpoint, true, options.callMs),
        body: encodeEnvelope(0, toBinary(method.input, create(method.input, request))),
        signal: limits.signal,
        redirect: "manual",
      });
      await checkResponse(response, endpoint, limits.signal);
      let ended = false;
      for await (const { flags, data } of readEnvelopes(response, endpoint.maxReplyBytes, limits.signal)) {
        if (ended) throw new ConnectError("protocol error: a message after the end of the stream", Code.Internal);
        if (flags === 0) {
          limits.heard();
          yield decode(method.output, data);
        } else if (grpcWeb && flags === trailerFlag) {
          const error = findTrailerError(trailerParse(data));
          if (error) throw error;
          ended = true;
        } else if (!grpcWeb && flags === endStreamFlag) {
          const { error } = endStreamFromJson(data);
          if (error) throw error;
          ended = true;
        } else throw new ConnectError(`protocol error: unsupported envelope flags ${flags}`, Code.Internal);
      }
      if (!ended) throw new ConnectError("protocol error: the stream ended without its end", Code.Internal);
    } catch (error) {
      throw limits.reason() ?? ConnectError.from(error);
    } finally {
      limits.dispose();
    }
  };
}

/** The most of an error reply that is read for the agent's own error. */
const MAX_ERROR_BYTES = 65_536;

/** Refuses a reply that is not a stream of this protocol, with the agent's own error where it sent one. */
async function checkResponse(response: Response, endpoint: RpcEndpoint, signal: AbortSignal): Promise<void> {
  if (endpoint.protocol === "grpc-web") return checkGrpcWebResponse(response, true);
  if (response.status !== 200) {
    const fallback = new ConnectError(`HTTP ${response.status}`, codeFromHttpStatus(response.status));
    const body = await readBody(response, MAX_ERROR_BYTES, signal).catch(() => null);
    throw body && body.byteLength > 0 ? errorFromJsonBytes(body, response.headers, fallback) : fallback;
  }
  try {
    expectContentType(response, replyContentType(endpoint.protocol, true));
  } catch (error) {
    response.body?.cancel().catch(() => undefined);
    throw error;
  }
}

/** One signal for the caller's abort, the call's deadline and the silence timer, remembering which one fired. The
 *  silence timer is not re-armed per message: it notes when the last one came and, when it fires early, waits out
 *  the rest, so a message costs a clock read, not a timer. */
class CallLimits {
  private readonly controller = new AbortController();
  private silence: ReturnType<typeof setTimeout> | undefined;
  private readonly deadline: ReturnType<typeof setTimeout>;
  private fired: ConnectError | null = null;
  private lastHeardAt = 0;
  private readonly onCallerAbort = () => this.abort(new ConnectError("the call was cancelled", Code.Canceled));

  constructor(private readonly options: StreamCallOptions) {
    this.deadline = setTimeout(
      () => this.abort(new ConnectError(`the agent's reply took longer than AI_TURN_TIMEOUT_MS (${options.callMs} ms)`, Code.DeadlineExceeded)),
      options.callMs,
    );
    if (options.signal?.aborted) this.onCallerAbort();
    options.signal?.addEventListener("abort", this.onCallerAbort, { once: true });
    this.heard();
    this.armSilence(options.silenceMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A message arrived: the silence starts again. */
  heard(): void {
    this.lastHeardAt = Date.now();
  }

  /** Why the call was stopped, when one of these limits stopped it. */
  reason(): ConnectError | null {
    return this.fired;
  }

  dispose(): void {
    clearTimeout(this.silence);
    clearTimeout(this.deadline);
    this.options.signal?.removeEventListener("abort", this.onCallerAbort);
  }

  private armSilence(ms: number): void {
    this.silence = setTimeout(() => {
      const silentFor = Date.now() - this.lastHeardAt;
      if (silentFor < this.options.silenceMs) return this.armSilence(this.options.silenceMs - silentFor);
      this.abort(new ConnectError(`the agent was silent for longer than AI_TIMEOUT_MS (${this.options.silenceMs} ms)`, Code.DeadlineExceeded));
    }, ms);
  }

  private abort(reason: ConnectError): void {
    if (this.fired) return;
    this.fired = reason;
    this.controller.abort(reason);
  }
}
