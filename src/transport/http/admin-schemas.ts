// Owns the admin API's wire shapes: one zod schema per request part and per answer (the routes validate with them
// and the OpenAPI document is generated from them), and the functions that turn stored records into answers.
import { z } from "zod";
import { MAX_BALANCE_DOLLARS, microsToDollars } from "../../domain/money";
import type { ApiKeyRecord, CatalogModel, LedgerEntry, UserWithModels } from "../../storage/chat-store";
import { ledgerKinds } from "../../storage/schema";
import { nextCursor, pageQuery } from "./paging";

const isoTime = z.iso.datetime().meta({ description: "ISO 8601 time (UTC)" });
const dollars = (description: string) => z.number().finite().meta({ description });
/** An amount of money an admin sets or adds: exact in micro-dollars up to MAX_BALANCE_DOLLARS (domain/money.ts). */
const amount = (min: number, description: string) =>
  z.number().finite().min(min).max(MAX_BALANCE_DOLLARS, `at most ${MAX_BALANCE_DOLLARS} dollars`).meta({ description: `${description}; at most ${MAX_BALANCE_DOLLARS}` });
/** Prices are stored in integer micro-dollars per 1K tokens (a 32-bit column on PostgreSQL). */
const price = (description: string) => z.number().finite().min(0).max(2000).meta({ description });

// Users

const modelIds = z.array(z.number().int().nonnegative()).max(1000).meta({ description: "Model ids (see /admin/models)" });
const username = z.string().trim().min(1).max(255);

export const userIdParam = z.object({ user_id: z.string().min(1).max(200).meta({ description: "The user's id" }) });

export const userSchema = z
  .object({
    user_id: z.string(),
    username: z.string(),
    balance: dollars("Dollars"),
    models: z.array(z.number().int()).meta({ description: "Granted model ids, sorted" }),
    created_at: isoTime,
  })
  .meta({ id: "User" });

export const createUserBody = z
  .object({
    user_id: z.string().trim().min(1).max(200).optional().meta({ description: "Keep this id (e.g. a client's hard-coded one); generated when absent" }),
    username,
    models: modelIds.default([]),
    balance: amount(0, "Starting balance in dollars").default(0),
  })
  .meta({ id: "NewUser" });

