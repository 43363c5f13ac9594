// The reference agent Worker: the template for agent authors. Replace service.ts with your own logic.
import { AIService } from "../../gen/ai_service_pb";
import type { AgentEnv } from "./env";
import { serveService, type FetchHandler } from "./serve";
import { createAgentService } from "./service";

const handlers = new WeakMap<AgentEnv, FetchHandler>();

export default {
  fetch(request: Request, env: AgentEnv): Promise<Response> {
    let handler = handlers.get(env);
    if (!handler) {
      handler = serveService(AIService, createAgentService(env), { token: env.AGENT_AUTH_TOKEN || undefined });
      handlers.set(env, handler);
    }
    return handler(request);
  },
};
