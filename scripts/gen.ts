// npm run gen: generated code from proto/ (gen/) and the Worker's binding types (worker-configuration.d.ts).
import { bin, run, wrangler } from "../tools/lib.ts";

run(bin("buf"), ["generate"]);
wrangler(["types", "--strict-vars=false"], { stdio: ["ignore", "ignore", "inherit"] });
