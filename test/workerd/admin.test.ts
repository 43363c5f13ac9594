// The admin API: bearer token, creating users (with a kept id), reading and changing them, effective at once;
// listing users and a user's ledger a page at a time; models as data (create, change, retire); API keys.
import { describe, expect, it } from "vitest";
import { admin, agentView, backendFetch, chat, committed, createUser, query, useSockets, type CreatedUser } from "./helpers/backend";
import { MessageType } from "../../protocol";

const open = useSockets();

describe("authentication", () => {
  it.each([
    ["no token", undefined, 401],
    ["a wrong token", "Bearer wrong-token", 401],
    ["a header that is not a bearer token", "Basic abc", 400],
  ])("answers %s with an error and changes nothing", async (_, authorization, status) => {
    const response = await backendFetch("/admin/users", {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ username: "intruder", models: [4], balance: 100 }),
    });
    expect(response.status).toBe(status);
    expect(await query("select id from users where username = 'intruder'")).toEqual([]);
  });
});

describe("users", () => {
  it("creates a user with an explicit id and returns it", async () => {
    const id = "3f1c2a9e-5b7d-4c8e-9a0b-1d2e3f4a5b6c";
    const response = await admin("POST", "/admin/users", { user_id: id, username: "Test User", models: [8, 4, 5], balance: 1 });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ user_id: id, username: "Test User", models: [4, 5, 8], balance: 1 });
    expect(await (await admin("GET", `/admin/users/${id}`)).json()).toMatchObject({ user_id: id, models: [4, 5, 8], balance: 1 });
  });

  it("generates an id when none is given", async () => {
    const user = await createUser({ user_id: undefined });
    expect(user.user_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a taken id with 409 and leaves the existing user alone", async () => {
    const user = await createUser({ models: [8], balance: 2 });
    const response = await admin("POST", "/admin/users", { user_id: user.user_id, username: "Other", models: [4], balance: 9 });
    expect(response.status).toBe(409);
    expect(await (await admin("GET", `/admin/users/${user.user_id}`)).json()).toMatchObject({ username: "Test User", models: [8], balance: 2 });
  });

  it("through the typed client (client/http-api.ts), a refusal rejects with its status and the API's message", async () => {
    const user = await createUser();
    await expect(createUser({ user_id: user.user_id })).rejects.toMatchObject({ status: 409, message: `User ${user.user_id} already exists` });
  });

  it.each([
    [{ models: [4], balance: 1 }, "username"],
    [{ username: "x", models: ["4"], balance: 1 }, "models.0"],
    [{ username: "x", models: [4], balance: -1 }, "balance"],
    [{ username: "x", models: [4, 99], balance: 1 }, "99"],
  ])("refuses a bad body %j with 400 naming %s", async (body, named) => {
    const response = await admin("POST", "/admin/users", body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { message: string; data: null };
    expect(json.message).toContain(named);
    expect(json.data).toBeNull();
  });

  it("answers 404 for an unknown user", async () => {
    expect((await admin("GET", "/admin/users/nobody")).status).toBe(404);
    expect((await admin("PATCH", "/admin/users/nobody", { balance: 1 })).status).toBe(404);
  });

  it("sets a balance, adds to it, and changes models, each recorded in the ledger", async () => {
    const user = await createUser({ models: [4], balance: 1 });
    const set = await admin("PATCH", `/admin/users/${user.user_id}`, { balance: 3 });
    expect(await set.json()).toMatchObject({ balance: 3 });
    const added = await admin("PATCH", `/admin/users/${user.user_id}`, { add_balance: 0.5, models: [8, 0] });
    expect(await added.json()).toMatchObject({ balance: 3.5, models: [0, 8] });
    const ledger = await query<{ kind: string; delta_micros: number }>(
      "select kind, delta_micros from cost_ledger where user_id = ? order by id",
      user.user_id,
    );
    expect(ledger).toEqual([
      { kind: "credit", delta_micros: 1_000_000 },
      { kind: "adjustment", delta_micros: 2_000_000 },
      { kind: "credit", delta_micros: 500_000 },
    ]);
  });

  it("refuses a body that is not JSON with 415, as a failure body", async () => {
    const response = await backendFetch("/admin/users", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "text/plain" },
      body: JSON.stringify({ username: "plain" }),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ message: "Unsupported Media Type", data: null });
  });

  it("refuses an empty or contradictory change", async () => {
    const user = await createUser();
    expect((await admin("PATCH", `/admin/users/${user.user_id}`, {})).status).toBe(400);
    expect((await admin("PATCH", `/admin/users/${user.user_id}`, { balance: 1, add_balance: 1 })).status).toBe(400);
  });

  it("takes effect at once for connected clients", async () => {
    const user = await createUser({ models: [4], balance: 0 });
    const ws = await open();
    expect(await ws.request({ type: MessageType.ModelList, data: { user_id: user.user_id } })).toMatchObject({ data: { models: ["gpt-4-turbo"] } });
    await admin("PATCH", `/admin/users/${user.user_id}`, { models: [8], add_balance: 2 });
    expect(await ws.request({ type: MessageType.ModelList, data: { user_id: user.user_id } })).toMatchObject({ data: { models: ["llama3.1:8b"] } });
    expect(await ws.request({ type: MessageType.Balance, data: { user_id: user.user_id } })).toMatchObject({ data: { balance: 2 } });
    const turn = await ws.request({
      type: MessageType.ChatMessage,
      data: { user_id: user.user_id, session_id: "NEW", model_name: "llama3.1:8b", message: "now I can", session_prompt: "" },
    });
    expect(turn).not.toHaveProperty("error");
  });

  it("reaches a warm session at once: revoked models and a zeroed balance refuse its next turn", async () => {
    const user = await createUser({ models: [4, 8], balance: 1 });
    const ws = await open();
    const chat = (sessionId: string, message: string, model?: string) =>
      ws.request({ type: MessageType.ChatMessage, data: { user_id: user.user_id, session_id: sessionId, model_name: model, message, session_prompt: "" } });
    const sessionId = (await chat("NEW", "warm up", "gpt-4-turbo")).data?.session_id as string;
    expect(await chat(sessionId, "still fine")).not.toHaveProperty("error");

    await admin("PATCH", `/admin/users/${user.user_id}`, { models: [8] });
    expect(await chat(sessionId, "gpt-4-turbo was revoked")).toMatchObject({ code: 7 });
    expect(await chat(sessionId, "switch", "llama3.1:8b")).not.toHaveProperty("error");

    await admin("PATCH", `/admin/users/${user.user_id}`, { balance: 0 });
    expect(await chat(sessionId, "no money left")).toMatchObject({ code: 15 });
  });

  it("sees a balance topped up directly in the database before refusing a warm session", async () => {
    // A short turn reserves about 0.29 dollars (README "Money"): the first fits, the second no longer does.
    const user = await createUser({ models: [4], balance: 0.4 });
    const ws = await open();
    const first = await ws.request({
      type: MessageType.ChatMessage,
      data: { user_id: user.user_id, session_id: "NEW", model_name: "gpt-4-turbo", message: "cost:0.2 spend most of it", session_prompt: "" },
    });
    const sessionId = first.data?.session_id as string;
    const next = { type: MessageType.ChatMessage, data: { user_id: user.user_id, session_id: sessionId, message: "more", session_prompt: "" } };
    expect(await ws.request(next)).toMatchObject({ code: 15 });
    await query("update users set balance_micros = 5000000 where id = ?", user.user_id);
    expect(await ws.request(next)).not.toHaveProperty("error");
  });

  it("makes a model inserted into the database usable at once", async () => {
    await query("insert into models (id, name, provider, context_length, input_micros_per_1k, output_micros_per_1k) values (42, 'new-model', 'acme', 1000, 1, 1)");
    const user = await createUser({ models: [42] });
    const ws = await open();
    expect(await ws.request({ type: MessageType.ModelList, data: { user_id: user.user_id } })).toMatchObject({ data: { models: ["new-model"] } });
  });
});

