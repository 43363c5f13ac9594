// Owns what an answered turn changes and how it becomes durable: the session record and history entries it adds,
// its reply and charge, journaled in the session object's own storage (with its answer for retries and its staged
// chat event) before the reply goes out; the database gets it behind the reply (journal.ts).
import type { Config } from "../../../config";
import type { HistoryEntry } from "../../../storage/chat-store";
import { ChatError, ErrorCode } from "../../errors";
import type { CommitReceipt } from "../journal";
import { newSessionRecord } from "../session-record";
import { chargeForReply } from "./charging";
import type { AgentAnswer, JournaledTurn, LiveTurnState, RecordedTurn, TurnParts, TurnReply } from "./state";

/** What the turn changes: the session record and the history entries it adds; and its reply and charge. */
export function recordTurn(turn: LiveTurnState, answer: AgentAnswer, config: Config): RecordedTurn {
  const { request, context, file, model, sessionName: name, prompt } = turn;
  const at = Date.now();
  const session = context
    ? { ...context.session, modelId: model.id, name, prompt, lastActiveAt: at }
    : newSessionRecord({ id: request.sessionId, userId: request.userId, modelId: model.id, name, prompt }, at);
  const entries: HistoryEntry[] = [
    { role: "user", content: request.message },
    { role: "assistant", content: answer.text },
    ...(file ? [{ role: "file" as const, content: file.fileName }] : []),
  ];
  const reply: TurnReply = { sessionId: session.id, sessionName: session.name, message: answer.text, ...(answer.cancelled ? { cancelled: true } : {}) };
  const chargeMicros = chargeForReply(turn, answer, config);
  return { ...turn, answer, chargeMicros, session, entries, firstSeq: context?.nextSeq ?? 0, at, reply };
}

/**
 * Stages the turn's event, then journals the turn durably in this object's storage: once this returns, the reply
 * may go out (the database gets the turn behind it; until then the user's account holds its charge).
 */
export async function journalTurn(turn: RecordedTurn, parts: TurnParts): Promise<JournaledTurn> {
  const { request, context, entries, firstSeq, chargeMicros, at, reply, budget } = turn;
  const isNew = context === null;
  const staged = parts.outbox
    ? await parts.outbox.stageTurn(
        { session: turn.session, entries, firstSeq, balanceMicros: budget.reservation.spendableMicros - chargeMicros },
        () => historySoFar(turn, parts),
      )
    : null;
  const session = staged?.event.isNew ? { ...turn.session, streamed: true } : turn.session;
  const { requestId } = request;
  const answer = requestId ? parts.answers.entry(requestId, session.userId, reply, at) : {};
  let committed: Promise<CommitReceipt>;
  try {
    ({ committed } = await parts.journal.add(
      { kind: "turn", turn: { session, isNew, entries, firstSeq, chargeMicros, reservationId: budget.reservation.reservationId, at } },
      // The answer is kept with the turn, so a retry finds it whenever the turn is kept; so is the turn count.
      { durable: true, alongside: { ...parts.liveTurns.journalEntries(), ...answer } },
    ));
    if (requestId) parts.answers.kept(requestId, { userId: session.userId, reply, at });
  } catch (error) {
    if (staged) await parts.outbox?.drop(session.id, firstSeq);
    throw new ChatError(isNew ? ErrorCode.UnableToCreateSession : ErrorCode.InternalServerError, undefined, error);
  }
  budget.journaled(chargeMicros);
  const after = parts.live.turnJournaled(context, session, entries);
  return { ...turn, session, after, staged, committed };
}

/** The session's whole history before this turn (for the event that first brings it to the stream), its earlier
 *  turns committed first. */
async function historySoFar({ session }: RecordedTurn, { journal, store }: TurnParts): Promise<HistoryEntry[]> {
  await journal.settle();
  return store.readHistory(session.id);
}
