// Owns a turn's money: the reservation its session's credit lease holds for it (made before the agent is called,
// finished when the turn ends), what the turn charges out of it (its reply's reported cost or,
// cancelled, its prompt and delivered reply; then its summary's), and the rules behind both.
import type { Config } from "../../../config";
import type { AuthorizedTurn, TurnAuthorizationRequest } from "../../accounts/user-account";
import { detailedError, ErrorCode, unwrap, type ChatError, type Outcome } from "../../errors";
import { dollarsToMicros, microsToDollars, tokenCostMicros } from "../../money";
import type { AgentAnswer, LiveTurnState, LoadedTurn, RecordedTurn, ReservedTurn, TurnParts } from "./state";

// The seam to the user's account: `Account`, and where it is called or its reservation changes: `reserve`,
// `TurnBudget.journaled` and `finishReservation`.

/** The user's money, as a turn uses it: its session's credit lease (accounts/credit-lease.ts), which asks the
 *  user's account object only when it runs short. */
export interface Account {
  authorizeTurn(request: TurnAuthorizationRequest): Promise<Outcome<AuthorizedTurn>>;
  finish(reservationId: string, chargedMicros: number): Promise<void>;
}

/** The money held for one turn out of the session's lease. */
export interface Reservation {
  reservationId: string;
  reservedMicros: number;
  /** What the user could spend when the turn was reserved (the agent is told it as the balance). */
  spendableMicros: number;
  /** Characters the agent is sent: what a cancelled turn pays as its prompt. */
  promptChars: number;
}

/** A turn's reservation and what its journaled writes charge out of it so far. */
export class TurnBudget {
  private journaledMicros = 0;

  constructor(readonly reservation: Reservation) {}

  /** What the turn's journaled writes charge: what its lease keeps holding once the turn ends. */
  get chargedMicros(): number {
    return this.journaledMicros;
  }

  /** One of the turn's writes (its reply's, then its summary's) is journaled with this charge. */
  journaled(chargeMicros: number): void {
    this.journaledMicros += chargeMicros;
  }

  /** How much the turn's next charge may be: what is left of the reservation, and MAX_TURN_COST. */
  room(config: Config): ChargeRoom {
    return { leftMicros: this.reservation.reservedMicros - this.journaledMicros, maxTurnCostMicros: config.maxTurnCostMicros };
  }
}

/** The user may use the model and the money the turn may cost is held, whatever other sessions of the user do
 *  (out of the session's lease: a warm turn reads nothing and calls no other object). */
export async function reserve(turn: LoadedTurn, { accountOf }: TurnParts): Promise<ReservedTurn> {
  const { request, context } = turn;
  const historyChars = context?.recent.reduce((sum, entry) => sum + entry.content.length, 0) ?? 0;
  const promptChars = turn.prompt.length + request.message.length + (context?.session.summary.length ?? 0) + historyChars;
  const reservationId = crypto.randomUUID();
  const authorized = unwrap(await accountOf(request.userId).authorizeTurn({ userId: request.userId, reservationId, model: turn.modelRef, promptChars }));
  const budget = new TurnBudget({ reservationId, reservedMicros: authorized.reservedMicros, spendableMicros: authorized.spendableMicros, promptChars });
  return { ...turn, model: authorized.model, budget };
}

/** The turn ended: the lease keeps holding what it charged until the database has it, and frees the rest. */
export function finishReservation({ request, budget }: ReservedTurn, { accountOf, keepAlive }: TurnParts): void {
  const { reservationId } = budget.reservation;
  const finished = accountOf(request.userId)
    .finish(reservationId, budget.chargedMicros)
    .catch((error: unknown) => console.error(`reservation ${reservationId} not finished`, error));
  keepAlive(finished);
}

/** What the agent's reply charges: its reported cost or, when a client cancelled the turn, the cancel rule (its
 *  prompt and the reply delivered, or the reported cost if that is more). */
