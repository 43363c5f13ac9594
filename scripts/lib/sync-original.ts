// Owns sync:original: upserts our models, users, model grants and balances into an original Chat-Backend database
// (the schema of scripts/lib/original-schema.sql), so the original's Sync-Backend finds every user and model a stream
// entry names. Reads ours from PostgreSQL, or from D1 through wrangler. Idempotent. Run by scripts/sync-original.ts.
//
// Column mapping (ours -> the original's):
//   models.id, .name, .context_length           -> model_details.model_id, .model_name, .context_length
//                                                  (provider and prices have no column there: the original kept them in code)
//   users.id                                    -> user_data.user_id (uuid; an id that is not a UUID is skipped, warned)
//   users.username                              -> user_data.username (varchar(255); longer is skipped, warned)
//   user_models rows of the user                -> user_data.models int[], ascending, no duplicates ('{}' for none)
//   users.balance_micros (integer micro-dollars) -> user_data.balance double precision dollars: micros / 1e6, the same
//                                                  double as Sync-Backend's ParseFloat of the stream's "%.6f" balance
//   users.created_at (epoch ms)                 -> user_data.created_at timestamp (UTC), on insert only
// An existing row is updated only when its name, context length, username or balance differ, or its models are a
// different set (the original's order is kept otherwise); rows only the original has are left alone.
import path from "node:path";
import postgres from "postgres";
import { z } from "zod";
import { microsToDollars } from "../../src/domain/money";
import { bin, capture, LOCAL_STATE, root } from "./lib.ts";

/** Users read per query; a D1 query is a wrangler run (seconds), so it takes more at once. */
const POSTGRES_PAGE = 1000;
const D1_PAGE = 5000;
/** The original's varchar(255) columns (PostgreSQL counts characters). */
const ORIGINAL_NAME_MAX = 255;
/** What the original's uuid columns accept (PostgreSQL's uuid input, less its rarer spellings). */
const UUID = /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;
/** Columns sync:original writes; the original database must have them. */
const ORIGINAL_COLUMNS: Record<string, string[]> = {
  model_details: ["model_id", "model_name", "context_length"],
  user_data: ["user_id", "username", "models", "balance", "created_at"],
};

export interface OurModel {
  id: number;
  name: string;
  contextLength: number;
}

export interface OurUser {
  id: string;
  username: string;
  balanceMicros: number;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Granted model ids, ascending, no duplicates. */
  modelIds: number[];
}

/** Our database, read-only. */
export interface OurDatabase {
  /** What it reads, for the report (no password). */
  readonly description: string;
  models(): Promise<OurModel[]>;
  /** Every user with its grants, in id order, a page at a time. */
  userPages(): AsyncIterable<OurUser[]>;
  end(): Promise<void>;
}

const modelRow = z.object({ id: z.coerce.number().int(), name: z.string(), context_length: z.coerce.number().int() });
const userRow = z.object({
  id: z.string(),
  username: z.string(),
  balance_micros: z.coerce.number().int(),
  created_at: z.coerce.number().int(),
  model_ids: z.string().nullable(),
});

const toModel = (row: unknown): OurModel => {
  const m = modelRow.parse(row);
  return { id: m.id, name: m.name, contextLength: m.context_length };
};

const toUser = (row: unknown): OurUser => {
  const u = userRow.parse(row);
  const modelIds = [...new Set((u.model_ids ?? "").split(",").filter(Boolean).map(Number))].sort((a, b) => a - b);
  return { id: u.id, username: u.username, balanceMicros: u.balance_micros, createdAt: u.created_at, modelIds };
};

const sqlText = (value: string): string => `'${value.replace(/'/g, "''")}'`;

const MODELS_QUERY = "select id, name, context_length from models order by id";

/** The users page query; `aggregate` lists a user's model ids as "4,5,8" in the engine's dialect. */
function usersQuery(aggregate: string, afterId: string | null, limit: number): string {
  return `select u.id, u.username, u.balance_micros, u.created_at,
            (select ${aggregate} from user_models g where g.user_id = u.id) as model_ids
          from users u ${afterId === null ? "" : `where u.id > ${sqlText(afterId)}`}
          order by u.id limit ${Math.trunc(limit)}`;
}

/** Pages through users by id, starting with `first` when it is already read. */
async function* pages(read: (afterId: string | null) => Promise<OurUser[]>, limit: number, first?: OurUser[]): AsyncIterable<OurUser[]> {
  let page = first ?? (await read(null));
  while (page.length > 0) {
    yield page;
    if (page.length < limit) return;
    page = await read(page[page.length - 1]!.id);
  }
}

