// Owns the client's copy of the wire contract: message types, error codes, request and answer data, turn events.
// From docs/protocol.md sections 1, 4 and 9; test/unit/client-protocol.test.ts keeps it in step with the backend's
// src/transport/ws/frames.ts and src/domain/errors.ts.

/** The message types (docs/protocol.md 1.3 and 9.1). */
export const MessageType = {
  UserDetails: 0,
  SessionList: 1,
  SessionChats: 2,
  ChatMessage: 3,
  DeleteSession: 4,
  ModelList: 5,
  Balance: 6,
  /** v2: a live turn's event; answers no request. */
  TurnEvent: 7,
  ResumeTurn: 8,
  CancelTurn: 9,
} as const;

export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** The codes of error frames (docs/protocol.md section 4): 0-16 the original's, 100 and up this backend's. */
export const ErrorCode = {
  JsonParsing: 0,
  UnknownMessage: 1,
  JsonMarshal: 2,
  UserDoesNotExist: 3,
  UnableToCreateSession: 4,
  UnableToLoadSession: 5,
  UnableToReceiveResponse: 6,
  NoModelAccess: 7,
  UnableToTokenize: 8,
  UnableToLoadChats: 9,
  UnableToDeleteSession: 10,
  UnableToListModels: 11,
  UnableToCreateEmbedding: 12,
  UnableToSearchEmbedding: 13,
  InternalServerError: 14,
  InsufficientBalance: 15,
  UnableToGetBalance: 16,
  InvalidField: 100,
  SessionNotFound: 101,
  UnknownModel: 102,
  FileNotFound: 103,
  FrameTooLarge: 104,
  UserExists: 105,
  FileTooLarge: 106,
  UserMismatch: 107,
  TooManyTurnsInFlight: 108,
  RateLimited: 109,
  NoRunningTurn: 110,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the backend sends (docs/protocol.md 1.7). */
export const CloseCode = {
  /** The socket's credential was revoked or expired (reason `Revoked credential` / `Expired credential`): sign in
   *  again with a fresh one. */
  CredentialEnded: 4401,
} as const;

/** `user_id` may be left out on a socket signed in with a credential (AUTH_MODE=token). */
interface AsUser {
  user_id?: string;
}

export type UserRequest = AsUser;
export interface SessionRequest extends AsUser {
  session_id: string;
}
export interface ChatMessageRequest extends AsUser {
  session_id: string | "NEW";
  model_name?: string | null;
  model_id?: number | null;
  message: string;
  session_prompt?: string | null;
  file_name?: string | null;
}
export interface ResumeRequest extends AsUser {
  session_id: string;
  turn: number;
  /** The last `seq` the client holds; -1 for every delta. */
  after_seq: number;
}

export interface SessionInfo {
  session_id: string;
  session_name: string;
}

/** One entry of a session's history (type 2's `chat`, parsed). */
export interface HistoryEntry {
  role: "user" | "assistant" | "file";
  /** A file entry's stored name (`fileName`). */
  content: string;
  /** v2, file entries: the name the file was uploaded with. */
  name?: string;
  /** v2, file entries: where to fetch the file (a signed link with AUTH_MODE=token, valid FILE_URL_TTL seconds). */
  url?: string;
}

/** The answer to a chat message. `cancelled` is set when a v2 client cancelled the turn (the partial reply). */
export interface ChatReply {
  user_id: string;
  session_id: string;
  session_name: string;
  message: string;
  cancelled?: true;
}

export type ResumeState = "streaming" | "done" | "unknown";

/** Request data per message type. */
export interface Requests {
  0: UserRequest;
  1: UserRequest;
  2: SessionRequest;
  3: ChatMessageRequest;
  4: SessionRequest;
  5: UserRequest;
  6: UserRequest;
  8: ResumeRequest;
  9: SessionRequest;
}

/** Answer data per message type. */
export interface Answers {
  0: { user_id: string; username: string };
  1: { user_id: string; session_info: SessionInfo[] };
  /** `chat` is a string holding a JSON array of HistoryEntry. */
  2: { user_id: string; session_id: string; chat: string };
  3: ChatReply;
  4: { user_id: string };
  5: { models: string[] };
  /** Dollars. */
  6: { balance: number };
  8: { user_id: string; session_id: string; turn: number; state: ResumeState };
  9: { user_id: string; session_id: string; turn: number };
}

export type RequestType = keyof Requests;

/** A live turn's event (type 7, docs/protocol.md 9.2). */
export type TurnEvent =
  | { session_id: string; turn: number; event: "start"; session_name: string; user_message: string }
  | { session_id: string; turn: number; event: "delta"; seq: number; text: string; replay: boolean }
  | { session_id: string; turn: number; event: "end"; message: string }
  | { session_id: string; turn: number; event: "error"; code: number; message: string }
  | { session_id: string; turn: number; event: "cancelled"; message: string };

export interface RequestFrame<T extends RequestType = RequestType> {
  type: T;
  data: Requests[T];
  id?: string;
}

export interface AnswerFrame<T extends RequestType = RequestType> {
  type: T;
  data: Answers[T];
  id?: string;
}

/** `type` and `id` are absent when the frame could not be read far enough to know them; `detail`, when present,
 *  names the specifics (docs/protocol.md section 4). */
export interface ErrorFrame {
  error: string;
  code: ErrorCode;
  type?: number;
  id?: string;
  detail?: string;
}

export interface EventFrame {
  type: typeof MessageType.TurnEvent;
  data: TurnEvent;
}

export type ServerFrame = AnswerFrame | ErrorFrame | EventFrame;

export function isErrorFrame(frame: ServerFrame): frame is ErrorFrame {
  return "error" in frame;
}

export function isEventFrame(frame: ServerFrame): frame is EventFrame {
  return frame.type === MessageType.TurnEvent && !("error" in frame) && !("id" in frame);
}
