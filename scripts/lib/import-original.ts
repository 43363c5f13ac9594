// The import from an original Chat-Backend database (spec section 8: user_data, model_details, session_details,
// file_data, chat_details) into ours, keeping every id so existing clients keep working, into PostgreSQL or into a
// SQL file for D1. Idempotent: rows that already exist are left alone. Run by scripts/import-original.ts.
import { createWriteStream, type WriteStream } from "node:fs";
import postgres from "postgres";

const SESSION_PAGE = 500;
const ROWS_PER_STATEMENT = 500;
const D1_STATEMENT_MAX_CHARS = 90_000; // D1 refuses statements over 100 KB
const CONTENT_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", pdf: "application/pdf", txt: "text/plain", csv: "text/csv", json: "application/json" };
const ROLES = new Set(["user", "assistant", "file"]);

/** The same layout as r2KeyFor in src/domain/file-names.ts. */
export const r2Key = (userId: string, sessionId: string, fileName: string): string => `users/${encodeURIComponent(userId)}/sessions/${sessionId}/${fileName}`;

const TABLE_COLUMNS = {
  models: ["id", "name", "provider", "context_length", "input_micros_per_1k", "output_micros_per_1k"],
  users: ["id", "username", "balance_micros", "created_at"],
  user_models: ["user_id", "model_id"],
  sessions: ["id", "user_id", "model_id", "name", "prompt", "summary", "created_at", "last_active_at"],
  messages: ["session_id", "seq", "role", "content", "created_at"],
  files: ["file_name", "session_id", "user_id", "original_name", "content_type", "size", "r2_key", "created_at"],
} satisfies Record<string, string[]>;

/** A table of ours the import writes. */
export type Table = keyof typeof TABLE_COLUMNS;
/** One row of ours, by column name. */
export type Row = Record<string, string | number | null>;

/** Where the import writes: PostgreSQL, or a SQL file for D1. */
export interface ImportTarget {
  /** Inserts rows that do not exist yet; returns how many were new (as far as the target can tell). */
  insert(table: Table, rows: Row[]): Promise<number>;
  /** Ids of every model the target has. */
  knownModelIds(): Promise<Set<number>>;
  /** Ids of the models that have a provider and prices: seeded, or priced by an operator since an import created them. */
  pricedModelIds(): Promise<Set<number>>;
  end(): Promise<void>;
}

/** Provider of a model the import created from the original's model_details, whose prices nobody has set yet. */
export const IMPORTED_PROVIDER = "imported";

/** One original session joined with its chat_details row (if any) and its file names. */
export interface OriginalSession {
  session_id: string;
  session_name: string | null;
  user_id: string;
  model_id: number | null;
  created_at: Date | null;
  session_prompt: string | null;
  chats_summary: string | null;
  chats: unknown;
  file_names: (string | null)[] | null;
}

export interface SessionRows {
  session: Row;
  messages: Row[];
  files: Row[];
  /** History entries dropped because their role is none of user, assistant, file. */
  skipped: number;
}

export type ImportCounts = Record<string, { read: number; written: number }>;

const epochMs = (value: unknown, fallback: number): number => (value instanceof Date && !Number.isNaN(value.getTime()) ? value.getTime() : fallback);

