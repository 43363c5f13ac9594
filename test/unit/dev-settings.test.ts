// What `npm run dev` and `dev:pg` hand to wrangler: a .dev.vars copied from .dev.vars.example keeps the mirror on
// under dev:pg (its empty values are unset), and explicit --var arguments win; sign-in is off locally unless asked
// for; the merged file stays inside the checkout.
import { existsSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { describeDevAuth, devSettings, envFilePath, takeSettingArgs, writeEnvFile } from "../../scripts/lib/dev-settings";

const root = path.resolve(import.meta.dirname, "../..");
const example = readFileSync(path.join(root, ".dev.vars.example"), "utf8");
const bindings = { AGENT: {} as Fetcher, DB: {} as D1Database, HYPERDRIVE: {} as Hyperdrive };

it("dev:pg with .dev.vars copied from .dev.vars.example runs on PostgreSQL with the mirror on", () => {
  const settings = devSettings({ devVarsFiles: [example], postgres: { standInUrl: "http://127.0.0.1:8079" }, overrides: {} });
  const config = parseConfig(settings, bindings);
  expect(config.storage.engine).toBe("postgres");
  expect(config.mirror).toMatchObject({ url: "http://127.0.0.1:8079", token: "dev-upstash-token", stream: "CHAT_STREAM" });
});

it("dev with .dev.vars copied from .dev.vars.example runs on D1 with the mirror off and the development secrets", () => {
  const config = parseConfig(devSettings({ devVarsFiles: [example], postgres: null, overrides: {} }), bindings);
  expect(config.storage.engine).toBe("d1");
  expect(config.mirror).toBeNull();
  expect(config.ADMIN_TOKEN).toBe("dev-admin-token");
});

it("lets .dev.vars set a secret and --var arguments override everything", () => {
  const { overrides, devVarsPath, rest } = takeSettingArgs(["--port", "8000", "--var", "REDIS_STREAM:s:1", "--dev-vars", "/tmp/x"]);
  expect(rest).toEqual(["--port", "8000"]);
  expect(devVarsPath).toBe("/tmp/x");
  const settings = devSettings({ devVarsFiles: ["ADMIN_TOKEN=mine\nREDIS_STREAM=file"], postgres: null, overrides });
  expect(settings.ADMIN_TOKEN).toBe("mine");
  expect(settings.REDIS_STREAM).toBe("s:1");
});

/** wrangler.toml's [vars], which the env file's settings override under `wrangler dev`. */
function shippedVars(): Record<string, string> {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  return Object.fromEntries([...toml.slice(toml.indexOf("[vars]")).matchAll(/^([A-Z][A-Z0-9_]*) = "(.*)"$/gm)].map((m) => [m[1]!, m[2]!]));
}

it("npm run dev turns off the sign-in wrangler.toml ships, and says so; .dev.vars or --var may turn it back on", () => {
  expect(shippedVars().AUTH_MODE).toBe("token");
  const local = devSettings({ devVarsFiles: [], postgres: null, overrides: {} });
  const config = parseConfig({ ...shippedVars(), ...local }, bindings);
  expect(config.auth).toEqual({ mode: "none" });
  expect(config.corsOrigins).toBe("*"); // a Chat-UI on another port may call it
  expect(describeDevAuth(local)).toContain("sign-in off (AUTH_MODE=none");
  const signedIn = devSettings({ devVarsFiles: ["AUTH_MODE=token"], postgres: null, overrides: {} });
  expect(signedIn.AUTH_MODE).toBe("token");
  expect(describeDevAuth(signedIn)).toContain("sign-in on");
  expect(devSettings({ devVarsFiles: [], postgres: null, overrides: { AUTH_MODE: "token" } }).AUTH_MODE).toBe("token");
});

it("keeps the merged settings (secrets among them) in the checkout's .wrangler folder, owner-only, and removes them", () => {
  const file = envFilePath(root, 48_123);
  expect(file).toBe(path.join(root, ".wrangler", "dev", "settings-48123.env"));
  // Not in a folder of its own in the shared temporary folder (the checkout itself may live there, as CI's does).
  expect(path.dirname(file)).not.toBe(os.tmpdir());
  expect(path.basename(path.dirname(file))).toBe("dev");
  const written = writeEnvFile({ ADMIN_TOKEN: "secret-admin-token", ODD: "it's" }, file);
  try {
    expect(readFileSync(file, "utf8")).toBe("ADMIN_TOKEN='secret-admin-token'\nODD=\"it's\"\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  } finally {
    written.remove();
  }
  expect(existsSync(file)).toBe(false);
});
