// Owns the admin API's contract: each route's declaration (method, path, request and answer schemas, failures),
// which the Worker serves (admin-routes.ts), the OpenAPI document describes, and the typed client (client/http-api.ts)
// calls. Declarations only, nothing of the Worker, so code outside it (the CLI, the page, the benchmark) reads them.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { MergeSchemaPath } from "hono/types";
import {
  changeModelBody,
  changeUserBody,
  createModelBody,
  createUserBody,
  issuedKeySchema,
  keyListSchema,
  keyParam,
  keySchema,
  ledgerPageSchema,
  modelIdParam,
  modelListSchema,
  modelSchema,
  userIdParam,
  userPageSchema,
  userSchema,
  usersQuery,
} from "./admin-schemas";
import { pageQuery } from "./paging";
import { adminSecurity, failures, jsonAnswer, type RoutesSchema } from "./route-parts";

/** What every admin route may answer besides its own. */
const adminFailures = {
  400: "A request that fails validation (naming the field), or a malformed Authorization header",
  401: "Missing or wrong bearer token",
  503: "The admin API is disabled: ADMIN_TOKEN is not set",
} as const;

const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });


// Users

export const listUsersRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users",
  tags: ["admin: users"],
  summary: "List users, a page at a time",
  description: "In the order they were created (then by id), optionally only those whose username contains `name`.",
  request: { query: usersQuery },
  responses: { 200: jsonAnswer("A page of users", userPageSchema), ...failures(adminFailures) },
});

export const createUserRoute = createRoute({
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

export const getUserRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users/{user_id}",
  tags: ["admin: users"],
  summary: "Read a user",
  request: { params: userIdParam },
  responses: { 200: jsonAnswer("The user", userSchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

export const changeUserRoute = createRoute({
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

export const ledgerRoute = createRoute({
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

export const issueKeyRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/users/{user_id}/keys",
  tags: ["admin: API keys"],
  summary: "Issue an API key for a user",
  description: "The answer's `key` is the only time the secret is shown.",
  request: { params: userIdParam },
  responses: { 201: jsonAnswer("The key, with its secret", issuedKeySchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

export const listKeysRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/users/{user_id}/keys",
  tags: ["admin: API keys"],
  summary: "A user's API keys, oldest first (never their secrets)",
  request: { params: userIdParam },
  responses: { 200: jsonAnswer("The keys, revoked ones included", keyListSchema), ...failures({ ...adminFailures, 404: "No such user" }) },
});

export const revokeKeyRoute = createRoute({
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

export const listModelsRoute = createRoute({
  security: adminSecurity,
  method: "get",
  path: "/models",
  tags: ["admin: models"],
  summary: "The model catalog, retired models included",
  responses: { 200: jsonAnswer("Every model, by id", modelListSchema), ...failures(adminFailures) },
});

export const createModelRoute = createRoute({
  security: adminSecurity,
  method: "post",
  path: "/models",
  tags: ["admin: models"],
  summary: "Add a model",
  description: "Usable by the users it is then granted to (PATCH /admin/users/{user_id} with `models`).",
  request: { body: jsonBody(createModelBody) },
  responses: { 201: jsonAnswer("The new model", modelSchema), ...failures({ ...adminFailures, 409: "A model with this name or id exists" }) },
});

export const changeModelRoute = createRoute({
  security: adminSecurity,
  method: "patch",
  path: "/models/{model_id}",
  tags: ["admin: models"],
  summary: "Change a model's prices, provider or context length",
  description: "The next turn of every user granted it uses the new values.",
  request: { params: modelIdParam, body: jsonBody(changeModelBody) },
  responses: { 200: jsonAnswer("The model as changed", modelSchema), ...failures({ ...adminFailures, 404: "No such model" }) },
});

export const retireModelRoute = createRoute({
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

/** Every admin route. */
type AdminRoutes = [
  typeof listUsersRoute,
  typeof createUserRoute,
  typeof getUserRoute,
  typeof changeUserRoute,
  typeof ledgerRoute,
  typeof issueKeyRoute,
  typeof listKeysRoute,
  typeof revokeKeyRoute,
  typeof listModelsRoute,
  typeof createModelRoute,
  typeof changeModelRoute,
  typeof retireModelRoute,
];

/** The admin API as Hono's client (hc) reads it, mounted at /admin as the Worker serves it (app.ts). */
export type AdminApi = OpenAPIHono<{}, MergeSchemaPath<RoutesSchema<AdminRoutes>, "/admin">>;
