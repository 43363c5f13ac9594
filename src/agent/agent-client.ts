// Owns the connection to the agent ("Chat-AI"): a Connect client over gRPC-web or Connect, through a service
// binding or over the network, as the configuration resolved it.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AIService } from "../../gen/ai_service_pb";
import type { AgentEndpoint } from "../config";
import { bindingUnary } from "./binding-unary";

/** The agent's methods the backend calls. */
export type AgentClient = Pick<Client<typeof AIService>, "process" | "summarize">;

export function createAgentClient(endpoint: AgentEndpoint): AgentClient {
  if (endpoint.kind === "binding" && endpoint.protocol === "connect") {
    // The hot path of every turn: a lean unary call (binding-unary.ts).
    return { process: bindingUnary(endpoint.binding, AIService.method.process), summarize: bindingUnary(endpoint.binding, AIService.method.summarize) };
  }
  return createClient(AIService, createAgentTransport(endpoint));
}

function createAgentTransport(endpoint: AgentEndpoint): Transport {
  // connect-web asks for redirect "error", which workerd rejects: agents never redirect, so "manual" is safe.
  const viaFetch: typeof fetch =
    endpoint.kind === "binding"
      ? (input, init) => endpoint.binding.fetch(input, { ...init, redirect: "manual" })
      : (input, init) => fetch(input, { ...init, redirect: "manual" });
  // A binding needs a URL all the same; its host is never resolved.
  const baseUrl = endpoint.kind === "binding" ? "http://agent.binding" : endpoint.baseUrl;
  const options = { baseUrl, fetch: viaFetch, useBinaryFormat: true };
  return endpoint.protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
}
