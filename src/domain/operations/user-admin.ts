// Owns operator reads and changes of users: listing them a page at a time, reading a user's ledger, creating
// users, granting models, setting or topping up balances.
import type { AccountStore, AdminStore, LedgerEntry, LedgerPosition, UserChanges, UserPageQuery, UserPosition, UserWithModels } from "../../storage/chat-store";
import { unknownUser } from "../accounts/accounts";
import { ChatError, ErrorCode } from "../errors";
import { dollarsToMicros, MAX_BALANCE_DOLLARS, microsToDollars } from "../money";
import { BalanceOutOfBounds } from "../../storage/balance-change";
import { accountObject } from "../accounts/user-account";
import { waitForCommits } from "./session-objects";

export interface NewUserInput {
  userId?: string;
  username: string;
  modelIds: number[];
  balanceDollars: number;
}

export interface UserChangesInput {
  username?: string;
  balanceDollars?: number;
  addBalanceDollars?: number;
  modelIds?: number[];
}

/** A page of a listing and where the next one starts (null: this is the last page). */
export interface Page<T, P> {
  items: T[];
  next: P | null;
}

/** Users in the order they were created (then by id), `limit` at a time. */
export async function listUsers(store: AdminStore, query: UserPageQuery): Promise<Page<UserWithModels, UserPosition>> {
  const users = await store.listUsers({ ...query, limit: query.limit + 1 });
  const items = users.slice(0, query.limit);
  const last = items.at(-1);
  return { items, next: users.length > query.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}

/** A user's ledger, newest first, `limit` entries at a time. */
export async function userLedger(store: AccountStore & AdminStore, userId: string, limit: number, after: LedgerPosition | null): Promise<Page<LedgerEntry, LedgerPosition>> {
  if (!(await store.findUser(userId))) throw unknownUser(userId, "User not found");
  const entries = await store.listLedger(userId, limit + 1, after);
  const items = entries.slice(0, limit);
  const last = items.at(-1);
  return { items, next: entries.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}

export async function createUser(store: AccountStore & AdminStore, input: NewUserInput): Promise<UserWithModels> {
  const modelIds = await requireGrantableModels(store, input.modelIds, []);
  const id = input.userId ?? crypto.randomUUID();
  const creation = await store.createUser({ id, username: input.username, balanceMicros: dollarsToMicros(input.balanceDollars), modelIds }, Date.now());
  if (!creation.created) throw new ChatError(ErrorCode.UserExists, `User ${id} already exists`);
  return creation.user;
}

/** Applies the changes; the user's account object forgets what it cached of them. */
export async function changeUser(
  env: Env,
  store: AccountStore & AdminStore,
  recentSessionsMs: number,
  userId: string,
  input: UserChangesInput,
): Promise<UserWithModels> {
  const changes: UserChanges = {
    username: input.username,
    setBalanceMicros: input.balanceDollars === undefined ? undefined : dollarsToMicros(input.balanceDollars),
    addBalanceMicros: input.addBalanceDollars === undefined ? undefined : dollarsToMicros(input.addBalanceDollars),
    modelIds: input.modelIds === undefined ? undefined : await requireGrantableModels(store, input.modelIds, await currentGrants(store, userId)),
  };
  // A balance set by hand, or money taken away, comes after the charges of turns already answered (they commit
  // behind their replies), so it is not spent again by them: the sessions recently active are asked to commit
  // first. Charges that land later anyway (a turn still running) take at most what the balance holds.
  if (changes.setBalanceMicros !== undefined || (changes.addBalanceMicros ?? 0) < 0) {
    const recent = await store.sessionsActiveSince(userId, Date.now() - recentSessionsMs);
    await waitForCommits(env, recent).catch(() => undefined);
  }
  const user = await store.updateUser(userId, changes, Date.now()).catch((error: unknown) => {
    if (error instanceof BalanceOutOfBounds) throw balanceOutOfBounds(error);
    throw error;
  });
  if (!user) throw unknownUser(userId, "User not found");
  await accountObject(env, userId).accountChanged();
  return user;
}

/** An addition the database refused: it would have left the balance outside 0 to the maximum. */
function balanceOutOfBounds({ balanceMicros, addMicros }: BalanceOutOfBounds): ChatError {
  return new ChatError(
    ErrorCode.InvalidField,
    `Invalid field "add_balance": the balance would be ${microsToDollars(balanceMicros + addMicros)} dollars; it must stay between 0 and ${MAX_BALANCE_DOLLARS}`,
  );
}

async function currentGrants(store: AdminStore, userId: string): Promise<number[]> {
  const user = await store.getUserWithModels(userId);
  if (!user) throw unknownUser(userId, "User not found");
  return user.modelIds;
}

/** The ids, deduplicated and sorted, if each names a model that is not retired (unless the user already has it:
 *  a grant of a model retired since may stay). */
async function requireGrantableModels(store: AccountStore, ids: number[], alreadyGranted: number[]): Promise<number[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const models = new Map((await store.findModelsById(unique)).map((m) => [m.id, m]));
  const unknown = unique.filter((id) => !models.has(id));
  if (unknown.length > 0) throw new ChatError(ErrorCode.UnknownModel, `Unknown model ids: ${unknown.join(", ")}`);
  const retired = unique.filter((id) => models.get(id)!.retiredAt !== null && !alreadyGranted.includes(id));
  if (retired.length > 0) throw new ChatError(ErrorCode.InvalidField, `Retired models cannot be granted: ${retired.join(", ")}`);
  return unique;
}
