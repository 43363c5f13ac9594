// What `npm run dev` and `dev:pg` hand to wrangler: a .dev.vars copied from .dev.vars.example keeps the mirror on
// under dev:pg (its empty values are unset), and explicit --var arguments win.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { devSettings, takeSettingArgs } from "../../tools/dev-settings";

const example = readFileSync(path.resolve(import.meta.dirname, "../../.dev.vars.example"), "utf8");
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
