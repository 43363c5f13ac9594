// npm run dev [-- wrangler dev args]: applies pending D1 migrations, then runs the backend and the reference
// agent together with local D1/R2/Durable Objects, on 127.0.0.1:8787 unless told otherwise.
// npm run dev:pg: the same on PostgreSQL (through Hyperdrive's local mode) with the Redis event mirror on,
// against the servers scripts/with-services.sh provides (DATABASE_URL, REDIS_URL) and a local Upstash stand-in.
// Settings come from .dev.vars (or `--dev-vars FILE`) and `--var NAME:VALUE`; see tools/dev-settings.ts.
import path from "node:path";
import { devSettings, readIfExists, takeSettingArgs, writeEnvFile } from "../tools/dev-settings.ts";
import { bin, LOCAL_STATE, offlineEnv, root, run, start, wrangler } from "../tools/lib.ts";
import type { UpstashStandIn } from "../tools/upstash-standin.ts";
import { bundlePage } from "../tools/page-bundle.ts";

const postgresMode = process.argv.includes("--postgres");
const { overrides, devVarsPath, rest: extra } = takeSettingArgs(process.argv.slice(2).filter((arg) => arg !== "--postgres"));
const has = (flag: string) => extra.some((arg) => arg === flag || arg.startsWith(`${flag}=`));

run(bin("buf"), ["generate"]);
await bundlePage(); // the chat page at / (public/app.js); rerun `npm run build:page` after editing page/
const persistTo = has("--persist-to") ? extra[extra.indexOf("--persist-to") + 1]! : LOCAL_STATE;
wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);

const args = ["dev", "-c", "wrangler.toml", "-c", "reference-agent/wrangler.toml"];
if (!has("--persist-to")) args.push("--persist-to", LOCAL_STATE);
if (!has("--ip")) args.push("--ip", "127.0.0.1");
if (!has("--port")) args.push("--port", "8787");

const env = { ...offlineEnv };
let standIn: UpstashStandIn | null = null;
const devVarsFiles = [readIfExists(path.join(root, "reference-agent/.dev.vars")), readIfExists(devVarsPath ?? path.join(root, ".dev.vars"))];
let settings = devSettings({ devVarsFiles, postgres: null, overrides });
if (postgresMode) {
  const { ensureDatabase, migratePostgres } = await import("../tools/postgres.ts");
  const { startUpstashStandIn } = await import("../tools/upstash-standin.ts");
  const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
  const database = process.env.PG_DATABASE ?? "chat_backend";
  const url = await ensureDatabase(server, database);
  await migratePostgres(url);
  env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE = url;
  const port = Number(process.env.UPSTASH_STANDIN_PORT ?? 8079);
  settings = devSettings({ devVarsFiles, postgres: { standInUrl: `http://127.0.0.1:${port}` }, overrides });
  standIn = await startUpstashStandIn({
    port,
    token: settings.UPSTASH_REDIS_REST_TOKEN!,
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  });
  console.log(`dev:pg: PostgreSQL database ${database}, Upstash stand-in ${standIn.url} -> ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`);
}
const envFile = writeEnvFile(settings);
args.push("--env-file", envFile.path);

const child = start(bin("wrangler"), [...args, ...extra], { env });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", async (code, signal) => {
  envFile.remove();
  await standIn?.close();
  process.exit(code ?? (signal ? 0 : 1));
});
