// What a session keeps of its user's account: warm turns read nothing, refusals are always re-checked, charges
// are tracked exactly, and the cache forgets on invalidation or after its lifetime.
import { describe, expect, it } from "vitest";
import { AccountCache } from "../../src/domain/session/account-cache";
import type { ModelRef, TurnAuthorization } from "../../src/storage/chat-store";

const model = { id: 4, name: "gpt-4-turbo", provider: "openai", contextLength: 128_000, inputMicrosPer1k: 10_000, outputMicrosPer1k: 30_000 };
const TTL = 60_000;

function account(balanceMicros: number, granted = true) {
  const reads: ModelRef[] = [];
  const state = { balanceMicros, granted };
  const read = async (ref: ModelRef): Promise<TurnAuthorization> => {
    reads.push(ref);
    return { balanceMicros: state.balanceMicros, model, granted: state.granted };
  };
  return { reads, state, read };
}

describe("AccountCache", () => {
  it("reads the account once, then answers warm turns from memory with this session's charges taken off", async () => {
    const cache = new AccountCache(TTL);
    const { reads, read } = account(1_000);
    expect((await cache.authorize(read, { id: 4 }, 0))?.balanceMicros).toBe(1_000);
    cache.debit(300);
    expect((await cache.authorize(read, { id: 4 }, 1))?.balanceMicros).toBe(700);
    expect(reads).toHaveLength(1);
  });

  it("re-checks storage before refusing, so a top-up counts at once", async () => {
    const cache = new AccountCache(TTL);
    const { reads, state, read } = account(100);
    await cache.authorize(read, { id: 4 }, 0);
    cache.debit(100); // the cached balance is now 0: a refusal
    state.balanceMicros = 5_000; // topped up behind the session's back
    expect((await cache.authorize(read, { id: 4 }, 1))?.balanceMicros).toBe(5_000);
    expect(reads).toHaveLength(2);
  });

  it("re-checks a model that is not granted instead of refusing from memory", async () => {
    const cache = new AccountCache(TTL);
    const { reads, state, read } = account(1_000, false);
    expect((await cache.authorize(read, { id: 4 }, 0))?.granted).toBe(false);
    state.granted = true;
    expect((await cache.authorize(read, { id: 4 }, 1))?.granted).toBe(true);
    expect(reads).toHaveLength(2);
  });

  it("takes the lowest balance the database reports, whatever order the reports arrive in", async () => {
    const cache = new AccountCache(TTL);
    const { read } = account(1_000);
    await cache.authorize(read, { id: 4 }, 0);
    cache.charged(600);
    cache.charged(800); // an older commit's report arriving late
    expect((await cache.authorize(read, { id: 4 }, 1))?.balanceMicros).toBe(600);
  });

  it("reads again after invalidation and after its lifetime", async () => {
    const cache = new AccountCache(TTL);
    const { reads, read } = account(1_000);
    await cache.authorize(read, { id: 4 }, 0);
    cache.invalidate();
    await cache.authorize(read, { id: 4 }, 1);
    await cache.authorize(read, { id: 4 }, TTL + 1);
    expect(reads).toHaveLength(3);
  });

  it("forgets everything when the user does not exist", async () => {
    const cache = new AccountCache(TTL);
    expect(await cache.authorize(async () => null, { name: "gpt-4-turbo" }, 0)).toBeNull();
  });
});
