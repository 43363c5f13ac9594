// Owns the read side of a user's account: who they are, which models they may use, their balance.
import type { ChatStore, ModelRecord, UserRecord } from "../storage/chat-store";
import { ChatError, ErrorCode } from "./errors";

export async function requireUser(store: ChatStore, userId: string): Promise<UserRecord> {
  const user = await store.findUser(userId);
  if (!user) throw new ChatError(ErrorCode.UserDoesNotExist);
  return user;
}

export async function grantedModels(store: ChatStore, userId: string): Promise<ModelRecord[]> {
  const [, models] = await Promise.all([requireUser(store, userId), store.listGrantedModels(userId)]);
  return models;
}
