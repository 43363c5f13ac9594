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
export const ADMIN_TOKEN = "test-admin-token";
export const HISTORY_WINDOW = 4;
