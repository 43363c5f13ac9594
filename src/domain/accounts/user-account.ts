// Owns the Durable Object surface of a user's account (one object per user): authorizing a turn (model grants,
// cached) and reserving its money before its agent is called, finishing the reservation with the turn's charges,
// learning what the database committed, and hearing of the admin's changes. Its decisions run one at a time, so
// concurrent turns of any number of sessions never spend the same money twice.
import { DurableObject } from "cloudflare:workers";
import { configOf } from "../../config";
import type { AccountStore, ModelRecord, ModelRef } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { ChatError, ErrorCode, outcomeOf, TURN_FAILURE, type Outcome } from "../errors";
import { SerialQueue } from "../serial-queue";
import { requireModelAccess, unknownUser } from "./accounts";
import { GrantCache } from "./grant-cache";
import { Spendable, type CommittedCharge } from "./spendable";
import { insufficientBalance, turnBudgetMicros } from "../session/turn/charging";

export type { CommittedCharge } from "./spendable";

export interface TurnAuthorizationRequest {
  userId: string;
  reservationId: string;
  model: ModelRef;
  /** Characters the agent gets (prompt, summary, history, message): the reservation grows with them. */
  promptChars: number;
}

/** The model the turn may use and the money held for it. */
export interface AuthorizedTurn {
  model: ModelRecord;
  reservedMicros: number;
  /** What the user could spend before this reservation (the agent is told it as the balance). */
  spendableMicros: number;
}

export class UserAccount extends DurableObject<Env> {
  private readonly config = configOf(this.env);
  private readonly queue = new SerialQueue((done) => this.ctx.waitUntil(done));
  private readonly grants = new GrantCache(this.config.ACCOUNT_CACHE_TTL_MS);
  private store: AccountStore | null = null;
  private userId: string | null = null;
  private readonly spendable = new Spendable(this.ctx.storage, async () => {
    if (!this.userId) return null;
    return (await this.chatStore().findUser(this.userId))?.balanceMicros ?? null;
  });

  /** Checks that the user may use the model, then holds the most the turn may cost. */
  authorizeTurn(request: TurnAuthorizationRequest): Promise<Outcome<AuthorizedTurn>> {
    this.userId = request.userId;
    return outcomeOf(this.queue.run(() => this.authorize(request)), TURN_FAILURE);
  }

  /** The turn ended having charged `chargedMicros` (0: it failed); the rest of its reservation is free again. */
  finish(reservationId: string, chargedMicros: number): Promise<void> {
    return this.queue.run(() => this.spendable.finish(reservationId, chargedMicros, Date.now(), this.config.reservationTtlMs));
  }

  /** The database committed these charges; its balance after them, when the commit reported it. */
  committed(charges: CommittedCharge[], balanceAfterMicros: number | null): Promise<void> {
    return this.queue.run(() => this.spendable.committed(charges, balanceAfterMicros, Date.now()));
  }

  /** The admin API changed the user (grants, balance): read them again before the next decision. */
  accountChanged(): Promise<void> {
    return this.queue.run(async () => {
      this.grants.invalidate();
      this.spendable.balanceChanged();
    });
  }

  private async authorize({ userId, reservationId, model: ref, promptChars }: TurnAuthorizationRequest): Promise<AuthorizedTurn> {
    const read = async (modelRef: ModelRef) => {
      const authorization = await this.chatStore().authorizeTurn(userId, modelRef);
      if (authorization) this.spendable.knownBalance(authorization.balanceMicros); // one read for grant and balance
      return authorization;
    };
    const { model } = await requireModelAccess(await this.grants.access(read, ref, Date.now()), ref, userId, this.chatStore());
    const limits = { maxOutputTokens: this.config.MAX_OUTPUT_TOKENS, maxTurnCostMicros: this.config.maxTurnCostMicros };
    const wantMicros = turnBudgetMicros(model, promptChars, limits);
    const result = await this.spendable.reserve(
      reservationId,
      wantMicros,
      { maxInFlight: this.config.MAX_TURNS_IN_FLIGHT_PER_USER, ttlMs: this.config.reservationTtlMs },
      Date.now(),
    );
    switch (result.outcome) {
      case "reserved":
        return { model, reservedMicros: result.amountMicros, spendableMicros: result.spendableMicros };
      case "insufficient":
        throw insufficientBalance(model, wantMicros, result.spendableMicros);
      case "too-many-in-flight":
        throw new ChatError(ErrorCode.TooManyTurnsInFlight, `Too many turns in flight: at most ${this.config.MAX_TURNS_IN_FLIGHT_PER_USER} at once`);
      case "unknown-user":
        throw unknownUser(userId);
    }
  }

  private chatStore(): AccountStore {
    return (this.store ??= openStore(this.config.storage));
  }
}

export function accountObject(env: Env, userId: string): DurableObjectStub<UserAccount> {
  return env.ACCOUNTS.get(env.ACCOUNTS.idFromName(userId));
}
