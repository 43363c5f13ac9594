// npm run import:original -- --from <original postgres url> (--to-postgres <url> | --to-d1-sql <file.sql>)
// Copies an original Chat-Backend database (spec section 8: user_data, model_details, session_details,
// file_data, chat_details) into ours, keeping every id so existing clients keep working. Idempotent: rows that
// already exist are left alone, so a second run changes nothing. With --to-d1-sql it writes a SQL file for
// `wrangler d1 execute <db> --file <file.sql>`. File bytes were on the original server's disk: copy them into
// R2 under the printed key layout (users/<user>/sessions/<session>/<file>) separately. The import is tools/import-original.ts.
import { parseArgs } from "node:util";
import { D1SqlTarget, importOriginal, PostgresTarget, SEEDED_MODEL_IDS } from "../tools/import-original.ts";

const { values } = parseArgs({ options: { from: { type: "string" }, "to-postgres": { type: "string" }, "to-d1-sql": { type: "string" } } });
if (!values.from || (!values["to-postgres"] === !values["to-d1-sql"])) {
  console.error("usage: npm run import:original -- --from <original postgres url> (--to-postgres <url> | --to-d1-sql <file.sql>)");
  process.exit(2);
}
const target = values["to-postgres"] ? new PostgresTarget(values["to-postgres"]) : new D1SqlTarget(values["to-d1-sql"]!, new Set(SEEDED_MODEL_IDS));
await importOriginal({ from: values.from, target });
if (values["to-d1-sql"]) console.log(`wrote ${values["to-d1-sql"]}: apply it with \`npx wrangler d1 execute chat-backend --local|--remote --file ${values["to-d1-sql"]}\``);
