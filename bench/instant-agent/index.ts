// An agent that answers at once over the real protocol (Connect unary, binary protobuf, as the backend speaks it
// through the AGENT binding; ProcessStream over Connect server streaming), so the benchmark measures the backend,
// not a model. It shares the runtime process with the backend, so its own CPU is counted in the turn's: it decodes
// and encodes with the generated protobuf code directly instead of connect-es's server, whose per-call machinery
// costs about as much as the backend's whole client side (measured in workerd: ~0.7 ms per call with connect-es on
// both ends, ~0.45 ms with this).
// ProcessStream answers one piece "ok: <message>" by default; "chunks:<n>" in the message asks for n pieces "d<i> ",
// "gap:<ms>" for that pause between them (the cost always on the last piece).
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { RequestSchema, ResponseChunkSchema, ResponseSchema, SummarizeRequestSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";

const COST_PER_CALL = 0.000001;
const PROTO = "application/proto";
const STREAM_PROTO = "application/connect+proto";
const END_STREAM_FLAG = 0x02;
/** The end-of-stream envelope of a call that succeeded: flags 0x02 and the JSON `{}`. */
const END_OK = envelope(END_STREAM_FLAG, new TextEncoder().encode("{}"));

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
const PROCESS_STREAM = "/ai_service.AIService/ProcessStream";

function unary<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
  answer: (request: MessageShape<I>) => MessageInitShape<O>,
): (body: Uint8Array) => Uint8Array {
  return (body) => toBinary(output, create(output, answer(fromBinary(input, body))));
}

/** A Connect streaming envelope: 1 byte of flags, the length as 4 bytes big-endian, the message. */
function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

const chunk = (textDelta: string, cost: number) => envelope(0, toBinary(ResponseChunkSchema, create(ResponseChunkSchema, { textDelta, cost })));

/** ProcessStream: the request is one uncompressed envelope; the pieces go out as envelopes, then END_OK. */
function processStream(body: Uint8Array): Response {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < 5 || body[0] !== 0 || view.getUint32(1) !== body.length - 5) {
    const error = { error: { code: "invalid_argument", message: "expected one uncompressed request envelope" } };
    return streamResponse(envelope(END_STREAM_FLAG, new TextEncoder().encode(JSON.stringify(error))));
  }
  const message = fromBinary(RequestSchema, body.subarray(5)).chatMessage;
  const asked = /\bchunks:(\d+)/.exec(message);
  const texts = asked ? Array.from({ length: Math.max(1, Number(asked[1])) }, (_, i) => `d${i} `) : [`ok: ${message}`];
  const gapMs = Number(/\bgap:(\d+)/.exec(message)?.[1] ?? 0);
  const piece = (i: number) => chunk(texts[i] ?? "", i === texts.length - 1 ? COST_PER_CALL : 0);
  // No gap: every envelope in one body, the cheapest answer (nothing to schedule).
  if (gapMs === 0) return streamResponse(concat([...texts.map((_, i) => piece(i)), END_OK]));
  // A gap: a stream the runtime sends on as each piece is enqueued, so the pieces really arrive apart.
  let next = 0;
  let cancelled = false;
  return streamResponse(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
        if (cancelled) return;
        controller.enqueue(piece(next++));
        if (next === texts.length) {
          controller.enqueue(END_OK);
          controller.close();
        }
      },
      cancel() {
        cancelled = true; // the caller went away: the pending pause ends without enqueuing
      },
    }),
  );
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) out.set(part, (offset += part.length) - part.length);
  return out;
}

const streamResponse = (body: BodyInit) => new Response(body, { headers: { "content-type": STREAM_PROTO } });

/** Calls answered so far: the benchmark's meter reads it (GET /__bench/calls) to count the backend's agent calls,
 *  its subrequests, since the backend holds its AGENT binding from before the meter can count there. */
let calls = 0;

export default {
  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/__bench/calls") return Response.json({ calls });
    calls++;
    const method = methods[path];
    if (!method && path !== PROCESS_STREAM) return new Response("Not found", { status: 404 });
    // Binary messages only (the backend's choice through a binding): Connect unary, and Connect streaming for
    // ProcessStream.
    if (request.method !== "POST" || request.headers.get("content-type") !== (method ? PROTO : STREAM_PROTO)) {
      return new Response("Unsupported Media Type", { status: 415 });
    }
    const body = new Uint8Array(await request.arrayBuffer());
    if (!method) return processStream(body);
    return new Response(method(body), { headers: { "content-type": PROTO } });
  },
};
