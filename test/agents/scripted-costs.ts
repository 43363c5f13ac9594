// What the scripted test agent charges (dollars), shared with the tests that check balances.
export const DEFAULT_TURN_COST = 0.001234;
export const SUMMARY_COST = 0.0005;

/** What a reported cost charges: the agent reports float32 dollars; balances are integer micro-dollars. */
export const chargedMicros = (dollars: number) => Math.round(Math.fround(dollars) * 1e6);

/** Characters of each piece of the scripted agent's "usage:" replies. */
export const USAGE_PIECE_CHARS = 64;
