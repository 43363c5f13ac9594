// A credential that ends reaches the sockets it opened: revoking an API key closes them at once, a JWT's `exp`
// passing closes them when it passes, each with close code 4401 and the reason an upgrade would now get; the user's
// other sockets stay. The client library, given its credential as a function, signs in again with a fresh one.
import { SignJWT } from "jose";
import { ChatClientError, CloseCode, type ConnectionState } from "chat-backend/client";
import { describe, expect, it } from "vitest";
import { MessageType } from "../../protocol";
import { admin, createUser, upgrade, useClients, useSockets, type TestSocket } from "../workerd/helpers/backend";
import { JWT_SECRET } from "../workerd/helpers/env";

const open = useSockets();
const openClient = useClients();

/** An HS256 JWT for `sub` expiring at `exp` (seconds since the epoch). */
const jwt = (sub: string, exp: number) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime(exp).sign(JWT_SECRET);
const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

async function apiKey(userId: string): Promise<{ key: string; key_id: string }> {
  const response = await admin("POST", `/admin/users/${userId}/keys`);
  expect(response.status).toBe(201);
  return (await response.json()) as { key: string; key_id: string };
}

const revoke = async (userId: string, keyId: string) => expect((await admin("DELETE", `/admin/users/${userId}/keys/${keyId}`)).status).toBe(200);
const withToken = (credential: string, v2 = false) => `?${v2 ? "v=2&" : ""}token=${encodeURIComponent(credential)}`;

async function answersBalance(socket: TestSocket): Promise<void> {
  expect(await socket.request({ type: MessageType.Balance, data: {} })).toMatchObject({ type: MessageType.Balance, data: { balance: 1 } });
}

describe("revoking an API key", () => {
  it("closes every socket it opened with code 4401 (Revoked credential); the user's other sockets go on", async () => {
    const { user_id } = await createUser();
    const [revoked, kept] = [await apiKey(user_id), await apiKey(user_id)];
    const ended = [await open(withToken(revoked.key)), await open(withToken(revoked.key, true))];
    const others = [await open(withToken(kept.key)), await open(withToken(await jwt(user_id, inSeconds(300))))];
    for (const socket of [...ended, ...others]) await answersBalance(socket);

    await revoke(user_id, revoked.key_id);
    for (const socket of ended) expect(await socket.closing()).toEqual({ code: CloseCode.CredentialEnded, reason: "Revoked credential" });
    for (const socket of others) await answersBalance(socket);
    expect(others.map((socket) => socket.closed)).toEqual([false, false]);
    expect((await upgrade(withToken(revoked.key))).status).toBe(401);
  });
});

describe("a JWT's expiry", () => {
  it("closes the sockets it opened with code 4401 (Expired credential) once `exp` passes; a later JWT's socket stays", async () => {
    const { user_id } = await createUser();
    const expiring = await open(withToken(await jwt(user_id, inSeconds(2))));
    const lasting = await open(withToken(await jwt(user_id, inSeconds(300))));
    await answersBalance(expiring);
    expect(await expiring.closing()).toEqual({ code: CloseCode.CredentialEnded, reason: "Expired credential" });
    await answersBalance(lasting);
    expect(lasting.closed).toBe(false);
  });

  it("is refused at the upgrade as Expired credential, not Invalid credential", async () => {
    const { user_id } = await createUser();
    const response = await upgrade(withToken(await jwt(user_id, inSeconds(-60))));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: "Expired credential", data: null, detail: expect.stringContaining("exp") });
  });
});

describe("the client library", () => {
  it("asks its token function for a fresh credential when the backend ends its socket's, and goes on with it", async () => {
    const { user_id } = await createUser();
    const keys = [await apiKey(user_id), await apiKey(user_id)];
    let current = 0;
    const asked: string[] = [];
    const client = await openClient({
      token: () => {
        asked.push(keys[current]!.key_id);
        return keys[current]!.key;
      },
    });
    const states: ConnectionState[] = [];
    client.on("connection", (state) => states.push(state));
    expect(await client.balance()).toBe(1);

    current = 1;
    await revoke(user_id, keys[0]!.key_id);
    await expect.poll(() => states).toEqual(["reconnecting", "open"]);
    expect(asked).toEqual([keys[0]!.key_id, keys[1]!.key_id]);
    expect(await client.userDetails()).toMatchObject({ user_id });

    // The new socket is the second key's: revoking that one ends it in turn.
    await revoke(user_id, keys[1]!.key_id);
    await expect.poll(() => states).toEqual(["reconnecting", "open", "reconnecting"]);
  });

  it("with a fixed token, closes for good when the credential ends, failing what waits with ChatClientError", async () => {
    const { user_id } = await createUser();
    const key = await apiKey(user_id);
    const client = await openClient({ token: key.key });
    expect(await client.balance()).toBe(1);
    await revoke(user_id, key.key_id);
    await expect.poll(() => client.state).toBe("closed");
    await expect(client.balance()).rejects.toBeInstanceOf(ChatClientError);
  });
});
