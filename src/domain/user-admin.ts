// Owns operator changes to users: creating them, granting models, setting or topping up balances.
import { readConfig } from "../config";
import type { ChatStore, UserChanges, UserWithModels } from "../storage/chat-store";
import { dollarsToMicros } from "./money";
import { sessionObject } from "./sessions";

export class UnknownModelsError extends Error {
  constructor(readonly modelIds: number[]) {
    super(`Unknown model ids: ${modelIds.join(", ")}`);
    this.name = "UnknownModelsError";
  }
}

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
  return store.createUser(
    {
      id: input.userId ?? crypto.randomUUID(),
      username: input.username,
      balanceMicros: dollarsToMicros(input.balanceDollars),
      modelIds,
    },
    Date.now(),
  );
}

export async function changeUser(
  env: Env,
  store: ChatStore,
  userId: string,
  input: UserChangesInput,
): Promise<UserWithModels | null> {
  const changes: UserChanges = {
    username: input.username,
    setBalanceMicros: input.balanceDollars === undefined ? undefined : dollarsToMicros(input.balanceDollars),
    addBalanceMicros: input.addBalanceDollars === undefined ? undefined : dollarsToMicros(input.addBalanceDollars),
    modelIds: input.modelIds === undefined ? undefined : await requireKnownModels(store, input.modelIds),
  };
  const warm = await warmSessions(env, store, userId);
  // A balance set by hand comes after the charges of turns already answered, which commit behind their replies.
  if (changes.setBalanceMicros !== undefined) await Promise.all(warm.map((sessionId) => sessionObject(env, sessionId).settled()));
  const user = await store.updateUser(userId, changes, Date.now());
  if (user) await Promise.all(warm.map((sessionId) => sessionObject(env, sessionId).accountChanged()));
  return user;
}

/** Sessions that may hold this user's account in memory (active within the account cache's lifetime). */
function warmSessions(env: Env, store: ChatStore, userId: string): Promise<string[]> {
  return store.sessionsActiveSince(userId, Date.now() - readConfig(env).ACCOUNT_CACHE_TTL_MS);
}

async function requireKnownModels(store: ChatStore, ids: number[]): Promise<number[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const known = new Set((await store.findModelsById(unique)).map((m) => m.id));
  const unknown = unique.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UnknownModelsError(unknown);
  return unique;
}
