// Owns the chat page's HTTP calls: how users sign in (/healthz), creating a user and an API key through the admin API,
// and uploading a file (docs/protocol.md 2.1, 2.2, 2.6).
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

/** Issues an API key for a user (AUTH_MODE=token): the whole key, shown this once. */
export async function issueKey(adminToken: string, userId: string): Promise<string> {
  const response = await fetch(`/admin/users/${encodeURIComponent(userId)}/keys`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
  if (response.status !== 201) throw await failure(response);
  return ((await response.json()) as { key: string }).key;
}

export type AuthMode = "none" | "token";

/** How this backend signs users in, from GET /healthz; null when it does not say (then both fields are offered). */
export async function authMode(): Promise<AuthMode | null> {
  try {
    const { auth } = (await (await fetch("/healthz")).json()) as { auth?: unknown };
    return auth === "none" || auth === "token" ? auth : null;
  } catch {
    return null;
  }
}

/**
 * Why the WebSocket refused this credential, or null if it did not: a browser hides the upgrade's 401 answer, so the
 * same request is made without the upgrade, which answers the same refusal (or 426: the credential is good).
 */
export async function credentialRefusal(token: string): Promise<string | null> {
  const response = await fetch(`/ws?token=${encodeURIComponent(token)}`);
  return response.status === 401 ? (await failure(response)).message : null;
}

export interface Uploaded {
  fileName: string;
  sessionId: string;
  /** Where the page shows or downloads the file from: a signed link with AUTH_MODE=token. */
  imageUrl: string;
}

/** POST /upload into a session (or "NEW", which makes one): the stored name to send as the next message's file,
 *  and its link. */
export async function upload(identity: Identity, file: File, sessionId: string, model: string, prompt: string): Promise<Uploaded> {
  const form = new FormData();
  form.set("file", file);
  if (identity.userId) form.set("user_id", identity.userId);
  form.set("session_id", sessionId);
  form.set("model_name", model);
  form.set("session_prompt", prompt);
  const headers: Record<string, string> = identity.token ? { authorization: `Bearer ${identity.token}` } : {};
  const response = await fetch("/upload", { method: "POST", body: form, headers });
  if (response.status !== 202) throw await failure(response);
  const { data } = (await response.json()) as { data: Uploaded };
  return data;
}