type Page = Record<string, unknown> & { next_cursor: string | null };

/** Every page of a listing, following next_cursor; the pages' sizes too. */
async function allPages<T>(path: string, key: string): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const response = await admin("GET", cursor === null ? path : `${path}${separator}cursor=${encodeURIComponent(cursor)}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Page;
    const pageItems = page[key] as T[];
    items.push(...pageItems);
    sizes.push(pageItems.length);
    cursor = page.next_cursor;
  } while (cursor !== null && sizes.length < 20);
  return { items, sizes };
}

const tag = () => crypto.randomUUID().slice(0, 8);

describe("listing users", () => {
  it("pages through users in creation order, filtered by a username substring ignoring case", async () => {
    const mark = tag();
    const created: CreatedUser[] = [];
    for (const name of [`Pager-${mark} one`, `pager-${mark} two`, `PAGER-${mark} three`, `Pager-${mark} four`, `pager-${mark} five`]) {
      created.push(await createUser({ username: name }));
    }
    await createUser({ username: `Other-${mark}` });
    const { items, sizes } = await allPages<CreatedUser>(`/admin/users?limit=2&name=${encodeURIComponent(`pAgEr-${mark}`)}`, "users");
    expect(sizes).toEqual([2, 2, 1]);
    expect(items.map((u) => u.user_id)).toEqual(created.map((u) => u.user_id));
    expect(items[0]).toMatchObject({ username: `Pager-${mark} one`, balance: 1, models: [4, 5, 8], created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it("lists every user without a filter, each once", async () => {
    const { items } = await allPages<CreatedUser>("/admin/users?limit=7", "users");
    const [row] = await query<{ count: number }>("select count(*) as count from users");
    expect(items).toHaveLength(Number(row!.count));
    expect(new Set(items.map((u) => u.user_id)).size).toBe(items.length);
  });

  it("matches % and _ in the filter literally", async () => {
    const mark = tag();
    const percent = await createUser({ username: `100% ${mark}` });
    await createUser({ username: `100x ${mark}` });
    const underscore = await createUser({ username: `a_b ${mark}` });
    await createUser({ username: `axb ${mark}` });
    const found = async (name: string) =>
      ((await (await admin("GET", `/admin/users?name=${encodeURIComponent(name)}`)).json()) as { users: CreatedUser[] }).users.map((u) => u.user_id);
    expect(await found(`100% ${mark}`)).toEqual([percent.user_id]);
    expect(await found(`a_b ${mark}`)).toEqual([underscore.user_id]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["cursor=not-a-cursor", "cursor"],
    [`cursor=${btoa(JSON.stringify({ createdAt: "x" }))}`, "cursor"],
  ])("refuses %s with 400 naming %s", async (search, named) => {
    const response = await admin("GET", `/admin/users?${search}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain(named);
  });
});

