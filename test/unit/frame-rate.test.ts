// A socket's frame rate: bursts of twice the rate, then the rate itself.
import { expect, it } from "vitest";
import { FrameRate } from "../../src/transport/ws/frame-rate";

it("lets a burst of twice the rate through, then one frame per 1/rate seconds", () => {
  const rate = new FrameRate(5, 0);
  const burst = Array.from({ length: 12 }, () => rate.take(0));
  expect(burst.filter(Boolean)).toHaveLength(10);
  expect(rate.take(100)).toBe(false); // half a token
  expect(rate.take(200)).toBe(true);
  expect(rate.take(200)).toBe(false);
  expect(Array.from({ length: 20 }, () => rate.take(10_000)).filter(Boolean)).toHaveLength(10); // refilled, capped
});
