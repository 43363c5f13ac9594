// Owns how the npm scripts read their command line: `--help` (usage, options, defaults; exit 0), and bad arguments
// as one line on stderr with exit 2, never a stack trace. Built on node:util's parseArgs.
import path from "node:path";
import { parseArgs } from "node:util";

/** One option of a script. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** For string options: the value's placeholder in --help, e.g. "URL". */
  value?: string;
  default?: string | boolean;
  /** false: --help does not print the default (a token read from the environment). */
  showDefault?: boolean;
  description: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** How it is run, e.g. "npm run user:create -- --username NAME [options]". */
  usage: string;
  /** What it does, one or a few lines. */
  description: string;
  options: O;
  /** Lines after the options: passthrough arguments, environment variables, examples. */
  notes?: string[];
  /** Arguments it does not know go to another program (returned in `rest`) instead of being refused. */
  passthrough?: boolean;
}

type Value<S extends OptionSpec> = S["type"] extends "boolean" ? boolean : S extends { default: string } ? string : string | undefined;
export type Values<O extends Record<string, OptionSpec>> = { [K in keyof O]: Value<O[K]> };

/** The name a script goes by in its messages: its npm script when run through npm, else its file. */
export function commandName(): string {
  const event = process.env.npm_lifecycle_event;
  return event && event !== "npx" ? event : path.basename(process.argv[1] ?? "script");
}

/** Prints one line on stderr and exits 2 (bad usage). */
export function usageError(message: string): never {
  process.stderr.write(`${commandName()}: ${message} (see --help)\n`);
  process.exit(2);
}

/** Prints one line on stderr and exits 1 (the command failed for a reason outside its arguments). */
export function fail(message: string): never {
  process.stderr.write(`${commandName()}: ${message}\n`);
  process.exit(1);
}

export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ""}--${name}${option.type === "string" ? ` ${option.value ?? "VALUE"}` : ""}`;
    const shown = option.type === "string" && typeof option.default === "string" && option.default !== "" && option.showDefault !== false ? ` (default: ${option.default})` : "";
    return [flag, `${option.description}${shown}`];
  });
  rows.push(["-h, --help", "show this help and exit"]);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `usage: ${spec.usage}`,
    "",
    spec.description,
    "",
    "options:",
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    ...(spec.notes?.length ? ["", ...spec.notes] : []),
  ].join("\n");
}

/** Why parseArgs refused, in one line of our own (its messages carry hints about positionals that do not apply). */
function parseFailure(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  const quoted = /'([^']*)'/.exec(text)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument '${quoted}'`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const option = quoted.split(" ")[0]!;
      if (text.includes("argument missing")) return `${option} needs a value`;
      if (text.includes("ambiguous")) return `${option} needs a value (one that starts with '-' is written ${option}=-…)`;
      if (text.includes("does not take an argument")) return `${option} takes no value`;
      return text.split("\n")[0]!;
    }
    default:
      return text.split("\n")[0]!;
  }
}

/**
 * Reads the command line (`argv`, default the script's arguments): `--help` prints the help and exits 0; an unknown
 * option, a missing value or a stray argument prints one line and exits 2.
 */
export function parseCommand<const O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[] = process.argv.slice(2)): { values: Values<O>; rest: string[] } {
  const end = argv.includes("--") ? argv.indexOf("--") : argv.length;
  if (argv.slice(0, end).some((arg) => arg === "--help" || arg === "-h")) {
    console.log(helpText(spec));
    process.exit(0);
  }
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, { type, short, default: fallback }]) => [
      name,
      { type, ...(short === undefined ? {} : { short }), ...(fallback === undefined ? {} : { default: fallback }) },
    ]),
  );
  try {
    const { values, tokens } = parseArgs({ args: argv, options, strict: !spec.passthrough, allowPositionals: Boolean(spec.passthrough), tokens: true });
    const rest: string[] = [];
    for (const [name, option] of Object.entries(spec.options)) {
      // Without strict parsing, a string option given last without its value reads as `true`.
      if (option.type === "string" && values[name] === true) usageError(`--${name} needs a value`);
    }
    if (spec.passthrough) {
      // Unknown options (with the value that follows them) and positionals go on, in their order.
      for (const token of tokens) {
        if (token.kind === "option" && !(token.name in spec.options)) rest.push(token.rawName, ...(token.value === undefined ? [] : [token.value]));
        else if (token.kind === "positional") rest.push(token.value);
        else if (token.kind === "option-terminator") rest.push("--");
      }
    }
    // Without strict parsing, unknown options land in `values` too: keep only ours.
    const ours = Object.fromEntries(Object.entries(values).filter(([name]) => name in spec.options));
    return { values: ours as Values<O>, rest };
  } catch (error) {
    return usageError(parseFailure(error));
  }
}

/** A string option (`label`, e.g. "--balance") as a number within bounds (an integer unless `integer` is false), or a one-line usage error. */
export function numberOption(label: string, text: string, { min = -Infinity, max = Infinity, integer = true } = {}): number {
  const value = text.trim() === "" ? NaN : Number(text);
  const ok = Number.isFinite(value) && (!integer || Number.isInteger(value)) && value >= min && value <= max;
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    const range = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` of at least ${min}` : max < Infinity ? ` of at most ${max}` : "";
    usageError(`${label} expects ${kind}${range}, not '${text}'`);
  }
  return value;
}

/** A string option or variable (`label`, e.g. "--url") as an absolute URL with one of `protocols` (e.g. ["http:", "https:"]), or a one-line usage error. */
export function urlOption(label: string, text: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return usageError(`${label} expects a URL starting with ${protocols.join(" or ")}, not '${text}'`);
  }
  if (!protocols.includes(url.protocol)) usageError(`${label} expects a URL starting with ${protocols.join(" or ")}, not '${text}'`);
  return text;
}

/** One line for an error met while reaching a server (connection refused, unknown host, bad password, …). */
export function describeError(error: unknown): string {
  const { code, message, errors } = error as { code?: string; message?: string; errors?: unknown[] };
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH") {
    const { address, port, hostname } = (errors?.[0] ?? error) as { address?: string; port?: number; hostname?: string };
    return `cannot reach ${hostname ?? address ?? "the server"}${port ? `:${port}` : ""} (${code})`;
  }
  return String(message ?? error).split("\n")[0]!;
}
