// Sign-in against the Worker as `wrangler dev` runs it: the bundle built as deployed (minified, keep_names off, from
// wrangler.toml), not the source the workerd suites load. An expired JWT is told "Expired credential" (the minifier
// renames jose's error classes, so matching on their names said "Invalid credential"), and a socket whose JWT
// expires is closed with code 4401.
import { SignJWT } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUser } from "../../client/http-api";
import { adminOf, connectFrames, startStack, type Stack } from "./stack";

const JWT_SECRET = "e2e-jwt-secret-of-at-least-32-bytes!";
const ADMIN_TOKEN = "e2e-admin-token-of-at-least-32-bytes";
let stack: Stack;
let userId: string;

beforeAll(async () => {
  stack = await startStack(
    { AUTH_MODE: "token", CORS_ORIGINS: "same-origin", AUTH_JWT_SECRET: JWT_SECRET, ADMIN_TOKEN, FILE_URL_SECRET: "e2e-file-url-secret-of-32-bytes-or-more" },
    { storage: "d1" },
  );
  userId = (await createUser(adminOf(stack), { username: "E2E User", models: [4], balance: 1 })).user_id;
});

afterAll(async () => {
  await stack?.stop();
});

const jwt = (exp: number) =>
  new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(userId).setExpirationTime(exp).sign(new TextEncoder().encode(JWT_SECRET));
const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

it("answers an expired JWT with 401 Expired credential, and a wrongly signed one with Invalid credential", async () => {
  const expired = await fetch(`${stack.baseUrl}/uploads/none.txt`, { headers: { authorization: `Bearer ${await jwt(inSeconds(-60))}` } });
  expect(expired.status).toBe(401);
  expect(await expired.json()).toEqual({ message: "Expired credential", data: null, detail: expect.stringContaining("exp") });
  const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(userId).setExpirationTime("5m").sign(new TextEncoder().encode("x".repeat(32)));
  const invalid = await fetch(`${stack.baseUrl}/uploads/none.txt`, { headers: { authorization: `Bearer ${forged}` } });
  expect(await invalid.json()).toEqual({ message: "Invalid credential", data: null, detail: expect.stringContaining("signature") });
});

it("closes a socket with code 4401 (Expired credential) when its JWT expires", async () => {
  const socket = await connectFrames(stack, `/ws?token=${await jwt(inSeconds(2))}`);
  expect(await socket.request({ type: 6, data: {} })).toEqual({ type: 6, data: { balance: 1 } });
  expect(await socket.closing()).toEqual({ code: 4401, reason: "Expired credential" });
});
