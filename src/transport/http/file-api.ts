// Owns the file routes' contract: the upload form and answer, the stored-file routes, and each route's declaration,
// which the Worker serves (file-routes.ts, adding what runs before each: sign-in, the body's size limit) and the typed
// client (client/http-api.ts) calls. Declarations only, nothing of the Worker.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { failures, jsonAnswer, userOrSignedSecurity, userSecurity, type RoutesSchema } from "./route-parts";
import { firstQueryValue } from "./validation";

export const uploadForm = z
  .object({
    file: z.instanceof(File, { error: "Missing field: file" }).meta({ type: "string", format: "binary", description: "The file" }),
    // Optional with AUTH_MODE=token: the credential says who uploads.
    user_id: z
      .string()
      .min(1, "Missing field: user_id")
      .max(200)
      .optional()
      .meta({ description: "The user; required with AUTH_MODE=none, and with AUTH_MODE=token the credential's user if given" }),
    session_id: z
      .string({ error: "Missing field: session_id" })
      .regex(/^(NEW|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/, 'Invalid field session_id: expected a session UUID or "NEW"')
      .meta({ description: 'A session of the user, or "NEW" (a session named "New Chat" is created with the file; its first turn names it)' }),
    model_name: z.string({ error: "Missing field: model_name" }).min(1, "Missing field: model_name").meta({ description: "The model of a NEW session" }),
    session_prompt: z.string().default("").meta({ description: "The system prompt of a NEW session" }),
  })
  .meta({ id: "Upload" });

const uploadAnswer = z
  .object({
    message: z.literal("File uploaded successfully"),
    data: z.object({
      fileName: z.string().meta({ description: "The stored name: send it as file_name in a chat message" }),
      sessionId: z.string(),
      imageUrl: z.string().meta({ description: "Where the client fetches it (a signed link with AUTH_MODE=token)" }),
      size: z.number().int().meta({ description: "Bytes" }),
    }),
  })
  .meta({ id: "UploadAnswer" });

const fileParams = z.object({ fileName: z.string().meta({ description: "The stored name an upload answered" }) });
export const signedQuery = z.object({
  expires: firstQueryValue().optional().meta({ description: "Signed link: expiry, Unix seconds" }),
  signature: firstQueryValue().optional().meta({ description: "Signed link: HMAC-SHA256 of the name and expiry, base64url" }),
});
const fileBytes = {
  description: "The bytes, with their stored Content-Type, Content-Length and Content-Disposition",
  content: { "*/*": { schema: z.string().meta({ format: "binary" }) } },
};

export const uploadRoute = createRoute({
  method: "post",
  path: "/upload",
  tags: ["files"],
  summary: "Upload a file into a session",
  description: "The body is read under MAX_FILE_SIZE megabytes, counted as it arrives. Then send a chat message with file_name.",
  security: userSecurity,
  request: { body: { required: true, content: { "multipart/form-data": { schema: uploadForm } } } },
  responses: {
    202: jsonAnswer("Stored", uploadAnswer),
    ...failures({
      400: "Not a well-formed multipart body, a missing or invalid field, a file over MAX_FILE_SIZE, an unknown model for NEW",
      401: "AUTH_MODE=token without a valid credential",
      403: "A model the user may not use (NEW), or user_id other than the credential's",
      404: "Unknown user, or a session that is not the user's",
    }),
  },
});

export const userFileRoute = createRoute({
  method: "get",
  path: "/uploads/{fileName}",
  tags: ["files"],
  summary: "A stored file, for clients",
  description: "AUTH_MODE=none: anyone with the name. AUTH_MODE=token: the owner's credential, or a signed link (expires + signature).",
  security: userOrSignedSecurity,
  request: { params: fileParams, query: signedQuery },
  responses: {
    200: fileBytes,
    ...failures({
      401: "AUTH_MODE=token with neither a credential nor a signature",
      403: "A tampered or expired signature",
      404: "No such file (or another user's)",
    }),
  },
});

export const agentFileRoute = createRoute({
  method: "get",
  path: "/files/{fileName}",
  tags: ["files"],
  summary: "A stored file, for agents (the signed URL of a chat message's file)",
  request: { params: fileParams, query: signedQuery },
  responses: { 200: fileBytes, ...failures({ 403: "A missing, tampered or expired signature", 404: "No such file" }) },
});

type FileRoutes = [typeof uploadRoute, typeof userFileRoute, typeof agentFileRoute];

/** The file routes as Hono's client (hc) reads them. */
export type FileApi = OpenAPIHono<{}, RoutesSchema<FileRoutes>>;
