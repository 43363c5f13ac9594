// The OpenAI-compatible mode: works with OpenAI, Ollama (/v1) and other chat-completions servers.
import type { Request, SummarizeRequest } from "../../gen/ai_service_pb";
import type { AgentEnv } from "./env";
import { costInDollars } from "./pricing";

interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

interface Completion {
  choices: { message: { content: string } }[];
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export async function openAiReply(env: AgentEnv, request: Request): Promise<{ text: string; cost: number }> {
  const history = (JSON.parse(request.chatHistory || "[]") as { role: string; content: string }[])
    .filter((entry) => entry.role === "user" || entry.role === "assistant")
    .map((entry) => ({ role: entry.role, content: entry.content }) as ChatMessage);
  const system = [request.sessionPrompt, request.chatSummary && `Summary of the conversation so far:\n${request.chatSummary}`]
    .filter(Boolean)
    .join("\n\n");
  const files = request.fileName.length > 0 ? `\n\nAttached files:\n${request.fileName.map((url) => `- ${url}`).join("\n")}` : "";
  const messages: ChatMessage[] = [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    ...history,
    { role: "user", content: request.chatMessage + files },
  ];
  return complete(env, request.modelName, messages);
}

export async function openAiSummary(env: AgentEnv, request: SummarizeRequest): Promise<{ summary: string; cost: number }> {
  const { text, cost } = await complete(env, request.modelName, [
    { role: "system", content: "Update the running summary of a conversation with its latest turn. Answer with the summary only." },
    { role: "user", content: `Previous summary:\n${request.previousSummary || "(none)"}\n\nLatest turn:\n${request.turn}` },
  ]);
  return { summary: text, cost };
}

async function complete(env: AgentEnv, modelName: string, messages: ChatMessage[]): Promise<{ text: string; cost: number }> {
  const baseUrl = (env.OPENAI_BASE_URL || "https://api.openai.com/v1").replace(/\/+$/, "");
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(env.OPENAI_API_KEY ? { authorization: `Bearer ${env.OPENAI_API_KEY}` } : {}),
    },
    body: JSON.stringify({ model: env.OPENAI_MODEL || modelName, messages }),
  });
  if (!response.ok) throw new Error(`${baseUrl} answered HTTP ${response.status}: ${await response.text()}`);
  const completion = (await response.json()) as Completion;
  const text = completion.choices[0]?.message.content ?? "";
  const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
  return { text, cost: costInDollars(modelName, usage.prompt_tokens, usage.completion_tokens) };
}
