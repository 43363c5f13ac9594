// Types of scripts/upstash-standin.mjs for the TypeScript tests that start it.
export interface UpstashStandIn {
  url: string;
  faults: { failNext: number; mode: "before" | "after"; down: boolean };
  close(): Promise<void>;
}
export function startUpstashStandIn(options: { port?: number; token: string; redisUrl: string }): Promise<UpstashStandIn>;
