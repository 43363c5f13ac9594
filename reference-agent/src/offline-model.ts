// The offline "model": deterministic answers that show a developer exactly what context the backend sent.
import type { Request, SummarizeRequest } from "../../gen/ai_service_pb";
import { costInDollars, estimateTokens } from "./pricing";

const SUMMARY_MAX_CHARS = 2000;
const SUMMARY_LINE_MAX_CHARS = 240;

export function offlineReply(request: Request): { text: string; cost: number } {
  const history: unknown = JSON.parse(request.chatHistory || "[]");
  const entries = Array.isArray(history) ? history.length : 0;
  const text =
    `You said: "${request.chatMessage}"\n\n` +
    `Context received: ${entries} history entries, summary: ${request.chatSummary ? "yes" : "no"}, ` +
    `system prompt: ${request.sessionPrompt ? "yes" : "no"}, files: ${request.fileName.length}, ` +
    `model: ${request.modelName} (${request.modelProvider}).`;
  const input = estimateTokens(request.sessionPrompt, request.chatSummary, request.chatHistory, request.chatMessage);
  return { text, cost: costInDollars(request.modelName, input, estimateTokens(text)) };
}

export function offlineSummary(request: SummarizeRequest): { summary: string; cost: number } {
  const line = request.turn.replace(/\s+/g, " ").trim().slice(0, SUMMARY_LINE_MAX_CHARS);
  const summary = [request.previousSummary, `- ${line}`].filter(Boolean).join("\n").slice(-SUMMARY_MAX_CHARS);
  const cost = costInDollars(request.modelName, estimateTokens(request.previousSummary, request.turn), estimateTokens(summary));
  return { summary, cost };
}
