// Owns the chat page's HTTP calls: creating a user through the admin API and uploading a file (docs/protocol.md 2.2, 2.6).
import type { Identity } from "./storage";

async function failure(response: Response): Promise<Error> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: string; message?: string };
    return new Error(body.error ?? body.message ?? `${response.status} ${text}`);
  } catch {
    return new Error(`${response.status} ${text}`);
  }
}

export async function createUser(adminToken: string, username: string, balance: number): Promise<string> {
  const response = await fetch("/admin/users", {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    // The models `npm run user:create` grants by default (docs/protocol.md section 5).
    body: JSON.stringify({ username, balance, models: [4, 5, 8] }),
  });
  if (response.status !== 201) throw await failure(response);
  return ((await response.json()) as { user_id: string }).user_id;
}

export interface Uploaded {
  fileName: string;
  sessionId: string;
}

/** POST /upload into a session (or "NEW", which makes one): the stored name to send as the next message's file. */
export async function upload(identity: Identity, file: File, sessionId: string, model: string): Promise<Uploaded> {
  const form = new FormData();
  form.set("file", file);
  if (identity.userId) form.set("user_id", identity.userId);
  form.set("session_id", sessionId);
  form.set("model_name", model);
  form.set("session_prompt", "");
  const headers: Record<string, string> = identity.token ? { authorization: `Bearer ${identity.token}` } : {};
  const response = await fetch("/upload", { method: "POST", body: form, headers });
  if (response.status !== 202) throw await failure(response);
  const { data } = (await response.json()) as { data: Uploaded };
  return data;
}
