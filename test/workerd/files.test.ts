// Files: uploads into R2, serving them back, file turns with signed URLs for the agent, and deletion.
import { describe, expect, it } from "vitest";
import { signedFileUrl } from "../../src/domain/files/file-urls";
import {
  agentView,
  backendFetch,
  balanceMicros,
  chat,
  createUser,
  quiet,
  query,
  storedObjects,
  upload,
  useSockets,
} from "./helpers/backend";
import { MessageType } from "../../protocol";

const open = useSockets();

const MB = 1024 * 1024;
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

interface UploadAnswer {
  message: string;
  data: { fileName: string; sessionId: string; imageUrl: string; size: number } | null;
}

async function uploadOk(fields: Parameters<typeof upload>[0]) {
  const response = await upload(fields);
  const body = (await response.json()) as UploadAnswer;
  if (response.status !== 202 || !body.data) throw new Error(`upload failed: ${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

describe("POST /upload", () => {
  it("uploads into a NEW session named New Chat and answers 202 with the spec's body", async () => {
    const { user_id } = await createUser();
    const response = await upload({
      file: { bytes: png, name: "diagram.PNG", type: "image/png" },
      user_id,
      session_id: "NEW",
      model_name: "gpt-4-turbo",
      session_prompt: "Describe images.",
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await response.json()) as UploadAnswer;
    expect(body.message).toBe("File uploaded successfully");
    expect(body.data?.fileName).toMatch(/^[A-Za-z0-9_-]{22}\.png$/);
    expect(body.data?.size).toBe(png.byteLength);
    expect(body.data?.imageUrl).toBe(`http://backend.test/uploads/${body.data?.fileName}`);
    const [session] = await query<{ name: string; prompt: string; user_id: string }>(
      "select name, prompt, user_id from sessions where id = ?",
      body.data?.sessionId,
    );
    expect(session).toEqual({ name: "New Chat", prompt: "Describe images.", user_id });
    const [file] = await query<{ original_name: string; content_type: string; size: number; r2_key: string }>(
      "select original_name, content_type, size, r2_key from files where file_name = ?",
      body.data?.fileName,
    );
    expect(file).toEqual({
      original_name: "diagram.PNG",
      content_type: "image/png",
      size: png.byteLength,
      r2_key: `users/${user_id}/sessions/${body.data?.sessionId}/${body.data?.fileName}`,
    });
    const object = await (await import("./helpers/env")).testEnv.FILES.head(file!.r2_key);
    expect(object?.customMetadata).toEqual({ originalName: "diagram.PNG", userId: user_id, sessionId: body.data?.sessionId });
  });

  it("uploads into an existing session of the user", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const sessionId = (await chat(ws, user_id, "NEW", "hello")).data?.session_id as string;
    const data = await uploadOk({ file: { bytes: "a,b\n1,2\n", name: "data.csv", type: "text/csv" }, user_id, session_id: sessionId, model_name: "gpt-4-turbo" });
    expect(data.sessionId).toBe(sessionId);
  });

  it("serves the same bytes at /uploads/<fileName> with the stored type and original name", async () => {
    const { user_id } = await createUser();
    const data = await uploadOk({ file: { bytes: png, name: "résumé photo.png", type: "image/png" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    const response = await backendFetch(`/uploads/${data.fileName}`, { headers: { origin: "http://ui.test" } });
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(png);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(response.headers.get("content-disposition")).toBe(
      `inline; filename="r_sum_ photo.png"; filename*=UTF-8''${encodeURIComponent("résumé photo.png")}`,
    );
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("serves types a browser could execute as attachments", async () => {
    const { user_id } = await createUser();
    for (const [name, type] of [["page.html", "text/html"], ["logo.svg", "image/svg+xml"]] as const) {
      const data = await uploadOk({ file: { bytes: "<script>alert(1)</script>", name, type }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
      const response = await backendFetch(`/uploads/${data.fileName}`);
      expect(response.headers.get("content-disposition")).toMatch(/^attachment; /);
      await response.arrayBuffer();
    }
  });

  it("handles names with path separators, control characters or no extension safely", async () => {
    const { user_id } = await createUser();
    const traversal = await uploadOk({ file: { bytes: "x", name: "../../etc/passwd", type: "text/plain" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    expect(traversal.fileName).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const control = await uploadOk({ file: { bytes: "x", name: "evil\u0007name\u001b.txt", type: "text/plain; charset=utf-8" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    expect(control.fileName).toMatch(/^[A-Za-z0-9_-]{22}\.txt$/);
    const rows = await query<{ original_name: string; content_type: string }>(
      "select original_name, content_type from files where file_name in (?, ?) order by original_name",
      traversal.fileName,
      control.fileName,
    );
    expect(rows).toEqual([
      { original_name: "evilname.txt", content_type: "text/plain" },
      { original_name: "passwd", content_type: "text/plain" },
    ]);
    expect((await backendFetch("/uploads/..%2F..%2Fetc%2Fpasswd")).status).toBe(404);
    expect((await backendFetch("/uploads/unknown-name.png")).status).toBe(404);
  });

  it.each([
    [{}, "file"],
    [{ user_id: undefined }, "user_id"],
    [{ session_id: undefined }, "session_id"],
    [{ model_name: undefined }, "model_name"],
    [{ file: undefined }, "file"],
    [{ session_id: "not-a-session" }, "session_id"],
  ])("refuses a missing or bad field (%j) with 400 naming %s, storing nothing", async (override, named) => {
    const { user_id } = await createUser();
    const fields = Object.keys(override).length === 0
      ? { user_id, session_id: "NEW", model_name: "gpt-4-turbo" }
      : { file: { bytes: png, name: "a.png", type: "image/png" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo", ...override };
    const before = await storedObjects();
    const response = await upload(fields);
    expect(response.status).toBe(400);
    const body = (await response.json()) as UploadAnswer;
    expect(body.data).toBeNull();
    expect(body.message).toContain(named);
    expect(await storedObjects()).toEqual(before);
    expect(await query("select * from sessions where user_id = ?", user_id)).toEqual([]);
  });

  it.each([
    ["with Content-Length", false],
    ["without Content-Length", true],
  ])("refuses an oversized upload %s, naming the limit and storing nothing", async (_, streamed) => {
    const { user_id } = await createUser();
    const before = await storedObjects();
    const response = await upload(
      { file: { bytes: new Uint8Array(2 * MB), name: "big.bin" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" },
      { streamed },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as UploadAnswer).message).toBe("File too large: the limit is 1 MB");
    expect(await storedObjects()).toEqual(before);
    expect(await query("select * from files where user_id = ?", user_id)).toEqual([]);
  });

  it("accepts a file just under the limit", async () => {
    const { user_id } = await createUser();
    const data = await uploadOk({ file: { bytes: new Uint8Array(MB - 1024), name: "ok.bin" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    expect(data.size).toBe(MB - 1024);
  });

  it("refuses an upload into another user's session, an unknown user, and a model the user may not use", async () => {
    const owner = await createUser();
    const other = await createUser({ models: [8] });
    const ws = await open();
    const sessionId = (await chat(ws, owner.user_id, "NEW", "mine")).data?.session_id as string;
    const before = await storedObjects();
    const file = { bytes: png, name: "a.png", type: "image/png" };
    expect((await upload({ file, user_id: other.user_id, session_id: sessionId, model_name: "llama3.1:8b" })).status).toBe(404);
    expect((await upload({ file, user_id: "nobody", session_id: "NEW", model_name: "gpt-4-turbo" })).status).toBe(404);
    expect((await upload({ file, user_id: other.user_id, session_id: "NEW", model_name: "gpt-4-turbo" })).status).toBe(403);
    expect(await storedObjects()).toEqual(before);
    expect(await query("select * from sessions where user_id = ?", other.user_id)).toEqual([]);
  });
});

describe("file turns", () => {
  async function sessionWithFile() {
    const { user_id } = await createUser();
    const data = await uploadOk({ file: { bytes: png, name: "chart.png", type: "image/png" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    return { user_id, sessionId: data.sessionId, fileName: data.fileName };
  }

  it("hands the agent a signed URL that the Worker serves, and adds the file entry after the assistant's", async () => {
    const { user_id, sessionId, fileName } = await sessionWithFile();
    const ws = await open();
    const reply = await chat(ws, user_id, sessionId, "what is in this chart?", { file_name: fileName });
    expect(reply).not.toHaveProperty("error");
    const { files } = agentView(reply);
    expect(files).toHaveLength(1);
    const url = new URL(files[0]!);
    expect(url.origin).toBe("http://backend.test");
    expect(url.pathname).toBe(`/files/${fileName}`);
    expect(url.searchParams.get("signature")).toBeTruthy();

    const served = await backendFetch(url.pathname + url.search);
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(png);

    const history = await ws.request({ type: MessageType.SessionChats, data: { user_id, session_id: sessionId } });
    const chats = JSON.parse(history.data?.chat as string) as { role: string; content: string }[];
    expect(chats.map((c) => c.role)).toEqual(["user", "assistant", "file"]);
    expect(chats[2]?.content).toBe(fileName);
  });

  it("a warm session sees a file uploaded after its last turn", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const sessionId = (await chat(ws, user_id, "NEW", "first, no file")).data?.session_id as string;
    const data = await uploadOk({ file: { bytes: png, name: "late.png", type: "image/png" }, user_id, session_id: sessionId, model_name: "gpt-4-turbo" });
    const view = agentView(await chat(ws, user_id, sessionId, "now with the file", { file_name: data.fileName }));
    expect(view.files).toHaveLength(1);
    expect(view.history.map((h) => h.role)).toEqual(["user", "assistant"]);
  });

  it("refuses a tampered, expired, or other-file URL", async () => {
    const { user_id, sessionId, fileName } = await sessionWithFile();
    const second = await uploadOk({ file: { bytes: "other", name: "b.txt", type: "text/plain" }, user_id, session_id: sessionId, model_name: "gpt-4-turbo" });
    const ws = await open();
    const url = new URL(agentView(await chat(ws, user_id, sessionId, "look", { file_name: fileName })).files[0]!);
    const signature = url.searchParams.get("signature")!;

    const tampered = new URL(url);
    tampered.searchParams.set("signature", (signature[0] === "A" ? "B" : "A") + signature.slice(1));
    const extended = new URL(url);
    extended.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
    const otherFile = new URL(url);
    otherFile.pathname = `/files/${second.fileName}`;
    const expired = new URL(await signedFileUrl("http://backend.test", fileName, "test-file-url-secret", 900, Date.now() - 3600_000));
    const forged = new URL(await signedFileUrl("http://backend.test", fileName, "guessed-secret", 900, Date.now()));

    for (const bad of [tampered, extended, otherFile, expired, forged]) {
      const response = await backendFetch(bad.pathname + bad.search);
      expect(response.status).toBe(403);
      await response.arrayBuffer();
    }
    expect((await backendFetch(`/files/${fileName}`)).status).toBe(403);
  });

  it("refuses a file of another session with code 103 and charges nothing", async () => {
    const { user_id, fileName } = await sessionWithFile();
    const ws = await open();
    const otherSession = (await chat(ws, user_id, "NEW", "other")).data?.session_id as string;
    // The other session's summary is charged after its reply: wait for it before taking the balance.
    await quiet(otherSession);
    expect(await query("select id from cost_ledger where session_id = ? and kind = 'summary'", otherSession)).toHaveLength(1);
    const before = await balanceMicros(user_id);
    expect(await chat(ws, user_id, otherSession, "use it", { file_name: fileName })).toMatchObject({ code: 103, type: MessageType.ChatMessage });
    expect(await chat(ws, user_id, otherSession, "made up", { file_name: "nope.png" })).toMatchObject({ code: 103 });
    expect(await balanceMicros(user_id)).toBe(before);
  });

  it("keeps the file when the agent fails, so the message can be retried with it", async () => {
    const { user_id, sessionId, fileName } = await sessionWithFile();
    const ws = await open();
    expect(await chat(ws, user_id, sessionId, "fail on this file", { file_name: fileName })).toMatchObject({ code: 6 });
    expect((await backendFetch(`/uploads/${fileName}`)).status).toBe(200);
    const retry = await chat(ws, user_id, sessionId, "retry", { file_name: fileName });
    expect(agentView(retry).files).toHaveLength(1);
  });

  it("deleting the session removes its objects, its file rows and its URLs", async () => {
    const { user_id, sessionId, fileName } = await sessionWithFile();
    await uploadOk({ file: { bytes: "second", name: "b.txt", type: "text/plain" }, user_id, session_id: sessionId, model_name: "gpt-4-turbo" });
    const ws = await open();
    const url = new URL(agentView(await chat(ws, user_id, sessionId, "look", { file_name: fileName })).files[0]!);
    const prefix = `users/${user_id}/sessions/${sessionId}/`;
    expect((await storedObjects()).filter((k) => k.startsWith(prefix))).toHaveLength(2);

    expect(await ws.request({ type: MessageType.DeleteSession, data: { user_id, session_id: sessionId } })).toEqual({ type: MessageType.DeleteSession, data: { user_id } });
    expect((await storedObjects()).filter((k) => k.startsWith(prefix))).toEqual([]);
    expect(await query("select * from files where session_id = ?", sessionId)).toEqual([]);
    expect((await backendFetch(`/uploads/${fileName}`)).status).toBe(404);
    expect((await backendFetch(url.pathname + url.search)).status).toBe(404);
  });
});

describe("file names", () => {
  it("a v2 history gives each file entry the name it was uploaded with and its link; a v1 history is as the original's", async () => {
    const { user_id } = await createUser();
    const data = await uploadOk({ file: { bytes: "some notes\n", name: "notes.txt", type: "text/plain" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    const v1 = await open();
    expect(await chat(v1, user_id, data.sessionId, "read my notes", { file_name: data.fileName })).not.toHaveProperty("error");

    const v2 = await open("?v=2");
    const described = await v2.request({ type: MessageType.SessionChats, data: { user_id, session_id: data.sessionId } });
    const entries = JSON.parse(described.data?.chat as string) as { role: string; content: string; name?: string; url?: string }[];
    expect(entries.map((entry) => entry.role)).toEqual(["user", "assistant", "file"]);
    expect(entries[2]).toEqual({ role: "file", content: data.fileName, name: "notes.txt", url: `http://backend.test/uploads/${data.fileName}` });
    const served = await backendFetch(new URL(entries[2]!.url!).pathname);
    expect(await served.text()).toBe("some notes\n");

    // A v1 socket gets the same entries, each with only the original's two fields.
    const plain = await v1.request({ type: MessageType.SessionChats, data: { user_id, session_id: data.sessionId } });
    expect(plain.data?.chat).toBe(JSON.stringify(entries.map(({ role, content }) => ({ role, content }))));
  });

  it("names a chat that an upload started from its first message, or from the file's name when the message is empty", async () => {
    const { user_id } = await createUser();
    const ws = await open();
    const listed = async () =>
      ((await ws.request({ type: MessageType.SessionList, data: { user_id } })).data?.session_info as { session_id: string; session_name: string }[]).map((s) => [s.session_id, s.session_name]);

    const withText = await uploadOk({ file: { bytes: "1. ship\n", name: "plan.txt", type: "text/plain" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    expect(await listed()).toEqual([[withText.sessionId, "New Chat"]]);
    const named = await chat(ws, user_id, withText.sessionId, "What does the plan say?", { file_name: withText.fileName });
    expect(named.data?.session_name).toBe("What does the plan say?");
    // A later turn keeps the name.
    expect((await chat(ws, user_id, withText.sessionId, "And then?")).data?.session_name).toBe("What does the plan say?");

    const fileOnly = await uploadOk({ file: { bytes: "a,b\n", name: "budget 2026.csv", type: "text/csv" }, user_id, session_id: "NEW", model_name: "gpt-4-turbo" });
    const byFile = await chat(ws, user_id, fileOnly.sessionId, "", { file_name: fileOnly.fileName });
    expect(byFile).not.toHaveProperty("error");
    expect(byFile.data?.session_name).toBe("budget 2026.csv");
    // Stored: the list (which waits for this socket's turns) has both names, newest first.
    expect(await listed()).toEqual([
      [fileOnly.sessionId, "budget 2026.csv"],
      [withText.sessionId, "What does the plan say?"],
    ]);
    const history = await ws.request({ type: MessageType.SessionChats, data: { user_id, session_id: fileOnly.sessionId } });
    expect((JSON.parse(history.data?.chat as string) as { role: string; content: string }[])[0]).toEqual({ role: "user", content: "" });

    // Without a file, an empty message is still refused.
    expect(await chat(ws, user_id, fileOnly.sessionId, "")).toMatchObject({ code: 100, error: 'Invalid field "data.message": message must not be empty' });
  });
});
