// Owns the read side of a user's account: who they are, which models they may use, their balance.
import type { ChatStore, ModelRecord, ModelRef, UserRecord } from "../../storage/chat-store";
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

/** Access that allows the model: the user exists, the model too, and it is granted (else the error). */
export function requireModelAccess(access: { model: ModelRecord | null; granted: boolean } | null, ref: ModelRef): { model: ModelRecord } {
  if (!access) throw new ChatError(ErrorCode.UserDoesNotExist);
  const { model } = access;
  if (!model) throw new ChatError(ErrorCode.UnknownModel, `Unknown model: ${"id" in ref ? ref.id : ref.name}`);
  if (!access.granted) throw new ChatError(ErrorCode.NoModelAccess);
  return { model };
}
