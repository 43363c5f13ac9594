// npm run import:original -- --from <original postgres url> (--to-postgres <url> | --to-d1-sql <file.sql>)
// Copies an original Chat-Backend database (spec section 8: user_data, model_details, session_details,
// file_data, chat_details) into ours, keeping every id so existing clients keep working. Idempotent: rows that
// already exist are left alone, so a second run changes nothing. With --to-d1-sql it writes a SQL file for
// `wrangler d1 execute <db> --file <file.sql>`. File bytes were on the original server's disk: copy them into
// R2 under the printed key layout (users/<user>/sessions/<session>/<file>) separately.
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import postgres from "postgres";

const SESSION_PAGE = 500;
const ROWS_PER_STATEMENT = 500;
const D1_STATEMENT_MAX_CHARS = 90_000; // D1 refuses statements over 100 KB
const CONTENT_TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", pdf: "application/pdf", txt: "text/plain", csv: "text/csv", json: "application/json" };
const ROLES = new Set(["user", "assistant", "file"]);

/** The same layout as r2KeyFor in src/domain/file-names.ts. */
export const r2Key = (userId, sessionId, fileName) => `users/${encodeURIComponent(userId)}/sessions/${sessionId}/${fileName}`;

const TABLE_COLUMNS = {
  models: ["id", "name", "provider", "context_length", "input_micros_per_1k", "output_micros_per_1k"],
  users: ["id", "username", "balance_micros", "created_at"],
  user_models: ["user_id", "model_id"],
  sessions: ["id", "user_id", "model_id", "name", "prompt", "summary", "created_at", "last_active_at"],
  messages: ["session_id", "seq", "role", "content", "created_at"],
  files: ["file_name", "session_id", "user_id", "original_name", "content_type", "size", "r2_key", "created_at"],
};

const epochMs = (value, fallback) => (value instanceof Date && !Number.isNaN(value.getTime()) ? value.getTime() : fallback);

/** Converts one original session (with its chat_details and file names) into our rows. */
export function sessionRows(original, now) {
  const createdAt = epochMs(original.created_at, now);
  const history = Array.isArray(original.chats) ? original.chats : [];
  const messages = [];
  let skipped = 0;
  for (const entry of history) {
    if (!entry || !ROLES.has(entry.role)) {
      skipped++;
      continue;
    }
    const content = typeof entry.content === "string" ? entry.content : JSON.stringify(entry.content ?? "");
    messages.push({ session_id: original.session_id, seq: messages.length, role: entry.role, content, created_at: createdAt });
  }
  const files = (original.file_names ?? []).filter(Boolean).map((name) => ({
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

export class PostgresTarget {
  constructor(url) {
    this.sql = postgres(url, { max: 4, onnotice: () => {} });
  }
  async insert(table, rows) {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const result = await this.sql`insert into ${this.sql(table)} ${this.sql(chunk, TABLE_COLUMNS[table])} on conflict do nothing`;
      inserted += result.count;
    }
    return inserted;
  }
  async knownModelIds() {
    return new Set((await this.sql`select id from models`).map((r) => r.id));
  }
  end() {
    return this.sql.end();
  }
}

export class D1SqlTarget {
  constructor(path, seededModelIds) {
    this.out = createWriteStream(path);
    this.seededModelIds = seededModelIds;
  }
  static literal(value) {
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") return String(value);
    return `'${String(value).replace(/'/g, "''")}'`;
  }
  async insert(table, rows) {
    const head = `INSERT INTO ${table} (${TABLE_COLUMNS[table].join(", ")}) VALUES `;
    let values = [];
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
  async knownModelIds() {
    return this.seededModelIds;
  }
  end() {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

export async function importOriginal({ from, target, log = console.log }) {
  const source = postgres(from, { max: 2, onnotice: () => {} });
  const started = performance.now();
  const now = Date.now();
  const counts = {};
  const add = (table, read, written) => {
    counts[table] ??= { read: 0, written: 0 };
    counts[table].read += read;
    counts[table].written += written;
  };
  try {
    const originalModels = await source`select model_id, model_name, context_length from model_details order by model_id`;
    const modelRows = originalModels.map((m) => ({
      id: m.model_id,
      name: m.model_name ?? `model-${m.model_id}`,
      provider: "imported",
      context_length: m.context_length ?? 0,
      input_micros_per_1k: 0,
      output_micros_per_1k: 0,
    }));
    add("models", modelRows.length, await target.insert("models", modelRows));
    const known = await target.knownModelIds();
    for (const m of modelRows) known.add(m.id);

    const users = await source`select user_id::text, username, coalesce(models, '{}') as models, coalesce(balance, 0) as balance, created_at from user_data`;
    const userRows = users.map((u) => ({ id: u.user_id, username: u.username, balance_micros: Math.round(u.balance * 1e6), created_at: epochMs(u.created_at, now) }));
    add("users", userRows.length, await target.insert("users", userRows));
    const grants = users.flatMap((u) => [...new Set(u.models)].filter((id) => known.has(id)).map((id) => ({ user_id: u.user_id, model_id: id })));
    add("user_models", grants.length, await target.insert("user_models", grants));

    let skippedEntries = 0;
    const cursor = source`
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
    }
    const seconds = (performance.now() - started) / 1000;
    log(`imported in ${seconds.toFixed(2)} s (${Math.round((counts.sessions?.read ?? 0) / seconds)} sessions/s)`);
    for (const [table, { read, written }] of Object.entries(counts)) log(`  ${table.padEnd(12)} read ${String(read).padStart(8)}  new ${String(written).padStart(8)}`);
    if (skippedEntries > 0) log(`  skipped ${skippedEntries} history entries with an unknown role`);
    return { counts, seconds, skippedEntries };
  } finally {
    await source.end();
    await target.end();
  }
}

/** Model ids our migrations seed (spec section 5); the D1 file cannot ask the database. */
const SEEDED_MODEL_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8];

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { from: { type: "string" }, "to-postgres": { type: "string" }, "to-d1-sql": { type: "string" } } });
  if (!values.from || (!values["to-postgres"] === !values["to-d1-sql"])) {
    console.error("usage: npm run import:original -- --from <original postgres url> (--to-postgres <url> | --to-d1-sql <file.sql>)");
    process.exit(2);
  }
  const target = values["to-postgres"] ? new PostgresTarget(values["to-postgres"]) : new D1SqlTarget(values["to-d1-sql"], new Set(SEEDED_MODEL_IDS));
  await importOriginal({ from: values.from, target });
  if (values["to-d1-sql"]) console.log(`wrote ${values["to-d1-sql"]}: apply it with \`npx wrangler d1 execute chat-backend --local|--remote --file ${values["to-d1-sql"]}\``);
}