interface LedgerEntryJson {
  id: number;
  kind: string;
  delta: number;
  delta_micros: number;
  session_id: string | null;
  created_at: string;
}

describe("a user's ledger", () => {
  it("pages through every balance change, newest first", async () => {
    const user = await createUser({ models: [4], balance: 1 });
    await admin("PATCH", `/admin/users/${user.user_id}`, { add_balance: 0.5 });
    await admin("PATCH", `/admin/users/${user.user_id}`, { balance: 3 });
    await admin("PATCH", `/admin/users/${user.user_id}`, { add_balance: 0.25 });
    const { items, sizes } = await allPages<LedgerEntryJson>(`/admin/users/${user.user_id}/ledger?limit=3`, "entries");
    expect(sizes).toEqual([3, 1]);
    expect(items.map((e) => [e.kind, e.delta, e.delta_micros, e.session_id])).toEqual([
      ["credit", 0.25, 250_000, null],
      ["adjustment", 1.5, 1_500_000, null],
      ["credit", 0.5, 500_000, null],
      ["credit", 1, 1_000_000, null],
    ]);
  });

  it("shows a turn's charge with its session", async () => {
    const user = await createUser({ models: [4], balance: 1 });
    const ws = await open();
    const sessionId = (await chat(ws, user.user_id, "NEW", "brief charge me")).data?.session_id as string;
    await committed(sessionId);
    const page = (await (await admin("GET", `/admin/users/${user.user_id}/ledger`)).json()) as { entries: LedgerEntryJson[] };
    const turn = page.entries.find((e) => e.kind === "turn");
    expect(turn).toMatchObject({ session_id: sessionId, delta: expect.any(Number) });
    expect(turn!.delta_micros).toBeLessThan(0);
    expect(turn!.delta).toBe(turn!.delta_micros / 1e6);
  });

  it("answers 404 for an unknown user", async () => {
    const response = await admin("GET", "/admin/users/nobody/ledger");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message: "User not found", data: null });
  });
});

interface ModelJson {
  id: number;
  name: string;
  provider: string;
  context_length: number;
  input_price_per_1k: number;
  output_price_per_1k: number;
  retired_at: string | null;
}