/** A URL fit to print: the password replaced. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/** Our PostgreSQL database (STORAGE=postgres, the schema of migrations-pg/). */
export class OurPostgres implements OurDatabase {
  private readonly sql: postgres.Sql;
  readonly description: string;
  constructor(url: string) {
    this.sql = postgres(url, { max: 1, onnotice: () => {} });
    this.description = `PostgreSQL ${redactUrl(url)}`;
  }
  async models(): Promise<OurModel[]> {
    return (await this.sql.unsafe(MODELS_QUERY)).map(toModel);
  }
  userPages(): AsyncIterable<OurUser[]> {
    const read = async (afterId: string | null) => (await this.sql.unsafe(usersQuery("string_agg(g.model_id::text, ',')", afterId, POSTGRES_PAGE))).map(toUser);
    return pages(read, POSTGRES_PAGE);
  }
  end(): Promise<void> {
    return this.sql.end();
  }
}

export interface D1Location {
  /** The database's name or binding in wrangler.toml (`DB`, `chat-backend`). */
  database: string;
  remote: boolean;
  /** Local state directory (as `npm run dev` uses); default .wrangler/state. Ignored with `remote`. */
  persistTo?: string;
  /** wrangler.toml to read the database from; default the repository's. */
  config?: string;
}

const d1Output = z.array(z.object({ results: z.array(z.record(z.string(), z.unknown())).default([]), success: z.boolean() }));

/** Our D1 database, read through `wrangler d1 execute --json` (local state offline, or --remote). */
export class OurD1 implements OurDatabase {
  readonly description: string;
  private readonly where: string[];
  constructor(private readonly location: D1Location) {
    const persistTo = path.resolve(location.persistTo ?? path.join(root, LOCAL_STATE));
    this.where = location.remote ? ["--remote"] : ["--local", "--persist-to", persistTo];
    if (location.config) this.where.push("--config", path.resolve(location.config));
    this.description = `D1 ${location.database} (${location.remote ? "remote" : `local, ${persistTo}`})`;
  }
  /** The first users page, read together with the models: each wrangler run costs seconds. */
  private firstUsers: OurUser[] | undefined;
  /** Runs the statements in one wrangler run; one list of rows per statement. */
  private query(...statements: string[]): unknown[][] {
    const out = capture(bin("wrangler"), ["d1", "execute", this.location.database, "--json", "--command", statements.join(";\n"), ...this.where]);
    const results = d1Output.parse(JSON.parse(out));
    if (results.length !== statements.length || results.some((r) => !r.success)) throw new Error(`D1 query failed: ${statements.join("; ")}`);
    return results.map((r) => r.results);
  }
  private usersAfter(afterId: string | null): string {
    return usersQuery("group_concat(g.model_id)", afterId, D1_PAGE);
  }
  async models(): Promise<OurModel[]> {
    const [models, users] = this.query(MODELS_QUERY, this.usersAfter(null));
    this.firstUsers = users!.map(toUser);
    return models!.map(toModel);
  }
  userPages(): AsyncIterable<OurUser[]> {
    const first = this.firstUsers;
    this.firstUsers = undefined;
    return pages(async (afterId) => this.query(this.usersAfter(afterId))[0]!.map(toUser), D1_PAGE, first);
  }
  async end(): Promise<void> {}
}

export interface SyncCounts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Rows the original's columns cannot hold (each warned about). */
  skipped: number;
}

export interface SyncResult {
  model_details: SyncCounts;
  user_data: SyncCounts;
  /** Our user_models rows read (written as user_data.models). */
  grants: number;
  seconds: number;
}

export interface SyncOptions {
  from: OurDatabase;
  /** The original database's URL. */
  to: string;
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

const emptyCounts = (): SyncCounts => ({ read: 0, inserted: 0, updated: 0, unchanged: 0, skipped: 0 });
const chars = (text: string): number => [...text].length;

/** Throws, naming what is missing, unless the database has the original's tables and the columns we write. */
async function requireOriginalSchema(sql: postgres.Sql, url: string): Promise<void> {
  const rows = await sql<{ table_name: string; column_name: string }[]>`
    select table_name::text, column_name::text from information_schema.columns
    where table_schema = current_schema() and table_name in ('user_data', 'model_details')`;
  const present = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
  const missing = Object.entries(ORIGINAL_COLUMNS).flatMap(([table, columns]) => columns.map((c) => `${table}.${c}`).filter((c) => !present.has(c)));
  if (missing.length > 0) {
    throw new Error(
      `${redactUrl(url)} is not an original Chat-Backend database: it lacks ${missing.join(", ")}. ` +
        "Create its schema with the original's docker_postgres_init.sql (or scripts/lib/original-schema.sql) first.",
    );
  }
}

/** Upserts a batch given as JSON rows; returns how many were inserted and how many updated (the rest were equal). */
async function upsert(sql: Pick<postgres.TransactionSql, "unsafe">, statement: string, rows: object[]): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const changed = await sql.unsafe<{ inserted: boolean }[]>(statement, [JSON.stringify(rows)]);
  const inserted = changed.filter((r) => r.inserted).length;
  return { inserted, updated: changed.length - inserted };
}

