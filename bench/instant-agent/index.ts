// An agent that answers at once over the real protocol (Connect/gRPC-web), so the benchmark measures the
// backend, not a model. Served by the same code as the reference agent.
import { create } from "@bufbuild/protobuf";
import { AIService, ResponseSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";
import { serveService } from "../../reference-agent/src/serve";

const COST_PER_CALL = 0.000001;

export default {
  fetch: serveService(AIService, {
    async process(request) {
      return create(ResponseSchema, { responseText: `ok: ${request.chatMessage}`, cost: COST_PER_CALL });
    },
    async summarize(request) {
      return create(SummarizeResponseSchema, { summary: request.previousSummary.slice(-500) + "|", cost: COST_PER_CALL });
    },
  }),
};
