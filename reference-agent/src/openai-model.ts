// The OpenAI-compatible mode: works with OpenAI, Ollama (/v1) and other chat-completions servers, whole replies
// or streamed ones (server-sent events).
import type { Request, SummarizeRequest } from "../../gen/ai_service_pb";
import type { AgentEnv } from "./env";
import { costInDollars, estimateTokens } from "./pricing";

interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

interface Completion {
  choices: { message: { content: string } }[];
  usage?: Usage;
}

/** One server-sent event of a streamed completion: a content delta, or (last, with include_usage) the usage. */
interface CompletionChunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: Usage | null;
  error?: { message?: string };
}

export async function openAiReply(env: AgentEnv, request: Request): Promise<{ text: string; cost: number }> {
  return complete(env, request.modelName, chatMessages(request));
}

/**
 * The reply as the server streams it: each content delta as it arrives, then an empty piece with the cost (from the
 * usage the server reports last, or estimated from the text when it reports none). Cancelling the call (signal)
 * aborts the upstream request.
 */
export async function* openAiReplyStream(env: AgentEnv, request: Request, signal: AbortSignal): AsyncGenerator<{ textDelta: string; cost: number }> {
  const messages = chatMessages(request);
  const response = await post(env, { model: env.OPENAI_MODEL || request.modelName, messages, stream: true, stream_options: { include_usage: true } }, signal);
  if (!response.body) throw new Error("the OpenAI-compatible server answered a stream without a body");
  let text = "";
  let usage: Usage | undefined;
  for await (const data of serverSentData(response.body)) {
    if (data === "[DONE]") break;
    const chunk = JSON.parse(data) as CompletionChunk;
    if (chunk.error) throw new Error(`the OpenAI-compatible server failed mid-stream: ${chunk.error.message ?? data}`);
    if (chunk.usage) usage = chunk.usage;
    const delta = chunk.choices?.[0]?.delta?.content;
    if (delta) {
      text += delta;
      yield { textDelta: delta, cost: 0 };
    }
  }
  // Servers that ignore stream_options report no usage: charge an estimate rather than nothing.
  const reported = usage && usage.prompt_tokens + usage.completion_tokens > 0 ? usage : undefined;
  const input = reported?.prompt_tokens ?? estimateTokens(...messages.map((message) => message.content));
  const output = reported?.completion_tokens ?? estimateTokens(text);
  yield { textDelta: "", cost: costInDollars(request.modelName, input, output) };
}

function chatMessages(request: Request): ChatMessage[] {
  const history = (JSON.parse(request.chatHistory || "[]") as { role: string; content: string }[])
    .filter((entry) => entry.role === "user" || entry.role === "assistant")
    .map((entry) => ({ role: entry.role, content: entry.content }) as ChatMessage);
  const system = [request.sessionPrompt, request.chatSummary && `Summary of the conversation so far:\n${request.chatSummary}`]
    .filter(Boolean)
    .join("\n\n");
  const files = request.fileName.length > 0 ? `\n\nAttached files:\n${request.fileName.map((url) => `- ${url}`).join("\n")}` : "";
  return [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    ...history,
    { role: "user", content: request.chatMessage + files },
  ];
}

export async function openAiSummary(env: AgentEnv, request: SummarizeRequest): Promise<{ summary: string; cost: number }> {
  const { text, cost } = await complete(env, request.modelName, [
    { role: "system", content: "Update the running summary of a conversation with its latest turn. Answer with the summary only." },
    { role: "user", content: `Previous summary:\n${request.previousSummary || "(none)"}\n\nLatest turn:\n${request.turn}` },
  ]);
  return { summary: text, cost };
}

async function complete(env: AgentEnv, modelName: string, messages: ChatMessage[]): Promise<{ text: string; cost: number }> {
  const response = await post(env, { model: env.OPENAI_MODEL || modelName, messages });
  const completion = (await response.json()) as Completion;
  const text = completion.choices[0]?.message.content ?? "";
  const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
  return { text, cost: costInDollars(modelName, usage.prompt_tokens, usage.completion_tokens) };
}

/** POSTs to /chat/completions; an answer other than 2xx is an error carrying the server's text. */
async function post(env: AgentEnv, body: object, signal?: AbortSignal): Promise<Response> {
  const baseUrl = (env.OPENAI_BASE_URL || "https://api.openai.com/v1").replace(/\/+$/, "");
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(env.OPENAI_API_KEY ? { authorization: `Bearer ${env.OPENAI_API_KEY}` } : {}),
    },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw new Error(`${baseUrl} answered HTTP ${response.status}: ${await response.text()}`);
  return response;
}

/**
 * The data of each server-sent event, as soon as its terminating blank line arrives; lines may be split anywhere
 * across network reads (even inside a multi-byte character) and end with LF or CRLF.
 */
async function* serverSentData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() + "\n\n" : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).replace(/\r$/, "");
        buffered = buffered.slice(newline + 1);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        } // other fields (event:, id:, retry:) and comments (":") carry nothing a completion needs
      }
      if (done) return;
    }
  } finally {
    // Stopped early (the caller broke off after [DONE], or failed): tell the server; a no-op once the body ended.
    reader.cancel().catch(() => undefined);
  }
}
