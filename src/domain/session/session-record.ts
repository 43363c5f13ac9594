// Owns building a new session's record, whichever request starts the session (a first message or an upload).
import type { SessionRecord } from "../../storage/chat-store";

export function newSessionRecord(fields: Pick<SessionRecord, "id" | "userId" | "modelId" | "name" | "prompt">, now: number): SessionRecord {
  return { ...fields, summary: "", createdAt: now, lastActiveAt: now, streamed: false };
}
