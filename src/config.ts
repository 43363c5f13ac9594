// Owns the typed view of the Worker's settings: every var and secret parsed once, with its default.
import { z } from "zod";

const intVar = (fallback: number) => z.coerce.number().int().positive().catch(fallback);
const stringVar = (fallback: string) => z.string().catch(fallback);

const configSchema = z.object({
  STORAGE: z.enum(["d1", "postgres"]).catch("d1"),
  /** Counts D1 round trips and serves them at GET /__metrics/storage (for `npm run bench`). */
  STORAGE_METRICS: z
    .string()
    .transform((value) => value === "true")
    .catch(false),
  AI_SERVER_URL: stringVar("http://agent.internal"),
  /** auto: Connect through a service binding (Worker agents built with connect-es speak it, and it is the
   *  cheaper of the two), gRPC-web over the network (what a bridge in front of a native gRPC agent speaks). */
  AI_PROTOCOL: z.enum(["auto", "grpc-web", "connect"]).catch("auto"),
  AI_TIMEOUT_MS: intVar(30_000),
  MAX_CHAT_HISTORY_CONTEXT: intVar(10),
  /** How long a session trusts what it read of its user's account (the admin API invalidates it at once). */
  ACCOUNT_CACHE_TTL_MS: intVar(60_000),
  MAX_FRAME_BYTES: intVar(1_048_576),
  SESSION_NAME_MAX_CHARS: intVar(40),
  CORS_ORIGINS: stringVar("*"),
  ADMIN_TOKEN: z.string().optional(),
  /** Megabytes. */
  MAX_FILE_SIZE: z.coerce.number().positive().catch(10),
  /** Seconds an agent's file URL stays valid. */
  FILE_URL_TTL: intVar(900),
  FILE_URL_SECRET: z.string().optional(),
  PUBLIC_BASE_URL: stringVar(""),
  UPSTASH_REDIS_REST_URL: stringVar(""),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  REDIS_STREAM: stringVar("CHAT_STREAM"),
  MIRROR_RETRY_MS: intVar(5000),
  /** How long a session gathers writes into one database batch after the first arrives. */
  STORE_BATCH_WINDOW_MS: intVar(1000),
  /** Delay before a session retries writes the database did not take. */
  STORE_RETRY_MS: intVar(2000),
  /** How long Redis remembers that a turn was mirrored (dedups retries). */
  MIRROR_DEDUP_TTL_S: intVar(604_800),
  SUMMARY_OPENAI_BASE_URL: stringVar(""),
  SUMMARY_OPENAI_API_KEY: z.string().optional(),
  SUMMARY_MODEL: stringVar("gpt-3.5-turbo-0125"),
});

export type Config = z.infer<typeof configSchema>;

const cache = new WeakMap<object, Config>();

/** Parses the environment once per env object; a malformed value falls back to its default. */
export function readConfig(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = configSchema.parse({ ...env });
    cache.set(env, config);
  }
  return config;
}

export function maxFileBytes(config: Config): number {
  return Math.floor(config.MAX_FILE_SIZE * 1024 * 1024);
}

export function allowedOrigins(config: Config): "*" | string[] {
  const list = config.CORS_ORIGINS.split(",").map((o) => o.trim()).filter(Boolean);
  return list.length === 0 || list.includes("*") ? "*" : list;
}
