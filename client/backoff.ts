// Owns the client's reconnect schedule: exponential backoff with jitter, bounded in delay and in attempts.

export interface ReconnectOptions {
  /** Delay before the first attempt, before jitter (default 250 ms). */
  initialDelayMs?: number;
  /** The longest delay between attempts (default 10 s). */
  maxDelayMs?: number;
  /** Each failed attempt multiplies the delay by this (default 2). */
  factor?: number;
  /** Attempts in a row before the client gives up and closes (default 10); Infinity never gives up. */
  maxAttempts?: number;
}

export type ReconnectPolicy = Required<ReconnectOptions>;

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, maxAttempts: 10 };

export function reconnectPolicy(options: ReconnectOptions | undefined): ReconnectPolicy {
  return { ...DEFAULT_RECONNECT, ...options };
}

/**
 * The delay before attempt `attempt` (0 for the first): min(maxDelayMs, initialDelayMs * factor^attempt), of which a
 * random half is taken off ("equal jitter"), so clients dropped together do not come back together.
 */
export function backoffDelay(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** attempt);
  return ceiling / 2 + (ceiling / 2) * random();
}
