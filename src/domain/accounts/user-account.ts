// Owns the Durable Object surface of a user's account (one object per user): the lender of the credit lease. It
// checks a session's model (grants cached) and lends it money for its turns (spendable.ts), takes in what sessions
// report of their leases (commits, money given back), recalls unused money when another session needs it, and
// hears of the admin's changes (every lease comes back). Its decisions run one at a time, so concurrent sessions
// never spend the same money twice; a warm turn does not call it at all (credit-lease.ts).
import { DurableObject } from "cloudflare:workers";
import { configOf } from "../../config";
import type { ChatSession } from "../session/chat-session";
import type { AccountStore, ModelRecord, ModelRef } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { outcomeOf, TURN_FAILURE, type Outcome } from "../errors";
import { SerialQueue } from "../serial-queue";
import { requireModelAccess } from "./accounts";
import { GrantCache } from "./grant-cache";
import { lendRecalling, recallAll, Spendable, type LeaseState, type LendRequest, type LendResult, type Recall } from "./spendable";
import { turnBudgetMicros } from "../session/turn/charging";

/** What a turn asks of the user's money, served by its session's lease (turn.ts names them here). */
export type { AuthorizedTurn, TurnAuthorizationRequest } from "./credit-lease";

/** A lend answered: the model the session may use, and the lease as the account left it. */
export interface Lent {
  model: ModelRecord;
  result: LendResult;
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
  private readonly serially = <T>(task: () => Promise<T>) => this.queue.run(task);
  private readonly recall: Recall = (sessionId, lent) => this.sessionObject(sessionId).recallLease(this.userId!, lent);
  private readonly sessions = new Map<string, DurableObjectStub<ChatSession>>();

  /** Checks that the user may use the model, then lends the session what a turn of `promptChars` wants, and more. */
  lend(userId: string, model: ModelRef, promptChars: number, request: Omit<LendRequest, "wantMicros">): Promise<Outcome<Lent>> {
    this.userId = userId;
    return outcomeOf(this.authorizeAndLend(userId, model, promptChars, request), TURN_FAILURE);
  }

  /** A session reports its lease: charges committed (with its next call, or at once when it holds nothing), money given back. */
  released(userId: string, state: LeaseState): Promise<void> {
    this.userId = userId;
    return this.queue.run(() => this.spendable.released(state));
  }

  /** A deleted session gave back all its lease holds: the account forgets the lease (what is still out stays lent). */
  leaseClosed(userId: string, state: LeaseState): Promise<void> {
    this.userId ??= userId;
    return this.queue.run(() => this.spendable.closed(state));
  }

  /** The admin API changed the user (grants, balance) or a model they may use: read them again, recall every lease. */
  accountChanged(): Promise<void> {
    this.grants.invalidate();
    return recallAll(this.spendable, this.serially, this.recall);
  }

  private async authorizeAndLend(userId: string, ref: ModelRef, promptChars: number, request: Omit<LendRequest, "wantMicros">): Promise<Lent> {
    const read = async (modelRef: ModelRef) => {
      const authorization = await this.chatStore().authorizeTurn(userId, modelRef);
      if (authorization) this.spendable.knownBalance(authorization.balanceMicros); // one read for grant and balance
      return authorization;
    };
    const { model } = await requireModelAccess(await this.serially(() => this.grants.access(read, ref, Date.now())), ref, userId, this.chatStore());
    const limits = { maxOutputTokens: this.config.MAX_OUTPUT_TOKENS, maxTurnCostMicros: this.config.maxTurnCostMicros };
    const result = await lendRecalling(this.spendable, this.serially, this.recall, { ...request, wantMicros: turnBudgetMicros(model, promptChars, limits) });
    return { model, result };
  }

  /** One stub per session object for the account's lifetime. */
  private sessionObject(sessionId: string): DurableObjectStub<ChatSession> {
    let stub = this.sessions.get(sessionId);
    if (!stub) this.sessions.set(sessionId, (stub = this.env.SESSIONS.get(this.env.SESSIONS.idFromName(sessionId))));
    return stub;
  }

  private chatStore(): AccountStore {
    return (this.store ??= openStore(this.config.storage));
  }
}

export function accountObject(env: Env, userId: string): DurableObjectStub<UserAccount> {
  return env.ACCOUNTS.get(env.ACCOUNTS.idFromName(userId));
}
