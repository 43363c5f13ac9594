// The bindings tests add to the Worker's own (see vitest.config.ts).
import type { D1Migration } from "@cloudflare/vitest-pool-workers";
import { env } from "cloudflare:test";

export interface TestBindings {
  TEST_MIGRATIONS: D1Migration[];
  REFERENCE_AGENT: Fetcher;
  /** The private half of the JWKS the auth project serves at AUTH_JWKS_URL (vitest.config.ts). */
  TEST_JWT_PRIVATE_JWK: string;
  /** The credential the reference agent requires (its AGENT_AUTH_TOKEN). */
  TEST_REFERENCE_AGENT_TOKEN: string;
}

export const testEnv = env as Env & TestBindings;
/** The admin API's bearer token in this project (vitest.config.ts; the auth project's is longer, as token mode needs). */
export const ADMIN_TOKEN = testEnv.ADMIN_TOKEN!;
/** The HS256 key of the auth project's JWTs. */
export const JWT_SECRET = new TextEncoder().encode(testEnv.AUTH_JWT_SECRET ?? "");
export const HISTORY_WINDOW = 4;
