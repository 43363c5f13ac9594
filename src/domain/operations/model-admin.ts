// Owns operator changes to the model catalog: adding a model, changing its prices, provider or context length,
// retiring it. The account objects of the users granted a changed model forget what they cached of it.
import type { AdminStore, CatalogModel, ModelCreation } from "../../storage/chat-store";
import { accountObject } from "../accounts/user-account";
import { dollarsToMicros } from "../money";

export interface NewModelInput {
  id?: number;
  name: string;
  provider: string;
  contextLength: number;
  inputDollarsPer1k: number;
  outputDollarsPer1k: number;
}

export interface ModelChangesInput {
  provider?: string;
  contextLength?: number;
  inputDollarsPer1k?: number;
  outputDollarsPer1k?: number;
}

/** Account objects told at once of a model change; the rest wait their turn. */
const NOTIFY_CONCURRENCY = 16;

export function createModel(store: AdminStore, input: NewModelInput): Promise<ModelCreation> {
  return store.createModel({
    id: input.id,
    name: input.name,
    provider: input.provider,
    contextLength: input.contextLength,
    inputMicrosPer1k: dollarsToMicros(input.inputDollarsPer1k),
    outputMicrosPer1k: dollarsToMicros(input.outputDollarsPer1k),
  });
}

/** The model as changed, or null when there is no such model. */
export async function changeModel(env: Env, store: AdminStore, modelId: number, input: ModelChangesInput): Promise<CatalogModel | null> {
  const model = await store.updateModel(modelId, {
    provider: input.provider,
    contextLength: input.contextLength,
    inputMicrosPer1k: input.inputDollarsPer1k === undefined ? undefined : dollarsToMicros(input.inputDollarsPer1k),
    outputMicrosPer1k: input.outputDollarsPer1k === undefined ? undefined : dollarsToMicros(input.outputDollarsPer1k),
  });
  if (model) await forgetCachedGrants(env, store, modelId);
  return model;
}

/** Retires the model (new turns are refused it, model lists leave it out, history stays); null when unknown. */
export async function retireModel(env: Env, store: AdminStore, modelId: number): Promise<CatalogModel | null> {
  const model = await store.retireModel(modelId, Date.now());
  if (model) await forgetCachedGrants(env, store, modelId);
  return model;
}

/**
 * Tells the account object of every user granted the model that their grants changed (the path a user change
 * takes), so the next turn reads the model again. An object that cannot be told re-reads within
 * ACCOUNT_CACHE_TTL_MS anyway: its failure is logged, not returned.
 */
async function forgetCachedGrants(env: Env, store: AdminStore, modelId: number): Promise<void> {
  const userIds = await store.usersGrantedModel(modelId);
  let failed = 0;
  for (let i = 0; i < userIds.length; i += NOTIFY_CONCURRENCY) {
    const told = await Promise.allSettled(userIds.slice(i, i + NOTIFY_CONCURRENCY).map((id) => accountObject(env, id).accountChanged()));
    failed += told.filter((result) => result.status === "rejected").length;
  }
  if (failed > 0) console.error(`model ${modelId} changed: ${failed} of ${userIds.length} account objects could not be told`);
}
