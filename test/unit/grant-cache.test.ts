// What a session keeps of its user's grants: warm turns read nothing, refusals are always re-checked, and the
// cache forgets on invalidation or after its lifetime.
import { describe, expect, it } from "vitest";
import { GrantCache, type ModelAccess } from "../../src/domain/accounts/grant-cache";
import type { ModelRef } from "../../src/storage/chat-store";

const model = { id: 4, name: "gpt-4-turbo", provider: "openai", contextLength: 128_000, inputMicrosPer1k: 10_000, outputMicrosPer1k: 30_000 };
const TTL = 60_000;

function grants(granted = true) {
  const reads: ModelRef[] = [];
  const state = { granted };
  const read = async (ref: ModelRef): Promise<ModelAccess> => {
    reads.push(ref);
    return { model, granted: state.granted };
  };
  return { reads, state, read };
}

describe("GrantCache", () => {
  it("reads a grant once, then answers warm turns from memory", async () => {
    const cache = new GrantCache(TTL);
    const { reads, read } = grants();
    expect(await cache.access(read, { id: 4 }, 0)).toEqual({ model, granted: true });
    expect(await cache.access(read, { id: 4 }, 1)).toEqual({ model, granted: true });
    expect(reads).toHaveLength(1);
  });

  it("re-checks a model that is not granted instead of refusing from memory", async () => {
    const cache = new GrantCache(TTL);
    const { reads, state, read } = grants(false);
    expect((await cache.access(read, { id: 4 }, 0))?.granted).toBe(false);
    state.granted = true;
    expect((await cache.access(read, { id: 4 }, 1))?.granted).toBe(true);
    expect(reads).toHaveLength(2);
  });

  it("reads again after invalidation and after its lifetime", async () => {
    const cache = new GrantCache(TTL);
    const { reads, read } = grants();
    await cache.access(read, { id: 4 }, 0);
    cache.invalidate();
    await cache.access(read, { id: 4 }, 1);
    await cache.access(read, { id: 4 }, TTL + 1);
    expect(reads).toHaveLength(3);
  });

  it("caches nothing for a user that does not exist", async () => {
    const cache = new GrantCache(TTL);
    expect(await cache.access(async () => null, { name: "gpt-4-turbo" }, 0)).toBeNull();
  });
});
