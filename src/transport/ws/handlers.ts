// Owns the dispatch table: for each message type, its data schema, its failure code, the writes it waits for
// (read-your-writes), the write it makes, and its handler.
import type { z } from "zod";
import type { Config } from "../../config";
import { grantedModels, requireUser } from "../../domain/accounts/accounts";
import { ChatError, ErrorCode, TURN_FAILURE } from "../../domain/errors";
import { microsToDollars } from "../../domain/money";
import { cancelTurn, deleteSession, resumeTurn, sendChatMessage, turnTarget, watchSession } from "../../domain/operations/session-objects";
import { describedHistory, listSessions, sessionHistory } from "../../domain/operations/sessions";
import { clientFileUrl } from "../../domain/files/file-urls";
import type { AccountStore, FileStore, ModelRef, SessionStore } from "../../storage/chat-store";
import type { AccessGuard } from "../../domain/operations/access-guard";
import type { SessionIds } from "../../domain/session/session-ids";
import { chatMessageRequest, MessageType, resumeRequest, sessionRequest, userRequest } from "./frames";
import type { TurnEvent } from "../../domain/session/turn-events";
import type { LiveSocket } from "./live-socket";

export interface HandlerContext {
  env: Env;
  config: Config;
  store: AccountStore & SessionStore & FileStore;
  /** Origin the socket connected to. */
  origin: string;
  /** The socket's authenticated user (AUTH_MODE=token): frames act as this user only. */
  user: string | null;
  /** What the hub knows of users and session owners, to refuse before waking a session object. */
  guard: AccessGuard;
  /** Issues the ids of new sessions (session-ids.ts). */
  sessionIds: SessionIds;
  /** The frame's `id`, when the client sent one. */
  requestId?: string;
  /** The socket sent more than MAX_FRAMES_PER_SECOND: the frame is answered with code 109 only. */
  overRate: boolean;
  /** The socket's live turns, when it speaks protocol v2; null on a v1 socket. */
  live: LiveSocket | null;
  /** Runs `action` right after this frame's answer is sent (a resume's replayed events follow its answer). */
  afterAnswer(action: () => void): void;
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
  /** Runs as soon as the frame arrives (its answer still follows the answers ahead of it). */
  atOnce: boolean;
  /** A protocol v2 type: unknown on a v1 socket. */
  liveOnly: boolean;
  handle(data: unknown, ctx: HandlerContext): Promise<Answer>;
}

interface Entry<S extends z.ZodType, A extends Answer, C> {
  schema: S;
  failure: ErrorCode;
  waits: Waits<z.output<S>>;
  reaches?: (data: z.output<S>) => SessionAccess;
  wrote?: (answer: A) => string;
  atOnce?: boolean;
  handle: (data: z.output<S>, ctx: C) => Promise<A>;
}

function define<S extends z.ZodType, A extends Answer>(entry: Entry<S, A, HandlerContext> & { liveOnly?: boolean }): MessageHandler {
  const { schema, failure, waits, reaches, wrote, handle } = entry;
  return {
    schema,
    failure,
    atOnce: entry.atOnce ?? false,
    liveOnly: entry.liveOnly ?? false,
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

/** A protocol v2 type: its handler gets the socket's live side. */
function defineLive<S extends z.ZodType, A extends Answer>(entry: Entry<S, A, HandlerContext & { live: LiveSocket }>): MessageHandler {
  return define({
    ...entry,
    liveOnly: true,
    handle: (data, ctx) => {
      if (!ctx.live) throw new ChatError(ErrorCode.UnknownMessage); // the dispatcher answers a v1 socket before this
      return entry.handle(data, { ...ctx, live: ctx.live });
    },
  });
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
    handle: async ({ user_id, session_id }, { env, config, store, origin, live }) => {
      // v1 gets the history as the original system gave it; v2 also each file's original name and link.
      const history = live
        ? await describedHistory(store, user_id, session_id, (fileName) => clientFileUrl(config, origin, fileName, Date.now()))
        : await sessionHistory(store, user_id, session_id);
      if (live) {
        live.watch(session_id);
        await watchSession(env, session_id, live.hubId);
      }
      return { user_id, session_id, chat: JSON.stringify(history) };
    },
  }),

  [MessageType.ChatMessage]: define({
    schema: chatMessageRequest,
    failure: TURN_FAILURE,
    waits: NO_WAIT,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    wrote: (answer: { session_id: string }) => answer.session_id,
    handle: async (data, { env, origin, requestId, live, sessionIds }) => {
      const model: ModelRef | null = data.model_id != null ? { id: data.model_id } : data.model_name ? { name: data.model_name } : null;
      const target = await turnTarget(sessionIds, data.user_id, data.session_id, requestId ?? null);
      live?.watch(target.sessionId);
      const reply = await sendChatMessage(env, {
        ...target,
        userId: data.user_id,
        model,
        message: data.message,
        sessionPrompt: data.session_prompt ?? "",
        fileName: data.file_name ?? null,
        requestOrigin: origin,
        requestId: requestId ?? null,
        watcher: live?.hubId ?? null,
      });
      const answer = { user_id: data.user_id, session_id: reply.sessionId, session_name: reply.sessionName, message: reply.message };
      return reply.cancelled ? { ...answer, cancelled: true } : answer;
    },
  }),

  [MessageType.DeleteSession]: define({
    schema: sessionRequest,
    failure: ErrorCode.UnableToDeleteSession,
    waits: NO_WAIT, // the session's object commits its writes before deleting
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { env, live }) => {
      await deleteSession(env, user_id, session_id);
      live?.forget(session_id);
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

  [MessageType.ResumeTurn]: defineLive({
    schema: resumeRequest,
    failure: ErrorCode.InternalServerError,
    waits: NO_WAIT,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id, turn, after_seq }, { env, live, afterAnswer }) => {
      live.watch(session_id);
      // Live events that reach the socket meanwhile wait behind the answer and the replayed ones.
      live.hold(session_id);
      let replay: TurnEvent[] = [];
      afterAnswer(() => live.release(session_id, replay));
      const resumed = await resumeTurn(env, { userId: user_id, sessionId: session_id, turn, afterSeq: after_seq, hubId: live.hubId });
      replay = resumed.events;
      return { user_id, session_id, turn, state: resumed.state };
    },
  }),

  [MessageType.CancelTurn]: defineLive({
    schema: sessionRequest,
    failure: ErrorCode.InternalServerError,
    waits: NO_WAIT,
    atOnce: true,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { env }) => {
      const turn = await cancelTurn(env, user_id, session_id);
      return { user_id, session_id, turn };
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
