// Entry point of npm run sync:original -- --to <original postgres url> (--from <our postgres url> | --from-d1 <name> [--local [--persist-to DIR] | --remote])
// Upserts our models, users, model grants and balances into the original system's database, so its Sync-Backend,
// still reading our Redis stream, finds every user and model an entry names. Run it after admin changes (new
// user, grant, model) and before those users chat. Idempotent: a second run changes nothing. The sync and its
// column mapping are tools/sync-original.ts; docs/migrating-from-chat-backend.md has the whole procedure.
import { parseArgs } from "node:util";
import { OurD1, OurPostgres, syncOriginal, type OurDatabase } from "../tools/sync-original.ts";

const usage =
  "usage: npm run sync:original -- --to <original postgres url> " +
  "(--from <our postgres url> | --from-d1 <name> [--local [--persist-to DIR] | --remote] [--config wrangler.toml])";
const { values } = parseArgs({
  options: {
    to: { type: "string" },
    from: { type: "string" },
    "from-d1": { type: "string" },
    local: { type: "boolean", default: false },
    remote: { type: "boolean", default: false },
    "persist-to": { type: "string" },
    config: { type: "string" },
  },
});
const d1Only = values.local || values.remote || values["persist-to"] !== undefined || values.config !== undefined;
const invalid =
  !values.to ||
  !values.from === !values["from-d1"] ||
  (values.from !== undefined && d1Only) ||
  (values.local && values.remote) ||
  (values.remote && values["persist-to"] !== undefined);
if (invalid) {
  console.error(usage);
  process.exit(2);
}
const from: OurDatabase = values.from
  ? new OurPostgres(values.from)
  : new OurD1({ database: values["from-d1"]!, remote: values.remote, persistTo: values["persist-to"], config: values.config });
try {
  await syncOriginal({ from, to: values.to! });
} catch (error) {
  console.error(`sync:original failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
