// The streaming benchmark's agent: a Node HTTP server on 127.0.0.1, in the benchmark's own process, that answers
// ProcessStream over the Connect streaming protocol (and Process and Summarize as unary Connect), by hand with the
// generated protobuf code. It shares its clock with the benchmark's client, so "the client got the first delta"
// minus "the agent sent its first chunk" is exact. A message `chunks:<n> gap:<ms>` picks the reply's shape.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { RequestSchema, ResponseChunkSchema, ResponseSchema, SummarizeRequestSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb.ts";

const COST_PER_CALL = 0.000001;

export interface StreamAgent {
  url: string;
  /** performance.now() when the first chunk of the reply to a chat message was written, by chat message. */
  firstChunkAt: Map<string, number>;
  close(): Promise<void>;
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([header, data]);
}

const encode = <O extends DescMessage>(schema: O, init: MessageInitShape<O>) => toBinary(schema, create(schema, init));

async function body(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function unary<I extends DescMessage, O extends DescMessage>(input: I, output: O, answer: (request: MessageShape<I>) => MessageInitShape<O>) {
  return (raw: Buffer, response: http.ServerResponse) => {
    response.writeHead(200, { "content-type": "application/proto" });
    response.end(encode(output, answer(fromBinary(input, raw))));
  };
}

export async function startStreamAgent(): Promise<StreamAgent> {
  const firstChunkAt = new Map<string, number>();
  const methods: Record<string, (raw: Buffer, response: http.ServerResponse) => void> = {
    "/ai_service.AIService/Process": unary(RequestSchema, ResponseSchema, (r) => ({ responseText: `ok: ${r.chatMessage}`, cost: COST_PER_CALL })),
    "/ai_service.AIService/Summarize": unary(SummarizeRequestSchema, SummarizeResponseSchema, (r) => ({ summary: `${r.previousSummary.slice(-200)}|`, cost: COST_PER_CALL })),
    "/ai_service.AIService/ProcessStream": (raw, response) => {
      const request = fromBinary(RequestSchema, raw.subarray(5)); // one envelope
      const chunks = Number(/chunks:(\d+)/.exec(request.chatMessage)?.[1] ?? 1);
      const gapMs = Number(/gap:(\d+)/.exec(request.chatMessage)?.[1] ?? 0);
      response.writeHead(200, { "content-type": "application/connect+proto" });
      let sent = 0;
      const next = (): void => {
        if (sent === 0) firstChunkAt.set(request.chatMessage, performance.now());
        const last = sent === chunks - 1;
        response.write(envelope(0, encode(ResponseChunkSchema, { textDelta: `d${sent} `, cost: last ? COST_PER_CALL : 0 })));
        sent++;
        if (last) response.end(envelope(2, Buffer.from("{}")));
        else if (gapMs > 0) setTimeout(next, gapMs);
        else next();
      };
      next();
    },
  };
  const server = http.createServer((request, response) => {
    const method = methods[request.url ?? ""];
    if (!method) return void response.writeHead(404).end();
    body(request).then((raw) => method(raw, response), () => response.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    firstChunkAt,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
