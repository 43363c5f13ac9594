// Owns the dispatch table: for each message type, its failure code, the writes it waits for (read-your-writes), the
// write it makes, and its handler, which reads what the type's schema read (frames.ts) and must return the type's
// answer (protocol/messages.ts).
import type { z } from "zod";
import { MessageType, type Answers, type RequestType, type TurnEvent } from "../../../protocol";
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
import { requestSchemas, type RequestData } from "./frames";
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

/** Any type's answer, once the table has checked each against its type. */
type Answer = Answers[RequestType];

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

/** Type T's entry, as written in the table: typed by T's schema output and T's answer. */
interface Entry<T extends RequestType, C = HandlerContext> {
  failure: ErrorCode;
  waits: Waits<RequestData<T>>;
  reaches?: (data: RequestData<T>) => SessionAccess;
  wrote?: (answer: Answers[T]) => string;
  atOnce?: boolean;
  liveOnly?: boolean;
  handle: (data: RequestData<T>, ctx: C) => Promise<Answers[T]>;
}

/** One entry for every message type a client sends; a type missing or an answer of the wrong shape fails to compile. */
type Entries = { [T in RequestType]: Entry<T> };

/** The table as the dispatcher uses it: each entry with its type's schema, its data and answer no longer typed. */
function table(entries: Entries): Readonly<Record<number, MessageHandler>> {
  const handlerOf = <T extends RequestType>(type: T): MessageHandler => define(type, entries[type]);
  return Object.fromEntries((Object.keys(entries).map(Number) as RequestType[]).map((type) => [type, handlerOf(type)]));
}

function define<T extends RequestType>(type: T, entry: Entry<T>): MessageHandler {
  const { failure, waits, reaches, wrote, handle } = entry;
  // The dispatcher passes only what requestSchemas[type] parsed, and answers only what `handle` returned.
  const dataOf = (data: unknown) => data as RequestData<T>;
  return {
    schema: requestSchemas[type],
    failure,
    atOnce: entry.atOnce ?? false,
    liveOnly: entry.liveOnly ?? false,
    reaches: reaches && ((data) => reaches(dataOf(data))),
    waitsFor: (data, connectionWrites) => {
      const sessions = new Set(waits.connectionWrites ? connectionWrites : []);
      if (waits.session) sessions.add(waits.session(dataOf(data)));
      return [...sessions];
    },
    wrote: wrote && ((answer) => wrote(answer as Answers[T])),
    handle: (data, ctx) => handle(dataOf(data), ctx),
  };
}

/** A protocol v2 type: its handler gets the socket's live side. */
function forLiveSockets<T extends RequestType>(entry: Entry<T, HandlerContext & { live: LiveSocket }>): Entry<T> {
  return {
    ...entry,
    liveOnly: true,
    handle: (data, ctx) => {
      if (!ctx.live) throw new ChatError(ErrorCode.UnknownMessage); // the dispatcher answers a v1 socket before this
      return entry.handle(data, { ...ctx, live: ctx.live });
    },
  };
}

export const messageHandlers = table({
  [MessageType.UserDetails]: {
    failure: ErrorCode.InternalServerError,
    waits: NO_WAIT,
    handle: async ({ user_id }, { store }) => {
      const user = await requireUser(store, user_id);
      return { user_id: user.id, username: user.username };
    },
  },

  [MessageType.SessionList]: {
    failure: ErrorCode.UnableToLoadSession,
    waits: { connectionWrites: true },
    handle: async ({ user_id }, { store }) => {
      const sessions = await listSessions(store, user_id);
      return { user_id, session_info: sessions.map((s) => ({ session_id: s.id, session_name: s.name })) };
    },
  },

  [MessageType.SessionChats]: {
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
  },

  [MessageType.ChatMessage]: {
    failure: TURN_FAILURE,
    waits: NO_WAIT,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    wrote: (answer) => answer.session_id,
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
  },

  [MessageType.DeleteSession]: {
    failure: ErrorCode.UnableToDeleteSession,
    waits: NO_WAIT, // the session's object commits its writes before deleting
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { env, live }) => {
      await deleteSession(env, user_id, session_id);
      live?.forget(session_id);
      return { user_id };
    },
  },

  [MessageType.ModelList]: {
    failure: ErrorCode.UnableToListModels,
    waits: NO_WAIT,
    handle: async ({ user_id }, { store }) => {
      const models = await grantedModels(store, user_id);
      return { models: models.map((m) => m.name) };
    },
  },

  [MessageType.ResumeTurn]: forLiveSockets({
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

  [MessageType.CancelTurn]: forLiveSockets({
    failure: ErrorCode.InternalServerError,
    waits: NO_WAIT,
    atOnce: true,
    reaches: (data) => ({ userId: data.user_id, sessionId: data.session_id }),
    handle: async ({ user_id, session_id }, { env }) => {
      const turn = await cancelTurn(env, user_id, session_id);
      return { user_id, session_id, turn };
    },
  }),

  [MessageType.Balance]: {
    failure: ErrorCode.UnableToGetBalance,
    waits: { connectionWrites: true },
    handle: async ({ user_id }, { store }) => {
      const user = await requireUser(store, user_id);
      return { balance: microsToDollars(user.balanceMicros) };
    },
  },
});
