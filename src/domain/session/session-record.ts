// Owns a session's record: building a new one, whichever request starts the session (a first message or an
// upload), and the one check of whose it is.
import type { SessionRecord } from "../../storage/chat-store";
import { ChatError, ErrorCode } from "../errors";

export function newSessionRecord(fields: Pick<SessionRecord, "id" | "userId" | "modelId" | "name" | "prompt">, now: number): SessionRecord {
  return { ...fields, summary: "", createdAt: now, lastActiveAt: now, streamed: false };
}

/** Throws 101 unless the session's owner (undefined or null: no such session) is this user: another user's session
 *  reads as one that does not exist. */
export function requireSessionOwner(ownerId: string | null | undefined, userId: string): void {
  if (ownerId == null || ownerId !== userId) throw new ChatError(ErrorCode.SessionNotFound);
}
