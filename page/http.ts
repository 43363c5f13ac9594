// Owns the chat page's HTTP calls: how users sign in (/healthz), creating a user and an API key through the admin API,
// and uploading a file (docs/protocol.md 2.1, 2.2, 2.6); the admin API and the upload through the typed client
// (client/http-api.ts, client/upload.ts).
import { adminClient, answer, createUser as createUserWith, pathParams } from "../client/http-api";
import { uploadFile } from "../client/upload";
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
  // The models `npm run user:create` grants by default (docs/protocol.md section 5).
  return (await createUserWith(adminClient(location.origin, { token: adminToken }), { username, balance, models: [4, 5, 8] })).user_id;
}

/** Issues an API key for a user (AUTH_MODE=token): the whole key, shown this once. */
export async function issueKey(adminToken: string, userId: string): Promise<string> {
  const api = adminClient(location.origin, { token: adminToken });
  return (await answer(api.users[":user_id"].keys.$post({ param: pathParams({ user_id: userId }) }))).key;
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
export function upload(identity: Identity, file: File, sessionId: string, model: string, prompt: string): Promise<Uploaded> {
  return uploadFile({
    baseUrl: location.origin,
    file,
    filename: file.name,
    sessionId,
    model,
    prompt,
    ...(identity.userId ? { userId: identity.userId } : {}),
    ...(identity.token ? { token: identity.token } : {}),
  });
}
