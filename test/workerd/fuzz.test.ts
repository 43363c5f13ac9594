// Property-based: thousands of generated bad frames and uploads (unknown users, malformed ids and fields, junk,
// wrong types) are each answered exactly once with an error code, the socket stays open, and nothing is stored:
// no row changes, no session or account object is created, no file reaches R2.
import { listDurableObjectIds } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, expect, it } from "vitest";
import { ErrorCode, MessageType } from "../../protocol";
import { backendFetch, createUser, query, storedObjects, uploadForm, useSockets } from "./helpers/backend";
import { testEnv } from "./helpers/env";

const open = useSockets();
/** Bounded per CI run: frames = FRAME_RUNS x up to 40 (about 2,500), uploads = UPLOAD_RUNS. */
const FRAME_RUNS = 120;
const UPLOAD_RUNS = 300;
const codes = new Set<number>(Object.values(ErrorCode));

let known: string;
beforeAll(async () => {
  known = (await createUser()).user_id;
});

/** Everything a frame or upload could change. */
async function snapshot() {
  const [rows] = await query<Record<string, number>>(
    `select (select count(*) from users) as users, (select sum(balance_micros) from users) as balances,
       (select count(*) from sessions) as sessions, (select count(*) from messages) as messages,
       (select count(*) from files) as files, (select count(*) from cost_ledger) as ledger`,
  );
  return {
    rows,
    sessionObjects: (await listDurableObjectIds(testEnv.SESSIONS)).length,
    accountObjects: (await listDurableObjectIds(testEnv.ACCOUNTS)).length,
    r2: (await storedObjects()).length,
  };
}

const otherUser = fc.oneof(fc.uuid(), fc.string({ maxLength: 30 }), fc.constant(""), fc.integer(), fc.constant(null), fc.string({ minLength: 201, maxLength: 260 }));
const sessionId = fc.oneof(fc.constant("NEW"), fc.uuid(), fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null));
const fields = (userId: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      user_id: userId,
      session_id: sessionId,
      message: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(""), fc.integer()),
      model_name: fc.oneof(fc.constant("gpt-4-turbo"), fc.string({ maxLength: 20 }), fc.constant(null)),
      model_id: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.string({ maxLength: 3 })),
      file_name: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
      session_prompt: fc.string({ maxLength: 20 }),
    },
    { requiredKeys: [] },
  );
/** Frames that may reach a session object carry a user who does not exist; the real user only reads. */
const frame = fc.oneof(
  fc.record({ type: fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(2, 3, 4)), data: fields(otherUser), id: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }) }),
  fc.record({ type: fc.constantFrom(0, 1, 5, 6), data: fields(fc.constant(null).map(() => known)) }),
  fc.record({ type: fc.oneof(fc.double(), fc.string({ maxLength: 3 }), fc.constant(null)), data: fc.jsonValue() }),
).map((f) => JSON.stringify(f));
const junk = fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue().map((v) => JSON.stringify(v)), fc.constantFrom("{", "[]", "null", '{"type":3}', '{"type":3,"data":[]}'));

it(`answers every generated frame exactly once with a code, keeps the socket open, and stores nothing`, async () => {
  const before = await snapshot();
  const ws = await open();
  let frames = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: junk }), { minLength: 1, maxLength: 40, size: "max" }), async (batch) => {
      for (const raw of batch) {
        const answer = await ws.request(raw);
        frames++;
        const ok = typeof answer.code === "number" ? codes.has(answer.code) && typeof answer.error === "string" : typeof answer.type === "number";
        if (!ok) throw new Error(`bad answer ${JSON.stringify(answer)} to ${raw}`);
        // Only the real user's reads succeed.
        if (answer.code === undefined && (answer.data as { user_id?: string } | undefined)?.user_id !== undefined) {
          expect((answer.data as { user_id: string }).user_id).toBe(known);
        }
      }
    }),
    { numRuns: FRAME_RUNS },
  );
  // Exactly once: the next answer is this frame's.
  expect(await ws.request({ type: MessageType.UserDetails, data: { user_id: known }, id: "sentinel" })).toMatchObject({ id: "sentinel", type: 0 });
  expect(ws.closed).toBe(false);
  expect(frames).toBeGreaterThan(FRAME_RUNS);
  expect(await snapshot()).toEqual(before);
  console.log(`fuzz: ${frames} frames answered once each`);
});

const uploadFields = fc.record(
  {
    // (a name ending in a backslash cannot even be put in a FormData)
    file: fc.option(fc.record({ bytes: fc.string({ maxLength: 200 }), name: fc.string({ maxLength: 30 }).filter((n) => !n.endsWith("\\")), type: fc.string({ maxLength: 20 }) }), { nil: undefined }),
    user_id: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 30 })), { nil: undefined }),
    session_id: fc.option(fc.oneof(fc.constant("NEW"), fc.uuid(), fc.string({ maxLength: 40 })), { nil: undefined }),
    model_name: fc.option(fc.oneof(fc.constant("gpt-4-turbo"), fc.string({ maxLength: 20 })), { nil: undefined }),
    session_prompt: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  },
  { requiredKeys: [] },
);

it("refuses every generated bad upload with a 4xx and a message, storing nothing", async () => {
  const before = await snapshot();
  let uploads = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(uploadFields.map((f) => ({ form: f, raw: null })), fc.string({ maxLength: 200 }).map((raw) => ({ form: null, raw }))), async ({ form, raw }) => {
      const body = form ? uploadForm(form) : raw;
      const headers: Record<string, string> = form ? {} : { "content-type": "multipart/form-data; boundary=x" };
      const response = await backendFetch("/upload", { method: "POST", headers, body });
      uploads++;
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(await response.json()).toMatchObject({ message: expect.any(String), data: null });
    }),
    { numRuns: UPLOAD_RUNS },
  );
  expect(await snapshot()).toEqual(before);
  console.log(`fuzz: ${uploads} uploads refused`);
});
