// Owns the Worker's settings: every var, secret and optional binding read once per environment, checked loudly
// (a malformed value or a feature configured by halves is an error naming the setting), then passed down typed.
import { z } from "zod";
import { dollarsToMicros } from "./domain/money";

const positiveInt = z.coerce.number<string>().int("expected a whole number").positive("expected a number above 0");
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

/** Every setting the Worker reads, with its default. An empty value is the same as an unset one. */
export const settingsSchema = z.object({
  STORAGE: z.enum(["d1", "postgres"]).default("d1"),
  /** Counts D1 round trips and serves them at GET /__metrics/storage (for `npm run bench`). */
  STORAGE_METRICS: z.enum(["true", "false"]).default("false").transform((value) => value === "true"),
  /** The agent over the network; wins over the AGENT service binding. Unset: the binding. */
  AI_SERVER_URL: url.optional(),
  /** Sent to the agent with every call (Authorization: Bearer): the bridge and the reference agent refuse calls
   *  without it when they have one. */
  AI_AUTH_TOKEN: z.string().optional(),
  /** auto: Connect through a service binding (Worker agents built with connect-es speak it, and it is the
   *  cheaper of the two), gRPC-web over the network (what a bridge in front of a native gRPC agent speaks). */
  AI_PROTOCOL: z.enum(["auto", "grpc-web", "connect"]).default("auto"),
  /** The longest the agent may stay silent: before its reply starts, and between two pieces of a streamed one. */
  AI_TIMEOUT_MS: positiveInt.default(30_000),
  /** The longest one agent call of a turn may take, however steadily it streams. */
  AI_TURN_TIMEOUT_MS: positiveInt.default(600_000),
  /** Seconds a session keeps a streamed turn's deltas after it ended, for a client that resumes it. */
  STREAM_RETAIN_S: positiveInt.default(600),
  /** The largest reply the backend reads from the agent; a larger one fails the turn with code 6. */
  AI_MAX_REPLY_BYTES: positiveInt.default(4_194_304),
  MAX_CHAT_HISTORY_CONTEXT: positiveInt.default(10),
  /** How long a user's account object trusts the grants it read (the admin API invalidates them at once). */
  ACCOUNT_CACHE_TTL_MS: positiveInt.default(60_000),
  MAX_FRAME_BYTES: positiveInt.default(1_048_576),
  /** Frames a socket may send a second (bursts of twice that); more are answered with code 109. */
  MAX_FRAMES_PER_SECOND: positiveInt.default(20),
  /** Sockets one user may hold open at once (where the user is known at connect: a credential or ?user_id); the
   *  next is closed at once with close code 4429. */
  MAX_SOCKETS_PER_USER: positiveInt.default(32),
  SESSION_NAME_MAX_CHARS: positiveInt.default(40),
  /** Comma-separated origins, "*" (any) or "same-origin" (only the Worker's own, e.g. its chat page). */
  CORS_ORIGINS: z.string().default("*"),
  /** With AUTH_MODE=token, "true" lets CORS_ORIGINS stay "*" (any web page may then use a user's credential). */
  CORS_ALLOW_ANY_ORIGIN: z.enum(["true", "false"]).default("false").transform((value) => value === "true"),
  /** none: a frame's user_id is trusted (local work, Chat-UI as it is); token: every request proves its user. */
  AUTH_MODE: z.enum(["none", "token"]).default("none"),
  /** HS256 key of the JWTs users present (AUTH_MODE=token). */
  AUTH_JWT_SECRET: z.string().optional(),
  /** Where the public keys of asymmetric JWTs are published (AUTH_MODE=token). */
  AUTH_JWKS_URL: url.optional(),
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  ADMIN_TOKEN: z.string().optional(),
  /** Megabytes. */
  MAX_FILE_SIZE: z.coerce.number<string>().positive("expected a number of megabytes above 0").default(10),
  /** Seconds an agent's file URL stays valid. */
  FILE_URL_TTL: positiveInt.default(900),
  FILE_URL_SECRET: z.string().optional(),
  PUBLIC_BASE_URL: url.optional(),
  UPSTASH_REDIS_REST_URL: url.optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  REDIS_STREAM: z.string().default("CHAT_STREAM"),
  MIRROR_RETRY_MS: positiveInt.default(5000),
  /** How long a session gathers writes into one database batch after the first arrives. */
  STORE_BATCH_WINDOW_MS: positiveInt.default(1000),
  /** Delay before a session retries writes the database did not take. */
  STORE_RETRY_MS: positiveInt.default(2000),
  /** How long Redis remembers that a turn was mirrored (dedups retries). */
  MIRROR_DEDUP_TTL_S: positiveInt.default(604_800),
  SUMMARY_OPENAI_BASE_URL: url.optional(),
  SUMMARY_OPENAI_API_KEY: z.string().optional(),
  SUMMARY_MODEL: z.string().default("gpt-3.5-turbo-0125"),
  /** Dollars: the most one turn (with its summary) may cost; reservations and reported costs are capped by it. */
  MAX_TURN_COST: z.coerce.number<string>().positive("expected a number of dollars above 0").default(1),
  /** Tokens an agent call may answer with, for the turn's reservation. */
  MAX_OUTPUT_TOKENS: positiveInt.default(4096),
  /** Seconds a session remembers its answer to a turn that carried a request id (a retry gets it again). */
  IDEMPOTENCY_WINDOW_S: positiveInt.default(3600),
  /** Turns of one user running at once, over all sessions and sockets; more are refused with code 108. */
  MAX_TURNS_IN_FLIGHT_PER_USER: positiveInt.default(8),
});

