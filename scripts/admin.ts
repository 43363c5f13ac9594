// npm run admin -- <command> [arguments] [options]: the admin API of a running backend from the command line
// (scripts/lib/admin-cli.ts); `npm run admin -- --help` lists the commands. `npm run user:create` is `admin users create`.
import { runAdmin } from "./lib/admin-cli.ts";

const code = await runAdmin(process.argv.slice(2), {
  fetch: (url, init) => fetch(url, init),
  env: process.env,
  out: (text) => console.log(text),
  err: (text) => console.error(text),
});
process.exit(code);
