// npm run dev [-- wrangler dev args]: applies pending D1 migrations, then runs the backend and the reference
// agent together with local D1/R2/Durable Objects, on 127.0.0.1:8787 unless told otherwise.
// npm run dev:pg: the same on PostgreSQL (through Hyperdrive's local mode) with the Redis event mirror on,
// against the servers scripts/with-services.sh provides (DATABASE_URL, REDIS_URL) and a local Upstash stand-in.
// Settings come from .dev.vars (or `--dev-vars FILE`) and `--var NAME:VALUE`; see scripts/lib/dev-settings.ts.
// What runs before wrangler (port check, gen/, migrations) is scripts/lib/dev-start.ts.
import path from "node:path";
import { describeError, fail, numberOption, parseCommand, usageError } from "./lib/cli.ts";
import { describeDevAuth, devSettings, envFilePath, readIfExists, takeSettingArgs, writeEnvFile } from "./lib/dev-settings.ts";
import { startupProblem } from "./lib/dev-check.ts";
import { applyLocalMigrations, generateIfChanged, portProblem } from "./lib/dev-start.ts";
import { bin, LOCAL_STATE, offlineEnv, root, start } from "./lib/lib.ts";
import type { UpstashStandIn } from "./lib/upstash-standin.ts";
import { bundlePage } from "./lib/page-bundle.ts";

const { overrides, devVarsPath, rest: afterSettings } = takeSettingArgs(process.argv.slice(2));
const { values, rest: extra } = parseCommand(
  {
    usage: "npm run dev [-- options] [wrangler dev options]",
    description:
      "Runs the backend and the reference agent under `wrangler dev` with local D1, R2 and Durable Objects, after\n" +
      "applying pending D1 migrations (no prompt; skipped at once when nothing changed since the last start).",
    options: {
      port: { type: "string", value: "N", default: "8787", description: "port to serve on (Chat-UI expects 8000)" },
      ip: { type: "string", value: "ADDRESS", default: "127.0.0.1", description: "address to serve on" },
      "inspector-port": { type: "string", value: "N", description: "DevTools port (default: 9229, or a free one)" },
      "persist-to": { type: "string", value: "DIR", default: LOCAL_STATE, description: "where local data is kept across restarts" },
      var: { type: "string", value: "NAME:VALUE", description: "a setting, over .dev.vars (repeatable)" },
      "dev-vars": { type: "string", value: "FILE", description: "read settings from FILE instead of .dev.vars" },
      postgres: { type: "boolean", default: false, description: "on PostgreSQL with the Redis mirror (what `npm run dev:pg` passes)" },
    },
    notes: [
      "Other options go to `wrangler dev` as they are (see `npx wrangler dev --help`).",
      "npm run dev:pg (--postgres) also uses, from the environment:",
      "  DATABASE_URL          the PostgreSQL server (default postgres://postgres:postgres@127.0.0.1:5432/postgres; started",
      "                        from the Debian package when none listens)",
      "  PG_DATABASE           the database on it, created and migrated when missing (default chat_backend)",
      "  REDIS_URL             the Redis behind the event mirror (default redis://127.0.0.1:6379)",
      "  UPSTASH_STANDIN_PORT  port of the Upstash stand-in on 127.0.0.1 the mirror writes to (default 8079)",
      "e.g. PG_DATABASE=mine UPSTASH_STANDIN_PORT=8179 npm run dev:pg -- --port 8788",
    ],
    passthrough: true,
  },
  afterSettings,
);
// takeSettingArgs took every well-formed --var and --dev-vars; what is left of them is malformed.
if (values.var !== undefined) usageError(`--var expects NAME:VALUE, not '${values.var}'`);
if (values["dev-vars"] !== undefined) usageError("--dev-vars needs a file");
const postgresMode = values.postgres;
const standInPort = numberOption("UPSTASH_STANDIN_PORT", process.env.UPSTASH_STANDIN_PORT ?? "8079", { min: 1, max: 65535 });
const port = numberOption("--port", String(values.port), { min: 1, max: 65535 });
const ip = String(values.ip);
const persistTo = String(values["persist-to"]);
const inspectorPort = values["inspector-port"] === undefined ? null : numberOption("--inspector-port", String(values["inspector-port"]), { min: 1, max: 65535 });

// Before anything slow: a port someone holds would only fail inside wrangler, half a minute later.
const script = postgresMode ? "npm run dev:pg" : "npm run dev";
const ports = [
  ["", ip, port, `\`${script} -- --port N\``],
  ["inspector ", ip, inspectorPort, `\`${script} -- --inspector-port N\``],
  ["Upstash stand-in ", "127.0.0.1", postgresMode ? standInPort : null, "`UPSTASH_STANDIN_PORT=N npm run dev:pg`"],
] as const;
for (const [what, host, number, change] of ports) {
  const problem = number === null ? null : await portProblem(host, number, change);
  if (problem) fail(`${what}${problem}`);
}
// A setting the Worker would refuse is one line now, not wrangler's crash banner after the start-up work.
const startingSettings = devSettings({ devVarsFiles: devVarsContents(), postgres: postgresMode ? { standInUrl: `http://127.0.0.1:${standInPort}` } : null, overrides });
const settingsProblem = await startupProblem(startingSettings);
if (settingsProblem) fail(settingsProblem);
if (generateIfChanged() === "unchanged") console.log("gen/ is up to date with proto/");
if (applyLocalMigrations(persistTo) === "unchanged") console.log(`D1 migrations: none pending (unchanged since last applied to ${persistTo})`);
await bundlePage(); // the chat page at / (public/app.js); rerun `npm run build:page` after editing page/

function devVarsContents(): string[] {
  return [readIfExists(path.join(root, "reference-agent/.dev.vars")), readIfExists(devVarsPath ?? path.join(root, ".dev.vars"))];
}

const args = ["dev", "-c", "wrangler.toml", "-c", "reference-agent/wrangler.toml", "--persist-to", persistTo, "--ip", ip, "--port", String(port)];
if (inspectorPort !== null) args.push("--inspector-port", String(inspectorPort));

const env = { ...offlineEnv };
let standIn: UpstashStandIn | null = null;
const devVarsFiles = devVarsContents();
let settings = devSettings({ devVarsFiles, postgres: null, overrides });
if (postgresMode) {
  const { ensureDatabase, migratePostgres } = await import("./lib/postgres.ts");
  const { startUpstashStandIn } = await import("./lib/upstash-standin.ts");
  const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
  const database = process.env.PG_DATABASE ?? "chat_backend";
  const url = await ensureDatabase(server, database).catch((error: unknown) => fail(`PostgreSQL at ${new URL(server).host}: ${describeError(error)}`));
  await migratePostgres(url);
  env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE = url;
  settings = devSettings({ devVarsFiles, postgres: { standInUrl: `http://127.0.0.1:${standInPort}` }, overrides });
  standIn = await startUpstashStandIn({
    port: standInPort,
    token: settings.UPSTASH_REDIS_REST_TOKEN!,
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  });
  console.log(`dev:pg: PostgreSQL database ${database}, Upstash stand-in ${standIn.url} -> ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`);
}
const envFile = writeEnvFile(settings, envFilePath(root, port));
args.push("--env-file", envFile.path);
console.log(`dev: http://${ip}:${port}, ${describeDevAuth(settings)}`);

const child = start(bin("wrangler"), [...args, ...extra], { env });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
process.once("exit", () => envFile.remove()); // however this process ends, the secrets go with it
child.on("exit", async (code, signal) => {
  envFile.remove();
  await standIn?.close();
  process.exit(code ?? (signal ? 0 : 1));
});