export type Settings = z.output<typeof settingsSchema>;
export type SettingName = keyof typeof settingsSchema.shape;
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as SettingName[];

export type AgentProtocol = Settings["AI_PROTOCOL"];

/** Where the agent is reached: through a service binding (an agent Worker) or over the network. */
export type AgentEndpoint = (
  | { kind: "binding"; binding: Fetcher; protocol: "connect" | "grpc-web" }
  | { kind: "url"; baseUrl: string; protocol: "connect" | "grpc-web" }
) & {
  /** AI_AUTH_TOKEN, sent as a bearer credential with every call; null: none. */
  token: string | null;
};

/** The database binding; Hyperdrive's connection string is read when a store opens (not allowed at start). */
export type StorageBinding = { engine: "d1"; db: D1Database; countRoundTrips: boolean } | { engine: "postgres"; hyperdrive: Hyperdrive };

/** How requests prove their user. */
export type AuthSettings =
  | { mode: "none" }
  | { mode: "token"; jwtSecret: string | null; jwksUrl: string | null; issuer: string | null; audience: string | null };

export interface MirrorSettings {
  url: string;
  token: string;
  stream: string;
  retryMs: number;
  dedupTtlS: number;
}

export interface Config extends Settings {
  auth: AuthSettings;
  /** Limits WebSocket upgrades per client (wrangler.toml [[ratelimits]]); null: no limit. */
  upgradeLimiter: RateLimit | null;
  /** Turn counts and latencies (wrangler.toml [[analytics_engine_datasets]] TURN_METRICS); null: not bound. */
  turnMetrics: AnalyticsEngineDataset | null;
  agent: AgentEndpoint;
  storage: StorageBinding;
  /** The Redis event mirror, or null when it is off. */
  mirror: MirrorSettings | null;
  corsOrigins: "*" | string[];
  maxFileBytes: number;
  maxTurnCostMicros: number;
  /** A reservation's lifetime, from when it is made and again from when its turn finishes: the turn's agent call
   *  and its summary, then five minutes for its charges to reach the database. */
  reservationTtlMs: number;
}

