// Owns serving the admin HTTP API (/admin: users, their ledger and API keys, the model catalog): bearer ADMIN_TOKEN,
// and a handler for each route declared in admin-api.ts (validated with its zod schemas, typed JSON answers).
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { unknownUser } from "../../domain/accounts/accounts";
import { issueApiKey } from "../../domain/accounts/credentials";
import { changeModel, createModel, retireModel } from "../../domain/operations/model-admin";
import { changeUser, createUser, listUsers, userLedger } from "../../domain/operations/user-admin";
import {
  changeModelRoute,
  changeUserRoute,
  createModelRoute,
  createUserRoute,
  getUserRoute,
  issueKeyRoute,
  ledgerRoute,
  listKeysRoute,
  listModelsRoute,
  listUsersRoute,
  retireModelRoute,
  revokeKeyRoute,
} from "./admin-api";
import { keyJson, ledgerEntryJson, ledgerPosition, modelJson, userJson, userPosition } from "./admin-schemas";
import type { AppEnv } from "./app-env";
import { userHubId } from "../ws/socket-user";
import { httpFailure, withFailureDetail } from "./failures";
import { decodeCursor, encodeCursor } from "./paging";
import { validationHook } from "./validation";

const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = c.var.config.ADMIN_TOKEN;
  if (!token) throw httpFailure(503, "The admin API is disabled: set the ADMIN_TOKEN secret");
  const requireToken: MiddlewareHandler<AppEnv> = bearerAuth({
    token,
    noAuthenticationHeader: { message: "Missing bearer token" },
    invalidToken: { message: "Invalid bearer token" },
    invalidAuthenticationHeader: { message: "Malformed Authorization header" },
  });
  let authorized = false;
  try {
    return await requireToken(c, async () => {
      authorized = true;
      await next();
    });
  } catch (error) {
    // Only the token check's own refusals (before the route ran) say where the token comes from.
    if (!authorized && error instanceof HTTPException) throw withFailureDetail(error, ADMIN_TOKEN_HINT);
    throw error;
  }
};

const ADMIN_TOKEN_HINT =
  "send Authorization: Bearer <token>, the token being the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN; under npm run dev: ADMIN_TOKEN in .dev.vars or --var, else the development default)";

const userNotFound = (userId: string) => unknownUser(userId, "User not found");
const modelNotFound = () => httpFailure(404, "Model not found");

export const adminRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
adminRoutes.use("*", requireAdmin);

adminRoutes
  .openapi(listUsersRoute, async (c) => {
    const { limit, cursor, name } = c.req.valid("query");
    const page = await listUsers(c.var.store, { limit, after: decodeCursor(cursor, userPosition), nameContains: name ?? null });
    return c.json({ users: page.items.map(userJson), next_cursor: page.next && encodeCursor(page.next) }, 200);
  })
  .openapi(createUserRoute, async (c) => {
    const body = c.req.valid("json");
    const user = await createUser(c.var.store, { userId: body.user_id, username: body.username, modelIds: body.models, balanceDollars: body.balance });
    return c.json(userJson(user), 201);
  })
  .openapi(getUserRoute, async (c) => {
    const userId = c.req.valid("param").user_id;
    const user = await c.var.store.getUserWithModels(userId);
    if (!user) throw userNotFound(userId);
    return c.json(userJson(user), 200);
  })
  .openapi(changeUserRoute, async (c) => {
    const body = c.req.valid("json");
    const user = await changeUser(c.env, c.var.store, c.var.config.ACCOUNT_CACHE_TTL_MS, c.req.valid("param").user_id, {
      username: body.username,
      balanceDollars: body.balance,
      addBalanceDollars: body.add_balance,
      modelIds: body.models,
    });
    return c.json(userJson(user), 200);
  })
  .openapi(ledgerRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = await userLedger(c.var.store, c.req.valid("param").user_id, limit, decodeCursor(cursor, ledgerPosition));
    return c.json({ entries: page.items.map(ledgerEntryJson), next_cursor: page.next && encodeCursor(page.next) }, 200);
  })
  .openapi(issueKeyRoute, async (c) => {
    const issued = await issueApiKey(c.var.store, c.req.valid("param").user_id, Date.now());
    return c.json({ ...keyJson(issued.record), key: issued.key }, 201);
  })
  .openapi(listKeysRoute, async (c) => {
    const userId = c.req.valid("param").user_id;
    if (!(await c.var.store.findUser(userId))) throw userNotFound(userId);
    return c.json({ keys: (await c.var.store.listApiKeys(userId)).map(keyJson) }, 200);
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { user_id, key_id } = c.req.valid("param");
    if (!(await c.var.store.revokeApiKey(user_id, key_id, Date.now()))) throw httpFailure(404, "No such key for this user");
    // Sockets the key opened close now (their user's hub holds them all); new upgrades with it already get 401.
    if (c.var.config.auth.mode === "token") await c.env.CONNECTIONS.get(userHubId(c.env.CONNECTIONS, user_id)).revokeKey(key_id);
    const key = await c.var.store.findApiKey(key_id);
    return c.json(keyJson(key!), 200);
  })
  .openapi(listModelsRoute, async (c) => c.json({ models: (await c.var.store.listModels()).map(modelJson) }, 200))
  .openapi(createModelRoute, async (c) => {
    const body = c.req.valid("json");
    const creation = await createModel(c.var.store, {
      id: body.id,
      name: body.name,
      provider: body.provider,
      contextLength: body.context_length,
      inputDollarsPer1k: body.input_price_per_1k,
      outputDollarsPer1k: body.output_price_per_1k,
    });
    if (!creation.created) throw httpFailure(409, `A model named ${body.name}${body.id === undefined ? "" : ` or with id ${body.id}`} already exists`);
    return c.json(modelJson(creation.model), 201);
  })
  .openapi(changeModelRoute, async (c) => {
    const body = c.req.valid("json");
    const model = await changeModel(c.env, c.var.store, c.req.valid("param").model_id, {
      provider: body.provider,
      contextLength: body.context_length,
      inputDollarsPer1k: body.input_price_per_1k,
      outputDollarsPer1k: body.output_price_per_1k,
    });
    if (!model) throw modelNotFound();
    return c.json(modelJson(model), 200);
  })
  .openapi(retireModelRoute, async (c) => {
    const model = await retireModel(c.env, c.var.store, c.req.valid("param").model_id);
    if (!model) throw modelNotFound();
    return c.json(modelJson(model), 200);
  });
