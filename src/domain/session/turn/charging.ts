// Owns the money rules of a turn: how much it reserves before its agent is called, and what it charges when it
// ends or is cancelled.
import { detailedError, ErrorCode, type ChatError } from "../../errors";
import { dollarsToMicros, microsToDollars, tokenCostMicros } from "../../money";

/** Characters a token is counted as when a cancelled turn is charged by its characters (prompt and partial reply):
 *  about what providers count for English text, so the charge follows the work rather than the reservation's margin. */
const CHARGED_CHARS_PER_TOKEN = 4;

/** A generous count: English text runs about 4 characters a token (3 leaves room for other scripts and code);
 *  a call adds some tokens of framing. */
const CHARS_PER_TOKEN = 3;
const FRAMING_TOKENS_PER_CALL = 200;

export interface BudgetLimits {
  maxOutputTokens: number;
  maxTurnCostMicros: number;
}

export interface ModelPrices {
  inputMicrosPer1k: number;
  outputMicrosPer1k: number;
}

/**
 * The most a turn may cost: its agent call (the prompt in, at most MAX_OUTPUT_TOKENS out) plus its summary (the
 * prompt and the reply in, at most MAX_OUTPUT_TOKENS out), at the session model's prices, and never more than
 * MAX_TURN_COST. A turn runs only if all of it is spendable (spendable.ts).
 */
export function turnBudgetMicros(prices: ModelPrices, promptChars: number, limits: BudgetLimits): number {
  const promptTokens = Math.ceil(promptChars / CHARS_PER_TOKEN) + FRAMING_TOKENS_PER_CALL;
  const turn = tokenCostMicros(prices, promptTokens, limits.maxOutputTokens);
  const summary = tokenCostMicros(prices, promptTokens + limits.maxOutputTokens, limits.maxOutputTokens);
  return Math.min(turn + summary, limits.maxTurnCostMicros);
}

/** Whether a turn may run: all of its reservation is spendable (so a dust balance buys no turn), and something is. */
export function reservationFits(spendableMicros: number, reservationMicros: number): boolean {
  return spendableMicros > 0 && spendableMicros >= reservationMicros;
}

export interface Charge {
  chargeMicros: number;
  /** Why the charge is not the reported cost, for the log; null when it is. */
  adjusted: string | null;
}

/**
 * What a cost the agent reported charges, out of `leftMicros` of the turn's reservation: a cost that is not a
 * number, negative or infinite is charged as what is left of the reservation; one above MAX_TURN_COST or above
 * what is left is capped.
 */
export function chargeForReportedCost(reportedDollars: number, leftMicros: number, maxTurnCostMicros: number): Charge {
  if (!Number.isFinite(reportedDollars) || reportedDollars < 0) {
    return { chargeMicros: leftMicros, adjusted: `reported cost ${reportedDollars} is not a cost: charged the reservation` };
  }
  return capped(dollarsToMicros(reportedDollars), `reported cost $${reportedDollars}`, leftMicros, maxTurnCostMicros);
}

/** What a cancelled turn did, as far as its charge goes. */
export interface CancelledWork {
  /** Characters the agent was sent (prompt, summary, history, message): the prompt it was paid to read. */
  promptChars: number;
  /** Characters of the partial reply the user got. */
  deliveredChars: number;
  /** Costs the agent reported: in the chunks before the cancel and in a usage chunk after it (0: none). */
  reportedDollars: number;
}

/**
 * What a cancelled turn charges: its prompt and the output delivered (characters / 4, rounded up, each at the
 * model's input and output price), or what the agent reported if that is more; a cancel before the first piece
 * pays the prompt. Out of `leftMicros` as any reported cost, and a reported cost that is not a cost charges the
 * reservation as it does for any turn.
 */
export function chargeForCancelledTurn(work: CancelledWork, prices: ModelPrices, leftMicros: number, maxTurnCostMicros: number): Charge {
  const estimated = tokenCostMicros(prices, Math.ceil(work.promptChars / CHARGED_CHARS_PER_TOKEN), Math.ceil(work.deliveredChars / CHARGED_CHARS_PER_TOKEN));
  if (work.reportedDollars !== 0) {
    const reported = chargeForReportedCost(work.reportedDollars, leftMicros, maxTurnCostMicros);
    if (reported.chargeMicros >= estimated) return reported;
  }
  return capped(estimated, `cancelled turn's prompt and delivered reply (${estimated} micro-dollars)`, leftMicros, maxTurnCostMicros);
}

/** `micros` charged as it is, unless it is above MAX_TURN_COST or above what is left of the reservation. */
function capped(micros: number, what: string, leftMicros: number, maxTurnCostMicros: number): Charge {
  if (micros > maxTurnCostMicros && maxTurnCostMicros <= leftMicros) return { chargeMicros: maxTurnCostMicros, adjusted: `${what} is above MAX_TURN_COST: capped` };
  if (micros > leftMicros) return { chargeMicros: leftMicros, adjusted: `${what} is above the turn's reservation: capped` };
  return { chargeMicros: micros, adjusted: null };
}

/** Code 15 for a turn whose whole reservation does not fit, saying what it reserves and what is left for it. */
export function insufficientBalance(model: { name: string }, reservationMicros: number, spendableMicros: number): ChatError {
  const detail = `this turn reserves $${microsToDollars(reservationMicros)} (its prompt, and up to MAX_OUTPUT_TOKENS of reply at ${model.name}'s prices, at most MAX_TURN_COST); the balance leaves $${microsToDollars(Math.max(0, spendableMicros))} for it: top up, or send a shorter prompt`;
  return detailedError(ErrorCode.InsufficientBalance, detail);
}
