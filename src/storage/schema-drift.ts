// Owns the compile-time proof that the D1 and PostgreSQL schemas cannot drift: same tables, same row types
// for reading and for writing. A column added to one schema only fails `tsc`.
import type { InferInsertModel, InferSelectModel, Table } from "drizzle-orm";
import type * as d1 from "./schema";
import type * as pg from "./schema.pg";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameRows<A extends Table, B extends Table> = Same<InferSelectModel<A>, InferSelectModel<B>> extends true
  ? Same<InferInsertModel<A>, InferInsertModel<B>>
  : false;
type TableNames<S> = { [K in keyof S]: S[K] extends Table ? K : never }[keyof S];

type Tables = TableNames<typeof d1>;
type Drift = {
  [K in Tables]: K extends keyof typeof pg
    ? (typeof d1)[K] extends Table
      ? (typeof pg)[K] extends Table
        ? SameRows<(typeof d1)[K], (typeof pg)[K]>
        : false
      : false
    : false;
};

/** Every entry must be `true`; the error names the table that drifted. */
export const schemasAgree: Drift = {
  users: true,
  models: true,
  userModels: true,
  sessions: true,
  messages: true,
  appliedWrites: true,
  costLedger: true,
  files: true,
  apiKeys: true,
};
export const sameTableSet: Same<Tables, TableNames<typeof pg>> = true;
