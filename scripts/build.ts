// npm run build: bundles both Workers exactly as `wrangler deploy` would (offline, into dist/).
import { wrangler } from "../tools/lib.ts";

wrangler(["deploy", "--dry-run", "--outdir", "dist/backend", "-c", "wrangler.toml"]);
wrangler(["deploy", "--dry-run", "--outdir", "dist/reference-agent", "-c", "reference-agent/wrangler.toml"]);
