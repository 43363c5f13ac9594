// The AIService implementation: Process answers a turn, Summarize folds a turn into the running summary.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AIService, ResponseSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";
import type { AgentEnv } from "./env";
import { offlineReply, offlineSummary } from "./offline-model";
import { openAiReply, openAiSummary } from "./openai-model";

export function createAgentService(env: AgentEnv): ServiceImpl<typeof AIService> {
  const online = env.AGENT_MODE === "openai";
  return {
    async process(request) {
      const { text, cost } = online ? await openAiReply(env, request) : offlineReply(request);
      return create(ResponseSchema, { responseText: text, cost, timestamp: timestampNow() });
    },
    async summarize(request) {
      const { summary, cost } = online ? await openAiSummary(env, request) : offlineSummary(request);
      return create(SummarizeResponseSchema, { summary, cost });
    },
  };
}
