// Owns the agent bridge's standalone build: main.ts and everything it imports (bridge.ts, gen/, the Connect and
// protobuf libraries) bundled by esbuild into one ES module that plain `node` (20+) runs without tsx or node_modules.
import { chmodSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const entry = path.join(import.meta.dirname, "main.ts");

/** Writes the bundle to `outfile` (e.g. dist/agent-bridge.mjs), executable, with a `#!/usr/bin/env node` line. */
export async function bundleAgentBridge(outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Unminified: operators read stack traces of the file they run, and a server gains nothing from a smaller one.
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  chmodSync(outfile, 0o755);
}