/** A setting the Worker cannot run with; the message names it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The bindings that are optional in wrangler.toml. */
export interface OptionalBindings {
  AGENT?: Fetcher;
  UPGRADE_LIMITER?: RateLimit;
  TURN_METRICS?: AnalyticsEngineDataset;
  HYPERDRIVE?: Hyperdrive;
  DB?: D1Database;
}

/** Parses settings and resolves bindings; throws one ConfigError listing every problem. */
export function parseConfig(vars: Record<string, unknown>, bindings: OptionalBindings): Config {
  const present = Object.fromEntries(Object.entries(vars).filter(([name, value]) => name in settingsSchema.shape && value !== ""));
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        return `${name}=${JSON.stringify(present[name])}: ${issue.message}`;
      }),
    );
  }
  const settings = parsed.data;
  const problems: string[] = [];
  const agent = resolveAgent(settings, bindings.AGENT, problems);
  const storage = resolveStorage(settings, bindings, problems);
  const mirror = resolveMirror(settings, problems);
  const auth = resolveAuth(settings, problems);
  if (problems.length > 0 || !agent || !storage) throw new ConfigError(problems);
  return {
    ...settings,
    auth,
    upgradeLimiter: bindings.UPGRADE_LIMITER ?? null,
    turnMetrics: bindings.TURN_METRICS ?? null,
    agent,
    storage,
    mirror,
    corsOrigins: corsOrigins(settings.CORS_ORIGINS),
    maxFileBytes: Math.floor(settings.MAX_FILE_SIZE * 1024 * 1024),
    maxTurnCostMicros: dollarsToMicros(settings.MAX_TURN_COST),
    reservationTtlMs: settings.AI_TURN_TIMEOUT_MS + settings.AI_TIMEOUT_MS + 300_000,
  };
}

function resolveAgent(settings: Settings, binding: Fetcher | undefined, problems: string[]): AgentEndpoint | null {
  const token = settings.AI_AUTH_TOKEN ?? null;
  // A URL is a deliberate choice (one --var), so it wins over the binding wrangler.toml ships with. gRPC-web over
  // the network (a bridge in front of a native gRPC agent); Connect through a binding (what connect-es Workers
  // speak, and the cheaper of the two).
  if (settings.AI_SERVER_URL) {
    return { kind: "url", baseUrl: settings.AI_SERVER_URL, protocol: settings.AI_PROTOCOL === "connect" ? "connect" : "grpc-web", token };
  }
  if (binding) return { kind: "binding", binding, protocol: settings.AI_PROTOCOL === "grpc-web" ? "grpc-web" : "connect", token };
  problems.push("no agent: set AI_SERVER_URL, or add the AGENT service binding to wrangler.toml");
  return null;
}

function resolveStorage(settings: Settings, bindings: OptionalBindings, problems: string[]): StorageBinding | null {
  if (settings.STORAGE === "postgres") {
    if (bindings.HYPERDRIVE) return { engine: "postgres", hyperdrive: bindings.HYPERDRIVE };
    problems.push('STORAGE="postgres" needs a [[hyperdrive]] binding named HYPERDRIVE in wrangler.toml');
    return null;
  }
  if (bindings.DB) return { engine: "d1", db: bindings.DB, countRoundTrips: settings.STORAGE_METRICS };
  problems.push('STORAGE="d1" needs a [[d1_databases]] binding named DB in wrangler.toml');
  return null;
}

function resolveMirror(settings: Settings, problems: string[]): MirrorSettings | null {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = settings;
  if (url && token) {
    return { url, token, stream: settings.REDIS_STREAM, retryMs: settings.MIRROR_RETRY_MS, dedupTtlS: settings.MIRROR_DEDUP_TTL_S };
  }
  if (url) problems.push("UPSTASH_REDIS_REST_URL is set but the secret UPSTASH_REDIS_REST_TOKEN is not: set both to mirror chat events, or neither");
  if (token) problems.push("UPSTASH_REDIS_REST_TOKEN is set but UPSTASH_REDIS_REST_URL is not: set both to mirror chat events, or neither");
  return null;
}

