// The unit tier: the session actor's state machines and the pure domain modules, in plain Node (no workerd,
// no database). `npm run test:unit` runs it alone in seconds; `npm test` runs it with the other projects.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "unit",
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    testTimeout: 5_000,
    // As in vitest.config.ts: logs of the code under test only for a test that failed.
    silent: "passed-only",
  },
});
