// Applies the D1 migrations before each test file (storage is isolated per file).
import { applyD1Migrations, env } from "cloudflare:test";
import { testEnv } from "./helpers/env";

await applyD1Migrations(env.DB, testEnv.TEST_MIGRATIONS);
