// Owns the shape of WebSocket frames: the message types' names, the request envelope, per-type data schemas, and
// reply/error frames.
import { z } from "zod";
import { errorText, type ErrorCode } from "../../domain/errors";

/** The message types of the wire (spec section 3). */
export const MessageType = {
  UserDetails: 0,
  SessionList: 1,
  SessionChats: 2,
  ChatMessage: 3,
  DeleteSession: 4,
  ModelList: 5,
  Balance: 6,
  /** Protocol v2 (docs/protocol.md section 9): a live turn's event, answering no request. */
  TurnEvent: 7,
  ResumeTurn: 8,
  CancelTurn: 9,
} as const;

export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const envelopeSchema = z.object({
  type: z.number().int(),
  data: z.record(z.string(), z.unknown()),
  id: z.string().max(200).optional(),
});

const userId = z.string().min(1).max(200);
const sessionId = z.guid();
/** Optional strings that existing clients send as "" or null when absent. */
const optionalText = z
  .string()
  .nullish()
  .transform((value) => value || undefined);

export const userRequest = z.object({ user_id: userId });
export const sessionRequest = z.object({ user_id: userId, session_id: sessionId });
export const chatMessageRequest = z.object({
  user_id: userId,
  session_id: z.union([z.literal("NEW"), sessionId]),
  model_name: optionalText,
  model_id: z.number().int().nonnegative().nullish(),
  message: z.string(),
  session_prompt: optionalText,
  file_name: optionalText,
})
  // A file may go alone: then the message may be empty.
  .refine((data) => data.message !== "" || data.file_name !== undefined, { path: ["message"], message: "message must not be empty" });

export const resumeRequest = z.object({
  user_id: userId,
  session_id: sessionId,
  turn: z.number().int().nonnegative(),
  after_seq: z.number().int().min(-1),
});

export type ChatMessageRequest = z.infer<typeof chatMessageRequest>;

export type ReplyFrame = { type: number; data: Record<string, unknown>; id?: string };
/** `detail` (when known) names the specifics; `error` keeps the text old clients show and match. */
export type ErrorFrame = { error: string; code: ErrorCode; type?: number; id?: string; detail?: string };

export function errorFrame(code: ErrorCode, message: string = errorText(code), type?: number, id?: string, detail?: string): ErrorFrame {
  return {
    error: message,
    code,
    ...(type === undefined ? {} : { type }),
    ...(id === undefined ? {} : { id }),
    ...(detail === undefined ? {} : { detail }),
  };
}

/** "Invalid field "data.user_id": expected string, received undefined" — names the first offending field. */
export function describeIssue(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid frame";
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  return `Invalid field "${path || "frame"}": ${issue.message}`;
}
