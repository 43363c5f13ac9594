// Garbage creates nothing (issue 19): frames of a real user naming sessions that do not exist (random ids, ids
// shaped like this backend's own, deleted sessions) are answered 101 before any session object wakes, so no
// session object and no row is created; an upload into such a session likewise.
import { listDurableObjectIds } from "cloudflare:test";
import fc from "fast-check";
import { expect, it } from "vitest";
import { ErrorCode, MessageType } from "../../protocol";
import { chat, createUser, query, storedObjects, upload, useSockets } from "./helpers/backend";
import { testEnv } from "./helpers/env";

const open = useSockets();

async function snapshot() {
  const [rows] = await query<Record<string, number>>(
    `select (select count(*) from sessions) as sessions, (select count(*) from messages) as messages,
       (select count(*) from files) as files, (select count(*) from cost_ledger) as ledger`,
  );
  return { rows, sessionObjects: (await listDurableObjectIds(testEnv.SESSIONS)).length, r2: (await storedObjects()).length };
}

/** Ids no session has: any UUID version, and version 8 ids shaped like the backend's own but not issued to the user. */
const unknownSession = fc.oneof(fc.uuid(), fc.uuid().map((id) => `${id.slice(0, 14)}8${id.slice(15)}`));
const sessionFrame = (deleted: string) => fc.record({
  type: fc.constantFrom(MessageType.SessionChats, MessageType.ChatMessage, MessageType.DeleteSession, MessageType.ResumeTurn, MessageType.CancelTurn),
  sessionId: fc.oneof(unknownSession, fc.constant(deleted)),
});

it("answers frames of a real user naming sessions that do not exist with 101, creating no session object or row", async () => {
  const { user_id } = await createUser();
  // A session that did exist: deleted, its id is as unknown as any other.
  const setup = await open();
  const deleted = (await chat(setup, user_id, "NEW", "soon deleted")).data?.session_id as string;
  expect(await setup.request({ type: MessageType.DeleteSession, data: { user_id, session_id: deleted } })).toEqual({ type: MessageType.DeleteSession, data: { user_id } });
  const ws = await open("?v=2");
  const before = await snapshot();
  let frames = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(sessionFrame(deleted), { minLength: 1, maxLength: 20 }), async (batch) => {
      for (const { type, sessionId } of batch) {
        const answer = await ws.request({
          type,
          id: `g${frames++}`,
          data: { user_id, session_id: sessionId, model_name: "gpt-4-turbo", message: "hello", session_prompt: "", turn: 0, after_seq: -1 },
        });
        expect(answer).toMatchObject({ code: ErrorCode.SessionNotFound, type });
      }
    }),
    { numRuns: 40 },
  );
  const uploaded = await upload({ file: { bytes: "x", name: "x.txt", type: "text/plain" }, user_id, session_id: crypto.randomUUID(), model_name: "gpt-4-turbo" });
  expect(uploaded.status).toBe(404);
  expect(await snapshot()).toEqual(before);
  expect(frames).toBeGreaterThan(40);
});

it("still reaches a session another connection just created, before the database has it", async () => {
  const { user_id } = await createUser();
  const first = await open();
  const created = await chat(first, user_id, "NEW", "made on the first socket");
  const sessionId = created.data?.session_id as string;
  // Another socket (another hub) at once: the turn may not be committed yet, but the id was issued to this user.
  const second = await open();
  expect(await chat(second, user_id, sessionId, "continued on the second")).toMatchObject({ type: MessageType.ChatMessage, data: { session_id: sessionId } });
});
