// The reference agent's settings (reference-agent/wrangler.toml [vars] plus the OPENAI_API_KEY and AGENT_AUTH_TOKEN
// secrets) and their parsing.
export interface AgentEnv {
  /** "offline" (deterministic, no network; the default) or "openai" (any OpenAI-compatible server). */
  AGENT_MODE?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  /** Model name sent to the OpenAI-compatible server; empty means the model the user chose. */
  OPENAI_MODEL?: string;
  /** When set, calls must carry `Authorization: Bearer <this>` (the backend's AI_AUTH_TOKEN). */
  AGENT_AUTH_TOKEN?: string;
  /** Offline mode's pause between the pieces of a streamed reply, in milliseconds; empty means 20. */
  AGENT_CHUNK_DELAY_MS?: string;
}

const DEFAULT_CHUNK_DELAY_MS = 20;

/** AGENT_CHUNK_DELAY_MS as a number; a value that is not a non-negative number is a configuration error. */
export function chunkDelayMs(env: AgentEnv): number {
  const value = env.AGENT_CHUNK_DELAY_MS?.trim() ?? "";
  if (value === "") return DEFAULT_CHUNK_DELAY_MS;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`AGENT_CHUNK_DELAY_MS must be a number of milliseconds >= 0, got "${value}"`);
  return ms;
}
