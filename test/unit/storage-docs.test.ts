// docs/storage.md lists every place the backend keeps data with its owner. This keeps it from drifting: every key
// prefix of the Durable Object layout modules, every table of both schemas and the R2 key are in its table, and
// no module outside the layouts names a storage key of its own.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { getTableName, type Table } from "drizzle-orm";
import { expect, it } from "vitest";
import { ACCOUNT_STORAGE } from "../../src/domain/accounts/account-storage";
import { SESSION_STORAGE } from "../../src/domain/session/session-storage";
import * as pgSchema from "../../src/storage/schema.pg";
import * as sqliteSchema from "../../src/storage/schema";

const root = path.resolve(import.meta.dirname, "../..");
const doc = readFileSync(path.join(root, "docs/storage.md"), "utf8");
/** The first column after "where" of each table row: the key or table as the document spells it. */
const listed = [...doc.matchAll(/^\| [^|]+ \| `([^`]+)`/gm)].map((m) => m[1]!);

const tablesOf = (schema: Record<string, unknown>) =>
  Object.values(schema)
    .filter((value): value is Table => typeof value === "object" && value !== null && Symbol.for("drizzle:IsDrizzleTable") in value)
    .map((table) => getTableName(table));

it("lists every key prefix a Durable Object layout names", () => {
  const prefixes = [...Object.values(SESSION_STORAGE), ...Object.values(ACCOUNT_STORAGE)];
  expect(prefixes.filter((prefix) => !listed.some((key) => key.startsWith(prefix)))).toEqual([]);
});

it("lists every table of the D1 and the PostgreSQL schema", () => {
  const tables = [...new Set([...tablesOf(sqliteSchema), ...tablesOf(pgSchema)])];
  expect(tables.length).toBeGreaterThan(5);
  expect(tables.filter((table) => !listed.includes(table))).toEqual([]);
});

it("lists the R2 key files are stored under", async () => {
  const { r2KeyFor } = await import("../../src/domain/files/file-names");
  expect(r2KeyFor("<user_id>", "<session_id>", "<file_name>")).toBe("users/%3Cuser_id%3E/sessions/<session_id>/<file_name>");
  expect(listed).toContain("users/<user_id>/sessions/<session_id>/<file_name>");
});

it("names storage keys only in the layout modules: every other module that reads or writes a Durable Object's keys takes them from one", () => {
  const sources = (dir: string): string[] =>
    readdirSync(path.join(root, dir)).flatMap((name) => {
      const file = path.join(dir, name);
      return statSync(path.join(root, file)).isDirectory() ? sources(file) : file.endsWith(".ts") ? [file] : [];
    });
  const users = sources("src").filter((file) => /storage\.(put|get|delete|list)[<(]/.test(readFileSync(path.join(root, file), "utf8")));
  // The chunking helper takes keys from its callers; everything else must import its keys from a layout.
  const withoutLayout = users.filter((file) => file !== "src/storage/durable-storage.ts" && !/from "(\.\/|\.\.\/(session|accounts)\/)(session|account)-storage"/.test(readFileSync(path.join(root, file), "utf8")));
  expect(users.length).toBeGreaterThan(4);
  expect(withoutLayout).toEqual([]);
  // And no key is spelled out next to a storage call.
  const spelled = users.flatMap((file) => [...readFileSync(path.join(root, file), "utf8").matchAll(/storage\.(?:put|get|delete|list)[<(][^)]*?["'`][a-z-]+:/g)].map((m) => `${file}: ${m[0]}`));
  expect(spelled).toEqual([]);
});
