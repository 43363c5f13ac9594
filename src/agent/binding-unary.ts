// Owns calling an agent Worker through its service binding: one Connect-protocol unary POST of binary protobuf,
// built from connect-es's own protocol pieces (content type, version header, error JSON, status codes) without its
// transport's per-call machinery (interceptor chain, linked abort controllers, header validation), which cost
// about as much CPU as the rest of the call. Errors are ConnectErrors with the agent's code, as connect-es gives.
import { create, fromBinary, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, type CallOptions } from "@connectrpc/connect";
import { codeFromHttpStatus, contentTypeUnaryProto, errorFromJsonBytes, protocolVersion } from "@connectrpc/connect/protocol-connect";

/** The method as a function taking the request and call options (timeoutMs, signal), like a connect-es client's. */
export function bindingUnary<I extends DescMessage, O extends DescMessage>(
  binding: Fetcher,
  method: DescMethodUnary<I, O>,
): (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>> {
  // A binding needs a URL all the same; its host is never resolved.
  const url = `http://agent.binding/${method.parent.typeName}/${method.name}`;
  return async (request, options = {}) => {
    const headers: Record<string, string> = { "content-type": contentTypeUnaryProto, "connect-protocol-version": String(protocolVersion) };
    const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter((s) => s !== undefined);
    if (options.timeoutMs) headers["connect-timeout-ms"] = String(options.timeoutMs);
    let response: Response;
    try {
      response = await binding.fetch(url, {
        method: "POST",
        headers,
        body: toBinary(method.input, create(method.input, request)),
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (error) {
      throw ConnectError.from(error);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status === 200) return fromBinary(method.output, bytes);
    throw errorFromJsonBytes(bytes, response.headers, new ConnectError(`HTTP ${response.status}`, codeFromHttpStatus(response.status)));
  };
}
