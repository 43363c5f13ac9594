// Owns the money rules of a turn: how much it reserves before its agent is called, and what a reported cost charges.
import { dollarsToMicros, microsToDollars, tokenCostMicros } from "../money";

/** Characters a token of a reply is counted as when a cancelled turn is charged by its partial reply. */
const REPLY_CHARS_PER_TOKEN = 4;

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

/**
 * What a cancelled turn charges: the costs the agent reported before the cancel, or, when it reported none, the
 * partial reply's tokens at the model's output price; out of `leftMicros` as any reported cost.
 */
export function chargeForCancelledTurn(partialReply: string, reportedDollars: number, prices: ModelPrices, leftMicros: number, maxTurnCostMicros: number): Charge {
  if (reportedDollars !== 0) return chargeForReportedCost(reportedDollars, leftMicros, maxTurnCostMicros);
  const tokens = Math.ceil(partialReply.length / REPLY_CHARS_PER_TOKEN);
  return chargeForReportedCost(microsToDollars(tokenCostMicros(prices, 0, tokens)), leftMicros, maxTurnCostMicros);
}
