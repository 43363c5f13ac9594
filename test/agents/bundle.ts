// Bundles the agent Workers the tests bind to (the reference agent and the scripted test agent), as
// `wrangler deploy --dry-run` does, before the test runtime starts. Runs in Node from vitest.config.ts.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { bin, offlineEnv } from "../../scripts/lib/lib.ts";

const agents = {
  "reference-agent": "reference-agent/wrangler.toml",
  "scripted-agent": "test/agents/wrangler.toml",
} as const;

export type AgentName = keyof typeof agents;

/** Returns each agent's bundled entry module. */
export function bundleTestAgents(root: string): Record<AgentName, string> {
  const out = {} as Record<AgentName, string>;
  for (const [name, config] of Object.entries(agents) as [AgentName, string][]) {
    const outdir = path.join(root, "dist/test-workers", name);
    execFileSync(bin("wrangler"), ["deploy", "--dry-run", "-c", config, "--outdir", outdir], {
      cwd: root,
      env: offlineEnv,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const entry = readdirSync(outdir).find((file) => file.endsWith(".js"));
    if (!entry) throw new Error(`wrangler produced no bundle in ${outdir}`);
    out[name] = path.join(outdir, entry);
  }
  return out;
}
