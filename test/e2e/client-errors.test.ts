// The client library against a running backend in token mode (`npm run dev` with AUTH_MODE=token): a connection
// the backend refuses says so with the URL (credential hidden), the HTTP status and the backend's own message and
// detail, which the library asked for again without the upgrade; a refused request says which model and which
// models the user has.
import { SignJWT } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ChatBackendError, ChatClientError, ErrorCode } from "chat-backend/client";
import { connectNode } from "chat-backend/client/node";
import { createUser, startStack, type Stack } from "./stack";

const SECRET = "e2e-client-errors-secret-of-32-bytes"; // token mode refuses secrets under 32 bytes
let stack: Stack;
let wsUrl: string;

beforeAll(async () => {
  stack = await startStack(
    { AUTH_MODE: "token", AUTH_JWT_SECRET: SECRET, CORS_ORIGINS: "http://127.0.0.1", ADMIN_TOKEN: "e2e-admin-token-of-at-least-32-bytes", FILE_URL_SECRET: "e2e-file-url-secret-of-32-bytes-or-more" },
    { storage: "d1" },
  );
  wsUrl = `${stack.baseUrl.replace(/^http/, "ws")}/ws`;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const jwt = (sub: string, withExp: boolean) => {
  const token = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub);
  return (withExp ? token.setExpirationTime("5m") : token).sign(new TextEncoder().encode(SECRET));
};

async function refusal(token?: string): Promise<ChatClientError> {
  const error = await connectNode({ url: wsUrl, reconnect: false, ...(token ? { token } : {}) }).then(
    (client) => (client.close(), expect.fail("connected")),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ChatClientError);
  return error as ChatClientError;
}

it("without a credential: HTTP 401 with the backend's message and what a credential is", async () => {
  const error = await refusal();
  expect(error.connection).toMatchObject({ url: `${wsUrl}?v=2`, cause: "http", status: 401, serverMessage: "Missing credential: send Authorization: Bearer <credential>" });
  expect(error.message).toContain(`could not connect to ${wsUrl}?v=2: the server refused the WebSocket: HTTP 401 Missing credential`);
  expect(error.connection?.serverDetail).toContain("?token=<credential>");
});

it("with a JWT that has no exp: the failing claim, and the token never shown", async () => {
  const userId = await createUser(stack);
  const token = await jwt(userId, false);
  const error = await refusal(token);
  expect(error.connection).toMatchObject({ cause: "http", status: 401, serverMessage: "Invalid credential", serverDetail: 'the JWT failed a check: missing required "exp" claim' });
  expect(error.message).toContain(`${wsUrl}?v=2&token=***`);
  expect(error.message).not.toContain(token);
});

it("signed in, an unknown model names the user's models", async () => {
  const userId = await createUser(stack);
  const client = await connectNode({ url: wsUrl, token: await jwt(userId, true), reconnect: false });
  try {
    const error = await client.send({ sessionId: "NEW", model: "gpt4", message: "hi" }).then(
      () => expect.fail("answered"),
      (error: unknown) => error as ChatBackendError,
    );
    expect(error).toMatchObject({ code: ErrorCode.UnknownModel, message: "Unknown model: gpt4", detail: 'no model has the name "gpt4"; this user\'s models: gpt-4-turbo, llama3.1:8b' });
  } finally {
    client.close();
  }
});
