// Tests run inside workerd (real Durable Objects, D1, R2) with two agent Workers bound by service bindings.
// Projects: "d1" (every workerd suite), "postgres" (every workerd suite not excluded below, on a real PostgreSQL
// through Hyperdrive; DATABASE_URL, default 127.0.0.1:5432, as set up by scripts/with-services.sh), "auth" (the
// sign-in suites, with AUTH_MODE=token and a JWKS served to the Worker), "unit" (plain Node,
// vitest.unit.config.ts) and "e2e" (Node, the dev:pg stack). A run whose --project filter leaves "postgres" out
// (`npm run test:d1`) does not touch PostgreSQL.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";
import { checkoutDatabase, databaseUrl, ensureDatabase, migratePostgres, prepareTestDatabase } from "./scripts/lib/postgres.ts";
import { bundleTestAgents } from "./test/agents/bundle.ts";

const root = import.meta.dirname;
const WORKERD_SUITES = "test/workerd/*.test.ts";
const TEST_JWKS_URL = "http://jwks.test/.well-known/jwks.json";
/** The fallback summarizer's OpenAI-compatible endpoint in the workerd suites (served by `outbound` below). */
const TEST_OPENAI_URL = "http://openai.test/v1";
/** The reference agent refuses calls without this credential (its AGENT_AUTH_TOKEN, the backend's AI_AUTH_TOKEN). */
const REFERENCE_AGENT_TOKEN = "test-agent-token";
/** Suites a second engine would run for nothing: no storage (agent-client), or guards that refuse before any
 *  storage and generated volume (fuzz). */
/** The workerd suites that assume no sign-in: a frame's user_id is trusted, any origin allowed. */
const NO_AUTH = { AUTH_MODE: "none", CORS_ORIGINS: "*" };
const NOT_ON_POSTGRES = ["agent-client", "fuzz"].map((name) => `test/workerd/${name}.test.ts`);

/** Whether this run includes the "postgres" project, judged from vitest's `--project` filters (`*` is a wildcard,
 *  `!` excludes): without filters it does; with filters, only when one names it and none excludes it. */
function runsPostgresProject(argv: string[]): boolean {
  const filters = argv.flatMap((arg, i) => (arg === "--project" ? [argv[i + 1] ?? ""] : arg.startsWith("--project=") ? [arg.slice("--project=".length)] : []));
  const matches = (pattern: string) => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test("postgres");
  if (filters.some((filter) => filter.startsWith("!") && matches(filter.slice(1)))) return false;
  const named = filters.filter((filter) => !filter.startsWith("!"));
  return named.length === 0 || named.some(matches);
}

// Session objects commit to PostgreSQL right behind their replies, so a test file can end while a commit is on
// the wire. Tearing that object down resets its socket to miniflare's local Hyperdrive proxy, which pipes sockets
// without an error handler: the reset would crash this process. Only that error is let through.
process.on("uncaughtException", (error: NodeJS.ErrnoException) => {
  if (error.code === "ECONNRESET" && error.syscall === "read") return;
  throw error;
});

