// Owns reading and writing WebSocket frames: the request envelope's and each message type's data schema (checked at
// compile time against the protocol's request types, protocol/messages.ts), and the answer and error frames.
import { z } from "zod";
import { errorText } from "../../domain/errors";
import type { Answers, ErrorCode, ErrorFrame, Requests, RequestType } from "../../../protocol";

/** Kept for imports written before protocol/ held the message types. */
export { MessageType } from "../../../protocol";

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

const userRequest = z.object({ user_id: userId });
const sessionRequest = z.object({ user_id: userId, session_id: sessionId });
const chatMessageRequest = z.object({
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

const resumeRequest = z.object({
  user_id: userId,
  session_id: sessionId,
  turn: z.number().int().nonnegative(),
  after_seq: z.number().int().min(-1),
});

/** Each message type's data schema. */
export const requestSchemas = {
  0: userRequest,
  1: userRequest,
  2: sessionRequest,
  3: chatMessageRequest,
  4: sessionRequest,
  5: userRequest,
  6: userRequest,
  8: resumeRequest,
  9: sessionRequest,
} as const satisfies { [T in RequestType]: z.ZodType };

/** Type T's data as its handler reads it: the schema's output. */
export type RequestData<T extends RequestType> = z.output<(typeof requestSchemas)[T]>;

/** Type T's request as its schema reads it: `user_id` is always there (on a signed-in socket the dispatcher sets it). */
type Served<T extends RequestType> = Flat<Omit<Requests[T], "user_id"> & { user_id: string }>;
type Flat<T> = { [K in keyof T]: T[K] };
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
/** The message types whose schema reads other fields, or other JSON types, than the protocol's request. */
type Drifted = { [T in RequestType]: Same<Flat<z.input<(typeof requestSchemas)[T]>>, Served<T>> extends true ? never : T }[RequestType];
/** Fails to compile, naming the message type, when a schema and the protocol's request differ. */
export type SchemasFollowProtocol = NoDrift<Drifted>;
type NoDrift<T extends never> = T;

export type ReplyFrame = { type: number; data: Answers[RequestType]; id?: string };
export type { ErrorFrame };

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
