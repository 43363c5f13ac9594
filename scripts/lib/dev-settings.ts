// Owns the settings `npm run dev` and `dev:pg` hand to wrangler: .dev.vars (an empty value is unset, as in
// src/config.ts), development secrets where none is set, what dev:pg needs (PostgreSQL, the mirror on through the
// local Upstash stand-in) and `--var NAME:VALUE` arguments, in that order of precedence. They reach wrangler as one
// env file: with a .dev.vars of its own, wrangler would let its empty values override --var (and so turn the mirror
// off under dev:pg when .dev.vars was copied from .dev.vars.example).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";

/** Development defaults for secrets (see .dev.vars.example); never used by a deployed Worker. They are public, so
 *  too short for AUTH_MODE=token on purpose: signing in locally needs secrets of your own. */
export const DEV_SECRETS = { ADMIN_TOKEN: "dev-admin-token", FILE_URL_SECRET: "dev-file-url-secret" } as const;
/** wrangler.toml ships sign-in on (AUTH_MODE=token, same-origin only); local work turns it off unless .dev.vars
 *  or --var says otherwise: a frame's user_id is trusted and any origin (a Chat-UI on another port) may call. */
export const LOCAL_MODE = { AUTH_MODE: "none", CORS_ORIGINS: "*" } as const;
/** The mirror's token under dev:pg when none is set; the stand-in is started with the same one. */
export const DEV_UPSTASH_TOKEN = "dev-upstash-token";

export interface DevSettingsInput {
  /** Contents of the .dev.vars files to honour (the backend's, the reference agent's), in increasing precedence. */
  devVarsFiles: string[];
  /** dev:pg: the mirror goes to this stand-in URL. */
  postgres: { standInUrl: string } | null;
  /** `--var NAME:VALUE` arguments: they win over everything. */
  overrides: Record<string, string>;
}

/** Settings without empty values: an empty value means unset everywhere. */
function setOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""));
}

export function devSettings({ devVarsFiles, postgres, overrides }: DevSettingsInput): Record<string, string> {
  const fromFiles = Object.assign({}, ...devVarsFiles.map((text) => setOnly(parseEnv(text))));
  return {
    ...LOCAL_MODE,
    ...DEV_SECRETS,
    ...(postgres ? { UPSTASH_REDIS_REST_TOKEN: DEV_UPSTASH_TOKEN } : {}),
    ...fromFiles,
    ...(postgres ? { STORAGE: "postgres", UPSTASH_REDIS_REST_URL: postgres.standInUrl } : {}),
    ...setOnly(overrides),
  };
}

/** Splits `--var NAME:VALUE` pairs (and `--dev-vars FILE`) out of wrangler's arguments. */
export function takeSettingArgs(args: string[]): { overrides: Record<string, string>; devVarsPath: string | null; rest: string[] } {
  const overrides: Record<string, string> = {};
  let devVarsPath: string | null = null;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--var" && args[i + 1]?.includes(":")) {
      const pair = args[++i]!;
      overrides[pair.slice(0, pair.indexOf(":"))] = pair.slice(pair.indexOf(":") + 1);
    } else if (arg === "--dev-vars" && args[i + 1]) {
      devVarsPath = args[++i]!;
    } else rest.push(arg);
  }
  return { overrides, devVarsPath, rest };
}

export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/** What the start-up line says about sign-in under these settings. */
export function describeDevAuth(settings: Record<string, string>): string {
  return settings.AUTH_MODE === "token"
    ? "sign-in on (AUTH_MODE=token, as deployed)"
    : "sign-in off (AUTH_MODE=none: a frame's user_id is trusted; deploys use wrangler.toml's AUTH_MODE=token)";
}

/** Where `npm run dev` on `port` keeps its merged settings: inside the checkout's own state folder (.wrangler/,
 *  git-ignored), never a shared temporary folder; one file per port, as two dev servers never share a port. */
export function envFilePath(root: string, port: number): string {
  return path.join(root, ".wrangler", "dev", `settings-${port}.env`);
}

/** Writes the settings (secrets among them) to a private env file for `wrangler dev --env-file`, readable by its
 *  owner only; returns a cleanup that removes it. */
export function writeEnvFile(settings: Record<string, string>, file: string): { path: string; remove(): void } {
  const lines = Object.entries(settings).map(([name, value]) => {
    if (/[\r\n]/.test(value)) throw new Error(`setting ${name} spans several lines; .dev.vars values must be one line`);
    return `${name}=${value.includes("'") ? JSON.stringify(value) : `'${value}'`}`;
  });
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // a file left by an earlier run keeps its old mode otherwise
  return { path: file, remove: () => rmSync(file, { force: true }) };
}