/** Secrets that sign or grant access in token mode: shorter ones could be guessed offline (an HS256 key from one
 *  JWT, a file-link key from one signed URL). */
const SIGNING_SECRETS = ["AUTH_JWT_SECRET", "FILE_URL_SECRET", "ADMIN_TOKEN"] as const;
const MIN_SECRET_BYTES = 32;
const encoder = new TextEncoder();

function resolveAuth(settings: Settings, problems: string[]): AuthSettings {
  if (settings.AUTH_MODE === "none") return { mode: "none" };
  if (corsOrigins(settings.CORS_ORIGINS) === "*" && !settings.CORS_ALLOW_ANY_ORIGIN) {
    problems.push('AUTH_MODE="token" with CORS_ORIGINS="*" lets any web page use a signed-in user\'s credential: list your origins in CORS_ORIGINS, or set CORS_ALLOW_ANY_ORIGIN="true"');
  }
  if (!settings.FILE_URL_SECRET) problems.push('AUTH_MODE="token" hands out signed file links: set the secret FILE_URL_SECRET');
  for (const name of SIGNING_SECRETS) {
    const value = settings[name];
    const bytes = value === undefined ? 0 : encoder.encode(value).length;
    if (value !== undefined && bytes < MIN_SECRET_BYTES) {
      problems.push(`${name} is ${bytes} bytes long: with AUTH_MODE="token" it must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
    }
  }
  return {
    mode: "token",
    jwtSecret: settings.AUTH_JWT_SECRET ?? null,
    jwksUrl: settings.AUTH_JWKS_URL ?? null,
    issuer: settings.AUTH_JWT_ISSUER ?? null,
    audience: settings.AUTH_JWT_AUDIENCE ?? null,
  };
}

/** "*": any origin; a list: those (the Worker's own origin is always allowed); "same-origin": only its own. */
function corsOrigins(setting: string): "*" | string[] {
  if (setting.trim() === "same-origin") return [];
  const list = setting.split(",").map((o) => o.trim()).filter(Boolean);
  return list.length === 0 || list.includes("*") ? "*" : list;
}

/** The agent as logs name it: where it is reached and how. */
export function describeAgent(agent: AgentEndpoint): string {
  return agent.kind === "binding" ? `the AGENT service binding over ${agent.protocol}` : `${agent.baseUrl} over ${agent.protocol}`;
}

/** One line saying which agent, storage and mirror this Worker uses (logged once at start). */
export function describeConfig(config: Config): string {
  const agent = `${describeAgent(config.agent)}${config.agent.token ? " with AI_AUTH_TOKEN" : ""}`;
  const mirror = config.mirror ? `Redis stream ${config.mirror.stream} at ${config.mirror.url}` : "off";
  const auth = config.auth.mode === "none" ? "none (a frame's user_id is trusted)" : `token (${[config.auth.jwtSecret && "HS256 JWTs", config.auth.jwksUrl && `JWTs signed by ${config.auth.jwksUrl}`, "API keys"].filter(Boolean).join(", ")})`;
  const summaries = config.SUMMARY_OPENAI_BASE_URL
    ? `the agent's Summarize, else ${config.SUMMARY_MODEL} at ${config.SUMMARY_OPENAI_BASE_URL}`
    : "the agent's Summarize only (SUMMARY_OPENAI_BASE_URL is not set: with an agent that lacks Summarize, summaries stay empty)";
  return `chat-backend: agent ${agent}; storage ${config.storage.engine}; event mirror ${mirror}; auth ${auth}; summaries ${summaries}`;
}

const parsedConfigs = new WeakMap<object, Config>();

/** The configuration of this environment, parsed on first use (the Worker's start) and kept. */
export function configOf(env: Env): Config {
  let config = parsedConfigs.get(env);
  if (!config) {
    config = parseConfig(env as unknown as Record<string, unknown>, env as OptionalBindings);
    parsedConfigs.set(env, config);
  }
  return config;
}
