// Owns what a turn starts from: an answer given before to the same request (a client's retry), else the session as
// this object knows it, checked against the request, with the name and prompt the session has once the turn is in.
import { ChatError, ErrorCode } from "../../errors";
import { nameAfterTurn } from "../session-name";
import { requireSessionOwner } from "../session-record";
import type { LoadedTurn, Turn, TurnParts, TurnReply } from "./state";

/** The answer this session gave to a turn with the same request id within the window (a client's retry). */
export async function answeredBefore({ request }: Turn, { answers, store }: TurnParts): Promise<TurnReply | null> {
  if (!request.requestId) return null;
  const earlier = await answers.find(request.requestId, request.userId, Date.now());
  if (earlier || !request.isNew) return earlier;
  // A new session's id comes from its request id: one used before, past the window, must not start it again.
  if (await store.findSession(request.sessionId)) {
    throw new ChatError(ErrorCode.InvalidField, 'Invalid field "id": this request id already started a session; use a new id for a new message');
  }
  return null;
}

/** The session as this object knows it (none for a new session), checked against the request. */
export async function loadContext(turn: Turn, { store, live, journal, config }: TurnParts): Promise<LoadedTurn> {
  const { request } = turn;
  const context = request.isNew ? null : await live.load(store, request.sessionId, () => journal.settle());
  if (context) requireSessionOwner(context.session.userId, request.userId);

  const file = request.fileName ? (context?.files.find((f) => f.fileName === request.fileName) ?? null) : null;
  if (request.fileName && !file) throw new ChatError(ErrorCode.FileNotFound, `File not found in this session: ${request.fileName}`);

  const modelRef = request.model ?? (context ? { id: context.session.modelId } : null);
  if (!modelRef) throw new ChatError(ErrorCode.InvalidField, 'Invalid field "data.model_name": a new session needs model_name or model_id');

  const current = context ? { name: context.session.name, historyLength: context.nextSeq } : null;
  const sessionName = nameAfterTurn(current, request.message, file?.originalName ?? null, config.SESSION_NAME_MAX_CHARS);
  const prompt = request.sessionPrompt || context?.session.prompt || "";
  return { ...turn, context, file, modelRef, sessionName, prompt };
}
