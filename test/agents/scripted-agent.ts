// A test agent that speaks the real AIService protocol (served like the reference agent) and whose
// behaviour the test picks through the chat message: "fail ...", "slow:<ms> ...", "cost:<dollars> ...".
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
    const cost = /^cost:([\d.]+)/.exec(message);
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

export default { fetch: serve };
