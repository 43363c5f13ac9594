// A test agent that speaks the real AIService protocol (served like the reference agent) and whose
// behaviour the test picks through the chat message: "fail ...", "slow:<ms> ...", "cost:<dollars> ..." (also
// NaN, -1, 1e13), "empty ..." (an empty reply), and, answered outside the protocol (Process and ProcessStream
// alike), "garbage:html", "garbage:bytes" (random bytes under the protocol's content type), "garbage:huge" (a 5 MB
// reply).
// Its reply is JSON describing everything the backend sent, so tests can assert on the context; "brief ..." gets
// a short reply instead (replies that quote the history grow with every turn).
// ProcessStream streams that same reply (and fails, waits or costs the same) in 3 pieces split by characters, the
// cost on the last, unless the message picks one of these (Process answers them as any other message):
//   "stream:<n>:<ms> ..."  n pieces "part-<i> " (i = 0..n-1), <ms> apart, DEFAULT_TURN_COST on the last;
//   "die:<k> ..."          k pieces, then the error Internal "scripted death mid-stream";
//   "stall:<k> ..."        k pieces, then 60 s of silence before a last piece "part-<k> " with DEFAULT_TURN_COST;
//   "chunkcost ..."        4 pieces 400 ms apart, each costing 0.001 (0.004 in all): slow enough for a cancel to land;
//   "usage:<n>:<ms> ..."   like the reference agent's OpenAI mode: n pieces of 64 characters, <ms> before each, then
//                          <ms> later a usage chunk (no text) with the whole call's cost, priced as the reference
//                          agent prices (pricing.ts: characters / 4 of what it was sent, and of its reply); while it
//                          waits it sends an empty chunk every 250 ms, so waits longer than AI_TIMEOUT_MS are no silence;
//   "[unary-only]" anywhere: ProcessStream answers Unimplemented (Process answers as usual).
// The waits of stream:, stall:, chunkcost and usage: stop when the caller cancels (or its deadline passes). GET /__calls?session_id=<id> answers {"process": n, "processStream": m}: how
// many calls of each this isolate has seen for that session (fallback tests count them).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AIService, ResponseSchema, SummarizeResponseSchema, type Request as AgentRequest } from "../../gen/ai_service_pb";
import { serveService } from "../../reference-agent/src/serve";
import { sleep, splitEvenly } from "../../reference-agent/src/streaming";
import { costInDollars, estimateTokens } from "../../reference-agent/src/pricing";
import { DEFAULT_TURN_COST, SUMMARY_COST, USAGE_PIECE_CHARS } from "./scripted-costs";

const STALL_MS = 60_000;
const CHUNK_COST = 0.001;

/** Calls seen per session id, in module memory (one isolate's worth, which is what a test run talks to). */
const calls = new Map<string, { process: number; processStream: number }>();
function count(sessionId: string, method: "process" | "processStream"): void {
  const seen = calls.get(sessionId) ?? { process: 0, processStream: 0 };
  seen[method]++;
  calls.set(sessionId, seen);
}

/** The whole reply Process gives, shared by ProcessStream's default. "slow:" waits out its time even when the
 *  call is cancelled or past its deadline, as it always has (the backend's own timeout is what tests observe). */
