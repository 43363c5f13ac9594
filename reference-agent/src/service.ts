// The AIService implementation: Process answers a turn, ProcessStream answers it in pieces as they are produced,
// Summarize folds a turn into the running summary.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AIService, ResponseSchema, SummarizeResponseSchema } from "../../gen/ai_service_pb";
import { chunkDelayMs, type AgentEnv } from "./env";
import { offlineReply, offlineReplyStream, offlineSummary } from "./offline-model";
import { openAiReply, openAiReplyStream, openAiSummary } from "./openai-model";

export function createAgentService(env: AgentEnv): ServiceImpl<typeof AIService> {
  const online = env.AGENT_MODE === "openai";
  const delayMs = chunkDelayMs(env); // a bad setting fails at once, not at the first streamed turn
  return {
    async process(request) {
      const { text, cost } = online ? await openAiReply(env, request) : offlineReply(request);
      return create(ResponseSchema, { responseText: text, cost, timestamp: timestampNow() });
    },
    // context.signal aborts when the caller cancels or goes away: the pieces' source stops waiting and fetching.
    async *processStream(request, context) {
      const pieces = online ? openAiReplyStream(env, request, context.signal) : offlineReplyStream(request, delayMs, context.signal);
      for await (const { textDelta, cost } of pieces) yield { textDelta, cost, timestamp: timestampNow() };
    },
    async summarize(request) {
      const { summary, cost } = online ? await openAiSummary(env, request) : offlineSummary(request);
      return create(SummarizeResponseSchema, { summary, cost });
    },
  };
}
