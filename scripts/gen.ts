// npm run gen: generated code from proto/ (gen/) and the Worker's binding types (worker-configuration.d.ts).
import { parseCommand } from "./lib/cli.ts";
import { bin, run, wrangler } from "./lib/lib.ts";

parseCommand({
  usage: "npm run gen",
  description: "Generates gen/ from proto/ (buf with the local protoc-gen-es, offline) and worker-configuration.d.ts (`wrangler types`).",
  options: {},
});
run(bin("buf"), ["generate"]);
wrangler(["types", "--strict-vars=false"], { stdio: ["ignore", "ignore", "inherit"] });
