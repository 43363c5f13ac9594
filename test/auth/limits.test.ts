// Abuse limits (this project runs with MAX_FRAMES_PER_SECOND=5 and 40 upgrades a minute): frames over the rate are answered
// with code 109, each exactly once, the socket stays open, and frames work again once the rate allows.
import { SignJWT } from "jose";
import { expect, it } from "vitest";
import { MessageType } from "../../protocol";
import { createUser, upgrade, useSockets } from "../workerd/helpers/backend";
import { JWT_SECRET } from "../workerd/helpers/env";

const open = useSockets();

it("answers frames over the socket's rate with code 109, once each, and keeps the socket", async () => {
  const { user_id } = await createUser();
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(user_id).setExpirationTime("5m").sign(JWT_SECRET);
  const ws = await open("", { authorization: `Bearer ${token}` });
  const started = Date.now();
  for (let i = 0; i < 30; i++) ws.send({ type: MessageType.Balance, data: {}, id: String(i) });
  const answers = await Promise.all(Array.from({ length: 30 }, () => ws.next()));
  const elapsedS = (Date.now() - started) / 1000;
  // Each frame answered exactly once. (Frames sent back to back can reach the hub out of order in this test
  // runtime; a socket's frames are answered in the order they arrive.)
  expect(answers.map((a) => Number(a.id)).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  // A burst of twice the rate (10) is answered, plus what the rate refilled while the burst arrived; the rest get 109.
  const answered = answers.filter((a) => a.type === MessageType.Balance && a.code === undefined);
  const limited = answers.filter((a) => a.code === 109);
  expect(answered.length).toBeGreaterThanOrEqual(10);
  expect(answered.length).toBeLessThanOrEqual(10 + Math.ceil(elapsedS * 5));
  expect(limited).toHaveLength(30 - answered.length);
  for (const answer of limited) expect(answer).toEqual({ error: "Too many requests: at most 5 frames a second", code: 109, type: MessageType.Balance, id: answer.id });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await ws.request({ type: MessageType.Balance, data: {} })).toMatchObject({ type: MessageType.Balance, data: { balance: 1 } });
  expect(ws.closed).toBe(false);
});

it("limits WebSocket upgrades per client before checking anything else, and not other clients", async () => {
  const client = { "cf-connecting-ip": "203.0.113.7" }; // this project allows 40 a minute
  const statuses: number[] = [];
  for (let i = 0; i < 41; i++) statuses.push((await upgrade("", client)).status);
  expect(statuses.slice(0, 40).every((status) => status === 401)).toBe(true); // no credential: refused, but counted
  expect(statuses[40]).toBe(429);
  const limited = await upgrade("", client);
  expect(await limited.json()).toEqual({ message: "Too many requests: too many WebSocket connections from this client, try again in a minute", data: null });
  expect((await upgrade("", { "cf-connecting-ip": "203.0.113.8" })).status).toBe(401);
});

/** A socket upgraded with this credential, and how it was closed once it is. */
async function socketOf(token: string): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const response = await upgrade("", { authorization: `Bearer ${token}` });
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`upgrade failed: ${response.status}`);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  socket.accept();
  return { socket, closed };
}

it("closes a user's socket beyond MAX_SOCKETS_PER_USER at once with close code 4429, and lets another user and a freed slot in", async () => {
  const sign = (userId: string) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(userId).setExpirationTime("5m").sign(JWT_SECRET);
  const token = await sign((await createUser()).user_id);
  const held = await Promise.all(Array.from({ length: 4 }, () => open("", { authorization: `Bearer ${token}` }))); // this project allows 4
  for (const ws of held) expect(await ws.request({ type: MessageType.Balance, data: {} })).toMatchObject({ type: MessageType.Balance });

  const fifth = await socketOf(token);
  expect(await fifth.closed).toEqual({ code: 4429, reason: "Too many sockets: at most 4 per user" });
  expect(held.every((ws) => !ws.closed)).toBe(true);

  // Another user is not counted against this one.
  const other = await open("", { authorization: `Bearer ${await sign((await createUser()).user_id)}` });
  expect(await other.request({ type: MessageType.Balance, data: {} })).toMatchObject({ type: MessageType.Balance });

  // A closed socket frees its slot.
  held[0]!.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const again = await open("", { authorization: `Bearer ${token}` });
  expect(await again.request({ type: MessageType.Balance, data: {} })).toMatchObject({ type: MessageType.Balance });
});
