// npm run import:original -- --from <original postgres url> (--to-postgres <url> | --to-d1-sql <file.sql>)
// Copies an original Chat-Backend database (spec section 8: user_data, model_details, session_details,
// file_data, chat_details) into ours, keeping every id so existing clients keep working. Idempotent: rows that
// already exist are left alone, so a second run changes nothing. With --to-d1-sql it writes a SQL file for
// `wrangler d1 execute <db> --file <file.sql>`. File bytes were on the original server's disk: copy them into
// R2 under the printed key layout (users/<user>/sessions/<session>/<file>) separately. The import is scripts/lib/import-original.ts.
import { describeError, fail, parseCommand, urlOption, usageError } from "./lib/cli.ts";
import { D1SqlTarget, importOriginal, PostgresTarget, SEEDED_MODEL_IDS } from "./lib/import-original.ts";

const POSTGRES: string[] = ["postgres:", "postgresql:"];
const { values } = parseCommand({
  usage: "npm run import:original -- --from URL (--to-postgres URL | --to-d1-sql FILE)",
  description:
    "Copies an original Chat-Backend database into ours, keeping every id; rows that exist are left alone, so running it\n" +
    "again changes nothing. Prints rows read and new per table as it goes, then a summary.",
  options: {
    from: { type: "string", value: "URL", description: "the original system's PostgreSQL database (postgres://…)" },
    "to-postgres": { type: "string", value: "URL", description: "our PostgreSQL database (migrated with `npm run db:migrate:pg`)" },
    "to-d1-sql": { type: "string", value: "FILE", description: "write a SQL file for `npx wrangler d1 execute chat-backend --file FILE` instead" },
  },
  notes: ["File bytes stay where they were: copy them into R2 under users/<user_id>/sessions/<session_id>/<file_name>."],
});
if (!values.from) usageError("--from is required");
if (!values["to-postgres"] === !values["to-d1-sql"]) usageError("give exactly one of --to-postgres and --to-d1-sql");
const from = urlOption("--from", values.from, POSTGRES);
const target = values["to-postgres"]
  ? new PostgresTarget(urlOption("--to-postgres", values["to-postgres"], POSTGRES))
  : new D1SqlTarget(values["to-d1-sql"]!, new Set(SEEDED_MODEL_IDS));
try {
  await importOriginal({ from, target });
} catch (error) {
  fail(`import failed: ${describeError(error)}`);
}
if (values["to-d1-sql"]) console.log(`wrote ${values["to-d1-sql"]}: apply it with \`npx wrangler d1 execute chat-backend --local|--remote --file ${values["to-d1-sql"]}\``);
