// An agent that answers at once over the real protocol (Connect unary, binary protobuf, as the backend speaks it
// through the AGENT binding), so the benchmark measures the backend, not a model. It shares the runtime process
// with the backend, so its own CPU is counted in the turn's: it decodes and encodes with the generated protobuf
// code directly instead of connect-es's server, whose per-call machinery costs about as much as the backend's
// whole client side (measured in workerd: ~0.7 ms per call with connect-es on both ends, ~0.45 ms with this).
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { RequestSchema, ResponseSchema, SummarizeRequestSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";

const COST_PER_CALL = 0.000001;
const PROTO = "application/proto";

const methods: Record<string, (body: Uint8Array) => Uint8Array> = {
  "/ai_service.AIService/Process": unary(RequestSchema, ResponseSchema, (request) => ({
    responseText: `ok: ${request.chatMessage}`,
    cost: COST_PER_CALL,
  })),
  "/ai_service.AIService/Summarize": unary(SummarizeRequestSchema, SummarizeResponseSchema, (request) => ({
    summary: `${request.previousSummary.slice(-500)}|`,
    cost: COST_PER_CALL,
  })),
};

function unary<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
  answer: (request: MessageShape<I>) => MessageInitShape<O>,
): (body: Uint8Array) => Uint8Array {
  return (body) => toBinary(output, create(output, answer(fromBinary(input, body))));
}

export default {
  async fetch(request: Request): Promise<Response> {
    const method = methods[new URL(request.url).pathname];
    if (!method) return new Response("Not found", { status: 404 });
    // Connect unary with binary messages is all this agent speaks (the backend's choice through a binding).
    if (request.method !== "POST" || request.headers.get("content-type") !== PROTO) {
      return new Response("Unsupported Media Type", { status: 415 });
    }
    const body = method(new Uint8Array(await request.arrayBuffer()));
    return new Response(body, { headers: { "content-type": PROTO } });
  },
};
