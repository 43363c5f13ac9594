// Owns the connection to the agent ("Chat-AI"): a Connect client over gRPC-web or Connect,
// through a service binding when one is configured, else to AI_SERVER_URL.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AIService } from "../../gen/ai_service_pb";

export type AgentClient = Client<typeof AIService>;
export type AgentProtocol = "auto" | "grpc-web" | "connect";

export interface AgentEndpoint {
  baseUrl: string;
  protocol: AgentProtocol;
  /** A service binding to an agent Worker; when set, requests go through it instead of the network. */
  binding?: Fetcher;
}

export function createAgentClient(endpoint: AgentEndpoint): AgentClient {
  return createClient(AIService, createAgentTransport(endpoint));
}

function createAgentTransport({ baseUrl, protocol, binding }: AgentEndpoint): Transport {
  // connect-web asks for redirect "error", which workerd rejects: agents never redirect, so "manual" is safe.
  const fetchViaBinding: typeof fetch = binding
    ? (input, init) => binding.fetch(input, { ...init, redirect: "manual" })
    : (input, init) => fetch(input, { ...init, redirect: "manual" });
  const options = { baseUrl, fetch: fetchViaBinding, useBinaryFormat: true };
  const connect = protocol === "connect" || (protocol === "auto" && binding !== undefined);
  return connect ? createConnectTransport(options) : createGrpcWebTransport(options);
}
