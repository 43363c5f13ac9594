// Owns the read side of a user's account: who they are, which models they may use, their balance.
import type { ChatStore, ModelRecord, ModelRef, TurnAuthorization, UserRecord } from "../../storage/chat-store";
import { ChatError, ErrorCode } from "../errors";

export async function requireUser(store: ChatStore, userId: string): Promise<UserRecord> {
  const user = await store.findUser(userId);
  if (!user) throw new ChatError(ErrorCode.UserDoesNotExist);
  return user;
}

export async function grantedModels(store: ChatStore, userId: string): Promise<ModelRecord[]> {
  const [, models] = await Promise.all([requireUser(store, userId), store.listGrantedModels(userId)]);
  return models;
}

/** An authorization that allows the model: the user exists, the model too, and it is granted (else the error). */
export function requireModelAccess(auth: TurnAuthorization | null, ref: ModelRef): TurnAuthorization & { model: ModelRecord } {
  if (!auth) throw new ChatError(ErrorCode.UserDoesNotExist);
  const { model } = auth;
  if (!model) throw new ChatError(ErrorCode.UnknownModel, `Unknown model: ${"id" in ref ? ref.id : ref.name}`);
  if (!auth.granted) throw new ChatError(ErrorCode.NoModelAccess);
  return { ...auth, model };
}
