// Owns how an HTTP request fails: every failure renders as {"message", "data": null, "detail"?} with one status per
// error code (ChatError), per framework failure (Hono's HTTPException), or 500 for anything unexpected (logged).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChatError, ErrorCode } from "../../domain/errors";

/** Every code has a status: a new code does not compile until it gets one. */
const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  [ErrorCode.JsonParsing]: 400,
  [ErrorCode.UnknownMessage]: 400,
  [ErrorCode.JsonMarshal]: 500,
  [ErrorCode.UserDoesNotExist]: 404,
  [ErrorCode.UnableToCreateSession]: 500,
  [ErrorCode.UnableToLoadSession]: 500,
  [ErrorCode.UnableToReceiveResponse]: 502,
  [ErrorCode.NoModelAccess]: 403,
  [ErrorCode.UnableToTokenize]: 500,
  [ErrorCode.UnableToLoadChats]: 500,
  [ErrorCode.UnableToDeleteSession]: 500,
  [ErrorCode.UnableToListModels]: 500,
  [ErrorCode.UnableToCreateEmbedding]: 500,
  [ErrorCode.UnableToSearchEmbedding]: 500,
  [ErrorCode.InternalServerError]: 500,
  [ErrorCode.InsufficientBalance]: 402,
  [ErrorCode.UnableToGetBalance]: 500,
  [ErrorCode.InvalidField]: 400,
  [ErrorCode.SessionNotFound]: 404,
  [ErrorCode.UnknownModel]: 400,
  [ErrorCode.FileNotFound]: 404,
  [ErrorCode.FrameTooLarge]: 413,
  [ErrorCode.UserExists]: 409,
  // The original's upload answered 400 for a file over the limit; clients rely on it.
  [ErrorCode.FileTooLarge]: 400,
  [ErrorCode.UserMismatch]: 403,
  [ErrorCode.TooManyTurnsInFlight]: 429,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.NoRunningTurn]: 409,
};

/** A failure of the HTTP layer itself (wrong method of connecting, origin, signature, route), with its status and,
 *  when it helps, a detail (what exactly was wrong, what to do next). */
export function httpFailure(status: ContentfulStatusCode, message: string, detail?: string): HTTPException {
  return new DetailedHttpFailure(status, message, detail);
}

/** A middleware's HTTPException (its response and headers kept) with a detail added. */
export function withFailureDetail(error: HTTPException, detail: string): HTTPException {
  return new DetailedHttpFailure(error.status as ContentfulStatusCode, error.message, detail, error.res);
}

/** Hono's HTTPException with a detail (it has no field of its own for one). */
class DetailedHttpFailure extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    message: string,
    readonly detail: string | undefined,
    res?: Response,
  ) {
    super(status, { message, res });
  }
}

const withDetail = (detail: string | undefined) => (detail === undefined ? {} : { detail });

/** The app's onError: the one place a failure becomes a response. */
export async function renderFailure(error: Error, c: Context): Promise<Response> {
  if (error instanceof ChatError) return c.json({ message: error.message, data: null, ...withDetail(error.detail) }, statusOf[error.code]);
  if (error instanceof HTTPException) {
    // Middleware (bearer auth) attach a plain-text response with its own headers (WWW-Authenticate): keep those.
    const message = error.res ? await error.res.text() : error.message;
    error.res?.headers.forEach((value, name) => {
      if (name.toLowerCase() !== "content-type" && name.toLowerCase() !== "content-length") c.header(name, value);
    });
    const detail = error instanceof DetailedHttpFailure ? error.detail : undefined;
    return c.json({ message, data: null, ...withDetail(detail) }, error.status as ContentfulStatusCode);
  }
  console.error(`${c.req.method} ${c.req.path} failed`, error);
  return c.json({ message: "Internal Server Error", data: null }, 500);
}