async function createModel(fields: Partial<ModelJson> = {}): Promise<ModelJson> {
  const body = { name: `model-${tag()}`, provider: "acme", context_length: 8192, input_price_per_1k: 0.002, output_price_per_1k: 0.004, ...fields };
  const response = await admin("POST", "/admin/models", body);
  if (response.status !== 201) throw new Error(`createModel: ${response.status} ${await response.text()}`);
  return (await response.json()) as ModelJson;
}

const modelList = async (ws: Awaited<ReturnType<typeof open>>, userId: string) =>
  (await ws.request({ type: MessageType.ModelList, data: { user_id: userId } })).data?.models as string[];

describe("models", () => {
  it("creates a model with its prices in integer micro-dollars, lists it, and refuses a taken name", async () => {
    const model = await createModel({ input_price_per_1k: 0.0015, output_price_per_1k: 0.002 });
    expect(model).toMatchObject({ provider: "acme", context_length: 8192, input_price_per_1k: 0.0015, output_price_per_1k: 0.002, retired_at: null });
    expect(await query("select input_micros_per_1k, output_micros_per_1k from models where id = ?", model.id)).toEqual([
      { input_micros_per_1k: 1500, output_micros_per_1k: 2000 },
    ]);
    const { models } = (await (await admin("GET", "/admin/models")).json()) as { models: ModelJson[] };
    expect(models.find((m) => m.id === model.id)).toEqual(model);
    expect(models.find((m) => m.id === 4)).toMatchObject({ name: "gpt-4-turbo", input_price_per_1k: 0.01, output_price_per_1k: 0.03 });
    const taken = await admin("POST", "/admin/models", { ...model, id: undefined, retired_at: undefined });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { data: null }).data).toBeNull();
  });

  it.each([
    [{ provider: "acme", context_length: 1, input_price_per_1k: 0, output_price_per_1k: 0 }, "name"],
    [{ name: "x", provider: "acme", context_length: 0, input_price_per_1k: 0, output_price_per_1k: 0 }, "context_length"],
    [{ name: "x", provider: "acme", context_length: 1, input_price_per_1k: -1, output_price_per_1k: 0 }, "input_price_per_1k"],
  ])("refuses a bad model %j with 400 naming %s", async (body, named) => {
    const response = await admin("POST", "/admin/models", body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain(named);
  });

  it("changes prices and provider, and the next turn of a warm account uses them", async () => {
    const model = await createModel();
    // Enough for the whole reservation (MAX_TURN_COST) at the raised price.
    const user = await createUser({ models: [model.id], balance: 5 });
    const ws = await open();
    const first = await chat(ws, user.user_id, "NEW", "warm up", { model_name: model.name });
    const sessionId = first.data?.session_id as string;
    // The account object now holds the grant by name and, after this turn, by the session's model id.
    expect(agentView(await chat(ws, user.user_id, sessionId, "warm", { model_name: undefined })).provider).toBe("acme");

    const changed = await admin("PATCH", `/admin/models/${model.id}`, { provider: "other-cloud", input_price_per_1k: 0.5 });
    expect(await changed.json()).toEqual({ ...model, provider: "other-cloud", input_price_per_1k: 0.5 });
    const next = await chat(ws, user.user_id, sessionId, "after the change", { model_name: undefined });
    expect(agentView(next).provider).toBe("other-cloud");
  });

  it("refuses an empty change, and answers 404 for an unknown model", async () => {
    const model = await createModel();
    expect((await admin("PATCH", `/admin/models/${model.id}`, {})).status).toBe(400);
    expect((await admin("PATCH", "/admin/models/999999", { provider: "x" })).status).toBe(404);
    expect((await admin("POST", "/admin/models/999999/retire")).status).toBe(404);
    expect((await admin("POST", "/admin/models/not-a-number/retire")).status).toBe(400);
  });

  it("retires a model: new turns are refused and model lists leave it out, while its sessions keep their history", async () => {
    const model = await createModel();
    const user = await createUser({ models: [4, model.id], balance: 1 });
    const ws = await open();
    const sessionId = (await chat(ws, user.user_id, "NEW", "brief before retirement", { model_name: model.name })).data?.session_id as string;
    expect(await chat(ws, user.user_id, sessionId, "brief warm", { model_name: undefined })).not.toHaveProperty("error");
    expect(await modelList(ws, user.user_id)).toContain(model.name);

    const retired = await admin("POST", `/admin/models/${model.id}/retire`);
    expect(retired.status).toBe(200);
    const retiredModel = (await retired.json()) as ModelJson;
    expect(retiredModel.retired_at).toMatch(/^\d{4}-/);
    // Retiring twice keeps the first time.
    expect(await (await admin("POST", `/admin/models/${model.id}/retire`)).json()).toEqual(retiredModel);

    expect(await chat(ws, user.user_id, sessionId, "after retirement", { model_name: undefined })).toMatchObject({ code: 7 });
    expect(await chat(ws, user.user_id, "NEW", "a new session", { model_name: model.name })).toMatchObject({ code: 7 });
    expect(await modelList(ws, user.user_id)).toEqual(["gpt-4-turbo"]);
    const history = await ws.request({ type: MessageType.SessionChats, data: { user_id: user.user_id, session_id: sessionId } });
    expect(JSON.parse(history.data?.chat as string)).toHaveLength(4);
    // The session goes on with a model still in use.
    expect(await chat(ws, user.user_id, sessionId, "brief with another model", { model_name: "gpt-4-turbo" })).not.toHaveProperty("error");

    const { models } = (await (await admin("GET", "/admin/models")).json()) as { models: ModelJson[] };
    expect(models.find((m) => m.id === model.id)?.retired_at).toBe(retiredModel.retired_at);
    // Not newly granted; an existing grant may stay.
    const other = await createUser({ models: [4] });
    const grant = await admin("PATCH", `/admin/users/${other.user_id}`, { models: [4, model.id] });
    expect(grant.status).toBe(400);
    expect(((await grant.json()) as { message: string }).message).toContain(String(model.id));
    expect((await admin("POST", "/admin/users", { username: "late", models: [model.id] })).status).toBe(400);
    expect((await admin("PATCH", `/admin/users/${user.user_id}`, { models: [4, model.id], add_balance: 1 })).status).toBe(200);
  });
});

