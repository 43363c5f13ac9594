// The reference agent's settings (reference-agent/wrangler.toml [vars] plus the OPENAI_API_KEY secret).
export interface AgentEnv {
  /** "offline" (deterministic, no network; the default) or "openai" (any OpenAI-compatible server). */
  AGENT_MODE?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  /** Model name sent to the OpenAI-compatible server; empty means the model the user chose. */
  OPENAI_MODEL?: string;
}
