// Owns the file routes: POST /upload (multipart, size-limited while reading), GET /uploads/:fileName for
// clients, and GET /files/:fileName for agents holding a signed, expiring URL. With AUTH_MODE=token an upload
// needs its user's credential, and a file is served to its owner's credential or a signed link (which is what
// the upload answer hands out then). Each route is declared in file-api.ts (for the OpenAPI document and the typed
// client); what runs before it (sign-in, the size limit) is added here.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ChatError, ErrorCode } from "../../domain/errors";
import { contentDisposition, isStoredFileName } from "../../domain/files/file-names";
import { clientFileUrl, isValidFileSignature } from "../../domain/files/file-urls";
import { uploadFile } from "../../domain/operations/session-objects";
import type { FileRecord, FileStore } from "../../storage/chat-store";
import type { AppEnv } from "./app-env";
import { sessionIdsOf } from "../../domain/session/session-ids";
import { AccessGuard } from "../../domain/operations/access-guard";
import { authenticate } from "./authenticate";
import { httpFailure } from "./failures";
import { validatedByHandler } from "./openapi";
import { validationHook } from "./validation";
import { agentFileRoute, signedQuery, uploadForm, uploadRoute, userFileRoute } from "./file-api";

/** Room for the form's other fields and multipart boundaries on top of the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

type AppContext = Context<AppEnv>;

const fileTooLarge = (c: AppContext) => new ChatError(ErrorCode.FileTooLarge, `File too large: the limit is ${c.var.config.MAX_FILE_SIZE} MB`);
const fileNotFound = () => new ChatError(ErrorCode.FileNotFound, "File not found");

/** The upload as served: its credential, then the body counted as it arrives, whatever Content-Length said (or
 *  without one), under the size limit. */
const servedUploadRoute = {
  ...uploadRoute,
  middleware: [
    authenticate(),
    (c: AppContext, next: () => Promise<void>) =>
      bodyLimit({
        maxSize: c.var.config.maxFileBytes + MULTIPART_OVERHEAD_BYTES,
        onError: () => {
          throw fileTooLarge(c);
        },
      })(c, next),
  ],
};

const servedUserFileRoute = { ...userFileRoute, middleware: [authenticate({ optional: true })] };

export const fileRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

fileRoutes
  // The form is read here, under the size limit, with the wire contract's own messages (docs/protocol.md 2.2).
  .openapi(validatedByHandler(fileRoutes, servedUploadRoute), async (c) => {
    const form = await readForm(c.req.raw);
    const fields = Object.keys(uploadForm.shape).map((name) => [name, form.get(name) ?? undefined]);
    const parsed = uploadForm.safeParse(Object.fromEntries(fields));
    if (!parsed.success) throw new ChatError(ErrorCode.InvalidField, parsed.error.issues[0]?.message ?? "Invalid upload");
    const { file, user_id, session_id, model_name, session_prompt } = parsed.data;
    if (file.size > c.var.config.maxFileBytes) throw fileTooLarge(c);
    const user = c.var.user;
    if (user !== null && user_id !== undefined && user_id !== user) throw new ChatError(ErrorCode.UserMismatch);
    const userId = user ?? user_id;
    if (userId === undefined) throw new ChatError(ErrorCode.InvalidField, "Missing field: user_id");
    // Refused before the session's object wakes: an unknown user, another user's session.
    const sessionIds = sessionIdsOf(c.var.config);
    await new AccessGuard(sessionIds).check(c.var.store, userId, session_id);

    const stored = await uploadFile(c.env, sessionIds, {
      userId,
      sessionId: session_id,
      modelName: model_name,
      sessionPrompt: session_prompt,
      fileName: file.name,
      contentType: file.type,
      bytes: await file.arrayBuffer(),
    });
    const imageUrl = await clientFileUrl(c.var.config, new URL(c.req.url).origin, stored.fileName, Date.now());
    return c.json(
      {
        message: "File uploaded successfully" as const,
        data: { fileName: stored.fileName, sessionId: stored.sessionId, imageUrl, size: stored.size },
      },
      202,
    );
  })
  .openapi(servedUserFileRoute, async (c) => {
    const { fileName } = c.req.valid("param");
    const config = c.var.config;
    if (config.auth.mode === "token" && !(await hasValidSignature(c, fileName, c.req.valid("query")))) {
      if (c.var.user === null) throw httpFailure(401, "Missing credential: send Authorization: Bearer <credential>, or use a signed link");
      const record = await findStoredFile(c.var.store, fileName);
      if (!record || record.userId !== c.var.user) throw fileNotFound(); // another user's file reads as missing
      return serveFile(c, record, "private, max-age=3600");
    }
    const record = await findStoredFile(c.var.store, fileName);
    if (!record) throw fileNotFound();
    return serveFile(c, record, "private, max-age=3600");
  })
  .openapi(agentFileRoute, async (c) => {
    const { fileName } = c.req.valid("param");
    if (!(await hasValidSignature(c, fileName, c.req.valid("query")))) throw httpFailure(403, "Invalid or expired file URL");
    const record = await findStoredFile(c.var.store, fileName);
    if (!record) throw fileNotFound();
    return serveFile(c, record, "private, no-store");
  });

/** The request carries a signature made for this file that has not expired (a tampered one is refused: 403). */
async function hasValidSignature(c: AppContext, fileName: string, { expires, signature }: z.output<typeof signedQuery>): Promise<boolean> {
  if (expires === undefined && signature === undefined) return false;
  const secret = c.var.config.FILE_URL_SECRET;
  if (secret !== undefined && (await isValidFileSignature(fileName, expires, signature, secret, Date.now()))) return true;
  throw httpFailure(403, "Invalid or expired file URL");
}

async function readForm(request: Request): Promise<FormData> {
  const malformed = () => new ChatError(ErrorCode.InvalidField, "Expected a well-formed multipart/form-data body");
  if (!request.body || !request.headers.get("content-type")?.toLowerCase().startsWith("multipart/form-data")) throw malformed();
  try {
    return await request.formData();
  } catch {
    throw malformed();
  }
}

async function findStoredFile(store: FileStore, fileName: string): Promise<FileRecord | null> {
  return isStoredFileName(fileName) ? store.findFile(fileName) : null;
}

async function serveFile(c: AppContext, record: FileRecord, cacheControl: string): Promise<Response> {
  const object = await c.env.FILES.get(record.r2Key);
  if (!object) throw fileNotFound();
  return new Response(object.body, {
    headers: {
      "Content-Type": record.contentType,
      "Content-Length": String(object.size),
      "Content-Disposition": contentDisposition(record.contentType, record.originalName),
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": cacheControl,
    },
  });
}