/** Converts one original session (with its chat_details and file names) into our rows. */
export function sessionRows(original: OriginalSession, now: number): SessionRows {
  const createdAt = epochMs(original.created_at, now);
  const history: unknown[] = Array.isArray(original.chats) ? original.chats : [];
  const messages: Row[] = [];
  let skipped = 0;
  for (const item of history) {
    const entry = item as { role?: unknown; content?: unknown } | null;
    if (!entry || typeof entry.role !== "string" || !ROLES.has(entry.role)) {
      skipped++;
      continue;
    }
    const content = typeof entry.content === "string" ? entry.content : JSON.stringify(entry.content ?? "");
    messages.push({ session_id: original.session_id, seq: messages.length, role: entry.role, content, created_at: createdAt });
  }
  const files = (original.file_names ?? []).filter((name): name is string => Boolean(name)).map((name) => ({
    file_name: name,
    session_id: original.session_id,
    user_id: original.user_id,
    original_name: name,
    content_type: CONTENT_TYPES[name.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream",
    size: 0,
    r2_key: r2Key(original.user_id, original.session_id, name),
    created_at: createdAt,
  }));
  const session = {
    id: original.session_id,
    user_id: original.user_id,
    model_id: original.model_id ?? 0,
    name: original.session_name ?? "New Chat",
    prompt: original.session_prompt ?? "",
    summary: original.chats_summary ?? "",
    created_at: createdAt,
    last_active_at: createdAt,
  };
  return { session, messages, files, skipped };
}

export class PostgresTarget implements ImportTarget {
  private readonly sql: postgres.Sql;
  constructor(url: string) {
    this.sql = postgres(url, { max: 4, onnotice: () => {} });
  }
  async insert(table: Table, rows: Row[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const result = await this.sql`insert into ${this.sql(table)} ${this.sql(chunk, TABLE_COLUMNS[table])} on conflict do nothing`;
      inserted += result.count;
    }
    return inserted;
  }
  async knownModelIds(): Promise<Set<number>> {
    return new Set((await this.sql<{ id: number }[]>`select id from models`).map((r) => r.id));
  }
  async pricedModelIds(): Promise<Set<number>> {
    const rows = await this.sql<{ id: number }[]>`
      select id from models where not (provider = ${IMPORTED_PROVIDER} and input_micros_per_1k = 0 and output_micros_per_1k = 0)`;
    return new Set(rows.map((r) => r.id));
  }
  end(): Promise<void> {
    return this.sql.end();
  }
}

export class D1SqlTarget implements ImportTarget {
  private readonly out: WriteStream;
  constructor(path: string, private readonly seededModelIds: Set<number>) {
    this.out = createWriteStream(path);
  }
  static literal(value: unknown): string {
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") return String(value);
    return `'${String(value).replace(/'/g, "''")}'`;
  }
  async insert(table: Table, rows: Row[]): Promise<number> {
    const head = `INSERT INTO ${table} (${TABLE_COLUMNS[table].join(", ")}) VALUES `;
    let values: string[] = [];
    let size = head.length;
    const flush = () => {
      if (values.length > 0) this.out.write(`${head}${values.join(",\n")} ON CONFLICT DO NOTHING;\n`);
      values = [];
      size = head.length;
    };
    for (const row of rows) {
      const tuple = `(${TABLE_COLUMNS[table].map((c) => D1SqlTarget.literal(row[c])).join(", ")})`;
      if (size + tuple.length > D1_STATEMENT_MAX_CHARS) flush();
      values.push(tuple);
      size += tuple.length + 2;
    }
    flush();
    return rows.length;
  }
  async knownModelIds(): Promise<Set<number>> {
    return this.seededModelIds;
  }
  async pricedModelIds(): Promise<Set<number>> {
    return this.seededModelIds;
  }
  end(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

export interface ImportOptions {
  /** The original database's URL. */
  from: string;
  target: ImportTarget;
  log?: (line: string) => void;
  /** Where warnings go: models imported without prices. */
  warn?: (line: string) => void;
}

export interface ImportResult {
  counts: ImportCounts;
  seconds: number;
  skippedEntries: number;
  /** Original models that are in ours with zero prices (warned about). */
  unpricedModels: { id: number; name: string }[];
}

/** The warning for an original model ours has no provider or prices for, with the statement that prices it. */
export function unpricedModelWarning({ id, name }: { id: number; name: string }): string {
  return (
    `warning: model ${id} ${JSON.stringify(name)} is not one of ours (no provider, no prices): imported with provider ` +
    `"${IMPORTED_PROVIDER}" and zero prices, so turns on it charge nothing. Set them: UPDATE models SET provider = '<openai|ollama|…>', ` +
    `input_micros_per_1k = <micro-dollars per 1K input tokens>, output_micros_per_1k = <micro-dollars per 1K output tokens> WHERE id = ${id};`
  );
}

export async function importOriginal({ from, target, log = console.log, warn = console.warn }: ImportOptions): Promise<ImportResult> {
  const source = postgres(from, { max: 2, onnotice: () => {} });
  const started = performance.now();
  const now = Date.now();
  const counts: ImportCounts = {};
  const add = (table: Table, read: number, written: number) => {
    const count = (counts[table] ??= { read: 0, written: 0 });
    count.read += read;
    count.written += written;
  };
  // Progress as it goes: a line per step, and per page of sessions at most one a second (and the last).
  let progressAt = 0;
  const progress = (tables: Table[], prefix = "") => {
    progressAt = performance.now();
    const tally = tables.map((table) => `${table} ${counts[table]?.read ?? 0} read, ${counts[table]?.written ?? 0} new`).join("; ");
    log(`[${((progressAt - started) / 1000).toFixed(1)} s] ${prefix}${tally}`);
  };
  try {
    const originalModels = await source<{ model_id: number; model_name: string | null; context_length: number | null }[]>`select model_id, model_name, context_length from model_details order by model_id`;
    const modelRows = originalModels.map((m) => ({
      id: m.model_id,
      name: m.model_name ?? `model-${m.model_id}`,
      provider: IMPORTED_PROVIDER,
      context_length: m.context_length ?? 0,
      input_micros_per_1k: 0,
      output_micros_per_1k: 0,
    }));
    const priced = await target.pricedModelIds();
    add("models", modelRows.length, await target.insert("models", modelRows));
    const unpricedModels = modelRows.filter((m) => !priced.has(m.id)).map(({ id, name }) => ({ id, name }));
    progress(["models"]);
    const known = await target.knownModelIds();
    for (const m of modelRows) known.add(m.id);

    const users = await source<{ user_id: string; username: string; models: number[]; balance: number; created_at: Date | null }[]>`select user_id::text, username, coalesce(models, '{}') as models, coalesce(balance, 0) as balance, created_at from user_data`;
    const userRows = users.map((u) => ({ id: u.user_id, username: u.username, balance_micros: Math.round(u.balance * 1e6), created_at: epochMs(u.created_at, now) }));
    add("users", userRows.length, await target.insert("users", userRows));
    const grants = users.flatMap((u) => [...new Set(u.models)].filter((id) => known.has(id)).map((id) => ({ user_id: u.user_id, model_id: id })));
    add("user_models", grants.length, await target.insert("user_models", grants));
    progress(["users", "user_models"]);

    let skippedEntries = 0;
    const [{ total } = { total: 0 }] = await source<{ total: number }[]>`select count(*)::int as total from session_details`;
    const sessionTables: Table[] = ["sessions", "messages", "files"];
    const sessionsDone = () => `${counts.sessions?.read ?? 0} of ${total} sessions: `;
    let shown = false;
    const cursor = source<OriginalSession[]>`
      select s.session_id::text, s.session_name, s.user_id::text, s.model_id, s.created_at,
             c.session_prompt, c.chats_summary, c.chats,
             (select array_agg(name) from file_data f, unnest(f.file_name) as name where f.session_id = s.session_id) as file_names
      from session_details s left join chat_details c on c.session_id = s.session_id
      order by s.created_at, s.session_id`.cursor(SESSION_PAGE);
    for await (const page of cursor) {
      const converted = page.map((original) => sessionRows(original, now));
      const sessions = converted.map((c) => c.session);
      const messages = converted.flatMap((c) => c.messages);
      const files = converted.flatMap((c) => c.files);
      skippedEntries += converted.reduce((sum, c) => sum + c.skipped, 0);
      add("sessions", sessions.length, await target.insert("sessions", sessions));
      add("messages", messages.length, await target.insert("messages", messages));
      add("files", files.length, await target.insert("files", files));
      shown = performance.now() - progressAt >= 1000;
      if (shown) progress(sessionTables, sessionsDone());
    }
    if (!shown) progress(sessionTables, sessionsDone());
    const seconds = (performance.now() - started) / 1000;
    log(`imported in ${seconds.toFixed(2)} s (${Math.round((counts.sessions?.read ?? 0) / seconds)} sessions/s)`);
    for (const [table, { read, written }] of Object.entries(counts)) log(`  ${table.padEnd(12)} read ${String(read).padStart(8)}  new ${String(written).padStart(8)}`);
    if (skippedEntries > 0) log(`  skipped ${skippedEntries} history entries with an unknown role`);
    for (const model of unpricedModels) warn(unpricedModelWarning(model));
    if (unpricedModels.length > 0) {
      warn(
        '  (PostgreSQL: run it with psql; D1: npx wrangler d1 execute chat-backend --remote --command "UPDATE …". An import into ' +
          "PostgreSQL warns until the model has prices; --to-d1-sql always warns, it cannot see the database.)",
      );
    }
    return { counts, seconds, skippedEntries, unpricedModels };
  } finally {
    await source.end();
    await target.end();
  }
}

/** Model ids our migrations seed (spec section 5); the D1 file cannot ask the database. */
export const SEEDED_MODEL_IDS: number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
