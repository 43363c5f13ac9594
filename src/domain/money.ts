// Owns money conversions: storage keeps integer micro-dollars, the wire and the agent speak dollars.
const MICROS_PER_DOLLAR = 1_000_000;

/**
 * The largest balance, and the largest amount an admin may set or add at once: one billion dollars. Balances and
 * ledger sums stay whole numbers of micro-dollars that a double holds exactly (Number.MAX_SAFE_INTEGER is about
 * 9 billion dollars). The database checks it in the same write as the change (storage/balance-change.ts).
 */
export const MAX_BALANCE_DOLLARS = 1_000_000_000;
export const MAX_BALANCE_MICROS = MAX_BALANCE_DOLLARS * MICROS_PER_DOLLAR;

export function dollarsToMicros(dollars: number): number {
  return Math.round(dollars * MICROS_PER_DOLLAR);
}

export function microsToDollars(micros: number): number {
  return micros / MICROS_PER_DOLLAR;
}

/** Cost of a call from token counts and a model's prices (micro-dollars per 1K tokens). */
export function tokenCostMicros(
  prices: { inputMicrosPer1k: number; outputMicrosPer1k: number },
  inputTokens: number,
  outputTokens: number,
): number {
  return Math.round((inputTokens * prices.inputMicrosPer1k + outputTokens * prices.outputMicrosPer1k) / 1000);
}