export const changeUserBody = z
  .object({
    username: username.optional(),
    balance: amount(0, "Sets the balance (dollars)").optional(),
    add_balance: amount(-MAX_BALANCE_DOLLARS, "Adds to the balance (dollars; negative takes away); the balance after it must be 0 to the maximum").optional(),
    models: modelIds.optional().meta({ description: "Replaces the granted model ids" }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Nothing to change: send username, balance, add_balance or models")
  .refine((b) => b.balance === undefined || b.add_balance === undefined, "Send either balance or add_balance, not both")
  .meta({ id: "UserChanges" });

export const usersQuery = pageQuery.extend({
  name: z.string().trim().min(1).max(255).optional().meta({ description: "Only users whose username contains this (ASCII case ignored)" }),
});

export const userPageSchema = z.object({ users: z.array(userSchema), next_cursor: nextCursor }).meta({ id: "UserPage" });

/** Where the next page of users starts (inside the opaque cursor). */
export const userPosition = z.object({ createdAt: z.number().int(), id: z.string() });

export function userJson(user: UserWithModels): z.output<typeof userSchema> {
  return {
    user_id: user.id,
    username: user.username,
    balance: microsToDollars(user.balanceMicros),
    models: user.modelIds,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

// Ledger

export const ledgerEntrySchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(ledgerKinds).meta({ description: "turn, summary: charges; credit: added; adjustment: a balance set by hand" }),
    delta: dollars("Signed change of the balance in dollars (charges are negative)"),
    delta_micros: z.number().int().meta({ description: "The same change in micro-dollars, exact" }),
    session_id: z.string().nullable(),
    created_at: isoTime,
  })
  .meta({ id: "LedgerEntry" });

export const ledgerPageSchema = z.object({ entries: z.array(ledgerEntrySchema), next_cursor: nextCursor }).meta({ id: "LedgerPage" });

export const ledgerPosition = z.object({ createdAt: z.number().int(), id: z.number().int() });

export function ledgerEntryJson(entry: LedgerEntry): z.output<typeof ledgerEntrySchema> {
  return {
    id: entry.id,
    kind: entry.kind,
    delta: microsToDollars(entry.deltaMicros),
    delta_micros: entry.deltaMicros,
    session_id: entry.sessionId,
    created_at: new Date(entry.createdAt).toISOString(),
  };
}

// Models

export const modelIdParam = z.object({
  model_id: z
    .string()
    .regex(/^[0-9]{1,10}$/, "expected a model id")
    .meta({ description: "The model's id" })
    .transform(Number)
    .pipe(z.number().int().max(2_147_483_647, "expected a model id")),
});

export const modelSchema = z
  .object({
    id: z.number().int(),
    name: z.string().meta({ description: "What chat messages name it by (model_name)" }),
    provider: z.string(),
    context_length: z.number().int(),
    input_price_per_1k: dollars("Dollars per 1K input tokens"),
    output_price_per_1k: dollars("Dollars per 1K output tokens"),
    retired_at: isoTime.nullable().meta({ description: "When it was retired (refused for new turns, left out of model lists); null while in use" }),
  })
  .meta({ id: "Model" });

export const modelListSchema = z.object({ models: z.array(modelSchema) }).meta({ id: "ModelList" });

const provider = z.string().trim().min(1).max(100);
const contextLength = z.number().int().min(1).max(100_000_000).meta({ description: "Tokens" });

export const createModelBody = z
  .object({
    id: z.number().int().nonnegative().max(2_147_483_647).optional().meta({ description: "Chosen by the database when absent" }),
    name: z.string().trim().min(1).max(200),
    provider,
    context_length: contextLength,
    input_price_per_1k: price("Dollars per 1K input tokens (stored in micro-dollars)"),
    output_price_per_1k: price("Dollars per 1K output tokens (stored in micro-dollars)"),
  })
  .meta({ id: "NewModel" });

export const changeModelBody = z
  .object({
    provider: provider.optional(),
    context_length: contextLength.optional(),
    input_price_per_1k: price("Dollars per 1K input tokens").optional(),
    output_price_per_1k: price("Dollars per 1K output tokens").optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Nothing to change: send provider, context_length, input_price_per_1k or output_price_per_1k")
  .meta({ id: "ModelChanges" });

export function modelJson(model: CatalogModel): z.output<typeof modelSchema> {
  return {
    id: model.id,
    name: model.name,
    provider: model.provider,
    context_length: model.contextLength,
    input_price_per_1k: microsToDollars(model.inputMicrosPer1k),
    output_price_per_1k: microsToDollars(model.outputMicrosPer1k),
    retired_at: model.retiredAt === null ? null : new Date(model.retiredAt).toISOString(),
  };
}

// API keys

export const keyParam = userIdParam.extend({ key_id: z.string().regex(/^[0-9a-f]{32}$/, "expected a key id").meta({ description: "32 hex digits" }) });

export const keySchema = z
  .object({ key_id: z.string(), created_at: isoTime, revoked_at: isoTime.nullable() })
  .meta({ id: "ApiKey", description: "An API key without its secret" });

export const issuedKeySchema = keySchema
  .extend({ key: z.string().meta({ description: "The whole key (cbk_<key id>_<secret>): shown this once, only its hash is kept" }) })
  .meta({ id: "IssuedApiKey" });

export const keyListSchema = z.object({ keys: z.array(keySchema) }).meta({ id: "ApiKeyList" });

export function keyJson(key: ApiKeyRecord): z.output<typeof keySchema> {
  return {
    key_id: key.id,
    created_at: new Date(key.createdAt).toISOString(),
    revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}
