// Owns one chat turn, as its steps in order: answer a retry from the answer log, load the context, reserve its
// money, start it live, call the agent (streaming its reply to the watchers), record and journal the turn (durable
// before the reply), end it live, reply; then summarize, store the summary, publish the event and finish the
// reservation. Each step takes the turn as the steps before left it (state.ts) and the session object's parts.
import { logTurn, type TurnRecord } from "../../../observability/log";
import { failureOf, TURN_FAILURE } from "../../errors";
import type { Respond } from "../../serial-queue";
import { callAgent } from "./agent-call";
import { finishReservation, reserve } from "./charging";
import { answeredBefore, loadContext } from "./context";
import { journalTurn, recordTurn } from "./journal-turn";
import type { JournaledTurn, LiveTurnState, ReservedTurn, Turn, TurnParts, TurnReply, TurnRequest } from "./state";
import { storeSummary, summarize, type StoredSummary } from "./summary";

export type { TurnParts, TurnReply, TurnRequest } from "./state";

/** Answers one chat message: `respond` gets the reply once the turn is durable; the rest runs before the next
 *  turn. The turn is logged once it ends, however it ends. */
export async function runTurn(request: TurnRequest, parts: TurnParts, respond: Respond<TurnReply>): Promise<void> {
  const started = Date.now();
  const turn: Turn = { request, log: logRecord(request) };
  const respondLogged: Respond<TurnReply> = (reply) => {
    turn.log.replyMs = Date.now() - started;
    turn.log.cancelled = reply.cancelled ?? false;
    respond(reply);
  };
  try {
    await turnSteps(turn, parts, respondLogged);
  } catch (error) {
    turn.log.code = failureOf(error, TURN_FAILURE).code;
    throw error;
  } finally {
    logTurn(turn.log, parts.metrics);
  }
}

async function turnSteps(turn: Turn, parts: TurnParts, respond: Respond<TurnReply>): Promise<void> {
  const earlier = await answeredBefore(turn, parts);
  turn.log.replayed = earlier !== null;
  if (earlier) return respond(earlier);
  const reserved = await reserve(await loadContext(turn, parts), parts);
  turn.log.model = reserved.model.name;
  try {
    const journaled = await answerLive(await startLive(reserved, parts), parts);
    respond(journaled.reply);

    const summary = await summarize(journaled, parts);
    const stored = summary ? await storeSummary(journaled, summary, parts) : null;
    publish(journaled, stored, parts);
  } finally {
    turn.log.chargeMicros = reserved.budget.chargedMicros;
    finishReservation(reserved, parts);
  }
}

/** The turn is accepted: it gets its number and its watchers learn that it started. */
async function startLive(turn: ReservedTurn, { liveTurns }: TurnParts): Promise<LiveTurnState> {
  const { request } = turn;
  const liveTurn = await liveTurns.start({
    userId: request.userId,
    sessionId: request.sessionId,
    sessionName: turn.sessionName,
    userMessage: request.message,
    watcher: request.watcher,
  });
  turn.log.turn = liveTurn.number;
  return { ...turn, liveTurn };
}

/** The turn from the agent call to its durable journal entry, told as it happens to the hubs that watch the
 *  session; its last event reaches the requesting socket before its reply. */
async function answerLive(turn: LiveTurnState, parts: TurnParts): Promise<JournaledTurn> {
  let journaled: JournaledTurn;
  try {
    const agentStarted = Date.now();
    const answer = await callAgent(turn, parts).finally(() => (turn.log.agentMs = Date.now() - agentStarted));
    journaled = await journalTurn(recordTurn(turn, answer, parts.config), parts);
  } catch (error) {
    const failure = failureOf(error, TURN_FAILURE);
    await turn.liveTurn.end({ event: "error", code: failure.code, message: failure.message });
    throw error;
  }
  // The turn is journaled: from here on it has happened, whatever its live ending meets.
  await turn.liveTurn.end(journaled.answer.cancelled ? { event: "cancelled" } : { event: "end" });
  return journaled;
}

/** Mirrors the turn once it and its summary are in the database (outbox.ts); the next turn need not wait for that. */
function publish(turn: JournaledTurn, summary: StoredSummary | null, { outbox }: TurnParts): void {
  if (!outbox || !turn.staged) return;
  outbox.publishTurn(turn.staged, summary?.summary ?? null, summary?.committed ?? turn.committed);
}

/** The turn's log line as it starts: nothing known yet but who asked. */
function logRecord({ sessionId, userId, requestId }: TurnRequest): TurnRecord {
  return { sessionId, userId, requestId, model: null, turn: null, code: 0, cancelled: false, replayed: false, replyMs: null, agentMs: null, chargeMicros: 0 };
}
