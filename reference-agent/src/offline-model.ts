// The offline "model": deterministic answers that show a developer exactly what context the backend sent, whole
// or streamed in pieces.
import type { Request, SummarizeRequest } from "../../gen/ai_service_pb";
import { costInDollars, estimateTokens } from "./pricing";
import { sleep, splitEvenly } from "./streaming";

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

/** The same reply as offlineReply in pieces of about four words (at least five pieces), delayMs apart, the
 *  cost on the last: like a model streaming, so clients can be tried against replies that arrive over time. */
export async function* offlineReplyStream(request: Request, delayMs: number, signal: AbortSignal): AsyncGenerator<{ textDelta: string; cost: number }> {
  const { text, cost } = offlineReply(request);
  const words = text.split(/(?<=\s)(?=\S)/); // each word with the whitespace after it: they join back exactly
  const pieces = splitEvenly(words, Math.max(5, Math.ceil(words.length / 4)));
  for (const [i, piece] of pieces.entries()) {
    if (i > 0 && delayMs > 0) await sleep(delayMs, signal);
    yield { textDelta: piece.join(""), cost: i === pieces.length - 1 ? cost : 0 };
  }
}

export function offlineSummary(request: SummarizeRequest): { summary: string; cost: number } {
  const line = request.turn.replace(/\s+/g, " ").trim().slice(0, SUMMARY_LINE_MAX_CHARS);
  const summary = [request.previousSummary, `- ${line}`].filter(Boolean).join("\n").slice(-SUMMARY_MAX_CHARS);
  const cost = costInDollars(request.modelName, estimateTokens(request.previousSummary, request.turn), estimateTokens(summary));
  return { summary, cost };
}
