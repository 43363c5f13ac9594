// Owns the fallback summarizer: one call to an OpenAI-compatible chat-completions endpoint.
import { z } from "zod";

const completionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).optional(),
});

export interface OpenAiSummaryRequest {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  previousSummary: string;
  turn: string;
  timeoutMs: number;
}

export interface OpenAiSummary {
  summary: string;
  promptTokens: number;
  completionTokens: number;
}

const instructions =
  "You maintain a running summary of a conversation. Given the previous summary and the latest turn, " +
  "answer with the updated summary only: concise, factual, keeping names, numbers and decisions.";

export async function summarizeWithOpenAi(request: OpenAiSummaryRequest): Promise<OpenAiSummary> {
  const response = await fetch(`${request.baseUrl.replace(/\/+$/, "")}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(request.apiKey ? { authorization: `Bearer ${request.apiKey}` } : {}),
    },
    body: JSON.stringify({
      model: request.model,
      messages: [
        { role: "system", content: instructions },
        { role: "user", content: `Previous summary:\n${request.previousSummary || "(none)"}\n\nLatest turn:\n${request.turn}` },
      ],
    }),
    signal: AbortSignal.timeout(request.timeoutMs),
  });
  if (!response.ok) throw new Error(`summary endpoint answered HTTP ${response.status}`);
  const completion = completionSchema.parse(await response.json());
  return {
    summary: completion.choices[0]!.message.content.trim(),
    promptTokens: completion.usage?.prompt_tokens ?? 0,
    completionTokens: completion.usage?.completion_tokens ?? 0,
  };
}
