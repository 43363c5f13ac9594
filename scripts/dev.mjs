// npm run dev [-- wrangler dev args]: applies pending D1 migrations, then runs the backend and the
// reference agent together with local D1/Durable Objects, on 127.0.0.1:8787 unless told otherwise.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { bin, DEV_SECRETS, LOCAL_STATE, root, run, start, wrangler } from "./lib.mjs";

const extra = process.argv.slice(2);
const has = (flag) => extra.some((arg) => arg === flag || arg.startsWith(`${flag}=`));

run(bin("buf"), ["generate"]);
wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", LOCAL_STATE]);

const args = ["dev", "-c", "wrangler.toml", "-c", "reference-agent/wrangler.toml", "--persist-to", LOCAL_STATE];
if (!has("--ip")) args.push("--ip", "127.0.0.1");
if (!has("--port")) args.push("--port", "8787");
// Secrets get development defaults unless .dev.vars (or the environment) sets them.
const devVarsPath = path.join(root, ".dev.vars");
const devVars = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "";
for (const [name, value] of Object.entries(DEV_SECRETS)) {
  if (!process.env[name] && !new RegExp(`^${name}=`, "m").test(devVars)) args.push("--var", `${name}:${value}`);
}

const child = start(bin("wrangler"), [...args, ...extra]);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
