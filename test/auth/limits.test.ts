// Abuse limits (this project runs with MAX_FRAMES_PER_SECOND=5 and 40 upgrades a minute): frames over the rate are answered
// with code 109, each exactly once, the socket stays open, and frames work again once the rate allows.
import { SignJWT } from "jose";
import { expect, it } from "vitest";
import { MessageType } from "../../src/transport/ws/frames";
import { createUser, upgrade, useSockets } from "../helpers/backend";
import { JWT_SECRET } from "../helpers/env";

const open = useSockets();

it("answers frames over the socket's rate with code 109, once each, and keeps the socket", async () => {
  const { user_id } = await createUser();
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(user_id).setExpirationTime("5m").sign(JWT_SECRET);
  const ws = await open("", { authorization: `Bearer ${token}` });
  for (let i = 0; i < 30; i++) ws.send({ type: MessageType.Balance, data: {}, id: String(i) });
  const answers = await Promise.all(Array.from({ length: 30 }, () => ws.next()));
  // Each frame answered exactly once. (Frames sent back to back can reach the hub out of order in this test
  // runtime; a socket's frames are answered in the order they arrive.)
  expect(answers.map((a) => Number(a.id)).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  const limited = answers.filter((a) => a.code === 109);
  expect(limited.length).toBeGreaterThan(0);
  expect(limited[0]).toMatchObject({ error: "Too many requests: at most 5 frames a second", type: MessageType.Balance });
  expect(answers.filter((a) => a.type === MessageType.Balance && a.code === undefined).length).toBeGreaterThanOrEqual(10);
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
