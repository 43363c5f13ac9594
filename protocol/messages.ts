// Owns the frames of /ws: the message types, each type's request and answer data, and the envelopes around them
// (docs/protocol.md 1.2-1.4 and section 9). The Worker's schemas (src/transport/ws/frames.ts) and its dispatch
// table (handlers.ts) are checked against these types when they compile.
import type { ErrorCode } from "./error-codes";
import type { TurnEvent } from "./turn-events";

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

/** `user_id` may be left out on a socket signed in with a credential (AUTH_MODE=token, docs/protocol.md 1.7). */
type AsUser = { user_id?: string };

export type UserRequest = AsUser;
export type SessionRequest = AsUser & { session_id: string };
export type ChatMessageRequest = AsUser & {
  session_id: string | "NEW";
  model_name?: string | null;
  model_id?: number | null;
  message: string;
  session_prompt?: string | null;
  file_name?: string | null;
};
export type ResumeRequest = AsUser & {
  session_id: string;
  turn: number;
  /** The last `seq` the client holds; -1 for every delta. */
  after_seq: number;
};

export type SessionInfo = { session_id: string; session_name: string };

/** One entry of a session's history (type 2's `chat`, parsed). */
export type HistoryEntry = {
  role: "user" | "assistant" | "file";
  /** A file entry's stored name (`fileName`). */
  content: string;
  /** v2, file entries: the name the file was uploaded with. */
  name?: string;
  /** v2, file entries: where to fetch the file (a signed link with AUTH_MODE=token, valid FILE_URL_TTL seconds). */
  url?: string;
};

/** The answer to a chat message. `cancelled` is set when a v2 client cancelled the turn (the partial reply). */
export type ChatReply = {
  user_id: string;
  session_id: string;
  session_name: string;
  message: string;
  cancelled?: true;
};

/** A resumed turn: still streaming, ended (its ending follows the answer), or not known to its session. */
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

/** The message types a client sends (all but 7). */
export type RequestType = keyof Requests;

export type RequestFrame<T extends RequestType = RequestType> = {
  type: T;
  data: Requests[T];
  id?: string;
};

export type AnswerFrame<T extends RequestType = RequestType> = {
  type: T;
  data: Answers[T];
  id?: string;
};

/** `type` and `id` are absent when the frame could not be read far enough to know them; `detail`, when present,
 *  names the specifics (docs/protocol.md section 4). */
export type ErrorFrame = {
  error: string;
  code: ErrorCode;
  type?: number;
  id?: string;
  detail?: string;
};

export type EventFrame = {
  type: typeof MessageType.TurnEvent;
  data: TurnEvent;
};

export type ServerFrame = AnswerFrame | ErrorFrame | EventFrame;

export function isErrorFrame(frame: ServerFrame): frame is ErrorFrame {
  return "error" in frame;
}

export function isEventFrame(frame: ServerFrame): frame is EventFrame {
  return frame.type === MessageType.TurnEvent && !("error" in frame) && !("id" in frame);
}
