// Owns the file routes: POST /upload (multipart, size-limited while reading), GET /uploads/:fileName for
// clients, and GET /files/:fileName for agents holding a signed, expiring URL. With AUTH_MODE=token an upload
// needs its user's credential, and a file is served to its owner's credential or a signed link (which is what
// the upload answer hands out then).
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { ChatError, ErrorCode } from "../../domain/errors";
import { contentDisposition, isStoredFileName } from "../../domain/files/file-names";
import { isValidFileSignature, signedFileUrl } from "../../domain/files/file-urls";
import { uploadFile } from "../../domain/operations/session-objects";
import type { ChatStore, FileRecord } from "../../storage/chat-store";
import type { AppEnv } from "./app-env";
import { AccessGuard } from "../../domain/operations/access-guard";
import { authenticate } from "./authenticate";
import { httpFailure } from "./failures";

/** Room for the form's other fields and multipart boundaries on top of the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const uploadForm = z.object({
  file: z.instanceof(File, { error: "Missing field: file" }),
  // Optional with AUTH_MODE=token: the credential says who uploads.
  user_id: z.string().min(1, "Missing field: user_id").max(200).optional(),
  session_id: z
    .string({ error: "Missing field: session_id" })
    .regex(/^(NEW|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/, 'Invalid field session_id: expected a session UUID or "NEW"'),
  model_name: z.string({ error: "Missing field: model_name" }).min(1, "Missing field: model_name"),
  session_prompt: z.string().default(""),
});

type AppContext = Context<AppEnv>;

const fileTooLarge = (c: AppContext) => new ChatError(ErrorCode.FileTooLarge, `File too large: the limit is ${c.var.config.MAX_FILE_SIZE} MB`);
const fileNotFound = () => new ChatError(ErrorCode.FileNotFound, "File not found");

export const fileRoutes = new Hono<AppEnv>()
  .post(
    "/upload",
    authenticate(),
    // Counts what arrives, whatever Content-Length said (or without one).
    (c, next) =>
      bodyLimit({
        maxSize: c.var.config.maxFileBytes + MULTIPART_OVERHEAD_BYTES,
        onError: () => {
          throw fileTooLarge(c);
        },
      })(c, next),
    async (c) => {
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
      await new AccessGuard().check(c.var.store, userId, session_id);

      const stored = await uploadFile(c.env, {
        userId,
        sessionId: session_id,
        modelName: model_name,
        sessionPrompt: session_prompt,
        fileName: file.name,
        contentType: file.type,
        bytes: await file.arrayBuffer(),
      });
      const base = c.var.config.PUBLIC_BASE_URL ?? new URL(c.req.url).origin;
      return c.json(
        {
          message: "File uploaded successfully",
          data: { fileName: stored.fileName, sessionId: stored.sessionId, imageUrl: await userFileUrl(c, base, stored.fileName), size: stored.size },
        },
        202,
      );
    },
  )
  .get("/uploads/:fileName", authenticate({ optional: true }), async (c) => {
    const fileName = c.req.param("fileName");
    const config = c.var.config;
    if (config.auth.mode === "token" && !(await hasValidSignature(c, fileName))) {
      if (c.var.user === null) throw httpFailure(401, "Missing credential: send Authorization: Bearer <credential>, or use a signed link");
      const record = await findStoredFile(c.var.store, fileName);
      if (!record || record.userId !== c.var.user) throw fileNotFound(); // another user's file reads as missing
      return serveFile(c, record, "private, max-age=3600");
    }
    const record = await findStoredFile(c.var.store, fileName);
    if (!record) throw fileNotFound();
    return serveFile(c, record, "private, max-age=3600");
  })
  .get("/files/:fileName", async (c) => {
    const fileName = c.req.param("fileName");
    if (!(await hasValidSignature(c, fileName))) throw httpFailure(403, "Invalid or expired file URL");
    const record = await findStoredFile(c.var.store, fileName);
    if (!record) throw fileNotFound();
    return serveFile(c, record, "private, no-store");
  });

/** The request carries a signature made for this file that has not expired (a tampered one is refused: 403). */
async function hasValidSignature(c: AppContext, fileName: string): Promise<boolean> {
  const { expires, signature } = c.req.query();
  if (expires === undefined && signature === undefined) return false;
  const secret = c.var.config.FILE_URL_SECRET;
  if (secret !== undefined && (await isValidFileSignature(fileName, expires, signature, secret, Date.now()))) return true;
  throw httpFailure(403, "Invalid or expired file URL");
}

/** The link to a stored file an upload answer hands out: signed with AUTH_MODE=token (an <img> cannot send a
 *  credential), plain otherwise. */
async function userFileUrl(c: AppContext, base: string, fileName: string): Promise<string> {
  const { auth, FILE_URL_SECRET: secret, FILE_URL_TTL: ttl } = c.var.config;
  if (auth.mode === "token" && secret) return signedFileUrl(base, fileName, secret, ttl, Date.now(), "/uploads/");
  return new URL(`/uploads/${fileName}`, base).toString();
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

async function findStoredFile(store: ChatStore, fileName: string): Promise<FileRecord | null> {
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
