// Owns the dispatch table: for each message type, its data schema, its failure code and its handler.
import type { z } from "zod";
import type { Config } from "../../config";
import { grantedModels, requireUser } from "../../domain/accounts";
import { ErrorCode, unwrap } from "../../domain/errors";
import { microsToDollars } from "../../domain/money";
import { listSessions, sessionHistory, sessionObject, settleWrites } from "../../domain/sessions";
import type { ChatStore, ModelRef } from "../../storage/chat-store";
import { chatMessageRequest, sessionRequest, userRequest, type ChatMessageRequest } from "./frames";

export interface HandlerContext {
  env: Env;
  config: Config;
  store: ChatStore;
  /** Origin the socket connected to. */
  origin: string;
  /** Sessions this connection's turns wrote to since its last read: reads wait for those writes first. */
  writtenSessions: Set<string>;
}

export interface MessageHandler {
  schema: z.ZodType;
  /** The original's answer when the handler fails unexpectedly (storage down, bug). */
  failure: ErrorCode;
  handle(data: unknown, ctx: HandlerContext): Promise<Record<string, unknown>>;
}

function define<S extends z.ZodType>(
  schema: S,
  failure: ErrorCode,
  handle: (data: z.output<S>, ctx: HandlerContext) => Promise<Record<string, unknown>>,
): MessageHandler {
  return { schema, failure, handle: (data, ctx) => handle(data as z.output<S>, ctx) };
}

export const messageHandlers: Readonly<Record<number, MessageHandler>> = {
  0: define(userRequest, ErrorCode.InternalServerError, async ({ user_id }, { store }) => {
    const user = await requireUser(store, user_id);
    return { user_id: user.id, username: user.username };
  }),

  1: define(userRequest, ErrorCode.UnableToLoadSession, async ({ user_id }, { env, store, writtenSessions }) => {
    await settleWrites(env, writtenSessions);
    const sessions = await listSessions(store, user_id);
    return { user_id, session_info: sessions.map((s) => ({ session_id: s.id, session_name: s.name })) };
  }),

  2: define(sessionRequest, ErrorCode.UnableToLoadChats, async ({ user_id, session_id }, { env, store, writtenSessions }) => {
    // The session's own object is asked too: its history reads complete whichever connection wrote the last turn.
    writtenSessions.add(session_id);
    await settleWrites(env, writtenSessions);
    const history = await sessionHistory(store, user_id, session_id);
    return { user_id, session_id, chat: JSON.stringify(history) };
  }),

  3: define(chatMessageRequest, ErrorCode.UnableToReceiveResponse, sendChatMessage),

  4: define(sessionRequest, ErrorCode.UnableToDeleteSession, async ({ user_id, session_id }, { env }) => {
    unwrap(await sessionObject(env, session_id).remove(user_id, session_id));
    return { user_id };
  }),

  5: define(userRequest, ErrorCode.UnableToListModels, async ({ user_id }, { store }) => {
    const models = await grantedModels(store, user_id);
    return { models: models.map((m) => m.name) };
  }),

  6: define(userRequest, ErrorCode.UnableToGetBalance, async ({ user_id }, { env, store, writtenSessions }) => {
    await settleWrites(env, writtenSessions);
    const user = await requireUser(store, user_id);
    return { balance: microsToDollars(user.balanceMicros) };
  }),
};

async function sendChatMessage(data: ChatMessageRequest, { env, origin, writtenSessions }: HandlerContext) {
  const isNew = data.session_id === "NEW";
  const sessionId = isNew ? crypto.randomUUID() : data.session_id;
  const model: ModelRef | null =
    data.model_id != null ? { id: data.model_id } : data.model_name ? { name: data.model_name } : null;
  const reply = unwrap(
    await sessionObject(env, sessionId).turn({
      userId: data.user_id,
      sessionId,
      isNew,
      model,
      message: data.message,
      sessionPrompt: data.session_prompt ?? "",
      fileName: data.file_name ?? null,
      requestOrigin: origin,
    }),
  );
  writtenSessions.add(reply.sessionId);
  return { user_id: data.user_id, session_id: reply.sessionId, session_name: reply.sessionName, message: reply.message };
}
