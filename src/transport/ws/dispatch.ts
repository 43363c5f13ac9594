// Owns turning one raw WebSocket frame into exactly one answer frame: parse, validate, dispatch, map errors.
import { ChatError, ErrorCode, failureOf } from "../../domain/errors";
import { describeIssue, envelopeSchema, errorFrame, type ErrorFrame, type ReplyFrame } from "./frames";
import { messageHandlers, type HandlerContext } from "./handlers";

export async function answerFrame(raw: string | ArrayBuffer, ctx: HandlerContext): Promise<ReplyFrame | ErrorFrame> {
  if (typeof raw !== "string") return errorFrame(ErrorCode.JsonParsing, "JSON Parsing Error: frames must be UTF-8 text");
  if (raw.length > ctx.config.MAX_FRAME_BYTES) {
    return errorFrame(ErrorCode.FrameTooLarge, `Frame too large: the limit is ${ctx.config.MAX_FRAME_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return errorFrame(ErrorCode.JsonParsing);
  }
  const id = requestIdOf(json);
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    return errorFrame(ErrorCode.InvalidField, describeIssue(envelope.error, ""), typeOf(json), id);
  }
  const { type, data } = envelope.data;
  const handler = messageHandlers[type];
  if (!handler) return errorFrame(ErrorCode.UnknownMessage, undefined, type, id);

  const parsed = handler.schema.safeParse(data);
  if (!parsed.success) return errorFrame(ErrorCode.InvalidField, describeIssue(parsed.error, "data"), type, id);
  try {
    const answer = await handler.handle(parsed.data, ctx);
    return id === undefined ? { type, data: answer } : { type, data: answer, id };
  } catch (error) {
    if (!(error instanceof ChatError)) console.error(`message type ${type} failed`, error);
    const failure = failureOf(error, handler.failure);
    return errorFrame(failure.code, failure.message, type, id);
  }
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
