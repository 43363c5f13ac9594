// The admin API: bearer token, creating users (with a kept id), reading and changing them, effective at once.
import { describe, expect, it } from "vitest";
import { admin, backendFetch, createUser, query, useSockets } from "./helpers/backend";
import { MessageType } from "../src/transport/ws/frames";

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
    const user = await createUser({ models: [4], balance: 0.01 });
    const ws = await open();
    const first = await ws.request({
      type: MessageType.ChatMessage,
      data: { user_id: user.user_id, session_id: "NEW", model_name: "gpt-4-turbo", message: "cost:0.02 spend it all", session_prompt: "" },
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
