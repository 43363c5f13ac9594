// Owns how an uploaded file is named, keyed in R2 and described when served.
import { base64Url } from "../encoding";

const RANDOM_BYTES = 16; // 128 bits: stored names cannot be guessed
const MAX_ORIGINAL_NAME_CHARS = 255;
const FALLBACK_CONTENT_TYPE = "application/octet-stream";

/** Types a browser shows without running anything; every other type is served as an attachment. */
const INLINE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "application/pdf",
  "text/plain",
  "text/csv",
  "application/json",
]);

/** The original name with any path and control characters removed (what the user called the file). */
export function safeOriginalName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, MAX_ORIGINAL_NAME_CHARS);
  return clean || "file";
}

/** A fresh unguessable name plus the original's extension when it has a plain one ("a.PNG" -> "<id>.png"). */
export function storedFileName(originalName: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(RANDOM_BYTES));
  const id = base64Url(bytes);
  const extension = /\.([A-Za-z0-9]{1,10})$/.exec(safeOriginalName(originalName))?.[1]?.toLowerCase();
  return extension ? `${id}.${extension}` : id;
}

/** A cheap check before the database is asked: stored names (ours, or imported from the original system)
 *  are plain names without path separators or a leading dot. */
export function isStoredFileName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/.test(name);
}

/** Whose and which session's file it is, readable in the bucket. */
export function r2KeyFor(userId: string, sessionId: string, fileName: string): string {
  return `users/${encodeURIComponent(userId)}/sessions/${sessionId}/${fileName}`;
}

export function normalizedContentType(declared: string): string {
  const type = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : FALLBACK_CONTENT_TYPE;
}

export function contentDisposition(contentType: string, originalName: string): string {
  const kind = INLINE_TYPES.has(contentType) || /^(audio|video)\//.test(contentType) ? "inline" : "attachment";
  const ascii = originalName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(originalName)}`;
}
