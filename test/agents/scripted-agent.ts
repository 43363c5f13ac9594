// A test agent that speaks the real AIService protocol (served like the reference agent) and whose
// behaviour the test picks through the chat message: "fail ...", "slow:<ms> ...", "cost:<dollars> ..." (also
// NaN, -1, 1e13), "empty ..." (an empty reply), and, answered outside the protocol, "garbage:html",
// "garbage:bytes" (random bytes under the protocol's content type), "garbage:huge" (a 5 MB reply).
// Its reply is JSON describing everything the backend sent, so tests can assert on the context; "brief ..." gets
// a short reply instead (replies that quote the history grow with every turn).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AIService, ResponseSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";
import { serveService } from "../../reference-agent/src/serve";
import { DEFAULT_TURN_COST, SUMMARY_COST } from "./scripted-costs";


const serve = serveService(AIService, {
  async process(request) {
    const message = request.chatMessage;
    if (message.startsWith("fail")) throw new ConnectError("scripted failure", Code.Internal);
    const slow = /^slow:(\d+)/.exec(message);
    if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
    const cost = /^cost:(\S+)/.exec(message);
    if (message.startsWith("empty")) return create(ResponseSchema, { responseText: "", cost: DEFAULT_TURN_COST });
    if (message.startsWith("brief")) return create(ResponseSchema, { responseText: `ok: ${message}`, cost: DEFAULT_TURN_COST });
    const responseText = JSON.stringify({
      message,
      history: JSON.parse(request.chatHistory || "[]"),
      summary: request.chatSummary,
      prompt: request.sessionPrompt,
      files: request.fileName,
      model: request.modelName,
      provider: request.modelProvider,
      balance: request.balance,
      userId: request.userId,
      sessionId: request.sessionId,
    });
    return create(ResponseSchema, { responseText, cost: cost ? Number(cost[1]) : DEFAULT_TURN_COST });
  },
  async summarize(request) {
    if (request.turn.includes("[no-summary]")) throw new ConnectError("no Summarize here", Code.Unimplemented);
    if (request.turn.includes("[summary-fails]")) throw new ConnectError("summary broke", Code.Internal);
    const firstLine = request.turn.split("\n")[0] ?? "";
    const summary = [request.previousSummary, firstLine].filter(Boolean).join(" | ");
    return create(SummarizeResponseSchema, { summary, cost: SUMMARY_COST });
  },
});

/** Answers that break the protocol, picked by a marker anywhere in the request body. */
function misbehaviour(body: string, contentType: string): Response | null {
  if (body.includes("garbage:html")) {
    return new Response(`<!doctype html><html><body>${"<p>Bad gateway</p>".repeat(200)}</body></html>`, { headers: { "content-type": "text/html" } });
  }
  if (body.includes("garbage:bytes")) return new Response(crypto.getRandomValues(new Uint8Array(4096)), { headers: { "content-type": contentType } });
  if (body.includes("garbage:huge")) return new Response(new Uint8Array(5 * 1024 * 1024).fill(7), { headers: { "content-type": contentType } });
  return null;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const body = new TextDecoder().decode(await request.clone().arrayBuffer());
    return misbehaviour(body, request.headers.get("content-type") ?? "") ?? serve(request);
  },
};
