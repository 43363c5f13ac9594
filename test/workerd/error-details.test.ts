// Every refusal says what to do next: the v1 texts stay the original's byte for byte, and an added `detail` names the
// specifics (the unknown model and the user's models, the model without access, the missing user's id, where the
// JSON broke, where the admin token comes from), on WebSocket frames (v1 and v2) and HTTP answers alike.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, backendFetch, chat, createUser, query, upload, useSockets, type CreatedUser } from "./helpers/backend";
import { MessageType } from "../../protocol";

const open = useSockets();
const UNKNOWN_USER = "00000000-0000-4000-8000-00000000dead";
let user: CreatedUser;

beforeAll(async () => {
  user = await createUser({ models: [8, 4], balance: 1 });
});

describe.each([
  ["v1", ""],
  ["v2", "?v=2"],
])("error frames on a %s socket", (_, query) => {
  it("names the unknown model and the user's models, keeping the text", async () => {
    const ws = await open(query);
    expect(await chat(ws, user.user_id, "NEW", "hi", { model_name: "gpt4" })).toEqual({
      error: "Unknown model: gpt4",
      code: 102,
      type: MessageType.ChatMessage,
      detail: 'no model has the name "gpt4"; this user\'s models: gpt-4-turbo, llama3.1:8b',
    });
    expect(await chat(ws, user.user_id, "NEW", "hi", { model_name: undefined, model_id: 999 })).toMatchObject({
      error: "Unknown model: 999",
      detail: "no model has the id 999; this user's models: gpt-4-turbo, llama3.1:8b",
    });
  });

  it("names the model the user may not use (code 7)", async () => {
    const ws = await open(query);
    expect(await chat(ws, user.user_id, "NEW", "hi", { model_name: "gpt-4" })).toEqual({
      error: "User Does Not Have Model Access",
      code: 7,
      type: MessageType.ChatMessage,
      detail: 'the model "gpt-4" (id 6) is not granted to this user; this user\'s models: gpt-4-turbo, llama3.1:8b',
    });
  });

  it("names the id of a user that does not exist, on every type that names a user", async () => {
    const ws = await open(query);
    for (const type of [MessageType.UserDetails, MessageType.SessionList, MessageType.ModelList, MessageType.Balance]) {
      expect(await ws.request({ type, data: { user_id: UNKNOWN_USER } })).toEqual({
        error: "User Does Not Exists",
        code: 3,
        type,
        detail: `no user has the id "${UNKNOWN_USER}": check the id, or create the user (npm run user:create)`,
      });
    }
    expect(await chat(ws, UNKNOWN_USER, "NEW", "hi")).toMatchObject({ error: "User Does Not Exists", code: 3, detail: expect.stringContaining(UNKNOWN_USER) });
  });

  it("says where the JSON broke", async () => {
    const ws = await open(query);
    const answer = await ws.request('{"type": 0, "data": {"user_id": "x",}}');
    expect(answer).toEqual({ error: "JSON Parsing Error", code: 0, detail: expect.stringMatching(/position 36\b/) });
  });
});

it("leaves frames that need no detail as they were", async () => {
  const ws = await open();
  expect(await ws.request({ type: 42, data: {} })).toEqual({ error: "Unknown Message", code: 1, type: 42 });
});

describe("HTTP answers", () => {
  it("an upload for a model the user may not use names it, and stores nothing", async () => {
    const response = await upload({ file: { bytes: "x", name: "a.txt" }, user_id: user.user_id, session_id: "NEW", model_name: "gpt-4", session_prompt: "" });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      message: "User Does Not Have Model Access",
      data: null,
      detail: 'the model "gpt-4" (id 6) is not granted to this user; this user\'s models: gpt-4-turbo, llama3.1:8b',
    });
    expect(await query("select file_name from files where user_id = ?", user.user_id)).toEqual([]);
  });

  it("the admin API's 404 names the user id", async () => {
    const response = await admin("GET", `/admin/users/${UNKNOWN_USER}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "User not found", data: null, detail: expect.stringContaining(`"${UNKNOWN_USER}"`) });
  });

  it.each([
    ["no token", undefined, 401, "Missing bearer token"],
    ["a wrong token", "Bearer wrong-token", 401, "Invalid bearer token"],
    ["a header that is not a bearer token", "Basic abc", 400, "Malformed Authorization header"],
  ])("the admin API answers %s naming the setting that holds the token", async (_, authorization, status, message) => {
    const response = await backendFetch("/admin/users", { headers: authorization ? { authorization } : {} });
    expect(response.status).toBe(status);
    const body = (await response.json()) as { message: string; detail: string };
    expect(body.message).toBe(message);
    expect(body.detail).toContain("the ADMIN_TOKEN secret");
  });

  it("an admin route's own failure after the token was accepted gets no token advice", async () => {
    const response = await admin("POST", "/admin/users", { username: "" });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).not.toContain("ADMIN_TOKEN");
  });
});
