// Owns the error vocabulary: the texts of the protocol's codes (protocol/error-codes.ts; spec section 4), the one
// throwable that carries them (ChatError, with an optional `detail` that names the specifics and the way out while
// the text stays the original's), and their form as data across Durable Object RPC (Outcome).
import { ErrorCode } from "../../protocol";

export { ErrorCode };

/** What a chat message (type 3) answers when its turn fails unexpectedly, wherever it fails (the dispatcher, the
 *  session's object, the user's account object): the original's code for a failed chat message. */
export const TURN_FAILURE: ErrorCode = ErrorCode.UnableToReceiveResponse;

const defaultTexts: Record<ErrorCode, string> = {
  0: "JSON Parsing Error",
  1: "Unknown Message",
  2: "JSON Marshal Error",
  3: "User Does Not Exists",
  4: "Unable to Create Session",
  5: "Unable to Load Session",
  6: "Unable to Receive Response To Query",
  7: "User Does Not Have Model Access",
  8: "Unable to Tokenize Data",
  9: "Unable to Load Chats",
  10: "Unable to Delete Session",
  11: "Unable to Generate AI Model List",
  12: "Unable to Create Embedding",
  13: "Unable to Search For Embedding",
  14: "Internal Server Error",
  15: "Insufficient balance",
  16: "Unable to get balance details",
  100: "Invalid field",
  101: "Session not found",
  102: "Unknown model",
  103: "File not found in this session",
  104: "Frame too large",
  105: "User already exists",
  106: "File too large",
  107: "This connection belongs to another user",
  108: "Too many turns in flight",
  109: "Too many requests",
  110: "No turn is running in this session",
};

/** An expected failure that the client sees as an error frame. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = defaultTexts[code],
    cause?: unknown,
    /** What exactly was wrong and what to do next, for people (the answer's `detail`); the text stays byte-identical
     *  for old clients that show or match it. */
    readonly detail?: string,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ChatError";
  }
}

/** A ChatError with a detail and the code's own text. */
export function detailedError(code: ErrorCode, detail: string, message: string = defaultTexts[code]): ChatError {
  return new ChatError(code, message, undefined, detail);
}

/** A ChatError as plain data, so it can cross a Durable Object RPC boundary intact. */
export interface FailureData {
  code: ErrorCode;
  message: string;
  detail?: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: FailureData };

export function failureOf(error: unknown, fallback: ErrorCode): FailureData {
  if (error instanceof ChatError) return { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) };
  return { code: fallback, message: defaultTexts[fallback] };
}

/** The result of work as data for an RPC answer: a ChatError keeps its code, anything else becomes `fallback`.
 *  Unexpected failures (not a ChatError, or one with a cause) are logged here, once. */
export async function outcomeOf<T>(work: Promise<T>, fallback: ErrorCode): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    const failure = failureOf(error, fallback);
    if (!(error instanceof ChatError) || error.cause !== undefined) console.error(`session work failed with code ${failure.code}`, error);
    return { ok: false, failure };
  }
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ChatError(outcome.failure.code, outcome.failure.message, undefined, outcome.failure.detail);
}

export function errorText(code: ErrorCode): string {
  return defaultTexts[code];
}
