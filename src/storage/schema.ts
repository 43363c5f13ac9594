// Owns the D1 (SQLite) tables; drizzle-kit generates migrations/ from this file.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const historyRoles = ["user", "assistant", "file"] as const;
export const ledgerKinds = ["turn", "summary", "credit", "adjustment"] as const;

/** Timestamps are epoch milliseconds; money is integer micro-dollars (1 dollar = 1,000,000). */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    balanceMicros: integer("balance_micros").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  // The admin API pages users in this order.
  (t) => [index("users_created_idx").on(t.createdAt, t.id)],
);

/** A retired model (`retiredAt` set) is refused for new turns and left out of model lists; its sessions and their
 *  history stay. */
export const models = sqliteTable("models", {
  id: integer("id").primaryKey(),
  name: text("name").notNull().unique(),
  provider: text("provider").notNull(),
  contextLength: integer("context_length").notNull(),
  inputMicrosPer1k: integer("input_micros_per_1k").notNull(),
  outputMicrosPer1k: integer("output_micros_per_1k").notNull(),
  retiredAt: integer("retired_at"),
});

export const userModels = sqliteTable(
  "user_models",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    modelId: integer("model_id")
      .notNull()
      .references(() => models.id),
  },
  (t) => [primaryKey({ columns: [t.userId, t.modelId] })],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    modelId: integer("model_id")
      .notNull()
      .references(() => models.id),
    name: text("name").notNull(),
    prompt: text("prompt").notNull().default(""),
    summary: text("summary").notNull().default(""),
    createdAt: integer("created_at").notNull(),
    lastActiveAt: integer("last_active_at").notNull(),
    /** The event stream's readers (the original's Sync-Backend) have this session: an event that starts it was
     *  staged for the stream, or it was imported from the original's database. Until then its next mirrored turn
     *  is `isNew` and carries the whole history. Rows from before the column count as streamed. */
    streamed: integer("streamed", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [index("sessions_user_active_idx").on(t.userId, t.lastActiveAt)],
);

/** One row per history entry; `seq` is monotonic within a session and orders the history. */
export const messages = sqliteTable(
  "messages",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    role: text("role", { enum: historyRoles }).notNull(),
    content: text("content").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);

/** Write batches that session objects committed (see domain/pending-writes.ts): a batch retried after its
 *  commit was not acknowledged is recognized here and not applied twice. One small row per batch. */
export const appliedWrites = sqliteTable("applied_writes", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

/** Every change of a balance, signed (charges are negative). Kept when sessions are deleted. */
export const costLedger = sqliteTable(
  "cost_ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id").notNull(),
    sessionId: text("session_id"),
    kind: text("kind", { enum: ledgerKinds }).notNull(),
    deltaMicros: integer("delta_micros").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("cost_ledger_user_idx").on(t.userId, t.createdAt)],
);

/** Uploaded files: the bytes live in R2 under `r2Key`; `fileName` is the stored, unguessable name. */
export const files = sqliteTable(
  "files",
  {
    fileName: text("file_name").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    originalName: text("original_name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    r2Key: text("r2_key").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("files_session_idx").on(t.sessionId)],
);

/** API keys the admin API issues to users (AUTH_MODE=token); only a SHA-256 hash of a key's secret is kept. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId)],
);
