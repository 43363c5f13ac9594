// Entry point of npm run sync:original -- --to <original postgres url> (--from <our postgres url> | --from-d1 <name> [--local [--persist-to DIR] | --remote])
// Upserts our models, users, model grants and balances into the original system's database, so its Sync-Backend,
// still reading our Redis stream, finds every user and model an entry names. Run it after admin changes (new
// user, grant, model) and before those users chat. Idempotent: a second run changes nothing. The sync and its
// column mapping are scripts/lib/sync-original.ts; docs/migrating-from-chat-backend.md has the whole procedure.
import { parseCommand, usageError } from "./lib/cli.ts";
import { OurD1, OurPostgres, syncOriginal, type OurDatabase } from "./lib/sync-original.ts";

const { values } = parseCommand({
  usage:
    "npm run sync:original -- --to URL (--from URL | --from-d1 NAME [--local [--persist-to DIR] | --remote] [--config FILE])",
  description:
    "Upserts our models, users, model grants and balances into the original system's database, so its Sync-Backend finds\n" +
    "every user and model a stream entry names. Idempotent. docs/migrating-from-chat-backend.md has the whole procedure.",
  options: {
    to: { type: "string", value: "URL", description: "the original system's PostgreSQL database (postgres://…)" },
    from: { type: "string", value: "URL", description: "our PostgreSQL database" },
    "from-d1": { type: "string", value: "NAME", description: "our D1 database instead, e.g. chat-backend (read with wrangler)" },
    local: { type: "boolean", default: false, description: "with --from-d1: the local database of `npm run dev` (the default)" },
    remote: { type: "boolean", default: false, description: "with --from-d1: the deployed database" },
    "persist-to": { type: "string", value: "DIR", description: "with --from-d1 --local: its state folder (default .wrangler/state)" },
    config: { type: "string", value: "FILE", description: "with --from-d1: the wrangler.toml that names it (default wrangler.toml)" },
  },
});
const d1Only = values.local || values.remote || values["persist-to"] !== undefined || values.config !== undefined;
if (!values.to) usageError("--to is required");
if (!values.from === !values["from-d1"]) usageError("give exactly one of --from and --from-d1");
if (values.from !== undefined && d1Only) usageError("--local, --remote, --persist-to and --config go with --from-d1");
if (values.local && values.remote) usageError("give --local or --remote, not both");
if (values.remote && values["persist-to"] !== undefined) usageError("--persist-to goes with --local");
const from: OurDatabase = values.from
  ? new OurPostgres(values.from)
  : new OurD1({ database: values["from-d1"]!, remote: values.remote, persistTo: values["persist-to"], config: values.config });
try {
  await syncOriginal({ from, to: values.to });
} catch (error) {
  console.error(`sync:original failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
