// Owns accepting an upload: who may upload where, storing the bytes in R2 and recording the file.
import type { ChatStore, FileRecord, SessionRecord } from "../storage/chat-store";
import { requireModelAccess } from "./accounts";
import { ChatError, ErrorCode, unwrap } from "./errors";
import { normalizedContentType, r2KeyFor, safeOriginalName, storedFileName } from "./file-names";
import { sessionObject } from "./sessions";

export const NEW_SESSION_FROM_UPLOAD_NAME = "New Chat";

export interface UploadRequest {
  userId: string;
  /** A session id, or "NEW". */
  sessionId: string;
  modelName: string;
  sessionPrompt: string;
  file: File;
}

export async function acceptUpload(env: Env, store: ChatStore, upload: UploadRequest): Promise<FileRecord> {
  const now = Date.now();
  let newSession: SessionRecord | null = null;
  let sessionId = upload.sessionId;
  if (sessionId === "NEW") {
    const ref = { name: upload.modelName };
    const { model } = requireModelAccess(await store.authorizeTurn(upload.userId, ref), ref);
    sessionId = crypto.randomUUID();
    newSession = {
      id: sessionId,
      userId: upload.userId,
      modelId: model.id,
      name: NEW_SESSION_FROM_UPLOAD_NAME,
      prompt: upload.sessionPrompt,
      summary: "",
      createdAt: now,
      lastActiveAt: now,
    };
  } else {
    // A session created by a turn moments ago may not be in the database yet: its object commits it first.
    if (!(await sessionObject(env, sessionId).settled())) throw new Error(`session ${sessionId} not committed yet`);
    const session = await store.findSession(sessionId);
    if (!session || session.userId !== upload.userId) throw new ChatError(ErrorCode.SessionNotFound);
  }

  const originalName = safeOriginalName(upload.file.name);
  const fileName = storedFileName(originalName);
  const record: FileRecord = {
    fileName,
    sessionId,
    userId: upload.userId,
    originalName,
    contentType: normalizedContentType(upload.file.type),
    size: upload.file.size,
    r2Key: r2KeyFor(upload.userId, sessionId, fileName),
    createdAt: now,
  };
  await env.FILES.put(record.r2Key, await upload.file.arrayBuffer(), {
    httpMetadata: { contentType: record.contentType },
    customMetadata: { originalName, userId: upload.userId, sessionId },
  });
  try {
    // Through the session's object, so its live context lists the file and the write is ordered with its turns.
    unwrap(await sessionObject(env, sessionId).registerFile(record, newSession));
  } catch (error) {
    await env.FILES.delete(record.r2Key);
    throw error;
  }
  return record;
}
