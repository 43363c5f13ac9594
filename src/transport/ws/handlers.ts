// Owns the dispatch table: for each message type, its data schema, its failure code, the writes it waits for
// (read-your-writes), the write it makes, and its handler.
import type { z } from "zod";
import type { Config } from "../../config";
import { grantedModels, requireUser } from "../../domain/accounts/accounts";
import { ErrorCode } from "../../domain/errors";
import { microsToDollars } from "../../domain/money";
import { deleteSession, sendChatMessage } from "../../domain/operations/session-objects";
import { listSessions, sessionHistory } from "../../domain/operations/sessions";
import type { ChatStore, ModelRef } from "../../storage/chat-store";
import type { AccessGuard } from "../../domain/operations/access-guard";
import { chatMessageRequest, MessageType, sessionRequest, userRequest } from "./frames";

export interface HandlerContext {
  env: Env;
  config: Config;
  store: ChatStore;
  /** Origin the socket connected to. */
  origin: string;
  /** The socket's authenticated user (AUTH_MODE=token): frames act as this user only. */
  user: string | null;
  /** What the hub knows of users and session owners, to refuse before waking a session object. */
  guard: AccessGuard;
  /** The frame's `id`, when the client sent one. */
  requestId?: string;
  /** The socket sent more than MAX_FRAMES_PER_SECOND: the frame is answered with code 109 only. */
  overRate: boolean;
}

/** The user and session a message would wake a session object for. */
export interface SessionAccess {
  userId: string;
  sessionId: string | "NEW";
}

/**
 * The writes a message waits for before it is handled, so a client reads what it just did (turns commit to the
 * database right behind their replies): the sessions this connection's turns wrote to since it last waited, and
 * the session the message names (its history is then complete whichever connection wrote its last turn).
 */
interface Waits<D> {
  connectionWrites: boolean;
  session?: (data: D) => string;
}

const NO_WAIT = { connectionWrites: false } as const;

type Answer = Record<string, unknown>;

export interface MessageHandler {
  schema: z.ZodType;
  /** The original's answer when the handler fails unexpectedly (storage down, bug). */
  failure: ErrorCode;
  /** The sessions whose writes to wait for, given the data and the sessions this connection wrote to. */
  waitsFor(data: unknown, connectionWrites: readonly string[]): string[];
  /** The session object the message reaches, checked by the hub's guard first; absent when it reaches none. */
  reaches?(data: unknown): SessionAccess;
  /** The session a successful answer wrote to, which this connection's later reads wait for. */
  wrote?(answer: Answer): string;
  handle(data: unknown, ctx: HandlerContext): Promise<Answer>;
}

function define<S extends z.ZodType, A extends Answer>(entry: {
  schema: S;
  failure: ErrorCode;
  waits: Waits<z.output<S>>;
  reaches?: (data: z.output<S>) => SessionAccess;
  wrote?: (answer: A) => string;
  handle: (data: z.output<S>, ctx: HandlerContext) => Promise<A>;
}): MessageHandler {
  const { schema, failure, waits, reaches, wrote, handle } = entry;
  return {
    schema,
    failure,
    reaches: reaches && ((data) => reaches(data as z.output<S>)),
    waitsFor: (data, connectionWrites) => {
      const sessions = new Set(waits.connectionWrites ? connectionWrites : []);
      if (waits.session) sessions.add(waits.session(data as z.output<S>));
      return [...sessions];
    },
    wrote: wrote && ((answer) => wrote(answer as A)),
    handle: (data, ctx) => handle(data as z.output<S>, ctx),
  };
}

export const messageHandlers: Readonly<Record<number, MessageHandler>> = {
  [MessageType.UserDetails]: define({
    schema: userRequest,
    failure: ErrorCode.InternalServerError,
    waits: NO_WAIT,
    handle: async ({ user_id }, { store }) => {
      const user = await requireUser(store, user_id);
      return { user_id: user.id, username: user.username };
    },
  }),

  [MessageType.SessionList]: define({
    schema: userRequest,
    failure: ErrorCode.UnableToLoadSession,
    waits: { connectionWrites: true },
    handle: async ({ user_id }, { store }) => {
      const sessions = await listSessions(store, user_id);
      return { user_id, session_info: sessions.map((s) => ({ session_id: s.id, session_name: s.name })) };
    },
  }),

  [MessageType.SessionChats]: define({
    schema: sessionRequest,
    failure: ErrorCode.UnableToLoadChats,
    waits: { connectionWrites: true, session: (data) => data.session_id },
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { store }) => {
      const history = await sessionHistory(store, user_id, session_id);
      return { user_id, session_id, chat: JSON.stringify(history) };
    },
  }),

  [MessageType.ChatMessage]: define({
    schema: chatMessageRequest,
    failure: ErrorCode.UnableToReceiveResponse,
    waits: NO_WAIT,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    wrote: (answer: { session_id: string }) => answer.session_id,
    handle: async (data, { env, origin, requestId }) => {
      const model: ModelRef | null = data.model_id != null ? { id: data.model_id } : data.model_name ? { name: data.model_name } : null;
      const reply = await sendChatMessage(env, {
        userId: data.user_id,
        sessionId: data.session_id,
        model,
        message: data.message,
        sessionPrompt: data.session_prompt ?? "",
        fileName: data.file_name ?? null,
        requestOrigin: origin,
        requestId: requestId ?? null,
      });
      return { user_id: data.user_id, session_id: reply.sessionId, session_name: reply.sessionName, message: reply.message };
    },
  }),

  [MessageType.DeleteSession]: define({
    schema: sessionRequest,
    failure: ErrorCode.UnableToDeleteSession,
    waits: NO_WAIT, // the session's object commits its writes before deleting
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { env }) => {
      await deleteSession(env, user_id, session_id);
      return { user_id };
    },
  }),

  [MessageType.ModelList]: define({
    schema: userRequest,
    failure: ErrorCode.UnableToListModels,
    waits: NO_WAIT,
    handle: async ({ user_id }, { store }) => {
      const models = await grantedModels(store, user_id);
      return { models: models.map((m) => m.name) };
    },
  }),

  [MessageType.Balance]: define({
    schema: userRequest,
    failure: ErrorCode.UnableToGetBalance,
    waits: { connectionWrites: true },
    handle: async ({ user_id }, { store }) => {
      const user = await requireUser(store, user_id);
      return { balance: microsToDollars(user.balanceMicros) };
    },
  }),
};
