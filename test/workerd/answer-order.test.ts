// Answers stay in request order on a socket (docs/protocol.md section 1.2): generated bursts of frames without ids,
// valid and invalid (malformed JSON, binary, unknown types, bad fields), slow turns and quick reads, cancels (which
// start at once), and frames over the socket's rate (109), reach a user's connection hub at once, and the n-th
// answer on the socket is the n-th frame's.
//
// The frames are handed to the hub in the order sent, as the runtime delivers a socket's frames: in these tests the
// pool wraps every Durable Object method in an RPC to its module runner first, so frames sent back to back through
// the socket reach webSocketMessage in a varying order (seen here in most bursts of 40), which production does not.
// The answers go out over the real socket opened through the Worker.
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { expect, it } from "vitest";
import { configOf } from "../../src/config";
import type { ConnectionHub } from "../../src/transport/ws/connection-hub";
import { MessageType } from "../../src/transport/ws/frames";
import { userHubId } from "../../src/transport/ws/socket-user";
import { createUser, useSockets, type Frame, type TestSocket } from "./helpers/backend";
import { testEnv } from "./helpers/env";

const open = useSockets();

/** Frames a socket may send at once (twice its rate, frame-rate.ts): the frames after them are over the rate, but
 *  for what the rate refills while they arrive. */
const BUCKET = 2 * configOf(testEnv).MAX_FRAMES_PER_SECOND;

/** A frame to send and what its answer must be when the frame is within the rate. */
interface Sent {
  raw: string | ArrayBuffer;
  answers(frame: Frame): boolean;
  /** Over the rate, a frame that parses as JSON is answered 109 instead, echoing its integer type. */
  type: number | undefined | "not-json";
}

const errorWith = (code: number, type?: number) => (frame: Frame) => frame.code === code && frame.type === type && typeof frame.error === "string" && !("id" in frame);
const replyOf = (type: number, check: (data: Record<string, unknown>) => boolean = () => true) => (frame: Frame) =>
  frame.type === type && !("error" in frame) && !("id" in frame) && check(frame.data ?? {});

function frames(userId: string, v2: boolean): fc.Arbitrary<Sent> {
  const json = (frame: unknown, answers: Sent["answers"], type: number | undefined): Sent => ({ raw: JSON.stringify(frame), answers, type });
  return fc.oneof(
    fc.constantFrom(MessageType.UserDetails, MessageType.SessionList, MessageType.ModelList, MessageType.Balance).map((type) =>
      json({ type, data: { user_id: userId } }, replyOf(type), type),
    ),
    // A turn keeps the answers behind it waiting for its agent; its reply says which turn it was.
    fc.tuple(fc.nat(999_999), fc.constantFrom("", "slow:150 ")).map(([n, slow]) => {
      const message = `${slow}brief ${n}`;
      const data = { user_id: userId, session_id: "NEW", model_name: "gpt-4-turbo", message };
      const reply = slow ? (d: Record<string, unknown>) => String(d.message).includes(`"message":"${message}"`) : (d: Record<string, unknown>) => d.message === `ok: ${message}`;
      return json({ type: MessageType.ChatMessage, data }, replyOf(MessageType.ChatMessage, reply), MessageType.ChatMessage);
    }),
    // A cancel starts at once, ahead of the frames before it; its answer does not (v1 does not know the type).
    fc.uuid().map((sessionId) =>
      json({ type: MessageType.CancelTurn, data: { user_id: userId, session_id: sessionId } }, v2 ? errorWith(101, MessageType.CancelTurn) : errorWith(1, MessageType.CancelTurn), MessageType.CancelTurn),
    ),
    fc.string({ maxLength: 12 }).map((text): Sent => ({ raw: `{not json ${text}`, answers: errorWith(0), type: "not-json" })),
    fc.constant<Sent>({ raw: new Uint8Array([1, 2, 3]).buffer, answers: errorWith(0), type: "not-json" }),
    fc.integer({ min: 20, max: 1000 }).map((type) => json({ type, data: {} }, errorWith(1, type), type)),
    fc.constantFrom<[unknown, number | undefined]>(
      [{ type: MessageType.UserDetails, data: { user_id: 12 } }, MessageType.UserDetails],
      [{ type: MessageType.ModelList }, MessageType.ModelList],
      [{ type: MessageType.ChatMessage, data: { user_id: userId, session_id: "not-a-uuid", message: "hi" } }, MessageType.ChatMessage],
      [{ type: "5", data: { user_id: userId } }, undefined],
    ).map(([frame, type]) => json(frame, errorWith(100, type), type)),
  );
}