export default defineConfig(async () => {
  const bundles = bundleTestAgents(root);
  const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
  // The binding is declared in wrangler.toml, so every project gets a URL; only the postgres project connects to it.
  let postgresUrl = databaseUrl(serverUrl, checkoutDatabase("chat_backend_test"));
  if (runsPostgresProject(process.argv)) {
    postgresUrl = await ensureDatabase(serverUrl, checkoutDatabase("chat_backend_test"));
    await migratePostgres(postgresUrl, { reset: true });
    await prepareTestDatabase(postgresUrl);
  }
  const migrations = await readD1Migrations(path.join(root, "migrations"));

  const agentWorker = (name: keyof typeof bundles, bindings: Record<string, string> = {}) => ({
    name,
    modules: true,
    bindings,
    scriptPath: bundles[name],
    modulesRoot: path.dirname(bundles[name]),
    compatibilityDate: "2026-04-20",
    // As in the agents' wrangler.toml: a cancelled ProcessStream reaches the agent (context.signal) and ends its waits.
    compatibilityFlags: ["enable_request_signal"],
  });
  // Asymmetric JWTs for the auth suites: the private key signs in the tests, the public one is served as a JWKS.
  const signingKey = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = { ...(await exportJWK(signingKey.publicKey)), kid: "test-key", alg: "ES256" };
  const privateJwk = JSON.stringify({ ...(await exportJWK(signingKey.privateKey)), kid: "test-key", alg: "ES256" });
  // What the Worker reaches outside the runtime: the JWKS, and an OpenAI-compatible summary endpoint (the fallback
  // summarizer's) that answers only turns marked [fallback-ok] and fails the rest; everything else is offline.
  const outbound = async (request: Request) => {
    const url = new URL(request.url).href;
    if (url === TEST_JWKS_URL) return Response.json({ keys: [publicJwk] });
    if (url === `${TEST_OPENAI_URL}/chat/completions`) {
      const body = await request.text();
      if (!body.includes("[fallback-ok]")) return new Response("summary stand-in: not this turn", { status: 503 });
      const { model } = JSON.parse(body) as { model: string };
      return Response.json({ choices: [{ message: { content: `fallback summary by ${model}` } }], usage: { prompt_tokens: 1000, completion_tokens: 500 } });
    }
    return new Response("offline", { status: 502 });
  };

  const project = (name: string, include: string, exclude: string[], settings: Record<string, string>) => ({
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
            FILE_URL_SECRET: "test-file-url-secret",
            MAX_FILE_SIZE: "1",
            AI_TIMEOUT_MS: "1000",
            STORE_RETRY_MS: "200",
            MAX_CHAT_HISTORY_CONTEXT: "4",
            SUMMARY_OPENAI_BASE_URL: TEST_OPENAI_URL,
            // Suites send frames as fast as they can; the auth project tries the limit itself.
            MAX_FRAMES_PER_SECOND: "1000",
            // The money suite holds 100 sockets of one user (the auth project tries the limit itself).
            MAX_SOCKETS_PER_USER: "128",
            TEST_JWT_PRIVATE_JWK: privateJwk,
            TEST_REFERENCE_AGENT_TOKEN: REFERENCE_AGENT_TOKEN,
            ...settings,
          },
          outboundService: outbound,
          ratelimits: { UPGRADE_LIMITER: { simple: { limit: Number(settings.UPGRADES_PER_MINUTE ?? 1_000_000), period: 60 } } },
          hyperdrives: { HYPERDRIVE: postgresUrl },
          serviceBindings: { AGENT: "scripted-agent", REFERENCE_AGENT: "reference-agent" },
          workers: [agentWorker("reference-agent", { AGENT_AUTH_TOKEN: REFERENCE_AGENT_TOKEN }), agentWorker("scripted-agent")],
        },
      }),
    ],
    test: {
      name,
      include: [include],
      exclude,
      setupFiles: ["./test/workerd/setup.ts"],
      testTimeout: 20_000,
    },
  });

  return {
    test: {
      projects: [
        // wrangler.toml ships AUTH_MODE=token; these suites speak the trusted-user_id protocol, as `npm run dev` does.
        project("d1", WORKERD_SUITES, [], { STORAGE: "d1", ...NO_AUTH }),
        project("postgres", WORKERD_SUITES, NOT_ON_POSTGRES, { STORAGE: "postgres", ...NO_AUTH }),
        project("auth", "test/auth/*.test.ts", [], {
          STORAGE: "d1",
          AUTH_MODE: "token",
          // Token mode refuses signing secrets under 32 bytes.
          AUTH_JWT_SECRET: "test-jwt-secret-of-at-least-32-bytes",
          FILE_URL_SECRET: "test-file-url-secret-of-32-bytes-or-more",
          ADMIN_TOKEN: "test-admin-token-of-at-least-32-bytes",
          AUTH_JWKS_URL: TEST_JWKS_URL,
          CORS_ORIGINS: "http://ui.test",
          MAX_FRAMES_PER_SECOND: "5",
          MAX_SOCKETS_PER_USER: "4",
          UPGRADES_PER_MINUTE: "40",
        }),
        "./vitest.unit.config.ts",
        // End to end in Node: the `npm run dev:pg` stack, and Redis read by a plain client.
        { test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 120_000 } },
      ],
      // A run prints its summary: what the code under test logs (the Worker's request and turn lines, the stack traces
      // of failures a test provokes on purpose) is shown only for a test that failed.
      silent: "passed-only" as const,
      // postgres.js leaves this rejection behind when a client closes inside workerd; every query has finished by then.
      // "Stream was cancelled.": see above. A worker torn down while vitest was still reporting such an error raises
      // EnvironmentTeardownError about the report itself (seen once at the end of a clean concurrency suite).
      onUnhandledError: (error: { message?: string; name?: string }) =>
        error.message !== "Stream was cancelled." && !(error.name === "EnvironmentTeardownError" && error.message?.includes('Closing rpc while "onUnhandledError" was pending')),
    },
  };
});
