// Structured logs: one JSON line per HTTP request and one per turn, with the fields operators filter on.
import { afterEach, expect, it, vi } from "vitest";
import { backendFetch, chat, createUser, eventually, useSockets } from "./helpers/backend";

const open = useSockets();
afterEach(() => vi.restoreAllMocks());

function jsonLines(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls
    .map((args) => args[0])
    .filter((line): line is string => typeof line === "string" && line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.event === event);
}

it("logs each HTTP request as one JSON line: method, path, status, latency", async () => {
  const log = vi.spyOn(console, "log");
  expect((await backendFetch("/no-such-route")).status).toBe(404);
  expect(jsonLines(log, "request")).toContainEqual(expect.objectContaining({ method: "GET", path: "/no-such-route", status: 404, ms: expect.any(Number) }));
});

it("logs each turn as one JSON line: ids, model, turn, outcome code, latencies, charge", async () => {
  const log = vi.spyOn(console, "log");
  const { user_id } = await createUser();
  const ws = await open();
  const answer = await chat(ws, user_id, "NEW", "brief logged", {});
  const sessionId = answer.data?.session_id as string;
  await chat(ws, user_id, sessionId, "fail this one");
  await eventually(async () => {
    const turns = jsonLines(log, "turn").filter((t) => t.session_id === sessionId);
    expect(turns).toEqual([
      expect.objectContaining({ user_id, model: "gpt-4-turbo", turn: 0, code: 0, cancelled: false, replayed: false, reply_ms: expect.any(Number), agent_ms: expect.any(Number) }),
      expect.objectContaining({ user_id, model: "gpt-4-turbo", turn: 1, code: 6, reply_ms: null, charge_micros: 0 }),
    ]);
    expect(turns[0]!.charge_micros).toBeGreaterThan(0);
  });
});
