// What the scripted test agent charges (dollars), shared with the tests that check balances.
export const DEFAULT_TURN_COST = 0.001234;
export const SUMMARY_COST = 0.0005;
