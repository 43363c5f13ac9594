// Owns a turn's summary, after its reply and before the next turn (which needs it): asking for it (summaries.ts),
// what it charges, handing it to the next turn and journaling it with that charge. A summary that fails leaves the
// session's summary as it was; it never fails the turn.
import type { CommitReceipt } from "../journal";
import { summarizeTurn, type SummaryResult } from "../summaries";
import { chargeForSummary } from "./charging";
import type { JournaledTurn, TurnParts } from "./state";

/** A summary and what it charges. */
export interface ChargedSummary {
  summary: string;
  chargeMicros: number;
}

/** A summary as the turn's event publishes it: with its commit, or null when it could not be journaled (the event
 *  then waits for the turn's own commit). */
export interface StoredSummary {
  summary: string;
  committed: Promise<CommitReceipt> | null;
}

/** The summary after the turn and its charge out of what is left of the turn's reservation, or null when there is
 *  none or it failed. */
export async function summarize(turn: JournaledTurn, { agent, config, store }: TurnParts): Promise<ChargedSummary | null> {
  const { session } = turn;
  let result: SummaryResult | null;
  try {
    result = await summarizeTurn(
      { userId: session.userId, sessionId: session.id, model: turn.model, previousSummary: session.summary, userMessage: turn.request.message, assistantMessage: turn.answer.text },
      agent,
      config,
      store,
    );
  } catch (error) {
    console.error(`summary of session ${session.id} not updated`, error);
    return null;
  }
  if (!result) return null;
  return { summary: result.summary, chargeMicros: chargeForSummary(turn, result.costDollars, config) };
}

/** Hands the summary to the next turn and journals it with its charge. */
export async function storeSummary(turn: JournaledTurn, { summary, chargeMicros }: ChargedSummary, parts: TurnParts): Promise<StoredSummary> {
  const { session, budget } = turn;
  parts.live.summarized(turn.after, summary);
  try {
    // Not stored on its own: it goes with the next turn's journal entry or its batch (a crash in between loses
    // this summary and its charge, never a turn). One storage commit per turn instead of two.
    const { committed } = await parts.journal.add(
      {
        kind: "summary",
        summary: { sessionId: session.id, userId: session.userId, summary, chargeMicros, reservationId: budget.reservation.reservationId, at: Date.now() },
      },
      { durable: false },
    );
    budget.journaled(chargeMicros);
    return { summary, committed };
  } catch (error) {
    console.error(`summary of session ${session.id} not stored`, error);
    return { summary, committed: null };
  }
}
