// Owns the admin command line (`npm run admin -- <command>`): its commands and their --help, argument checks (one
// line, exit 2), and the admin API calls each makes to a running backend (through the typed client,
// client/http-api.ts); it prints JSON, or a table with --table.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { adminClient, answer, createUser, pathParams, type AdminClient } from "../../client/http-api";
import { DEV_SECRETS } from "./dev-settings";
import { resolveModels, type CatalogEntry } from "./model-names";

export interface CliIo {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

/** A bad command line: said in one line, exit 2. */
class UsageError extends Error {}

/** The admin API refused or could not be reached: exit 1. */
class ApiError extends Error {}

interface Command {
  /** The words that name it, e.g. "users list". */
  name: string;
  summary: string;
  /** What follows the name in the usage line. */
  synopsis: string;
  /** Positional arguments, in order: name and meaning. */
  args: [string, string][];
  /** A last positional that takes the remaining arguments (e.g. model ids). */
  rest?: [string, string];
  options: Record<string, { type: "string" | "boolean"; value?: string; description: string }>;
  example: string;
  run(input: { args: string[]; values: Values; api: AdminClient }): Promise<unknown>;
}

const DEFAULT_URL = "http://127.0.0.1:8787";

const GLOBAL_OPTIONS: Command["options"] = {
  url: { type: "string", value: "URL", description: `the backend (default $BACKEND_URL, else ${DEFAULT_URL})` },
  token: { type: "string", value: "TOKEN", description: `the admin token (default $ADMIN_TOKEN, else ${DEV_SECRETS.ADMIN_TOKEN})` },
  table: { type: "boolean", description: "print a compact table instead of JSON" },
  help: { type: "boolean", description: "show this help" },
};

const pageOptions: Command["options"] = {
  limit: { type: "string", value: "N", description: "items per page, 1 to 100 (default 50)" },
  cursor: { type: "string", value: "CURSOR", description: "the next_cursor of the previous page" },
  all: { type: "boolean", description: "follow next_cursor to the end and print every item" },
};

const modelOptions: Command["options"] = {
  provider: { type: "string", value: "NAME", description: "who serves it (e.g. openai, ollama)" },
  "context-length": { type: "string", value: "TOKENS", description: "its context length in tokens" },
  "input-price": { type: "string", value: "DOLLARS", description: "dollars per 1K input tokens" },
  "output-price": { type: "string", value: "DOLLARS", description: "dollars per 1K output tokens" },
};

const str = (values: Values, name: string): string | undefined => values[name] as string | undefined;

function dollars(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new UsageError(`${what}: expected a number of dollars, got "${text}"`);
  return value;
}

function integer(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: expected a whole number, got "${text}"`);
  return Number(text);
}

/** Model ids for a --models list or model arguments: ids, names (looked up in GET /admin/models), or both. */
async function modelIds(texts: string[], what: string, api: AdminClient): Promise<number[]> {
  const entries = texts.flatMap((text) => text.split(",")).map((entry) => entry.trim()).filter(Boolean);
  const resolved = await resolveModels(entries, async (): Promise<CatalogEntry[]> => (await answer(api.models.$get())).models);
  if ("error" in resolved) throw new UsageError(`${what}: ${resolved.error}`);
  return resolved.ids;
}

const user = (id: string) => ({ param: pathParams({ user_id: id }) });
const model = (id: string) => ({ param: { model_id: String(integer(id, "<model-id>")) } });

/** The query of a listing page from --limit, --cursor and --name (those given). */
interface PageQuery {
  limit?: string;
  cursor?: string;
  name?: string;
}

/** A listing: one page, or with --all every page merged into one answer. */
async function listing<K extends string>(page: (query: PageQuery) => Promise<Record<K, unknown[]> & { next_cursor: string | null }>, key: K, values: Values): Promise<unknown> {
  const query: PageQuery = {};
  for (const name of ["limit", "cursor", "name"] as const) {
    const value = str(values, name);
    if (value !== undefined) query[name] = value;
  }
  if (query.limit !== undefined) integer(query.limit, "--limit");
  if (!values.all) return page(query);
  const items: unknown[] = [];
  for (let n = 0; n < 10_000; n++) {
    const answered = await page(query);
    items.push(...answered[key]);
    if (answered.next_cursor === null) break;
    query.cursor = answered.next_cursor;
  }
  return { [key]: items, next_cursor: null };
}

async function changeGrants(api: AdminClient, id: string, ids: number[], change: (granted: Set<number>, id: number) => void): Promise<unknown> {
  const granted = new Set((await answer(api.users[":user_id"].$get(user(id)))).models);
  for (const modelId of ids) change(granted, modelId);
  return answer(api.users[":user_id"].$patch({ ...user(id), json: { models: [...granted].sort((a, b) => a - b) } }));
}

const USER: [string, string] = ["user", "the user's id"];

export const COMMANDS: Command[] = [
  {
    name: "users list",
    summary: "List users a page at a time, in creation order (GET /admin/users)",
    synopsis: "[--name TEXT] [--limit N] [--cursor CURSOR] [--all]",
    args: [],
    options: { name: { type: "string", value: "TEXT", description: "only usernames containing TEXT (ASCII case ignored)" }, ...pageOptions },
    example: "users list --name alice --table",
    run: ({ values, api }) => listing((query) => answer(api.users.$get({ query })), "users", values),
  },
  {
    name: "users create",
    summary: "Create a user (POST /admin/users); prints it with its user_id",
    synopsis: "--username NAME [--models MODELS] [--balance DOLLARS] [--user-id ID]",
    args: [],
    options: {
      username: { type: "string", value: "NAME", description: "the username (required)" },
      models: { type: "string", value: "MODELS", description: "granted models, comma-separated: ids or names, e.g. 4,llama3.1:8b (see models list)" },
      balance: { type: "string", value: "DOLLARS", description: "starting balance (default 0)" },
      "user-id": { type: "string", value: "ID", description: "keep this id instead of a generated one" },
    },
    example: 'users create --username "Test User" --models 4,5,8 --balance 1',
    run: async ({ values, api }) => {
      const username = str(values, "username");
      if (!username) throw new UsageError("--username is required");
      const userId = str(values, "user-id");
      const balance = dollars(str(values, "balance") ?? "0", "--balance");
      const models = await modelIds([str(values, "models") ?? ""], "--models", api);
      return createUser(api, { username, models, balance, ...(userId ? { user_id: userId } : {}) });
    },
  },
  {
    name: "users show",
    summary: "Show a user (GET /admin/users/:user_id)",
    synopsis: "<user>",
    args: [USER],
    options: {},
    example: "users show 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c",
    run: ({ args, api }) => answer(api.users[":user_id"].$get(user(args[0]!))),
  },
  {
    name: "users rename",
    summary: "Change a user's username (PATCH /admin/users/:user_id)",
    synopsis: "<user> <username>",
    args: [USER, ["username", "the new username"]],
    options: {},
    example: 'users rename 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c "Alice B."',
    run: ({ args, api }) => answer(api.users[":user_id"].$patch({ ...user(args[0]!), json: { username: args[1] } })),
  },
  {
    name: "users set-balance",
    summary: "Set a user's balance (PATCH /admin/users/:user_id, balance); the ledger records the difference",
    synopsis: "<user> <dollars>",
    args: [USER, ["dollars", "the new balance, 0 or more"]],
    options: {},
    example: "users set-balance 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c 10",
    run: ({ args, api }) => answer(api.users[":user_id"].$patch({ ...user(args[0]!), json: { balance: dollars(args[1]!, "<dollars>") } })),
  },
  {
    name: "users add-credit",
    summary: "Add to a user's balance (PATCH /admin/users/:user_id, add_balance); negative takes away",
    synopsis: "<user> <dollars>",
    args: [USER, ["dollars", "what to add (put -- before a negative amount)"]],
    options: {},
    example: "users add-credit 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c 2.50",
    run: ({ args, api }) => answer(api.users[":user_id"].$patch({ ...user(args[0]!), json: { add_balance: dollars(args[1]!, "<dollars>") } })),
  },
  {
    name: "users grant",
    summary: "Grant models to a user, keeping the ones granted (GET, then PATCH /admin/users/:user_id)",
    synopsis: "<user> <model>...",
    args: [USER],
    rest: ["model", "model ids or names (spaces or commas)"],
    options: {},
    example: "users grant 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c 6 gpt-4-32k",
    run: async ({ args, api }) => changeGrants(api, args[0]!, await modelIds(args.slice(1), "<model>", api), (granted, id) => granted.add(id)),
  },
  {
    name: "users revoke",
    summary: "Take models away from a user (GET, then PATCH /admin/users/:user_id)",
    synopsis: "<user> <model>...",
    args: [USER],
    rest: ["model", "model ids or names (spaces or commas)"],
    options: {},
    example: "users revoke 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c 7",
    run: async ({ args, api }) => changeGrants(api, args[0]!, await modelIds(args.slice(1), "<model>", api), (granted, id) => granted.delete(id)),
  },
  {
    name: "ledger",
    summary: "A user's ledger, newest first (GET /admin/users/:user_id/ledger)",
    synopsis: "<user> [--limit N] [--cursor CURSOR] [--all]",
    args: [USER],
    options: pageOptions,
    example: "ledger 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c --limit 20 --table",
    run: ({ args, values, api }) => listing((query) => answer(api.users[":user_id"].ledger.$get({ ...user(args[0]!), query })), "entries", values),
  },
  {
    name: "models list",
    summary: "The model catalog, retired models included (GET /admin/models)",
    synopsis: "",
    args: [],
    options: {},
    example: "models list --table",
    run: ({ api }) => answer(api.models.$get()),
  },
  {
    name: "models create",
    summary: "Add a model (POST /admin/models); then grant it to users",
    synopsis: "--name NAME --provider NAME --context-length TOKENS --input-price DOLLARS --output-price DOLLARS [--id N]",
    args: [],
    options: {
      name: { type: "string", value: "NAME", description: "what chat messages name it by (model_name)" },
      ...modelOptions,
      id: { type: "string", value: "N", description: "its id (chosen by the database when absent)" },
    },
    example: "models create --name llama3.1:70b --provider ollama --context-length 8192 --input-price 0.002 --output-price 0.003",
    run: ({ values, api }) => {
      const required = (name: string): string => {
        const value = str(values, name);
        if (value === undefined) throw new UsageError(`--${name} is required`);
        return value;
      };
      const [name, provider, contextLength, inputPrice, outputPrice] = ["name", "provider", "context-length", "input-price", "output-price"].map(required) as [string, string, string, string, string];
      const id = str(values, "id");
      return answer(
        api.models.$post({
          json: {
            ...(id === undefined ? {} : { id: integer(id, "--id") }),
            name,
            provider,
            context_length: integer(contextLength, "--context-length"),
            input_price_per_1k: dollars(inputPrice, "--input-price"),
            output_price_per_1k: dollars(outputPrice, "--output-price"),
          },
        }),
      );
    },
  },
  {
    name: "models update",
    summary: "Change a model's prices, provider or context length (PATCH /admin/models/:model_id)",
    synopsis: "<model-id> [--provider NAME] [--context-length TOKENS] [--input-price DOLLARS] [--output-price DOLLARS]",
    args: [["model-id", "the model's id"]],
    options: modelOptions,
    example: "models update 8 --input-price 0.001 --output-price 0.0015",
    run: ({ args, values, api }) => {
      const body = {
        provider: str(values, "provider"),
        context_length: str(values, "context-length") === undefined ? undefined : integer(str(values, "context-length")!, "--context-length"),
        input_price_per_1k: str(values, "input-price") === undefined ? undefined : dollars(str(values, "input-price")!, "--input-price"),
        output_price_per_1k: str(values, "output-price") === undefined ? undefined : dollars(str(values, "output-price")!, "--output-price"),
      };
      if (Object.values(body).every((value) => value === undefined)) {
        throw new UsageError("nothing to change: give --provider, --context-length, --input-price or --output-price");
      }
      return answer(api.models[":model_id"].$patch({ ...model(args[0]!), json: body }));
    },
  },
  {
    name: "models retire",
    summary: "Retire a model: refused for new turns, left out of model lists; history stays (POST /admin/models/:model_id/retire)",
    synopsis: "<model-id>",
    args: [["model-id", "the model's id"]],
    options: {},
    example: "models retire 3",
    run: ({ args, api }) => answer(api.models[":model_id"].retire.$post(model(args[0]!))),
  },
  {
    name: "keys list",
    summary: "A user's API keys, oldest first, never their secrets (GET /admin/users/:user_id/keys)",
    synopsis: "<user>",
    args: [USER],
    options: {},
    example: "keys list 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c --table",
    run: ({ args, api }) => answer(api.users[":user_id"].keys.$get(user(args[0]!))),
  },
  {
    name: "keys create",
    summary: "Issue an API key for a user (POST /admin/users/:user_id/keys); its secret is shown this once",
    synopsis: "<user>",
    args: [USER],
    options: {},
    example: "keys create 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c",
    run: ({ args, api }) => answer(api.users[":user_id"].keys.$post(user(args[0]!))),
  },
  {
    name: "keys revoke",
    summary: "Revoke a user's API key (DELETE /admin/users/:user_id/keys/:key_id)",
    synopsis: "<user> <key-id>",
    args: [USER, ["key-id", "the key's key_id (32 hex digits)"]],
    options: {},
    example: "keys revoke 3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c 0c9d6b1e2f3a4b5c6d7e8f9a0b1c2d3e",
    run: ({ args, api }) => answer(api.users[":user_id"].keys[":key_id"].$delete({ param: pathParams({ user_id: args[0]!, key_id: args[1]! }) })),
  },
];

const PROGRAM = "npm run admin --";

function optionLines(options: Command["options"]): string[] {
  const labels = Object.entries(options).map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ""}`, o.description] as const);
  const width = Math.max(0, ...labels.map(([label]) => label.length));
  return labels.map(([label, description]) => `  ${label.padEnd(width)}  ${description}`);
}