/** The next frame that answers a request: a v2 socket also gets its turns' events, which answer nothing. */
async function nextAnswer(ws: TestSocket): Promise<Frame> {
  for (;;) {
    const frame = await ws.next();
    if (frame.type !== MessageType.TurnEvent || "error" in frame) return frame;
  }
}

/** Hands the frames to the hub of the user's socket one after another, without waiting for any answer. */
function deliver(userId: string, raws: readonly (string | ArrayBuffer)[]): Promise<void> {
  return runInDurableObject(testEnv.CONNECTIONS.get(userHubId(testEnv.CONNECTIONS, userId)), async (hub: ConnectionHub, state) => {
    const [socket] = state.getWebSockets();
    if (!socket) throw new Error("the hub holds no socket");
    await Promise.all(raws.map((raw) => hub.webSocketMessage(socket, raw)));
  });
}

it("answers every frame of a burst in the order sent, rate-limited and refused ones included", async () => {
  const seen = { overRate: 0, answered: 0 };
  const burst = fc.boolean().chain((v2) =>
    fc.record({
      v2: fc.constant(v2),
      // Binary frames ahead, each answered code 0 at once, that use up the rate (every frame counts), so that the
      // burst's frames from about the (BUCKET - drain)-th on are over it; or none.
      drain: fc.oneof(fc.constant(0), fc.integer({ min: BUCKET - 40, max: BUCKET + 40 })),
      sent: fc.array(frames("USER", v2), { minLength: 1, maxLength: 40 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(burst, async ({ v2, drain, sent: template }) => {
      // A user of its own per run: its hub holds this one socket, with a full rate bucket.
      const { user_id } = await createUser({ balance: 10 });
      const sent = template.map((frame) => (typeof frame.raw === "string" ? { ...frame, raw: frame.raw.replaceAll("USER", user_id) } : frame));
      const ws = await open(`?user_id=${user_id}${v2 ? "&v=2" : ""}`);
      const filler = new Uint8Array([0xff]).buffer;
      const delivered = deliver(user_id, [...Array.from({ length: drain }, () => filler), ...sent.map((frame) => frame.raw)]);
      for (let i = 0; i < drain; i++) expect(await nextAnswer(ws)).toMatchObject({ code: 0 });
      for (const [i, frame] of sent.entries()) {
        const answer = await nextAnswer(ws);
        // Over the rate once the drain has used it up (less what the clock refilled meanwhile): then 109 with its type.
        const overRate = frame.type !== "not-json" && answer.code === 109 && errorWith(109, frame.type)(answer);
        if (!overRate && !frame.answers(answer)) throw new Error(`answer ${i} ${JSON.stringify(answer)} is not the answer to ${String(frame.raw)}`);
        if (overRate) seen.overRate++;
        else seen.answered++;
      }
      await delivered;
      // Exactly one answer each: the next one answers the next request.
      ws.send({ type: MessageType.UserDetails, data: { user_id }, id: "last" });
      expect(await nextAnswer(ws)).toMatchObject({ id: "last" });
    }),
    { numRuns: 20, endOnFailure: true },
  );
  // Both kinds were tried.
  expect(seen.overRate).toBeGreaterThan(0);
  expect(seen.answered).toBeGreaterThan(0);
}, 60_000);
