// The bindings tests add to the Worker's own (see vitest.config.ts).
import type { D1Migration } from "@cloudflare/vitest-pool-workers";
import { env } from "cloudflare:test";

export interface TestBindings {
  TEST_MIGRATIONS: D1Migration[];
  REFERENCE_AGENT: Fetcher;
}

export const testEnv = env as Env & TestBindings;
export const ADMIN_TOKEN = "test-admin-token";
export const HISTORY_WINDOW = 4;