export function commandHelp(command: Command): string {
  const lines = [`usage: ${PROGRAM} ${command.name}${command.synopsis ? ` ${command.synopsis}` : ""} [global options]`, "", command.summary + "."];
  const args = [...command.args, ...(command.rest ? [command.rest] : [])];
  if (args.length > 0) {
    lines.push("", "arguments:");
    const width = Math.max(...args.map(([name]) => name.length + 2));
    for (const [name, meaning] of args) lines.push(`  ${`<${name}>`.padEnd(width)}  ${meaning}`);
  }
  if (Object.keys(command.options).length > 0) lines.push("", "options:", ...optionLines(command.options));
  lines.push("", "global options:", ...optionLines(GLOBAL_OPTIONS), "", "example:", `  ${PROGRAM} ${command.example}`);
  return lines.join("\n");
}

export function programHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} <command> [arguments] [options]`,
    "",
    "Talks to a running backend's admin API (see README, Admin API). Prints JSON, or a table with --table.",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    `Every command has --help, e.g. ${PROGRAM} users create --help`,
    "",
    "example:",
    `  ${PROGRAM} users list --table`,
  ].join("\n");
}

function groupHelp(group: string, commands: Command[]): string {
  return [
    `usage: ${PROGRAM} ${group} <command> [arguments] [options]`,
    "",
    "commands:",
    ...commands.map((c) => `  ${PROGRAM} ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""}\n      ${c.summary}`),
    "",
    `Each has --help, e.g. ${PROGRAM} ${commands[0]!.name} --help`,
  ].join("\n");
}

/** Finds the command the first words name; the rest are its arguments. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  for (const words of [2, 1]) {
    const command = COMMANDS.find((c) => c.name === argv.slice(0, words).join(" "));
    if (command) return { command, rest: argv.slice(words) };
  }
  return null;
}

/** Runs the command line; the exit code: 0 done, 1 the backend refused or could not be reached, 2 a bad command line. */
export async function runAdmin(argv: string[], io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    (first === undefined ? io.err : io.out)(programHelp());
    return first === undefined ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0 && (argv[1] === "--help" || argv[1] === "-h")) {
      io.out(groupHelp(first, group));
      return 0;
    }
    const subcommands = group.map((c) => c.name.split(" ")[1]).join(", ");
    if (group.length > 0 && (argv[1] === undefined || argv[1].startsWith("-"))) io.err(`admin ${first}: expected a command: ${subcommands}. See ${PROGRAM} ${first} --help`);
    else if (group.length > 0) io.err(`admin: unknown command "${first} ${argv[1]}": ${first} has ${subcommands}. See ${PROGRAM} --help`);
    else io.err(`admin: unknown command "${first}". See ${PROGRAM} --help`);
    return 2;
  }
  const { command, rest } = found;
  const fail = (message: string) => {
    io.err(`admin ${command.name}: ${message}. See ${PROGRAM} ${command.name} --help`);
    return 2;
  };
  let values: Values;
  let positionals: string[];
  try {
    const options: Options = {};
    for (const [name, o] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS })) options[name] = { type: o.type };
    options.help = { type: "boolean", short: "h" };
    const parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    values = parsed.values as Values; // no option is `multiple`
    positionals = parsed.positionals;
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "").replace(/\.$/, "");
    return fail(/^Unknown option '-\d/.test(message) ? `${message} (a negative number goes after --, e.g. -- <user> -1)` : message);
  }
  if (values.help) {
    io.out(commandHelp(command));
    return 0;
  }
  const names = command.args.map(([name]) => `<${name}>`).concat(command.rest ? [`<${command.rest[0]}>...`] : []);
  if (positionals.length < command.args.length || (command.rest && positionals.length === command.args.length)) {
    return fail(`expected ${names.join(" ")}`);
  }
  if (!command.rest && positionals.length > command.args.length) {
    return fail(`unexpected argument "${positionals[command.args.length]}"`);
  }

  const base = str(values, "url") ?? io.env.BACKEND_URL ?? DEFAULT_URL;
  const token = str(values, "token") ?? io.env.ADMIN_TOKEN ?? DEV_SECRETS.ADMIN_TOKEN;
  if (!URL.canParse(base)) return fail(`--url: not a URL: "${base}"`);
  // Every request goes through here: a backend out of reach, an answer that is not JSON, or a refusal ends the command
  // (exit 1) with the request named as the user would write it.
  const checkedFetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init.method ?? "GET";
    const path = `${url.pathname}${url.search}`;
    let response: Response;
    try {
      response = await io.fetch(url.toString(), init);
    } catch (error) {
      const { cause, message } = error as Error & { cause?: { code?: string; message?: string } };
      const why = cause?.code ?? cause?.message ?? message;
      throw new ApiError(`cannot reach ${base}: is the backend running (npm run dev)? (${why})`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(`${method} ${path}: ${response.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok) throw new ApiError(`${method} ${path}: ${response.status} ${(json as { message?: string }).message ?? text}`);
    return new Response(text, { status: response.status, headers: { "content-type": "application/json" } });
  };
  // Paths are absolute: the API is at the URL's origin, whatever path the URL has.
  const api = adminClient(new URL(base).origin, { token, fetch: checkedFetch });

  try {
    const result = await command.run({ args: positionals, values, api });
    io.out(values.table ? table(result) : JSON.stringify(result));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message);
    if (error instanceof ApiError) {
      io.err(`admin ${command.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** A compact table: the rows of a listing's one array (else the answer itself), one column per field. */
export function table(result: unknown): string {
  const answer = (result ?? {}) as Record<string, unknown>;
  const arrays = Object.entries(answer).filter(([, value]) => Array.isArray(value) && value.every((v) => typeof v === "object" && v !== null));
  const rows = (arrays.length === 1 ? arrays[0]![1] : [answer]) as Record<string, unknown>[];
  const cell = (value: unknown) => {
    const text = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(",") : String(value);
    return text === "" ? "-" : text;
  };
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (rows.length === 0) return "(none)";
  const cells = [columns, ...rows.map((row) => columns.map((column) => cell(row[column])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const lines = cells.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join("  ").trimEnd());
  if (arrays.length === 1 && typeof answer.next_cursor === "string") lines.push(`next: --cursor ${answer.next_cursor}`);
  return lines.join("\n");
}
