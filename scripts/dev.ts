// npm run dev [-- wrangler dev args]: applies pending D1 migrations, then runs the backend and the reference
// agent together with local D1/R2/Durable Objects, on 127.0.0.1:8787 unless told otherwise.
// npm run dev:pg: the same on PostgreSQL (through Hyperdrive's local mode) with the Redis event mirror on,
// against the servers scripts/with-services.sh provides (DATABASE_URL, REDIS_URL) and a local Upstash stand-in.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { bin, DEV_SECRETS, LOCAL_STATE, offlineEnv, root, run, start, wrangler } from "../tools/lib.ts";
import type { UpstashStandIn } from "../tools/upstash-standin.ts";

const postgresMode = process.argv.includes("--postgres");
const extra = process.argv.slice(2).filter((arg) => arg !== "--postgres");
const has = (flag: string) => extra.some((arg) => arg === flag || arg.startsWith(`${flag}=`));

run(bin("buf"), ["generate"]);
const persistTo = has("--persist-to") ? extra[extra.indexOf("--persist-to") + 1] : LOCAL_STATE;
wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);

const args = ["dev", "-c", "wrangler.toml", "-c", "reference-agent/wrangler.toml"];
if (!has("--persist-to")) args.push("--persist-to", LOCAL_STATE);
if (!has("--ip")) args.push("--ip", "127.0.0.1");
if (!has("--port")) args.push("--port", "8787");

// Secrets get development defaults unless .dev.vars (or the environment) sets them.
const devVarsPath = path.join(root, ".dev.vars");
const devVars = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "";
const secrets: Record<string, string> = { ...DEV_SECRETS, ...(postgresMode ? { UPSTASH_REDIS_REST_TOKEN: "dev-upstash-token" } : {}) };
for (const [name, value] of Object.entries(secrets)) {
  if (!process.env[name] && !new RegExp(`^${name}=`, "m").test(devVars)) args.push("--var", `${name}:${value}`);
}

const env = { ...offlineEnv };
let standIn: UpstashStandIn | null = null;
if (postgresMode) {
  const { ensureDatabase, migratePostgres } = await import("../tools/postgres.ts");
  const { startUpstashStandIn } = await import("../tools/upstash-standin.ts");
  const server = process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
  const database = process.env.PG_DATABASE ?? "chat_backend";
  const url = await ensureDatabase(server, database);
  await migratePostgres(url);
  env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE = url;
  standIn = await startUpstashStandIn({
    port: Number(process.env.UPSTASH_STANDIN_PORT ?? 8079),
    token: process.env.UPSTASH_REDIS_REST_TOKEN ?? secrets.UPSTASH_REDIS_REST_TOKEN,
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  });
  args.push("--var", "STORAGE:postgres", "--var", `UPSTASH_REDIS_REST_URL:${standIn.url}`);
  console.log(`dev:pg: PostgreSQL database ${database}, Upstash stand-in ${standIn.url} -> ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`);
}

const child = start(bin("wrangler"), [...args, ...extra], { env });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", async (code, signal) => {
  await standIn?.close();
  process.exit(code ?? (signal ? 0 : 1));
});
