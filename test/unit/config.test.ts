// Settings are parsed once, loudly: defaults for what is unset (an empty value is unset), an error naming every
// malformed setting, and an error for a feature configured by halves.
import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, parseConfig, type OptionalBindings } from "../../src/config";

const binding = { fetch: async () => new Response() } as unknown as Fetcher;
const withAgentAndD1: OptionalBindings = { AGENT: binding, DB: {} as D1Database };
/** A secret long enough for AUTH_MODE=token (32 bytes). */
const STRONG = "s".repeat(32);

function problemsOf(vars: Record<string, string>, bindings: OptionalBindings = withAgentAndD1): string[] {
  try {
    parseConfig(vars, bindings);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("parseConfig", () => {
  it("gives every setting its default, and reads an empty value as unset", () => {
    const config = parseConfig({ AI_TIMEOUT_MS: "", UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "", PUBLIC_BASE_URL: "" }, withAgentAndD1);
    expect(config.AI_TIMEOUT_MS).toBe(30_000);
    expect(config.mirror).toBeNull();
    expect(config.PUBLIC_BASE_URL).toBeUndefined();
    expect(config.storage.engine).toBe("d1");
    expect(config.corsOrigins).toBe("*");
    expect(config.maxFileBytes).toBe(10 * 1024 * 1024);
  });

  it("names each malformed setting and its value instead of falling back to a default", () => {
    const problems = problemsOf({ AI_TIMEOUT_MS: "30s", MAX_FILE_SIZE: "-1", STORAGE: "sqlite", PUBLIC_BASE_URL: "chat.example" });
    expect(problems).toHaveLength(4);
    expect(problems.find((p) => p.startsWith("AI_TIMEOUT_MS="))).toContain('"30s"');
    expect(problems.some((p) => p.startsWith('MAX_FILE_SIZE="-1"'))).toBe(true);
    expect(problems.some((p) => p.startsWith('STORAGE="sqlite"'))).toBe(true);
    expect(problems.some((p) => p.startsWith('PUBLIC_BASE_URL="chat.example"'))).toBe(true);
  });

  it("refuses a mirror URL without its token, and a token without its URL, saying what is missing", () => {
    expect(problemsOf({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079" })).toEqual([
      "UPSTASH_REDIS_REST_URL is set but the secret UPSTASH_REDIS_REST_TOKEN is not: set both to mirror chat events, or neither",
    ]);
    expect(problemsOf({ UPSTASH_REDIS_REST_TOKEN: "t" })[0]).toContain("UPSTASH_REDIS_REST_URL is not");
    const config = parseConfig({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079", UPSTASH_REDIS_REST_TOKEN: "t", REDIS_STREAM: "S" }, withAgentAndD1);
    expect(config.mirror).toMatchObject({ url: "http://127.0.0.1:8079", token: "t", stream: "S" });
  });

  it("resolves the agent: AI_SERVER_URL over gRPC-web when set, even next to the binding; else the binding over Connect; else an error", () => {
    expect(parseConfig({}, withAgentAndD1).agent).toMatchObject({ kind: "binding", protocol: "connect", token: null });
    const byUrl = parseConfig({ AI_SERVER_URL: "http://127.0.0.1:8090", AI_AUTH_TOKEN: "agent-secret" }, withAgentAndD1);
    expect(byUrl.agent).toEqual({ kind: "url", baseUrl: "http://127.0.0.1:8090", protocol: "grpc-web", token: "agent-secret" });
    expect(parseConfig({ AI_SERVER_URL: "http://127.0.0.1:8090", AI_PROTOCOL: "connect" }, withAgentAndD1).agent).toMatchObject({ protocol: "connect" });
    expect(problemsOf({}, { DB: {} as D1Database })).toEqual(["no agent: set AI_SERVER_URL, or add the AGENT service binding to wrangler.toml"]);
  });

  it("says at start which agent is used, and whether calls carry a credential", () => {
    expect(describeConfig(parseConfig({}, withAgentAndD1))).toContain("agent the AGENT service binding over connect;");
    const line = describeConfig(parseConfig({ AI_SERVER_URL: "http://127.0.0.1:8090", AI_AUTH_TOKEN: "agent-secret" }, withAgentAndD1));
    expect(line).toContain("agent http://127.0.0.1:8090 over grpc-web with AI_AUTH_TOKEN;");
    expect(line).not.toContain("agent-secret");
  });

  it("says once at start how summaries are made, and when an agent without Summarize leaves them empty", () => {
    expect(describeConfig(parseConfig({}, withAgentAndD1))).toContain("summaries the agent's Summarize only (SUMMARY_OPENAI_BASE_URL is not set");
    expect(describeConfig(parseConfig({ SUMMARY_OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" }, withAgentAndD1))).toContain(
      "summaries the agent's Summarize, else gpt-3.5-turbo-0125 at http://127.0.0.1:11434/v1",
    );
  });

  it("refuses sign-in with any origin allowed, unless explicitly allowed, and without a key for signed file links", () => {
    expect(problemsOf({ AUTH_MODE: "token", FILE_URL_SECRET: STRONG })[0]).toContain('CORS_ORIGINS="*"');
    expect(problemsOf({ AUTH_MODE: "token", FILE_URL_SECRET: STRONG, CORS_ALLOW_ANY_ORIGIN: "true" })).toEqual([]);
    expect(problemsOf({ AUTH_MODE: "token", CORS_ORIGINS: "https://chat.example" })).toEqual(['AUTH_MODE="token" hands out signed file links: set the secret FILE_URL_SECRET']);
    const auth = parseConfig({ AUTH_MODE: "token", CORS_ORIGINS: "https://chat.example", FILE_URL_SECRET: STRONG, AUTH_JWT_SECRET: STRONG, AUTH_JWT_ISSUER: "" }, withAgentAndD1).auth;
    expect(auth).toEqual({ mode: "token", jwtSecret: STRONG, jwksUrl: null, issuer: null, audience: null });
    expect(parseConfig({}, withAgentAndD1).auth).toEqual({ mode: "none" });
  });

  it("with AUTH_MODE=token, refuses each signing secret shorter than 32 bytes, naming it", () => {
    const token = { AUTH_MODE: "token", CORS_ORIGINS: "https://chat.example" };
    const problems = problemsOf({ ...token, AUTH_JWT_SECRET: "a", FILE_URL_SECRET: "x".repeat(31), ADMIN_TOKEN: "dev-admin-token" });
    expect(problems).toEqual([
      'AUTH_JWT_SECRET is 1 bytes long: with AUTH_MODE="token" it must be at least 32 bytes (e.g. `openssl rand -base64 32`)',
      'FILE_URL_SECRET is 31 bytes long: with AUTH_MODE="token" it must be at least 32 bytes (e.g. `openssl rand -base64 32`)',
      'ADMIN_TOKEN is 15 bytes long: with AUTH_MODE="token" it must be at least 32 bytes (e.g. `openssl rand -base64 32`)',
    ]);
    // Bytes, not characters: 16 two-byte characters are enough.
    expect(problemsOf({ ...token, FILE_URL_SECRET: "é".repeat(16), ADMIN_TOKEN: STRONG, AUTH_JWT_SECRET: STRONG })).toEqual([]);
    // Local work (AUTH_MODE=none) keeps its short development secrets.
    expect(problemsOf({ AUTH_MODE: "none", AUTH_JWT_SECRET: "a", FILE_URL_SECRET: "b", ADMIN_TOKEN: "c" })).toEqual([]);
  });

  it("reads CORS_ORIGINS=same-origin as no other origin, which sign-in accepts", () => {
    const config = parseConfig({ AUTH_MODE: "token", CORS_ORIGINS: "same-origin", FILE_URL_SECRET: STRONG }, withAgentAndD1);
    expect(config.corsOrigins).toEqual([]);
    expect(parseConfig({ CORS_ORIGINS: "https://a.example, https://b.example" }, withAgentAndD1).corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  it("needs the binding of the storage it is told to use", () => {
    expect(problemsOf({ STORAGE: "postgres" })).toEqual(['STORAGE="postgres" needs a [[hyperdrive]] binding named HYPERDRIVE in wrangler.toml']);
    const hyperdrive = { connectionString: "postgres://x" } as Hyperdrive;
    expect(parseConfig({ STORAGE: "postgres" }, { AGENT: binding, HYPERDRIVE: hyperdrive }).storage).toEqual({ engine: "postgres", hyperdrive });
  });
});
