// The credit lease on the real objects: a warm turn calls the user's account not at all (its session reserves
// against the money the account lent it; its charges reach the account once per commit batch, behind the reply),
// another session of the user gets money a first one holds unused (recalled), and the admin's change of the
// balance brings the leases back, so the next turn works from it.
import { afterEach, expect, it, vi } from "vitest";
import { CreditLease } from "../../src/domain/accounts/credit-lease";
import { UserAccount } from "../../src/domain/accounts/user-account";
import { admin, balanceMicros, chat, committed, createUser, useSockets } from "./helpers/backend";

const open = useSockets();
afterEach(() => vi.restoreAllMocks());

const sessionOf = (frame: { data?: Record<string, unknown> }) => frame.data?.session_id as string;

it("answers warm turns without calling the user's account, which hears of their charges once per commit batch", async () => {
  const { user_id } = await createUser({ balance: 100 });
  const ws = await open();
  const first = await chat(ws, user_id, "NEW", "cost:0.0015 first");
  const sessionId = sessionOf(first);
  await committed(sessionId);
  const calls = (["lend", "released", "leaseClosed", "accountChanged"] as const).map((method) => vi.spyOn(UserAccount.prototype, method));
  const batches = vi.spyOn(CreditLease.prototype, "committed");
  for (let i = 0; i < 4; i++) expect(await chat(ws, user_id, sessionId, `cost:0.0015 warm ${i}`)).not.toHaveProperty("error");
  await committed(sessionId);
  // No lend, on their path or behind it; the account heard only of their commit batches, at most once each.
  const [lend, released, ...others] = calls;
  expect(lend).not.toHaveBeenCalled();
  for (const call of others) expect(call).not.toHaveBeenCalled();
  expect(batches).toHaveBeenCalled();
  expect(released!.mock.calls.length).toBeLessThanOrEqual(batches.mock.calls.length);
});

it("lends a second session what the first holds unused, and takes the admin's new balance at once", async () => {
  // Enough for a few turns: the first session is lent all of it, the second gets it by recall.
  const { user_id } = await createUser({ balance: 1 });
  const [a, b] = await Promise.all([open(), open()]);
  const first = await chat(a, user_id, "NEW", "cost:0.0015 first");
  expect(first).not.toHaveProperty("error");
  expect(await chat(b, user_id, "NEW", "cost:0.0015 second")).not.toHaveProperty("error");
  await committed(sessionOf(first));

  // The admin sets the balance to nothing: the leases come back, and the next turn is refused.
  expect((await admin("PATCH", `/admin/users/${user_id}`, { balance: 0 })).status).toBe(200);
  expect(await chat(a, user_id, sessionOf(first), "cost:0.0015 after")).toMatchObject({ code: 15 });
  expect(await balanceMicros(user_id)).toBe(0);
});
