// Owns turning one raw WebSocket frame into exactly one answer frame: read and validate it when it arrives, then
// check the session object it would reach (access-guard.ts), wait for the writes the message type declares
// (read-your-writes), dispatch, record the write it made, map errors.
import { ChatError, ErrorCode, failureOf } from "../../domain/errors";
import { waitForCommits } from "../../domain/operations/session-objects";
import { describeIssue, envelopeSchema, errorFrame, type ErrorFrame, type ReplyFrame } from "./frames";
import { messageHandlers, type HandlerContext, type MessageHandler } from "./handlers";

/** The sessions a connection's turns wrote to and its reads have not waited for yet; kept with the socket, so
 *  they outlive the hub's hibernation. */
export interface ConnectionWrites {
  list(): readonly string[];
  add(sessionId: string): void;
  remove(sessionIds: readonly string[]): void;
}

/** A connection remembers this many sessions; writing to more between reads waits for the oldest's commit. */
export const MAX_REMEMBERED_WRITES = 32;

/** A frame as read when it arrives: its error answer already, or a request for a handler. */
export type ReadFrame = { kind: "answered"; frame: ErrorFrame } | { kind: "request"; type: number; id: string | undefined; handler: MessageHandler; data: unknown };

/**
 * Reads a frame when it arrives (size, JSON, rate, envelope, type, user, data schema): what fails here is answered
 * without touching anything. A request whose handler runs at once (a cancel) is then started before the frames
 * ahead of it are answered; every other request waits for them.
 */
export function readFrame(raw: string | ArrayBuffer, ctx: HandlerContext): ReadFrame {
  const answered = (frame: ErrorFrame): ReadFrame => ({ kind: "answered", frame });
  if (typeof raw !== "string") return answered(errorFrame(ErrorCode.JsonParsing, "JSON Parsing Error: frames must be UTF-8 text"));
  if (utf8Bytes(raw, ctx.config.MAX_FRAME_BYTES) > ctx.config.MAX_FRAME_BYTES) {
    return answered(errorFrame(ErrorCode.FrameTooLarge, `Frame too large: the limit is ${ctx.config.MAX_FRAME_BYTES} bytes`));
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    // The text stays the original's; the parser's own words say where the JSON broke (position, token).
    return answered(errorFrame(ErrorCode.JsonParsing, undefined, undefined, undefined, error instanceof Error ? error.message : String(error)));
  }
  const id = requestIdOf(json);
  if (ctx.overRate) {
    return answered(errorFrame(ErrorCode.RateLimited, `Too many requests: at most ${ctx.config.MAX_FRAMES_PER_SECOND} frames a second`, typeOf(json), id));
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return answered(errorFrame(ErrorCode.InvalidField, describeIssue(envelope.error, ""), typeOf(json), id));
  const { type } = envelope.data;
  let { data } = envelope.data;
  const handler = messageHandlers[type];
  // Protocol v2's types are unknown to a v1 socket, exactly as before they existed.
  if (!handler || (handler.liveOnly && !ctx.live)) return answered(errorFrame(ErrorCode.UnknownMessage, undefined, type, id));
  if (ctx.user !== null) {
    // An authenticated socket acts as its user only: user_id may be left out, and naming another user touches nothing.
    if (data.user_id !== undefined && data.user_id !== ctx.user) return answered(errorFrame(ErrorCode.UserMismatch, undefined, type, id));
    data = { ...data, user_id: ctx.user };
  }
  const parsed = handler.schema.safeParse(data);
  if (!parsed.success) return answered(errorFrame(ErrorCode.InvalidField, describeIssue(parsed.error, "data"), type, id));
  return { kind: "request", type, id, handler, data: parsed.data };
}

/** Exactly one answer frame for a frame read by readFrame: check the session object it would reach
 *  (access-guard.ts), wait for the writes its type declares (read-your-writes), dispatch, record the write it
 *  made, map errors. */
export async function answerFrame(read: ReadFrame, ctx: HandlerContext, writes: ConnectionWrites): Promise<ReplyFrame | ErrorFrame> {
  if (read.kind === "answered") return read.frame;
  const { type, id, handler, data } = read;
  try {
    const access = handler.reaches?.(data);
    if (access) await ctx.guard.check(ctx.store, access.userId, access.sessionId);
    const waitFor = handler.waitsFor(data, writes.list());
    if (waitFor.length > 0) {
      await waitForCommits(ctx.env, waitFor);
      writes.remove(waitFor);
    }
    const answer = await handler.handle(data, id === undefined ? ctx : { ...ctx, requestId: id });
    if (handler.wrote) {
      const sessionId = handler.wrote(answer);
      if (access) ctx.guard.owns(access.userId, sessionId);
      await remember(sessionId, ctx, writes);
    }
    return id === undefined ? { type, data: answer } : { type, data: answer, id };
  } catch (error) {
    if (!(error instanceof ChatError)) console.error(`message type ${type} failed`, error);
    const failure = failureOf(error, handler.failure);
    return errorFrame(failure.code, failure.message, type, id, failure.detail);
  }
}

async function remember(sessionId: string, ctx: HandlerContext, writes: ConnectionWrites): Promise<void> {
  writes.add(sessionId);
  const overflow = writes.list().slice(0, -MAX_REMEMBERED_WRITES);
  if (overflow.length === 0) return;
  await waitForCommits(ctx.env, overflow).catch((error: unknown) => console.warn("a connection's older writes are not committed yet", error));
  writes.remove(overflow);
}

/** The frame's size in UTF-8 bytes (what the client sent), counted only as far as it can matter. */
function utf8Bytes(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length; // cannot exceed the limit: a UTF-16 unit is at most 3 bytes
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function requestIdOf(json: unknown): string | undefined {
  const id = isObject(json) ? json.id : undefined;
  return typeof id === "string" && id.length <= 200 ? id : undefined;
}

function typeOf(json: unknown): number | undefined {
  const type = isObject(json) ? json.type : undefined;
  return typeof type === "number" && Number.isInteger(type) ? type : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
