// Owns the connection to the agent ("Chat-AI"): its methods over Connect or gRPC-web, through a service binding or
// over the network, as the configuration resolved it (unary-call.ts and stream-call.ts do the protocol), and a
// turn's reply as a stream of pieces whichever way the agent answers.
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AIService, type RequestSchema, type ResponseChunkSchema, type ResponseSchema, type SummarizeRequestSchema, type SummarizeResponseSchema } from "../../gen/ai_service_pb";
import type { AgentEndpoint } from "../config";
import type { RpcEndpoint } from "./rpc-wire";
import { streamMethod, type StreamCallOptions, type StreamMethod } from "./stream-call";
import { unaryMethod, type UnaryMethod } from "./unary-call";

/** A piece of a turn's reply; `costDollars` is what the agent reported with it (0 when it reported none). */
export interface ReplyPiece {
  text: string;
  costDollars: number;
}

export type TurnCall = MessageInitShape<typeof RequestSchema>;

export interface AgentClient {
  process: UnaryMethod<typeof RequestSchema, typeof ResponseSchema>;
  processStream: StreamMethod<typeof RequestSchema, typeof ResponseChunkSchema>;
  summarize: UnaryMethod<typeof SummarizeRequestSchema, typeof SummarizeResponseSchema>;
  /**
   * A turn's reply as it is produced: ProcessStream's chunks, or, from an agent that answers it Unimplemented,
   * Process's whole reply as one piece (the agent is then not asked to stream again by this client).
   * `options.signal` is the turn's cancel: it aborts a Process call at once; a stream is read on, for at most
   * CANCEL_USAGE_GRACE_MS, for a usage chunk (a cost, no text) the agent sends last, and stops at the first text
   * after the cancel (the agent is still writing: that output is not delivered).
   */
  reply(request: TurnCall, options: StreamCallOptions): AsyncGenerator<ReplyPiece>;
}

/** How long a cancelled stream is read on for a usage chunk the agent sends last (a cost reported after the
 *  cancel is charged); then the call is abandoned and the cancel answered. */
export const CANCEL_USAGE_GRACE_MS = 2_000;

export function createAgentClient(endpoint: AgentEndpoint, maxReplyBytes: number): AgentClient {
  const rpc: RpcEndpoint =
    endpoint.kind === "binding"
      ? // A binding needs a URL all the same; its host is never resolved. (An unbound fetch is an "Illegal invocation".)
        { fetch: (url, init) => endpoint.binding.fetch(url, init), baseUrl: "http://agent.binding", protocol: endpoint.protocol, maxReplyBytes, token: endpoint.token }
      : { fetch: (url, init) => fetch(url, init), baseUrl: endpoint.baseUrl, protocol: endpoint.protocol, maxReplyBytes, token: endpoint.token };
  const process = unaryMethod(rpc, AIService.method.process);
  const processStream = streamMethod(rpc, AIService.method.processStream);
  let streams = true;

  async function* reply(request: TurnCall, options: StreamCallOptions): AsyncGenerator<ReplyPiece> {
    if (streams) {
      let heard = false;
      const { signal: cancel, ...limits } = options;
      // After a cancel the stream is read on for a trailing usage chunk, but a Stop is answered within the grace.
      const graceOver = new AbortController();
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const startGrace = () => (graceTimer = setTimeout(() => graceOver.abort(), CANCEL_USAGE_GRACE_MS));
      // A cancel that came before the call began (the turn was cancelled while it got ready) starts the grace now.
      if (cancel?.aborted) startGrace();
      else cancel?.addEventListener("abort", startGrace, { once: true });
      try {
        for await (const chunk of processStream(request, { ...limits, signal: graceOver.signal })) {
          heard = true;
          if (cancel?.aborted) {
            if (chunk.textDelta !== "") return; // leaving the loop cancels the call
            yield { text: "", costDollars: chunk.cost };
          } else yield { text: chunk.textDelta, costDollars: chunk.cost };
        }
        return;
      } catch (error) {
        if (graceOver.signal.aborted) return; // cancelled, and no usage chunk within the grace: the turn ends as it is
        if (heard || !(error instanceof ConnectError) || error.code !== Code.Unimplemented) throw error;
        streams = false;
      } finally {
        cancel?.removeEventListener("abort", startGrace);
        clearTimeout(graceTimer);
      }
    }
    // The whole call is one silence: its limit is AI_TIMEOUT_MS, within the turn's.
    const response = await process(request, { timeoutMs: Math.min(options.silenceMs, options.callMs), signal: options.signal });
    yield { text: response.responseText, costDollars: response.cost };
  }

  return { process, processStream, summarize: unaryMethod(rpc, AIService.method.summarize), reply };
}