describe("API keys", () => {
  it("issues, lists and revokes a user's keys, never showing a secret again", async () => {
    const user = await createUser();
    const issued = await admin("POST", `/admin/users/${user.user_id}/keys`);
    expect(issued.status).toBe(201);
    const key = (await issued.json()) as { key_id: string; key: string; created_at: string; revoked_at: null };
    expect(key.key).toMatch(new RegExp(`^cbk_${key.key_id}_`));
    const second = (await (await admin("POST", `/admin/users/${user.user_id}/keys`)).json()) as { key_id: string };

    const listed = (await (await admin("GET", `/admin/users/${user.user_id}/keys`)).json()) as { keys: Record<string, unknown>[] };
    expect(listed.keys.map((k) => k.key_id)).toEqual([key.key_id, second.key_id]);
    expect(listed.keys.every((k) => !("key" in k) && k.revoked_at === null)).toBe(true);

    const revoked = await admin("DELETE", `/admin/users/${user.user_id}/keys/${key.key_id}`);
    expect(revoked.status).toBe(200);
    const revokedAt = ((await revoked.json()) as { revoked_at: string }).revoked_at;
    expect(revokedAt).toMatch(/^\d{4}-/);
    const after = (await (await admin("GET", `/admin/users/${user.user_id}/keys`)).json()) as { keys: { key_id: string; revoked_at: string | null }[] };
    expect(after.keys).toEqual([
      { key_id: key.key_id, created_at: key.created_at, revoked_at: revokedAt },
      expect.objectContaining({ key_id: second.key_id, revoked_at: null }),
    ]);
  });

  it("answers 404 for another user's key, an unknown user, and 400 for a malformed key id", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const key = (await (await admin("POST", `/admin/users/${alice.user_id}/keys`)).json()) as { key_id: string };
    expect((await admin("DELETE", `/admin/users/${bob.user_id}/keys/${key.key_id}`)).status).toBe(404);
    expect((await admin("GET", "/admin/users/nobody/keys")).status).toBe(404);
    expect((await admin("POST", "/admin/users/nobody/keys")).status).toBe(404);
    expect((await admin("DELETE", `/admin/users/${alice.user_id}/keys/not-a-key`)).status).toBe(400);
  });
});
