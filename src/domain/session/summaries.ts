// Owns rolling summaries: the agent's Summarize first, an OpenAI-compatible endpoint as fallback,
// else the summary stays as it was.
import { Code, ConnectError } from "@connectrpc/connect";
import type { AgentClient } from "../../agent/agent-client";
import { summarizeWithOpenAi } from "../../agent/openai-summarizer";
import type { Config } from "../../config";
import type { AccountStore, ModelRecord } from "../../storage/chat-store";
import { microsToDollars, tokenCostMicros } from "../money";

export interface SummaryInput {
  userId: string;
  sessionId: string;
  model: ModelRecord;
  previousSummary: string;
  userMessage: string;
  assistantMessage: string;
}

export interface SummaryResult {
  summary: string;
  /** What the summary cost, in dollars, as reported (or priced from token counts for the fallback). */
  costDollars: number;
}

export function turnTranscript(userMessage: string, assistantMessage: string): string {
  return `User: ${userMessage}\n\nAssistant: ${assistantMessage}`;
}

/** The new summary and what it cost, or null when no summarizer is available. */
export async function summarizeTurn(
  input: SummaryInput,
  agent: AgentClient,
  config: Config,
  store: Pick<AccountStore, "findModelByName">,
): Promise<SummaryResult | null> {
  const turn = turnTranscript(input.userMessage, input.assistantMessage);
  try {
    const answer = await agent.summarize(
      {
        userId: input.userId,
        sessionId: input.sessionId,
        modelName: input.model.name,
        modelProvider: input.model.provider,
        previousSummary: input.previousSummary,
        turn,
      },
      { timeoutMs: config.AI_TIMEOUT_MS },
    );
    return { summary: answer.summary, costDollars: answer.cost };
  } catch (error) {
    if (!(error instanceof ConnectError && error.code === Code.Unimplemented)) throw error;
  }
  if (config.SUMMARY_OPENAI_BASE_URL) {
    const prices = (await store.findModelByName(config.SUMMARY_MODEL)) ?? input.model;
    const answer = await summarizeWithOpenAi({
      baseUrl: config.SUMMARY_OPENAI_BASE_URL,
      apiKey: config.SUMMARY_OPENAI_API_KEY,
      model: config.SUMMARY_MODEL,
      previousSummary: input.previousSummary,
      turn,
      timeoutMs: config.AI_TIMEOUT_MS,
    });
    return { summary: answer.summary, costDollars: microsToDollars(tokenCostMicros(prices, answer.promptTokens, answer.completionTokens)) };
  }
  return null; // the start-up log said so (config.ts describeConfig)
}
