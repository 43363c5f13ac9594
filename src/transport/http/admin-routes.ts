// Owns the admin HTTP API (/admin/users and their API keys): bearer ADMIN_TOKEN, zod-validated bodies, JSON answers.
import { zValidator } from "@hono/zod-validator";
import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { z } from "zod";
import { ChatError, ErrorCode } from "../../domain/errors";
import { microsToDollars } from "../../domain/money";
import { changeUser, createUser } from "../../domain/operations/user-admin";
import { issueApiKey } from "../../domain/accounts/credentials";
import type { ApiKeyRecord, UserWithModels } from "../../storage/chat-store";
import type { AppEnv } from "./app-env";
import { httpFailure } from "./failures";
import { validationHook } from "./validation";

const modelIds = z.array(z.number().int().nonnegative()).max(1000);
const username = z.string().trim().min(1).max(255);

const createUserBody = z.object({
  user_id: z.string().trim().min(1).max(200).optional(),
  username,
  models: modelIds.default([]),
  balance: z.number().finite().min(0).default(0),
});

const changeUserBody = z
  .object({
    username: username.optional(),
    balance: z.number().finite().min(0).optional(),
    add_balance: z.number().finite().optional(),
    models: modelIds.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Nothing to change: send username, balance, add_balance or models")
  .refine((b) => b.balance === undefined || b.add_balance === undefined, "Send either balance or add_balance, not both");

const userIdParam = z.object({ user_id: z.string().min(1).max(200) });
const keyParam = z.object({ user_id: z.string().min(1).max(200), key_id: z.string().regex(/^[0-9a-f]{32}$/, "expected a key id") });

export const adminRoutes = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    const token = c.var.config.ADMIN_TOKEN;
    if (!token) throw httpFailure(503, "The admin API is disabled: set the ADMIN_TOKEN secret");
    const requireToken: MiddlewareHandler<AppEnv> = bearerAuth({
      token,
      noAuthenticationHeader: { message: "Missing bearer token" },
      invalidToken: { message: "Invalid bearer token" },
      invalidAuthenticationHeader: { message: "Malformed Authorization header" },
    });
    return requireToken(c, next);
  })
  .post("/users", zValidator("json", createUserBody, validationHook), async (c) => {
    const body = c.req.valid("json");
    const user = await createUser(c.var.store, {
      userId: body.user_id,
      username: body.username,
      modelIds: body.models,
      balanceDollars: body.balance,
    });
    return c.json(userJson(user), 201);
  })
  .get("/users/:user_id", zValidator("param", userIdParam, validationHook), async (c) => {
    const user = await c.var.store.getUserWithModels(c.req.valid("param").user_id);
    if (!user) throw new ChatError(ErrorCode.UserDoesNotExist, "User not found");
    return c.json(userJson(user));
  })
  .patch(
    "/users/:user_id",
    zValidator("param", userIdParam, validationHook),
    zValidator("json", changeUserBody, validationHook),
    async (c) => {
      const body = c.req.valid("json");
      const user = await changeUser(c.env, c.var.store, c.var.config.ACCOUNT_CACHE_TTL_MS, c.req.valid("param").user_id, {
        username: body.username,
        balanceDollars: body.balance,
        addBalanceDollars: body.add_balance,
        modelIds: body.models,
      });
      return c.json(userJson(user));
    },
  )
  // API keys (AUTH_MODE=token): the key is shown once, when issued; only its hash is kept.
  .post("/users/:user_id/keys", zValidator("param", userIdParam, validationHook), async (c) => {
    const issued = await issueApiKey(c.var.store, c.req.valid("param").user_id, Date.now());
    return c.json({ ...keyJson(issued.record), key: issued.key }, 201);
  })
  .get("/users/:user_id/keys", zValidator("param", userIdParam, validationHook), async (c) => {
    const userId = c.req.valid("param").user_id;
    if (!(await c.var.store.findUser(userId))) throw new ChatError(ErrorCode.UserDoesNotExist, "User not found");
    return c.json({ keys: (await c.var.store.listApiKeys(userId)).map(keyJson) });
  })
  .delete("/users/:user_id/keys/:key_id", zValidator("param", keyParam, validationHook), async (c) => {
    const { user_id, key_id } = c.req.valid("param");
    if (!(await c.var.store.revokeApiKey(user_id, key_id, Date.now()))) throw httpFailure(404, "No such key for this user");
    const key = await c.var.store.findApiKey(key_id);
    return c.json(keyJson(key!));
  });

function keyJson(key: ApiKeyRecord) {
  return {
    key_id: key.id,
    created_at: new Date(key.createdAt).toISOString(),
    revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}

function userJson(user: UserWithModels) {
  return {
    user_id: user.id,
    username: user.username,
    balance: microsToDollars(user.balanceMicros),
    models: user.modelIds,
    created_at: new Date(user.createdAt).toISOString(),
  };
}
