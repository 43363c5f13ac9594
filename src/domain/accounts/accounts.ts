// Owns the read side of a user's account: who they are, which models they may use, their balance; and what a
// refusal of either says (the detail names the user, the model and the user's models).
import type { AccountStore, ModelRecord, ModelRef, UserRecord } from "../../storage/chat-store";
import { ChatError, detailedError, ErrorCode } from "../errors";

export async function requireUser(store: Pick<AccountStore, "findUser">, userId: string): Promise<UserRecord> {
  const user = await store.findUser(userId);
  if (!user) throw unknownUser(userId);
  return user;
}

/** Code 3 with a detail naming the id that was not found. */
export function unknownUser(userId: string, message?: string): ChatError {
  return detailedError(ErrorCode.UserDoesNotExist, `no user has the id "${userId}": check the id, or create the user (npm run user:create)`, message);
}

export async function grantedModels(store: AccountStore, userId: string): Promise<ModelRecord[]> {
  const [, models] = await Promise.all([requireUser(store, userId), store.listGrantedModels(userId)]);
  return models;
}

/**
 * Access that allows the model: the user exists, the model too, and it is granted (else the error, whose detail
 * lists the user's models, read only on this refusal path).
 */
export async function requireModelAccess(
  access: { model: ModelRecord | null; granted: boolean } | null,
  ref: ModelRef,
  userId: string,
  store: Pick<AccountStore, "listGrantedModels" | "findModelsById">,
): Promise<{ model: ModelRecord }> {
  if (!access) throw unknownUser(userId);
  const { model } = access;
  if (model && access.granted) return { model };
  const names = (await store.listGrantedModels(userId)).map((m) => m.name);
  const yours = names.length > 0 ? `this user's models: ${names.join(", ")}` : "this user has no models yet (an operator grants them: npm run admin -- users grant)";
  const asked = "id" in ref ? `id ${ref.id}` : `"${ref.name}"`;
  if (!model) throw detailedError(ErrorCode.UnknownModel, `no model has the ${"id" in ref ? "" : "name "}${asked}; ${yours}`, `Unknown model: ${"id" in ref ? ref.id : ref.name}`);
  const retired = (await store.findModelsById([model.id]))[0]?.retiredAt != null;
  const why = retired ? "is retired" : "is not granted to this user";
  throw detailedError(ErrorCode.NoModelAccess, `the model "${model.name}" (id ${model.id}) ${why}; ${yours}`);
}
