// The repository as cloned deploys locked: `wrangler deploy --dry-run` shows the Worker gets AUTH_MODE=token and
// CORS_ORIGINS=same-origin, exactly the [vars] of wrangler.toml (test/unit/deploy-defaults.test.ts checks that those
// vars plus the README's deploy secrets are a configuration the Worker starts with).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { bin, offlineEnv, root } from "../../scripts/lib/lib";

const outdir = mkdtempSync(path.join(os.tmpdir(), "chat-dry-run-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it("wrangler deploy --dry-run of the repository as cloned ships AUTH_MODE=token and same-origin CORS", async () => {
  const { stdout } = await promisify(execFile)(bin("wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", "wrangler.toml"], {
    cwd: root,
    env: offlineEnv,
    timeout: 60_000,
  });
  // The binding table's `env.NAME ("value")  Environment Variable` rows.
  const deployed = Object.fromEntries([...stdout.matchAll(/^env\.([A-Z][A-Z0-9_]*) \("(.*)"\)\s+Environment Variable/gm)].map((m) => [m[1]!, m[2]!]));
  expect(deployed).toMatchObject({ AUTH_MODE: "token", CORS_ORIGINS: "same-origin", CORS_ALLOW_ANY_ORIGIN: "false" });
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const shipped = Object.fromEntries([...toml.slice(toml.indexOf("[vars]")).matchAll(/^([A-Z][A-Z0-9_]*) = "(.*)"$/gm)].map((m) => [m[1]!, m[2]!]));
  expect(deployed).toEqual(shipped);
});
