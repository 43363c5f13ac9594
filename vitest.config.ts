// Tests run inside workerd (real Durable Objects and D1) with two agent Workers bound by service bindings.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { bundleTestAgents } from "./test/agents/bundle.ts";

const root = import.meta.dirname;

export default defineConfig(async () => {
  const bundles = bundleTestAgents(root);
  const agentWorker = (name: keyof typeof bundles) => ({
    name,
    modules: true,
    scriptPath: bundles[name],
    modulesRoot: path.dirname(bundles[name]),
    compatibilityDate: "2026-04-20",
  });
  return {
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
            ADMIN_TOKEN: "test-admin-token",
            FILE_URL_SECRET: "test-file-url-secret",
            MAX_FILE_SIZE: "1",
            AI_TIMEOUT_MS: "1000",
            MAX_CHAT_HISTORY_CONTEXT: "4",
          },
          serviceBindings: { AGENT: "scripted-agent", REFERENCE_AGENT: "reference-agent" },
          workers: [agentWorker("reference-agent"), agentWorker("scripted-agent")],
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      testTimeout: 20_000,
    },
  };
});