// xmax = 0 on a returned row: it was inserted, not updated. Rows the WHERE of DO UPDATE keeps are not returned.
const UPSERT_MODELS = `
  insert into model_details (model_id, model_name, context_length)
  select model_id, model_name, context_length
  from jsonb_to_recordset($1::text::jsonb) as x(model_id int, model_name text, context_length int)
  on conflict (model_id) do update set model_name = excluded.model_name, context_length = excluded.context_length
  where (model_details.model_name, model_details.context_length) is distinct from (excluded.model_name, excluded.context_length)
  returning (xmax = 0) as inserted`;

const UPSERT_USERS = `
  insert into user_data (user_id, username, models, balance, created_at)
  select user_id, username, models, balance, timestamp 'epoch' + created_at_ms * interval '1 millisecond'
  from jsonb_to_recordset($1::text::jsonb) as x(user_id uuid, username text, models int[], balance float8, created_at_ms bigint)
  on conflict (user_id) do update set username = excluded.username, models = excluded.models, balance = excluded.balance
  where user_data.username is distinct from excluded.username
     or user_data.balance is distinct from excluded.balance
     or user_data.models is null
     or not (user_data.models @> excluded.models and user_data.models <@ excluded.models)
  returning (xmax = 0) as inserted`;

function add(counts: SyncCounts, read: number, skipped: number, written: { inserted: number; updated: number }): void {
  counts.read += read;
  counts.skipped += skipped;
  counts.inserted += written.inserted;
  counts.updated += written.updated;
  counts.unchanged += read - skipped - written.inserted - written.updated;
}

/** Upserts all our models and users into the original database, in one transaction. */
export async function syncOriginal({ from, to, log = console.log, warn = console.warn }: SyncOptions): Promise<SyncResult> {
  const started = performance.now();
  const target = postgres(to, { max: 1, onnotice: () => {} });
  const result: SyncResult = { model_details: emptyCounts(), user_data: emptyCounts(), grants: 0, seconds: 0 };
  try {
    await requireOriginalSchema(target, to);
    await target.begin(async (tx) => {
      const models = await from.models();
      const modelRows = models.flatMap((m) => {
        if (chars(m.name) <= ORIGINAL_NAME_MAX) return [{ model_id: m.id, model_name: m.name, context_length: m.contextLength }];
        warn(`warning: model ${m.id} skipped: its name is longer than model_details.model_name's ${ORIGINAL_NAME_MAX} characters`);
        return [];
      });
      add(result.model_details, models.length, models.length - modelRows.length, await upsert(tx, UPSERT_MODELS, modelRows));

      const seen = new Set<string>();
      for await (const users of from.userPages()) {
        const userRows = users.flatMap((u) => {
          result.grants += u.modelIds.length;
          const problem = !UUID.test(u.id)
            ? "its id is not a UUID, which user_data.user_id must be (Sync-Backend cannot write this user's turns either)"
            : seen.has(canonicalUuid(u.id))
              ? "another of our users has the same UUID written differently"
              : chars(u.username) > ORIGINAL_NAME_MAX
                ? `its username is longer than user_data.username's ${ORIGINAL_NAME_MAX} characters`
                : null;
          if (problem) {
            warn(`warning: user ${JSON.stringify(u.id)} skipped: ${problem}`);
            return [];
          }
          seen.add(canonicalUuid(u.id));
          return [{ user_id: u.id, username: u.username, models: u.modelIds, balance: microsToDollars(u.balanceMicros), created_at_ms: u.createdAt }];
        });
        add(result.user_data, users.length, users.length - userRows.length, await upsert(tx, UPSERT_USERS, userRows));
      }
    });
  } finally {
    await target.end();
    await from.end();
  }
  result.seconds = (performance.now() - started) / 1000;
  log(`synced ${from.description} -> ${redactUrl(to)} in ${result.seconds.toFixed(2)} s`);
  for (const table of ["model_details", "user_data"] as const) {
    const c = result[table];
    const n = (value: number) => String(value).padStart(7);
    log(`  ${table.padEnd(14)} read ${n(c.read)}  inserted ${n(c.inserted)}  updated ${n(c.updated)}  unchanged ${n(c.unchanged)}  skipped ${n(c.skipped)}`);
  }
  log(`  user grants read ${result.grants}, written as user_data.models`);
  return result;
}

function canonicalUuid(id: string): string {
  return id.replace(/[{}-]/g, "").toLowerCase();
}
