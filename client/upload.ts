// Owns the client's HTTP side: POST /upload of a file into a session (docs/protocol.md 2.2, sent through the typed
// client, http-api.ts) and the URL a stored file is served at (2.3). The WebSocket protocol has no upload; a chat
// message names the uploaded file.
import { z } from "zod";
import { fileClient } from "./http-api";

/** Sends a request to the backend's HTTP routes (default: the runtime's `fetch`). */
export type HttpFetch = (request: Request) => Promise<Response>;

export interface UploadInput {
  /** The backend's HTTP origin, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  file: Blob;
  filename: string;
  /** A session id, or "NEW" (the upload then starts a session named "New Chat"). */
  sessionId: string | "NEW";
  /** Required by the route; used only for a "NEW" session. */
  model: string;
  prompt?: string;
  userId?: string;
  token?: string;
  fetch?: HttpFetch;
}

const UploadAnswer = z.object({ data: z.object({ fileName: z.string(), sessionId: z.string(), imageUrl: z.string() }) });
const UploadRefusal = z.object({ message: z.string() });

/** An upload the backend refused: its HTTP status and its message (`File too large: the limit is 10 MB`). */
export class UploadError extends Error {
  override readonly name = "UploadError";

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** POST /upload: the stored file name to send with the next chat message, the session it belongs to, and where
 *  the file is served (`imageUrl`; a signed link with AUTH_MODE=token). */
export async function uploadFile(input: UploadInput): Promise<{ fileName: string; sessionId: string; imageUrl: string }> {
  const send = input.fetch ?? ((request: Request) => fetch(request));
  const files = fileClient(input.baseUrl, { ...(input.token !== undefined ? { token: input.token } : {}), fetch: (url, init) => send(new Request(url, init)) });
  const form = {
    // A File, so the part carries the name (a Blob's would be "blob").
    file: new File([input.file], input.filename, { type: input.file.type }),
    ...(input.userId !== undefined ? { user_id: input.userId } : {}),
    session_id: input.sessionId,
    model_name: input.model,
    session_prompt: input.prompt ?? "",
  };
  const response = await files.upload.$post({ form });
  const text = await response.text();
  const body = parseJson(text);
  if (response.status !== 202) {
    const refusal = UploadRefusal.safeParse(body);
    throw new UploadError(response.status, refusal.success ? refusal.data.message : `upload failed: HTTP ${response.status} ${text.slice(0, 200)}`);
  }
  const answer = UploadAnswer.safeParse(body);
  if (!answer.success) throw new UploadError(response.status, `the upload's answer is not the protocol's: ${text.slice(0, 200)}`);
  return answer.data.data;
}

/** Where a stored file is served (GET /uploads/<fileName>; with AUTH_MODE=token it also needs the credential). */
export function fileUrl(baseUrl: string, fileName: string): string {
  return `${baseUrl}/uploads/${encodeURIComponent(fileName)}`;
}

/** The HTTP origin of a backend from its WebSocket URL: `wss://host/ws` → `https://host`. */
export function httpBaseOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = url.pathname.replace(/\/ws\/?$/, "");
  url.search = "";
  url.hash = "";
  return url.href.replace(/\/$/, "");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
