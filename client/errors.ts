// Owns the client's failures as values: ChatBackendError (an error frame, with its code and detail) and
// ChatClientError. ChatClientError means no answer can come: the client was closed, the connection was lost for
// good or could not be made (then `connection` says where, why, and what the server answered), or a resumed turn
// is unknown.
import type { ErrorCode } from "../protocol";

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
    /** What exactly was wrong, when the backend said (the unknown model and the user's models, …). */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export type ClientFailure =
  /** close() was called. */
  | "closed"
  /** The socket closed and reconnecting is off, or every attempt failed; or it could not be opened. */
  | "disconnected"
  /** A resume found no such turn (it never existed, or ended more than STREAM_RETAIN_S ago). */
  | "unknown-turn";

/** Why a WebSocket could not be opened. */
export type ConnectionCause =
  /** Nothing listens there (ECONNREFUSED). */
  | "refused"
  /** The host name does not resolve. */
  | "dns"
  /** No answer in time. */
  | "timeout"
  /** The server answered the upgrade with an HTTP refusal (`status`, `serverMessage`). */
  | "http"
  /** Something else failed on the way (TLS, a proxy, a browser's policy); `message` says what is known. */
  | "network";

/** A connection that could not be made: where (credential left out), why, and the server's answer if any. */
export interface ConnectionFailure {
  url: string;
  cause: ConnectionCause;
  status?: number;
  serverMessage?: string;
  serverDetail?: string;
}

/** No answer can come for this request. */
export class ChatClientError extends Error {
  override readonly name = "ChatClientError";

  constructor(
    readonly reason: ClientFailure,
    message: string,
    /** Set when the socket could not be opened. */
    readonly connection?: ConnectionFailure,
  ) {
    super(message);
  }
}
