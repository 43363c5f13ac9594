// wrangler.toml's [vars] (what a deploy ships, test/e2e/deploy-defaults.test.ts checks it against the dry run) plus
// the secrets the README's "Deploying" steps set are a configuration the Worker starts with, in token mode; without
// those secrets it refuses to start, naming them.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { ConfigError, parseConfig, type OptionalBindings } from "../../src/config";

const root = path.resolve(import.meta.dirname, "../..");
const bindings: OptionalBindings = { AGENT: {} as Fetcher, DB: {} as D1Database };

function shippedVars(): Record<string, string> {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  return Object.fromEntries([...toml.slice(toml.indexOf("[vars]")).matchAll(/^([A-Z][A-Z0-9_]*) = "(.*)"$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The secrets the README's "Deploying" steps put (`wrangler secret put NAME`). */
function deploySecrets(): string[] {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const start = readme.indexOf("## Deploying");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return [...section.matchAll(/wrangler secret put ([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!);
}

it("the shipped settings are token mode, refused without the README's deploy secrets, and start with them", () => {
  const vars = shippedVars();
  expect(vars.AUTH_MODE).toBe("token");
  let refused: unknown = null;
  try {
    parseConfig(vars, bindings);
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(ConfigError);
  expect((refused as ConfigError).problems).toEqual(['AUTH_MODE="token" hands out signed file links: set the secret FILE_URL_SECRET']);

  const secrets = deploySecrets();
  expect(secrets).toEqual(expect.arrayContaining(["ADMIN_TOKEN", "FILE_URL_SECRET"])); // the admin API issues API keys
  const generated = Object.fromEntries(secrets.map((name) => [name, Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")]));
  const config = parseConfig({ ...vars, ...generated }, bindings);
  expect(config.auth.mode).toBe("token");
  expect(config.corsOrigins).toEqual([]); // only the Worker's own pages, until CORS_ORIGINS lists a UI's origin
  expect(config.ADMIN_TOKEN).toBe(generated.ADMIN_TOKEN);
});
