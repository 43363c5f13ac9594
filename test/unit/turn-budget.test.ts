// The money rules of a turn: what it reserves from the model's prices and the prompt, and what a reported cost charges.
import { describe, expect, it } from "vitest";
import { chargeForReportedCost, turnBudgetMicros } from "../../src/domain/accounts/turn-budget";

const gpt4 = { inputMicrosPer1k: 10_000, outputMicrosPer1k: 30_000 };
const limits = { maxOutputTokens: 1000, maxTurnCostMicros: 1_000_000 };

describe("turnBudgetMicros", () => {
  it("covers the turn and its summary: prompt tokens in, MAX_OUTPUT_TOKENS out, at the model's prices", () => {
    // 3,000 characters -> 1,000 tokens + 200 framing. Turn: 1,200 in, 1,000 out; summary: 2,200 in, 1,000 out.
    expect(turnBudgetMicros(gpt4, 3_000, limits)).toBe(12_000 + 30_000 + 22_000 + 30_000);
  });

  it("grows with the prompt and never exceeds MAX_TURN_COST", () => {
    expect(turnBudgetMicros(gpt4, 30_000, limits)).toBeGreaterThan(turnBudgetMicros(gpt4, 3_000, limits));
    expect(turnBudgetMicros(gpt4, 10_000_000, limits)).toBe(1_000_000);
  });
});

describe("chargeForReportedCost", () => {
  it("charges a sane reported cost as reported", () => {
    expect(chargeForReportedCost(0.001234, 50_000, 1_000_000)).toEqual({ chargeMicros: 1_234, adjusted: null });
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])("charges what is left of the reservation for a reported cost of %d, and says so", (cost) => {
    const charge = chargeForReportedCost(cost, 50_000, 1_000_000);
    expect(charge.chargeMicros).toBe(50_000);
    expect(charge.adjusted).toContain("not a cost");
  });

  it("caps a cost above MAX_TURN_COST, and one above the reservation", () => {
    expect(chargeForReportedCost(1e13, 5_000_000, 1_000_000)).toEqual({ chargeMicros: 1_000_000, adjusted: expect.stringContaining("MAX_TURN_COST") });
    expect(chargeForReportedCost(0.2, 50_000, 1_000_000)).toEqual({ chargeMicros: 50_000, adjusted: expect.stringContaining("reservation") });
  });
});
