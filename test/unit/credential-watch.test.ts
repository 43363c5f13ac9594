// The connection hub's credential watch: its one alarm follows the earliest JWT expiry among the hub's sockets, the
// alarm closes exactly the expired ones (code 4401) and sets itself for the next, and a revoked key closes exactly
// its own sockets. test/auth/revocation.test.ts runs the same through the hub in workerd.
import { describe, expect, it } from "vitest";
import { CredentialWatch, hasExpired, type WatchedSocket } from "../../src/transport/ws/credential-watch";
import { MemoryStorage } from "./memory-storage";

/** A socket that records how it was closed. */
function socket(keyId: string | null, expiresAt: number | null): WatchedSocket & { closedWith: [number, string][] } {
  const closedWith: [number, string][] = [];
  const fake = { close: (code: number, reason: string) => void closedWith.push([code, reason]) } as unknown as WebSocket;
  return { socket: fake, credential: { keyId, expiresAt }, closedWith };
}

describe("CredentialWatch", () => {
  it("sets the alarm for the earliest expiry of the sockets it accepts, and not at all for API keys", async () => {
    const storage = new MemoryStorage();
    const watch = new CredentialWatch(storage.asStorage());
    await watch.accepted({ keyId: "k1", expiresAt: null });
    expect(storage.alarm).toBeNull();
    await watch.accepted({ keyId: null, expiresAt: 5_000 });
    await watch.accepted({ keyId: null, expiresAt: 9_000 });
    expect(storage.alarm).toBe(5_000);
    await watch.accepted({ keyId: null, expiresAt: 2_000 });
    expect(storage.alarm).toBe(2_000);
  });

  it("closes the expired sockets when the alarm rings, and sets it for the next expiry", async () => {
    const storage = new MemoryStorage();
    const watch = new CredentialWatch(storage.asStorage());
    const [expired, atNow, later, key] = [socket(null, 1_000), socket(null, 2_000), socket(null, 7_000), socket("k1", null)];
    const ended = await watch.rang([expired, atNow, later, key], 2_000);
    expect(ended).toEqual([expired.socket, atNow.socket]);
    expect(expired.closedWith).toEqual([[4401, "Expired credential"]]);
    expect(atNow.closedWith).toEqual([[4401, "Expired credential"]]);
    expect([later.closedWith, key.closedWith]).toEqual([[], []]);
    expect(storage.alarm).toBe(7_000);
  });

  it("closes only the sockets of a revoked key", () => {
    const watch = new CredentialWatch(new MemoryStorage().asStorage());
    const [revoked, otherKey, jwt] = [socket("k1", null), socket("k2", null), socket(null, 9_000)];
    expect(watch.revoked([revoked, otherKey, jwt], "k1")).toEqual([revoked.socket]);
    expect(revoked.closedWith).toEqual([[4401, "Revoked credential"]]);
    expect([otherKey.closedWith, jwt.closedWith]).toEqual([[], []]);
  });

  it("counts a JWT as expired from its exp on, as jose does", () => {
    expect(hasExpired({ keyId: null, expiresAt: 1_000 }, 999)).toBe(false);
    expect(hasExpired({ keyId: null, expiresAt: 1_000 }, 1_000)).toBe(true);
    expect(hasExpired({ keyId: "k", expiresAt: null }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
