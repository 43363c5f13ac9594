// Owns the money rules of a turn: how much it reserves before its agent is called, and what a reported cost charges.
import { dollarsToMicros, tokenCostMicros } from "../money";

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
 * MAX_TURN_COST.
 */
export function turnBudgetMicros(prices: ModelPrices, promptChars: number, limits: BudgetLimits): number {
  const promptTokens = Math.ceil(promptChars / CHARS_PER_TOKEN) + FRAMING_TOKENS_PER_CALL;
  const turn = tokenCostMicros(prices, promptTokens, limits.maxOutputTokens);
  const summary = tokenCostMicros(prices, promptTokens + limits.maxOutputTokens, limits.maxOutputTokens);
  return Math.min(turn + summary, limits.maxTurnCostMicros);
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
  const micros = dollarsToMicros(reportedDollars);
  if (micros > maxTurnCostMicros && maxTurnCostMicros <= leftMicros) {
    return { chargeMicros: maxTurnCostMicros, adjusted: `reported cost $${reportedDollars} is above MAX_TURN_COST: capped` };
  }
  if (micros > leftMicros) return { chargeMicros: leftMicros, adjusted: `reported cost $${reportedDollars} is above the turn's reservation: capped` };
  return { chargeMicros: micros, adjusted: null };
}
