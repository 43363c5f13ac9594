// Owns checking, before wrangler starts, the settings `npm run dev` hands the Worker (wrangler.toml's [vars] under
// the env file's values) with src/config.ts's own parser, so a setting the Worker would refuse at start (token mode
// without CORS_ORIGINS, a malformed number) is one line from the dev script instead of wrangler's crash banner.
import { readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./lib.ts";

/** src/config.ts as used here. It is loaded by path: its types name Worker globals that Node's tsconfig lacks. */
interface ConfigModule {
  parseConfig(vars: Record<string, unknown>, bindings: Record<string, object>): unknown;
  ConfigError: abstract new (...args: never[]) => Error & { problems: string[] };
}
const CONFIG_MODULE = "../../src/config.ts";

/** wrangler.toml's [vars] (this project writes them as `NAME = "value"` lines). */
export function tomlVars(config = "wrangler.toml"): Record<string, string> {
  const text = readFileSync(path.join(root, config), "utf8");
  const section = /^\[vars\]\s*$([\s\S]*?)(?=^\[)/m.exec(`${text}\n[`)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const match of section.matchAll(/^\s*([A-Z0-9_]+)\s*=\s*"((?:[^"\\]|\\.)*)"/gm)) vars[match[1]!] = JSON.parse(`"${match[2]!}"`) as string;
  return vars;
}

/** What the Worker would refuse to start with, as one line; null when it would start. The bindings are the ones
 *  wrangler.toml declares (a binding only checks for presence here). */
export async function startupProblem(settings: Record<string, string>, vars: Record<string, string> = tomlVars()): Promise<string | null> {
  const { parseConfig, ConfigError } = (await import(CONFIG_MODULE)) as ConfigModule;
  const bindings = { AGENT: {}, DB: {}, HYPERDRIVE: {} };
  try {
    parseConfig({ ...vars, ...settings }, bindings);
    return null;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return `the Worker would not start: ${error.problems.join("; ")} (settings: .dev.vars, or --var NAME:VALUE; see .dev.vars.example)`;
  }
}
