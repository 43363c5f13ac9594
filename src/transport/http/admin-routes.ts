// Owns the admin HTTP API (/admin: users, their ledger and API keys, the model catalog): bearer ADMIN_TOKEN, each
// route declared once with createRoute from the zod schemas that validate it (admin-schemas.ts), typed JSON answers.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { unknownUser } from "../../domain/accounts/accounts";
import { issueApiKey } from "../../domain/accounts/credentials";
import { changeModel, createModel, retireModel } from "../../domain/operations/model-admin";
import { changeUser, createUser, listUsers, userLedger } from "../../domain/operations/user-admin";
import {
  changeModelBody,
  changeUserBody,
  createModelBody,
  createUserBody,
  issuedKeySchema,
  keyJson,
  keyListSchema,
  keyParam,
  keySchema,
  ledgerEntryJson,
  ledgerPageSchema,
  ledgerPosition,
  modelIdParam,
  modelJson,
  modelListSchema,
  modelSchema,
  userIdParam,
  userJson,
  userPageSchema,
  userPosition,
  userSchema,
  usersQuery,
} from "./admin-schemas";
import type { AppEnv } from "./app-env";
import { userHubId } from "../ws/socket-user";
import { httpFailure, withFailureDetail } from "./failures";
import { adminSecurity, failures, jsonAnswer } from "./openapi";
import { decodeCursor, encodeCursor, pageQuery } from "./paging";
import { validationHook } from "./validation";

/** What every admin route may answer besides its own. */
const adminFailures = {
  400: "A request that fails validation (naming the field), or a malformed Authorization header",
  401: "Missing or wrong bearer token",
  503: "The admin API is disabled: ADMIN_TOKEN is not set",
} as const;

const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

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

// Users

const listUsersRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users",
  tags: ["admin: users"],
  summary: "List users, a page at a time",
  description: "In the order they were created (then by id), optionally only those whose username contains `name`.",
  request: { query: usersQuery },
  responses: { 200: jsonAnswer("A page of users", userPageSchema), ...failures(adminFailures) },
});

const createUserRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/users",
  tags: ["admin: users"],
  summary: "Create a user",
  request: { body: jsonBody(createUserBody) },
  responses: {
    201: jsonAnswer("The new user", userSchema),
    ...failures({ ...adminFailures, 400: "Validation, unknown or retired model ids", 409: "A user with this id exists" }),
  },
});

const getUserRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users/{user_id}",
  tags: ["admin: users"],
  summary: "Read a user",
  request: { params: userIdParam },
  responses: { 200: jsonAnswer("The user", userSchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

const changeUserRoute = createRoute({
  security: adminSecurity,
  method: "patch",
  path: "/users/{user_id}",
  tags: ["admin: users"],
  summary: "Change a user: username, balance (set or add), granted models",
  description: "Every balance change writes a ledger row. Running sessions see the change at once.",
  request: { params: userIdParam, body: jsonBody(changeUserBody) },
  responses: {
    200: jsonAnswer("The user as changed", userSchema),
    ...failures({ ...adminFailures, 400: "Validation, nothing to change, balance with add_balance, unknown or newly granted retired model ids", 404: "No such user" }),
  },
});

const ledgerRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users/{user_id}/ledger",
  tags: ["admin: users"],
  summary: "A user's ledger, newest first, a page at a time",
  description: "Every change of the balance: turn and summary charges, credits, adjustments.",
  request: { params: userIdParam, query: pageQuery },
  responses: { 200: jsonAnswer("A page of ledger entries", ledgerPageSchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

// API keys (AUTH_MODE=token): a key is shown once, when issued; only its hash is kept.

const issueKeyRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/users/{user_id}/keys",
  tags: ["admin: API keys"],
  summary: "Issue an API key for a user",
  description: "The answer's `key` is the only time the secret is shown.",
  request: { params: userIdParam },
  responses: { 201: jsonAnswer("The key, with its secret", issuedKeySchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

const listKeysRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users/{user_id}/keys",
  tags: ["admin: API keys"],
  summary: "A user's API keys, oldest first (never their secrets)",
  request: { params: userIdParam },
  responses: { 200: jsonAnswer("The keys, revoked ones included", keyListSchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

const revokeKeyRoute = createRoute({
  security: adminSecurity,
  method: "delete",
  path: "/users/{user_id}/keys/{key_id}",
  tags: ["admin: API keys"],
  summary: "Revoke an API key",
  description:
    "Refused from then on, and the WebSockets it opened are closed with code 4401 (docs/protocol.md 1.7). Revoking twice keeps the first time.",
  request: { params: keyParam },
  responses: { 200: jsonAnswer("The key with its revoked_at", keySchema), ...failures({ ...adminFailures, 404: "No such key for this user" }) },
});

// Models

const listModelsRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/models",
  tags: ["admin: models"],
  summary: "The model catalog, retired models included",
  responses: { 200: jsonAnswer("Every model, by id", modelListSchema), ...failures(adminFailures) },
});

const createModelRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/models",
  tags: ["admin: models"],
  summary: "Add a model",
  description: "Usable by the users it is then granted to (PATCH /admin/users/{user_id} with `models`).",
  request: { body: jsonBody(createModelBody) },
  responses: { 201: jsonAnswer("The new model", modelSchema), ...failures({ ...adminFailures, 409: "A model with this name or id exists" }) },
});

const changeModelRoute = createRoute({
  security: adminSecurity,
  method: "patch",
  path: "/models/{model_id}",
  tags: ["admin: models"],
  summary: "Change a model's prices, provider or context length",
  description: "The next turn of every user granted it uses the new values.",
  request: { params: modelIdParam, body: jsonBody(changeModelBody) },
  responses: { 200: jsonAnswer("The model as changed", modelSchema), ...failures({ ...adminFailures, 404: "No such model" }) },
});

const retireModelRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/models/{model_id}/retire",
  tags: ["admin: models"],
  summary: "Retire a model",
  description:
    "New turns with it are refused (code 7, User Does Not Have Model Access), model lists (type 5) leave it out, " +
    "and it cannot be newly granted; sessions that used it keep their history and may go on with another model. " +
    "Retiring twice keeps the first time.",
  request: { params: modelIdParam },
  responses: { 200: jsonAnswer("The model with its retired_at", modelSchema), ...failures({ ...adminFailures, 404: "No such model" }) },
});

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
