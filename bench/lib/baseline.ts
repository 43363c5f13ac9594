// Owns `npm run bench -- --baseline <ref>`'s checkout of that ref: a git worktree under .bench-baseline/<sha>
// (git-ignored), its dependencies (this checkout's node_modules hard-linked when the ref's package-lock.json is the
// same, else `npm ci`) and its generated code (gen/, by the ref's own `npm run gen`). Kept between runs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { capture, offlineEnv, root } from "../../scripts/lib/lib.ts";

/** A checkout the benchmark can start a backend from. */
export interface Checkout {
  /** What the report calls it: "current", or the ref as given. */
  label: string;
  /** The commit, short. */
  commit: string;
  dir: string;
}

const git = (args: string[], cwd = root): string => capture("git", args, { cwd }).trim();

/** The current checkout. */
export function currentCheckout(): Checkout {
  let commit = "unknown";
  try {
    commit = git(["rev-parse", "--short", "HEAD"]);
    if (git(["status", "--porcelain", "--untracked-files=no"]) !== "") commit += "+changes";
  } catch {
    // not a git checkout: the report says "unknown"
  }
  return { label: "current", commit, dir: root };
}

function step(what: string, command: string, args: string[], cwd: string): void {
  console.log(`baseline: ${what}…`);
  const started = performance.now();
  execFileSync(command, args, { cwd, env: offlineEnv, stdio: ["ignore", "ignore", "inherit"] });
  console.log(`baseline: ${what} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Makes `ref` ready to run (worktree, dependencies, gen/); fast when an earlier run already did. */
export function prepareBaseline(ref: string): Checkout {
  let sha: string;
  try {
    sha = git(["rev-parse", "--verify", `${ref}^{commit}`]);
  } catch {
    throw new Error(`--baseline ${ref}: not a commit in this repository`);
  }
  const dir = path.join(root, ".bench-baseline", sha);
  if (!existsSync(path.join(dir, ".git"))) {
    git(["worktree", "prune"]);
    step(`git worktree for ${ref} (${sha.slice(0, 7)})`, "git", ["worktree", "add", "--detach", "--force", dir, sha], root);
  }
  if (!existsSync(path.join(dir, "node_modules"))) {
    const sameLock = readFileSync(path.join(root, "package-lock.json"), "utf8") === readFileSync(path.join(dir, "package-lock.json"), "utf8");
    // Install scripts stay off, as this checkout's allowScripts has them (workerd and esbuild find their binaries
    // without them); the ref's own `prepare` (gen/) runs below.
    if (sameLock) step("hard-linking this checkout's node_modules (same package-lock.json)", "cp", ["-al", path.join(root, "node_modules"), path.join(dir, "node_modules")], root);
    else step("npm ci (its package-lock.json differs from this checkout's)", "npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], dir);
  }
  if (!existsSync(path.join(dir, "gen"))) {
    const scripts = (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
    if (scripts.gen) step("npm run gen (its own)", "npm", ["run", "gen"], dir);
    else step("buf generate", path.join(dir, "node_modules", ".bin", "buf"), ["generate"], dir);
  }
  return { label: ref, commit: sha.slice(0, 7), dir };
}
