// Money is integer micro-dollars.
import { expect, it } from "vitest";
import { dollarsToMicros, microsToDollars, tokenCostMicros } from "../../src/domain/money";

it("converts dollars to whole micro-dollars and back", () => {
  expect(dollarsToMicros(1.234567)).toBe(1_234_567);
  expect(dollarsToMicros(0.1 + 0.2)).toBe(300_000);
  expect(microsToDollars(1_500_000)).toBe(1.5);
});

it("prices tokens by the model's micro-dollars per 1K, rounded to a whole micro-dollar", () => {
  expect(tokenCostMicros({ inputMicrosPer1k: 500, outputMicrosPer1k: 1_500 }, 1_000, 2_000)).toBe(3_500);
  expect(tokenCostMicros({ inputMicrosPer1k: 1, outputMicrosPer1k: 1 }, 1, 0)).toBe(0);
});
