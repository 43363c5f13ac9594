// Owns operator changes to users: creating them, granting models, setting or topping up balances.
import type { ChatStore, UserChanges, UserWithModels } from "../../storage/chat-store";
import { ChatError, ErrorCode } from "../errors";
import { dollarsToMicros } from "../money";
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

export async function createUser(store: ChatStore, input: NewUserInput): Promise<UserWithModels> {
  const modelIds = await requireKnownModels(store, input.modelIds);
  const id = input.userId ?? crypto.randomUUID();
  const creation = await store.createUser({ id, username: input.username, balanceMicros: dollarsToMicros(input.balanceDollars), modelIds }, Date.now());
  if (!creation.created) throw new ChatError(ErrorCode.UserExists, `User ${id} already exists`);
  return creation.user;
}

/** Applies the changes; the user's account object forgets what it cached of them. */
export async function changeUser(
  env: Env,
  store: ChatStore,
  recentSessionsMs: number,
  userId: string,
  input: UserChangesInput,
): Promise<UserWithModels> {
  const changes: UserChanges = {
    username: input.username,
    setBalanceMicros: input.balanceDollars === undefined ? undefined : dollarsToMicros(input.balanceDollars),
    addBalanceMicros: input.addBalanceDollars === undefined ? undefined : dollarsToMicros(input.addBalanceDollars),
    modelIds: input.modelIds === undefined ? undefined : await requireKnownModels(store, input.modelIds),
  };
  // A balance set by hand comes after the charges of turns already answered (they commit behind their replies):
  // the sessions recently active are asked to commit first.
  if (changes.setBalanceMicros !== undefined) {
    const recent = await store.sessionsActiveSince(userId, Date.now() - recentSessionsMs);
    await waitForCommits(env, recent).catch(() => undefined);
  }
  const user = await store.updateUser(userId, changes, Date.now());
  if (!user) throw new ChatError(ErrorCode.UserDoesNotExist, "User not found");
  await accountObject(env, userId).accountChanged();
  return user;
}

async function requireKnownModels(store: ChatStore, ids: number[]): Promise<number[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const known = new Set((await store.findModelsById(unique)).map((m) => m.id));
  const unknown = unique.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new ChatError(ErrorCode.UnknownModel, `Unknown model ids: ${unknown.join(", ")}`);
  return unique;
}
