// Owns the PostgreSQL tables: the same tables, columns and TypeScript types as schema.ts (see schema-drift.ts).
import { bigint, boolean, index, integer, pgTable, primaryKey, serial, text } from "drizzle-orm/pg-core";
import { historyRoles, ledgerKinds } from "./schema";

export { historyRoles, ledgerKinds };

const epochMs = (name: string) => bigint(name, { mode: "number" });
const micros = (name: string) => bigint(name, { mode: "number" });

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    balanceMicros: micros("balance_micros").notNull().default(0),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [index("users_created_idx").on(t.createdAt, t.id)],
);

export const models = pgTable("models", {
  // Like SQLite's INTEGER PRIMARY KEY: an id may be given (the seeded ones are) or generated.
  id: integer("id").primaryKey().generatedByDefaultAsIdentity({ startWith: 1000 }),
  name: text("name").notNull().unique(),
  provider: text("provider").notNull(),
  contextLength: integer("context_length").notNull(),
  inputMicrosPer1k: integer("input_micros_per_1k").notNull(),
  outputMicrosPer1k: integer("output_micros_per_1k").notNull(),
  retiredAt: epochMs("retired_at"),
});

export const userModels = pgTable(
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

export const sessions = pgTable(
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
    createdAt: epochMs("created_at").notNull(),
    lastActiveAt: epochMs("last_active_at").notNull(),
    /** See schema.ts. */
    streamed: boolean("streamed").notNull().default(true),
  },
  (t) => [index("sessions_user_active_idx").on(t.userId, t.lastActiveAt)],
);

export const messages = pgTable(
  "messages",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    role: text("role", { enum: historyRoles }).notNull(),
    content: text("content").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);

export const appliedWrites = pgTable("applied_writes", {
  id: text("id").primaryKey(),
  createdAt: epochMs("created_at").notNull(),
});

export const costLedger = pgTable(
  "cost_ledger",
  {
    id: serial("id").primaryKey(),
    userId: text("user_id").notNull(),
    sessionId: text("session_id"),
    kind: text("kind", { enum: ledgerKinds }).notNull(),
    deltaMicros: micros("delta_micros").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [index("cost_ledger_user_idx").on(t.userId, t.createdAt)],
);

export const files = pgTable(
  "files",
  {
    fileName: text("file_name").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    originalName: text("original_name").notNull(),
    contentType: text("content_type").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    r2Key: text("r2_key").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [index("files_session_idx").on(t.sessionId)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    createdAt: epochMs("created_at").notNull(),
    revokedAt: epochMs("revoked_at"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId)],
);
