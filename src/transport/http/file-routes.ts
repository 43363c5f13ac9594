// Owns the file routes: POST /upload (multipart, size-limited while reading), GET /uploads/:fileName for
// clients, and GET /files/:fileName for agents holding a signed, expiring URL.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { maxFileBytes, readConfig } from "../../config";
import { ChatError, ErrorCode } from "../../domain/errors";
import { contentDisposition, isStoredFileName } from "../../domain/file-names";
import { isValidFileSignature } from "../../domain/file-urls";
import { acceptUpload } from "../../domain/uploads";
import type { FileRecord } from "../../storage/chat-store";
import type { ChatStore } from "../../storage/chat-store";
import type { AppEnv } from "./app-env";

/** Room for the form's other fields and multipart boundaries on top of the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const uploadForm = z.object({
  file: z.instanceof(File, { error: "Missing field: file" }),
  user_id: z.string({ error: "Missing field: user_id" }).min(1, "Missing field: user_id").max(200),
  session_id: z
    .string({ error: "Missing field: session_id" })
    .regex(/^(NEW|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/, 'Invalid field session_id: expected a session UUID or "NEW"'),
  model_name: z.string({ error: "Missing field: model_name" }).min(1, "Missing field: model_name"),
  session_prompt: z.string().default(""),
});

type AppContext = Context<AppEnv>;

const failure = (c: AppContext, status: 400 | 403 | 404 | 413 | 500, message: string) => c.json({ message, data: null }, status);

const statusOf: Partial<Record<ErrorCode, 400 | 403 | 404>> = {
  [ErrorCode.UserDoesNotExist]: 404,
  [ErrorCode.SessionNotFound]: 404,
  [ErrorCode.NoModelAccess]: 403,
  [ErrorCode.UnknownModel]: 400,
};

export const fileRoutes = new Hono<AppEnv>()
  .post("/upload", async (c) => {
    const config = readConfig(c.env);
    const limit = maxFileBytes(config);
    const tooLarge = `File too large: the limit is ${config.MAX_FILE_SIZE} MB`;
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > limit + MULTIPART_OVERHEAD_BYTES) return failure(c, 400, tooLarge);

    const form = await readLimitedForm(c.req.raw, limit + MULTIPART_OVERHEAD_BYTES);
    if (form === "too-large") return failure(c, 400, tooLarge);
    if (!form) return failure(c, 400, "Expected a well-formed multipart/form-data body");
    const fields = Object.keys(uploadForm.shape).map((name) => [name, form.get(name) ?? undefined]);
    const parsed = uploadForm.safeParse(Object.fromEntries(fields));
    if (!parsed.success) return failure(c, 400, parsed.error.issues[0]?.message ?? "Invalid upload");
    const { file, user_id, session_id, model_name, session_prompt } = parsed.data;
    if (file.size > limit) return failure(c, 400, tooLarge);

    try {
      const stored = await acceptUpload(c.env, c.var.store, {
        userId: user_id,
        sessionId: session_id,
        modelName: model_name,
        sessionPrompt: session_prompt,
        file,
      });
      const base = config.PUBLIC_BASE_URL || new URL(c.req.url).origin;
      return c.json(
        {
          message: "File uploaded successfully",
          data: {
            fileName: stored.fileName,
            sessionId: stored.sessionId,
            imageUrl: new URL(`/uploads/${stored.fileName}`, base).toString(),
            size: stored.size,
          },
        },
        202,
      );
    } catch (error) {
      if (error instanceof ChatError) return failure(c, statusOf[error.code] ?? 400, error.message);
      throw error;
    }
  })
  .get("/uploads/:fileName", async (c) => {
    const record = await findStoredFile(c.var.store, c.req.param("fileName"));
    return record ? serveFile(c, record, "private, max-age=3600") : failure(c, 404, "File not found");
  })
  .get("/files/:fileName", async (c) => {
    const config = readConfig(c.env);
    const fileName = c.req.param("fileName");
    const secret = config.FILE_URL_SECRET;
    const valid =
      secret !== undefined &&
      (await isValidFileSignature(fileName, c.req.query("expires"), c.req.query("signature"), secret, Date.now()));
    if (!valid) return failure(c, 403, "Invalid or expired file URL");
    const record = await findStoredFile(c.var.store, fileName);
    return record ? serveFile(c, record, "private, no-store") : failure(c, 404, "File not found");
  });

async function findStoredFile(store: ChatStore, fileName: string): Promise<FileRecord | null> {
  return isStoredFileName(fileName) ? store.findFile(fileName) : null;
}

async function serveFile(c: AppContext, record: FileRecord, cacheControl: string): Promise<Response> {
  const object = await c.env.FILES.get(record.r2Key);
  if (!object) return failure(c, 404, "File not found");
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

/** Parses the multipart body, failing as soon as more than `maxBytes` arrive (whatever Content-Length said). */
async function readLimitedForm(request: Request, maxBytes: number): Promise<FormData | "too-large" | null> {
  if (!request.body || !request.headers.get("content-type")?.toLowerCase().startsWith("multipart/form-data")) return null;
  let received = 0;
  let exceeded = false;
  const limited = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        if (received > maxBytes) {
          exceeded = true;
          controller.error(new Error("upload too large"));
        } else controller.enqueue(chunk);
      },
    }),
  );
  try {
    return await new Request(request.url, { method: "POST", headers: request.headers, body: limited }).formData();
  } catch {
    return exceeded ? "too-large" : null;
  }
}
