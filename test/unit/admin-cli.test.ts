// The admin command line (scripts/lib/admin-cli.ts, `npm run admin`): --help on the tool and every command, bad command
// lines refused in one line with exit 2 before any request, and the requests each command makes.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, runAdmin } from "../../scripts/lib/admin-cli";

interface Sent {
  method: string;
  url: string;
  authorization: string | null;
  body: unknown;
}

/** Runs the CLI against answers given per "METHOD path" (path with query), recording what it sent. */
async function admin(argv: string[], answers: Record<string, unknown[] | unknown> = {}, env: Record<string, string> = {}) {
  const sent: Sent[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const queues = new Map(Object.entries(answers).map(([key, value]) => [key, Array.isArray(value) ? [...value] : [value]]));
  const code = await runAdmin(argv, {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    fetch: async (url, init) => {
      const parsed = new URL(url);
      const headers = new Headers(init.headers);
      sent.push({ method: init.method ?? "GET", url, authorization: headers.get("authorization"), body: init.body ? JSON.parse(String(init.body)) : undefined });
      const key = `${init.method} ${parsed.pathname}${parsed.search}`;
      const answer = queues.get(key)?.shift();
      if (answer === undefined) return Response.json({ message: `no answer scripted for ${key}`, data: null }, { status: 404 });
      if (answer instanceof Response) return answer;
      return Response.json(answer);
    },
  });
  return { code, sent, out: out.join("\n"), err: err.join("\n") };
}

const USER = "3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c";

describe("--help", () => {
  it("on the tool lists every command", async () => {
    const { code, out, sent } = await admin(["--help"]);
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(out).toContain(command.name);
    expect(out).toMatch(/^usage: npm run admin -- <command>/);
    expect(sent).toEqual([]);
  });

  it.each(COMMANDS.map((c) => [c.name]))("on %s gives its usage, options and an example", async (name) => {
    const { code, out, err, sent } = await admin([...name.split(" "), "--help"]);
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toContain(`usage: npm run admin -- ${name}`);
    expect(out).toContain("global options:");
    expect(out).toContain("--url URL");
    expect(out).toMatch(new RegExp(`example:\\n  npm run admin -- ${name} `));
    expect(sent).toEqual([]);
  });

  it("on a group of commands lists them", async () => {
    const { code, out } = await admin(["models", "--help"]);
    expect(code).toBe(0);
    expect(out).toContain("npm run admin -- models create --name NAME");
    expect(out).toContain("npm run admin -- models retire <model-id>");
  });

  it("-h works as --help", async () => {
    expect((await admin(["keys", "list", "-h"])).code).toBe(0);
  });
});

describe("a bad command line: one line, exit 2, no request", () => {
  it.each([
    [[], "usage:"],
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["users"], "expected a command: list, create, show"],
    [["users", "delete", USER], 'unknown command "users delete"'],
    [["users", "show"], "expected <user>"],
    [["users", "show", USER, "extra"], 'unexpected argument "extra"'],
    [["users", "list", "--frob"], "Unknown option '--frob'"],
    [["users", "list", "--limit"], "argument missing"],
    [["users", "list", "--limit", "ten"], '--limit: expected a whole number, got "ten"'],
    [["users", "create"], "--username is required"],
    [["users", "create", "--username", "x", "--balance", "lots"], '--balance: expected a number of dollars, got "lots"'],
    [["users", "set-balance", USER], "expected <user> <dollars>"],
    [["users", "add-credit", USER, "-1"], "Unknown option '-1'"],
    [["users", "grant", USER], "expected <user> <model>..."],
    [["models", "create", "--name", "m"], "--provider is required"],
    [["models", "update", "3"], "nothing to change"],
    [["models", "retire", "three"], '<model-id>: expected a whole number, got "three"'],
    [["keys", "revoke", USER], "expected <user> <key-id>"],
    [["models", "list", "--url", "not a url"], '--url: not a URL: "not a url"'],
  ])("%j", async (argv, said) => {
    const { code, err, sent } = await admin(argv);
    expect(code).toBe(2);
    expect(sent).toEqual([]);
    if (argv.length > 0) {
      expect(err.split("\n")).toHaveLength(1);
      expect(err).toMatch(/See npm run admin -- .*--help$/);
    }
    expect(err).toContain(said);
  });
});

