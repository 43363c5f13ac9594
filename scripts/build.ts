// npm run build: bundles the chat page (public/app.js), then both Workers exactly as `wrangler deploy` would
// (offline, minified as deployed), into dist/backend and dist/reference-agent.
import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fail, parseCommand } from "../tools/cli.ts";
import { root, wrangler } from "../tools/lib.ts";
import { bundlePage } from "../tools/page-bundle.ts";

parseCommand({
  usage: "npm run build",
  description: "Bundles the backend and the reference agent with `wrangler deploy --dry-run` (offline, as deployed) into dist/backend and dist/reference-agent.",
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
