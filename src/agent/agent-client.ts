// Owns the connection to the agent ("Chat-AI"): its two methods as unary calls over Connect or gRPC-web, through a
// service binding or over the network, as the configuration resolved it (unary-call.ts does the protocol).
import type { Client } from "@connectrpc/connect";
import { AIService } from "../../gen/ai_service_pb";
import type { AgentEndpoint } from "../config";
import { unaryMethod, type UnaryEndpoint } from "./unary-call";

/** The agent's methods the backend calls. */
export type AgentClient = Pick<Client<typeof AIService>, "process" | "summarize">;

export function createAgentClient(endpoint: AgentEndpoint, maxReplyBytes: number): AgentClient {
  const unary: UnaryEndpoint =
    endpoint.kind === "binding"
      ? // A binding needs a URL all the same; its host is never resolved. (An unbound fetch is an "Illegal invocation".)
        { fetch: (url, init) => endpoint.binding.fetch(url, init), baseUrl: "http://agent.binding", protocol: endpoint.protocol, maxReplyBytes }
      : { fetch: (url, init) => fetch(url, init), baseUrl: endpoint.baseUrl, protocol: endpoint.protocol, maxReplyBytes };
  return { process: unaryMethod(unary, AIService.method.process), summarize: unaryMethod(unary, AIService.method.summarize) };
}
