// npm run build: bundles the chat page (public/app.js), then both Workers exactly as `wrangler deploy` would
// (offline, minified as deployed), into dist/backend and dist/reference-agent, and the agent bridge into
// dist/agent-bridge.mjs (one file for plain node).
import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { bundleAgentBridge } from "../agent-bridge/build.ts";
import { fail, parseCommand } from "./lib/cli.ts";
import { root, wrangler } from "./lib/lib.ts";
import { bundlePage } from "./lib/page-bundle.ts";

parseCommand({
  usage: "npm run build",
  description:
    "Bundles the backend and the reference agent with `wrangler deploy --dry-run` (offline, as deployed) into dist/backend and dist/reference-agent, and the agent bridge into dist/agent-bridge.mjs (runs with plain node).",
  options: {},
});
await bundlePage(); // the chat page at / (public/app.js)
const workers = { backend: "wrangler.toml", "reference-agent": "reference-agent/wrangler.toml" };
for (const [name, config] of Object.entries(workers)) {
  // Absolute: wrangler resolves a relative --outdir against the config file's folder, not the working directory.
  const outdir = path.join(root, "dist", name);
  rmSync(outdir, { recursive: true, force: true });
  wrangler(["deploy", "--dry-run", "--outdir", outdir, "-c", config], { stdio: ["ignore", "ignore", "inherit"] });
  const bundle = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!bundle) fail(`wrangler wrote no bundle into ${path.relative(root, outdir)}`);
  console.log(`${path.relative(root, path.join(outdir, bundle))}  ${(statSync(path.join(outdir, bundle)).size / 1024).toFixed(1)} KiB`);
}
const bridgeBundle = path.join(root, "dist", "agent-bridge.mjs");
await bundleAgentBridge(bridgeBundle);
console.log(`${path.relative(root, bridgeBundle)}  ${(statSync(bridgeBundle).size / 1024).toFixed(1)} KiB`);
