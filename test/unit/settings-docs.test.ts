// The settings are listed in three places besides src/config.ts: the README's table, .dev.vars.example and
// wrangler.toml's [vars]. This keeps them from drifting.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { SETTING_NAMES } from "../../src/config";

const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");
const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

it("the README's configuration table lists exactly the settings src/config.ts reads", () => {
  const readme = read("README.md");
  const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1));
  const names = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]!);
  expect(sorted(names)).toEqual(sorted(SETTING_NAMES));
});

it(".dev.vars.example lists exactly the settings src/config.ts reads", () => {
  const names = [...read(".dev.vars.example").matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
  expect(sorted(names)).toEqual(sorted(SETTING_NAMES));
});

it("wrangler.toml's [vars] holds only settings src/config.ts reads", () => {
  const toml = read("wrangler.toml");
  const vars = toml.slice(toml.indexOf("[vars]"));
  const names = [...vars.matchAll(/^([A-Z][A-Z0-9_]+) = /gm)].map((m) => m[1]!);
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((name) => !SETTING_NAMES.includes(name as (typeof SETTING_NAMES)[number]))).toEqual([]);
});

it("the migration guide's settings table names only settings src/config.ts reads (or bindings)", () => {
  const guide = read("docs/migrating-from-chat-backend.md");
  const section = guide.slice(guide.indexOf("## 1. "), guide.indexOf("\n## ", guide.indexOf("## 1. ") + 1));
  const ours = section
    .split("\n")
    .filter((line) => line.startsWith("| `") || line.startsWith("| the "))
    .map((line) => line.split(" | ")[1] ?? "");
  const names = ours.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]{2,})\b/g)].map((m) => m[1]!));
  const bindings = ["FILES", "HYPERDRIVE", "AGENT", "DB"];
  expect(names.length).toBeGreaterThan(10);
  expect(names.filter((name) => !bindings.includes(name) && !SETTING_NAMES.includes(name as (typeof SETTING_NAMES)[number]))).toEqual([]);
});
