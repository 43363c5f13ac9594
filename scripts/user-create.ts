// npm run user:create -- --username "Test User" --models gpt-4-turbo,8 --balance 1 [--user-id ID] [--url URL]
// Creates a user through the admin API of a running backend and prints it (note its user_id).
import { DEV_SECRETS } from "../tools/dev-settings.ts";
import { fail, numberOption, parseCommand, urlOption, usageError } from "../tools/cli.ts";
import { resolveModels, type CatalogEntry } from "../tools/model-names.ts";

const { values } = parseCommand({
  usage: 'npm run user:create -- --username NAME [--models LIST] [--balance DOLLARS] [--user-id ID] [--url URL]',
  description: "Creates a user through the admin API of a running backend (`npm run dev`) and prints it as JSON.",
  options: {
    username: { type: "string", value: "NAME", description: "the user's name (required)" },
    models: { type: "string", value: "LIST", default: "", description: "models the user may use, comma-separated ids or names, e.g. 4,5,8 or gpt-4-turbo,llama3.1:8b (default: none)" },
    balance: { type: "string", value: "DOLLARS", default: "0", description: "starting balance in dollars" },
    "user-id": { type: "string", value: "ID", description: "keep this id instead of a new UUID (for a client with a hard-coded one)" },
    url: { type: "string", value: "URL", default: process.env.BACKEND_URL ?? "http://127.0.0.1:8787", description: "the backend (BACKEND_URL from the environment wins over the default)" },
    token: { type: "string", value: "TOKEN", default: process.env.ADMIN_TOKEN ?? DEV_SECRETS.ADMIN_TOKEN, showDefault: false, description: "the admin token (default: ADMIN_TOKEN from the environment, else `npm run dev`'s)" },
  },
  notes: ["Model names are looked up in the backend's model catalog (GET /admin/models); ids are used as they are."],
});
if (!values.username?.trim()) usageError("--username is required");
const balance = numberOption("--balance", values.balance, { min: 0, integer: false });
const base = urlOption("--url", values.url, ["http:", "https:"]);
const wanted = values.models.split(",").map((entry) => entry.trim()).filter(Boolean);

async function admin(method: string, route: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(new URL(route, base), {
      method,
      headers: { authorization: `Bearer ${values.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return fail(`cannot reach ${base}: is \`npm run dev\` running? (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
}

/** The backend's model catalog, asked for only when a model is given by name. */
async function catalog(): Promise<CatalogEntry[]> {
  const response = await admin("GET", "/admin/models");
  if (response.status === 404) fail("--models: this backend cannot look models up by name (no GET /admin/models); give their ids, e.g. --models 4,5,8");
  if (!response.ok) fail(`GET /admin/models answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return ((await response.json()) as { models: CatalogEntry[] }).models;
}

const resolved = await resolveModels(wanted, catalog);
if ("error" in resolved) usageError(`--models: ${resolved.error}`);
const response = await admin("POST", "/admin/users", {
  username: values.username,
  models: resolved.ids,
  balance,
  ...(values["user-id"] ? { user_id: values["user-id"] } : {}),
});
const text = await response.text();
if (!response.ok) fail(`the backend answered ${response.status}: ${text}`);
console.log(text);
