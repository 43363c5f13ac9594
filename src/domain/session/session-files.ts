// Owns the files of a session inside its object: accepting an upload (into this session, or the session it starts)
// and deleting the session with its files, each in order with the session's turns.
import { chunked } from "../../chunked";
import type { AccountStore, FileRecord, FileStore, SessionRecord, SessionStore } from "../../storage/chat-store";
import { requireModelAccess } from "../accounts/accounts";
import { normalizedContentType, r2KeyFor, safeOriginalName, storedFileName } from "../files/file-names";
import type { Journal } from "./journal";
import type { LiveSession } from "./live-context";
import { NEW_CHAT_NAME } from "./session-name";
import { newSessionRecord, requireSessionOwner } from "./session-record";

/** R2 deletes at most 1,000 keys a call. */
const R2_DELETE_BATCH = 1000;

export interface SessionUpload {
  userId: string;
  sessionId: string;
  /** The upload starts this session (the client sent "NEW"). */
  isNew: boolean;
  /** The model of a session the upload starts. */
  modelName: string;
  sessionPrompt: string;
  /** As the client named it. */
  fileName: string;
  contentType: string;
  bytes: ArrayBuffer;
}

export interface FileParts {
  store: SessionStore & FileStore & AccountStore;
  live: LiveSession;
  journal: Journal;
  files: R2Bucket;
}

/** Stores an upload's bytes in R2 and records the file; with `isNew`, creates the session in the same write. */
export async function acceptUpload(upload: SessionUpload, { store, live, journal, files }: FileParts): Promise<FileRecord> {
  const now = Date.now();
  const newSession = upload.isNew ? await sessionStartedByUpload(upload, store, now) : null;
  if (!newSession) {
    const context = await live.load(store, upload.sessionId, () => journal.settle());
    requireSessionOwner(context.session.userId, upload.userId);
  }

  const originalName = safeOriginalName(upload.fileName);
  const fileName = storedFileName(originalName);
  const record: FileRecord = {
    fileName,
    sessionId: upload.sessionId,
    userId: upload.userId,
    originalName,
    contentType: normalizedContentType(upload.contentType),
    size: upload.bytes.byteLength,
    r2Key: r2KeyFor(upload.userId, upload.sessionId, fileName),
    createdAt: now,
  };
  await files.put(record.r2Key, upload.bytes, {
    httpMetadata: { contentType: record.contentType },
    customMetadata: { originalName, userId: upload.userId, sessionId: upload.sessionId },
  });
  try {
    await journal.settle(); // the session's row may still be in the journal
    await store.registerFile(record, newSession);
  } catch (error) {
    await files.delete(record.r2Key);
    throw error;
  }
  live.fileAdded(record);
  return record;
}

async function sessionStartedByUpload(upload: SessionUpload, store: AccountStore, now: number): Promise<SessionRecord> {
  const ref = { name: upload.modelName };
  const { model } = await requireModelAccess(await store.authorizeTurn(upload.userId, ref), ref, upload.userId, store);
  return newSessionRecord({ id: upload.sessionId, userId: upload.userId, modelId: model.id, name: NEW_CHAT_NAME, prompt: upload.sessionPrompt }, now);
}

/** Deletes the session, its history and its files (R2 objects first). Charges of its turns stay on the ledger. */
export async function removeSession(userId: string, sessionId: string, { store, live, journal, files }: FileParts): Promise<void> {
  await journal.settle();
  const session = live.known()?.session ?? (await store.findSession(sessionId));
  requireSessionOwner(session?.userId, userId);
  const keys = (await store.listSessionFiles(sessionId)).map((file) => file.r2Key);
  for (const batch of chunked(keys, R2_DELETE_BATCH)) await files.delete(batch);
  await store.deleteSession(sessionId);
  live.forget();
}
