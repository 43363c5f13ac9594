// Owns the client's failures as values: ChatBackendError (an error frame, with its code) and ChatClientError.
// ChatClientError means no answer can come: the client was closed, the connection was lost for good, or a resumed
// turn is unknown.
import type { ErrorCode } from "./protocol";

/** The backend answered with an error frame. Match on `code` (docs/protocol.md section 4), not on the text. */
export class ChatBackendError extends Error {
  override readonly name = "ChatBackendError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The request's message type, when the backend could read it. */
    readonly type?: number,
    /** The request's id. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export type ClientFailure =
  /** close() was called. */
  | "closed"
  /** The socket closed and reconnecting is off, or every attempt failed. */
  | "disconnected"
  /** A resume found no such turn (it never existed, or ended more than STREAM_RETAIN_S ago). */
  | "unknown-turn";

/** No answer can come for this request. */
export class ChatClientError extends Error {
  override readonly name = "ChatClientError";

  constructor(
    readonly reason: ClientFailure,
    message: string,
  ) {
    super(message);
  }
}