export function chargeForReply({ request, model, budget }: LiveTurnState, answer: AgentAnswer, config: Config): number {
  const room = budget.room(config);
  if (answer.cancelled) {
    const work = { promptChars: budget.reservation.promptChars, deliveredChars: answer.text.length, reportedDollars: answer.reportedDollars };
    const charge = chargeForCancelledTurn(work, model, room);
    if (charge.adjusted) console.warn(`cancelled turn of session ${request.sessionId}: ${charge.adjusted}`);
    return charge.chargeMicros;
  }
  const charge = chargeForReportedCost(answer.reportedDollars, room);
  if (charge.adjusted) console.warn(`turn of session ${request.sessionId}: ${charge.adjusted}`);
  return charge.chargeMicros;
}

/** What the summary charges: its reported cost, out of what is left of the turn's reservation. */
export function chargeForSummary({ session, budget }: RecordedTurn, costDollars: number, config: Config): number {
  const charge = chargeForReportedCost(costDollars, budget.room(config));
  if (charge.adjusted) console.warn(`summary of session ${session.id}: ${charge.adjusted}`);
  return charge.chargeMicros;
}

// The rules, pure: what a turn reserves (the account object sizes reservations with them too), and what a reported
// cost or a cancel charges out of it.

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

/** How much a charge may be. */
export interface ChargeRoom {
  /** What is left of the turn's reservation. */
  leftMicros: number;
  maxTurnCostMicros: number;
}

export interface Charge {
  chargeMicros: number;
  /** Why the charge is not the reported cost, for the log; null when it is. */
  adjusted: string | null;
}

/**
 * What a cost the agent reported charges, out of what is left of the turn's reservation: a cost that is not a
 * number, negative or infinite is charged as what is left of the reservation; one above MAX_TURN_COST or above
 * what is left is capped.
 */
export function chargeForReportedCost(reportedDollars: number, room: ChargeRoom): Charge {
  if (!Number.isFinite(reportedDollars) || reportedDollars < 0) {
    return { chargeMicros: room.leftMicros, adjusted: `reported cost ${reportedDollars} is not a cost: charged the reservation` };
  }
  return capped(dollarsToMicros(reportedDollars), `reported cost $${reportedDollars}`, room);
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
 * pays the prompt. Out of what is left of the reservation as any reported cost, and a reported cost that is not a cost charges the
 * reservation as it does for any turn.
 */
export function chargeForCancelledTurn(work: CancelledWork, prices: ModelPrices, room: ChargeRoom): Charge {
  const estimated = tokenCostMicros(prices, Math.ceil(work.promptChars / CHARGED_CHARS_PER_TOKEN), Math.ceil(work.deliveredChars / CHARGED_CHARS_PER_TOKEN));
  if (work.reportedDollars !== 0) {
    const reported = chargeForReportedCost(work.reportedDollars, room);
    if (reported.chargeMicros >= estimated) return reported;
  }
  return capped(estimated, `cancelled turn's prompt and delivered reply (${estimated} micro-dollars)`, room);
}

/** `micros` charged as it is, unless it is above MAX_TURN_COST or above what is left of the reservation. */
function capped(micros: number, what: string, { leftMicros, maxTurnCostMicros }: ChargeRoom): Charge {
  if (micros > maxTurnCostMicros && maxTurnCostMicros <= leftMicros) return { chargeMicros: maxTurnCostMicros, adjusted: `${what} is above MAX_TURN_COST: capped` };
  if (micros > leftMicros) return { chargeMicros: leftMicros, adjusted: `${what} is above the turn's reservation: capped` };
  return { chargeMicros: micros, adjusted: null };
}

/** Code 15 for a turn whose whole reservation does not fit, saying what it reserves and what is left for it. */
export function insufficientBalance(model: { name: string }, reservationMicros: number, spendableMicros: number): ChatError {
  const detail = `this turn reserves $${microsToDollars(reservationMicros)} (its prompt, and up to MAX_OUTPUT_TOKENS of reply at ${model.name}'s prices, at most MAX_TURN_COST); the balance leaves $${microsToDollars(Math.max(0, spendableMicros))} for it: top up, or send a shorter prompt`;
  return detailedError(ErrorCode.InsufficientBalance, detail);
}
