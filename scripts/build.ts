// npm run build: bundles the chat page (public/app.js), then both Workers exactly as `wrangler deploy` would (offline, into dist/).
import { wrangler } from "../tools/lib.ts";
import { bundlePage } from "../tools/page-bundle.ts";

await bundlePage();

wrangler(["deploy", "--dry-run", "--outdir", "dist/backend", "-c", "wrangler.toml"]);
wrangler(["deploy", "--dry-run", "--outdir", "dist/reference-agent", "-c", "reference-agent/wrangler.toml"]);