async function reply(request: AgentRequest): Promise<{ text: string; cost: number }> {
  const message = request.chatMessage;
  if (message.startsWith("fail")) throw new ConnectError("scripted failure", Code.Internal);
  const slow = /^slow:(\d+)/.exec(message);
  if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
  const cost = /^cost:(\S+)/.exec(message);
  if (message.startsWith("empty")) return { text: "", cost: DEFAULT_TURN_COST };
  if (message.startsWith("brief")) return { text: `ok: ${message}`, cost: DEFAULT_TURN_COST };
  const text = JSON.stringify({
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
  return { text, cost: cost ? Number(cost[1]) : DEFAULT_TURN_COST };
}

/** Pieces "part-<i> " for i in [from, to), gapMs apart (none before the first), each costing costOf(i). */
async function* parts(from: number, to: number, gapMs: number, signal: AbortSignal, costOf: (i: number) => number) {
  for (let i = from; i < to; i++) {
    if (i > from && gapMs > 0) await sleep(gapMs, signal);
    yield { textDelta: `part-${i} `, cost: costOf(i) };
  }
}

const HEARTBEAT_MS = 250;

/** Waits ms, sending an empty chunk (no text, no cost) every HEARTBEAT_MS meanwhile. */
async function* waitAlive(ms: number, signal: AbortSignal) {
  for (let waited = 0; waited < ms; waited += HEARTBEAT_MS) {
    await sleep(Math.min(HEARTBEAT_MS, ms - waited), signal);
    if (waited + HEARTBEAT_MS < ms) yield { textDelta: "", cost: 0 };
  }
}

/** "usage:<n>:<ms>": n pieces, then the cost in a last chunk without text, as an OpenAI-compatible server reports usage. */
async function* usageReply(request: AgentRequest, n: number, ms: number, signal: AbortSignal) {
  let reply = "";
  for (let i = 0; i < n; i++) {
    yield* waitAlive(ms, signal);
    const piece = `piece-${i} `.padEnd(USAGE_PIECE_CHARS, ".");
    reply += piece;
    yield { textDelta: piece, cost: 0 };
  }
  yield* waitAlive(ms, signal);
  const input = estimateTokens(request.sessionPrompt, request.chatSummary, request.chatHistory, request.chatMessage);
  yield { textDelta: "", cost: costInDollars(request.modelName, input, estimateTokens(reply)) };
}

const serve = serveService(AIService, {
  async process(request) {
    count(request.sessionId, "process");
    const { text, cost } = await reply(request);
    return create(ResponseSchema, { responseText: text, cost });
  },
  async *processStream(request, { signal }) {
    count(request.sessionId, "processStream");
    const message = request.chatMessage;
    if (message.includes("[unary-only]")) throw new ConnectError("no streaming here", Code.Unimplemented);
    const none = () => 0;
    const stream = /^stream:(\d+):(\d+)/.exec(message);
    const die = /^die:(\d+)/.exec(message);
    const stall = /^stall:(\d+)/.exec(message);
    const usage = /^usage:(\d+):(\d+)/.exec(message);
    if (usage) {
      yield* usageReply(request, Number(usage[1]), Number(usage[2]), signal);
    } else if (stream) {
      const n = Number(stream[1]);
      yield* parts(0, n, Number(stream[2]), signal, (i) => (i === n - 1 ? DEFAULT_TURN_COST : 0));
    } else if (die) {
      yield* parts(0, Number(die[1]), 0, signal, none);
      throw new ConnectError("scripted death mid-stream", Code.Internal);
    } else if (stall) {
      const k = Number(stall[1]);
      yield* parts(0, k, 0, signal, none);
      await sleep(STALL_MS, signal);
      yield* parts(k, k + 1, 0, signal, () => DEFAULT_TURN_COST);
    } else if (message.startsWith("chunkcost")) {
      yield* parts(0, 4, 400, signal, () => CHUNK_COST);
    } else {
      const { text, cost } = await reply(request);
      // By code points, so no piece ends inside a surrogate pair (it would not survive UTF-8 on the wire).
      const pieces = splitEvenly(Array.from(text), 3);
      for (const [i, piece] of pieces.entries()) yield { textDelta: piece.join(""), cost: i === pieces.length - 1 ? cost : 0 };
    }
  },
  async summarize(request) {
    if (request.turn.includes("[no-summary]")) throw new ConnectError("no Summarize here", Code.Unimplemented);
    if (request.turn.includes("[summary-fails]")) throw new ConnectError("summary broke", Code.Internal);
    const firstLine = request.turn.split("\n")[0] ?? "";
    const summary = [request.previousSummary, firstLine].filter(Boolean).join(" | ");
    return create(SummarizeResponseSchema, { summary, cost: SUMMARY_COST });
  },
});

/** Answers that break the protocol, picked by a marker anywhere in the request body. */
function misbehaviour(body: string, contentType: string): Response | null {
  if (body.includes("garbage:html")) {
    return new Response(`<!doctype html><html><body>${"<p>Bad gateway</p>".repeat(200)}</body></html>`, { headers: { "content-type": "text/html" } });
  }
  if (body.includes("garbage:bytes")) return new Response(crypto.getRandomValues(new Uint8Array(4096)), { headers: { "content-type": contentType } });
  if (body.includes("garbage:huge")) return new Response(new Uint8Array(5 * 1024 * 1024).fill(7), { headers: { "content-type": contentType } });
  return null;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/__calls") {
      const seen = calls.get(url.searchParams.get("session_id") ?? "") ?? { process: 0, processStream: 0 };
      return Response.json(seen);
    }
    const body = new TextDecoder().decode(await request.clone().arrayBuffer());
    return misbehaviour(body, request.headers.get("content-type") ?? "") ?? serve(request);
  },
};