describe("requests", () => {
  const user = { user_id: USER, username: "Test User", balance: 1, models: [4, 8], created_at: "2026-01-01T00:00:00.000Z" };

  it("users create sends the body user:create always sent, to --url with --token", async () => {
    const { code, sent, out } = await admin(
      ["users", "create", "--username", "Test User", "--models", "4,5,8", "--balance", "1", "--user-id", USER, "--url", "http://backend.test:9000", "--token", "t0k"],
      { "POST /admin/users": user },
    );
    expect(code).toBe(0);
    expect(sent).toEqual([
      { method: "POST", url: "http://backend.test:9000/admin/users", authorization: "Bearer t0k", body: { username: "Test User", models: [4, 5, 8], balance: 1, user_id: USER } },
    ]);
    expect(JSON.parse(out)).toEqual(user);
  });

  const catalog = { models: [{ id: 4, name: "gpt-4-turbo", retired_at: null }, { id: 8, name: "llama3.1:8b", retired_at: null }] };

  it("users create takes model names as well as ids (the README's --models gpt-4-turbo,llama3.1:8b)", async () => {
    const { code, sent } = await admin(["users", "create", "--username", "Test User", "--models", "gpt-4-turbo,llama3.1:8b,4", "--balance", "1"], {
      "GET /admin/models": catalog,
      "POST /admin/users": user,
    });
    expect(code).toBe(0);
    expect(sent.map((s) => [s.method, new URL(s.url).pathname, s.body])).toEqual([
      ["GET", "/admin/models", undefined],
      ["POST", "/admin/users", { username: "Test User", models: [4, 8], balance: 1 }],
    ]);
  });

  it("refuses a model name the backend does not have in one line listing its models, creating nothing", async () => {
    const { code, sent, err } = await admin(["users", "create", "--username", "x", "--models", "4,gpt4"], { "GET /admin/models": catalog });
    expect(code).toBe(2);
    expect(sent.map((s) => s.method)).toEqual(["GET"]);
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toContain("--models: no model named 'gpt4'; the backend has: 4 gpt-4-turbo, 8 llama3.1:8b");
  });

  it("takes the URL and token from BACKEND_URL and ADMIN_TOKEN, else the development defaults", async () => {
    const fromEnv = await admin(["models", "list"], { "GET /admin/models": { models: [] } }, { BACKEND_URL: "http://env.test", ADMIN_TOKEN: "env-token" });
    expect(fromEnv.sent[0]).toMatchObject({ url: "http://env.test/admin/models", authorization: "Bearer env-token" });
    const defaults = await admin(["models", "list"], { "GET /admin/models": { models: [] } });
    expect(defaults.sent[0]).toMatchObject({ url: "http://127.0.0.1:8787/admin/models", authorization: "Bearer dev-admin-token" });
  });

  it("users grant and revoke change the granted set, keeping the rest", async () => {
    const granted = await admin(["users", "grant", USER, "6", "4,7"], { [`GET /admin/users/${USER}`]: user, [`PATCH /admin/users/${USER}`]: user });
    expect(granted.sent.map((s) => [s.method, s.body])).toEqual([
      ["GET", undefined],
      ["PATCH", { models: [4, 6, 7, 8] }],
    ]);
    const revoked = await admin(["users", "revoke", USER, "8"], { [`GET /admin/users/${USER}`]: user, [`PATCH /admin/users/${USER}`]: user });
    expect(revoked.sent[1]!.body).toEqual({ models: [4] });
  });

  it("users add-credit takes a negative amount after --", async () => {
    const { code, sent } = await admin(["users", "add-credit", "--", USER, "-0.5"], { [`PATCH /admin/users/${USER}`]: user });
    expect(code).toBe(0);
    expect(sent[0]!.body).toEqual({ add_balance: -0.5 });
  });

  it("ledger --all follows next_cursor and prints every entry", async () => {
    const entry = (id: number) => ({ id, kind: "credit", delta: 1, delta_micros: 1_000_000, session_id: null, created_at: "2026-01-01T00:00:00.000Z" });
    const { code, out, sent } = await admin(["ledger", USER, "--limit", "2", "--all"], {
      [`GET /admin/users/${USER}/ledger?limit=2`]: { entries: [entry(3), entry(2)], next_cursor: "abc" },
      [`GET /admin/users/${USER}/ledger?limit=2&cursor=abc`]: { entries: [entry(1)], next_cursor: null },
    });
    expect(code).toBe(0);
    expect(sent).toHaveLength(2);
    expect((JSON.parse(out) as { entries: { id: number }[] }).entries.map((e) => e.id)).toEqual([3, 2, 1]);
  });

  it("models create and update send prices in dollars", async () => {
    const created = await admin(
      ["models", "create", "--name", "m", "--provider", "acme", "--context-length", "8192", "--input-price", "0.002", "--output-price", "0.004"],
      { "POST /admin/models": { id: 9 } },
    );
    expect(created.sent[0]!.body).toEqual({ name: "m", provider: "acme", context_length: 8192, input_price_per_1k: 0.002, output_price_per_1k: 0.004 });
    const updated = await admin(["models", "update", "9", "--output-price", "0.005"], { "PATCH /admin/models/9": { id: 9 } });
    expect(updated.sent[0]).toMatchObject({ url: "http://127.0.0.1:8787/admin/models/9", body: { output_price_per_1k: 0.005 } });
  });

  it("--table prints a listing as columns, with the next cursor", async () => {
    const { out } = await admin(["users", "list", "--table"], { "GET /admin/users": { users: [user, { ...user, user_id: "u2", models: [] }], next_cursor: "xyz" } });
    expect(out.split("\n")).toEqual([
      "user_id                               username   balance  models  created_at",
      `${USER}  Test User  1        4,8     2026-01-01T00:00:00.000Z`,
      "u2                                    Test User  1        -       2026-01-01T00:00:00.000Z",
      "next: --cursor xyz",
    ]);
  });

  it("says what the backend refused, and exits 1", async () => {
    const { code, err } = await admin(["users", "show", "nobody"], {
      "GET /admin/users/nobody": new Response(JSON.stringify({ message: "User not found", data: null }), { status: 404 }),
    });
    expect(code).toBe(1);
    expect(err).toBe("admin users show: GET /admin/users/nobody: 404 User not found");
  });

  it("says when the backend cannot be reached, and exits 1", async () => {
    const code = await runAdmin(["models", "list"], {
      env: {},
      out: () => undefined,
      err: (text) => expect(text).toContain("cannot reach http://127.0.0.1:8787: is the backend running"),
      fetch: () => Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })),
    });
    expect(code).toBe(1);
  });
});

describe("npm run admin (scripts/admin.ts)", () => {
  const root = path.resolve(import.meta.dirname, "../..");
  const run = (...args: string[]) => spawnSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/admin.ts", ...args], { cwd: root, encoding: "utf8" });

  it("exits 0 on --help and 2 on a bad command line", { timeout: 60_000 }, () => {
    const help = run("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("users create");
    const bad = run("users", "show");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("admin users show: expected <user>. See npm run admin -- users show --help");
  });
});
