// The money rules of a turn: what it reserves from the model's prices and the prompt, what a reported cost charges,
// and what a cancelled turn charges.
import { describe, expect, it } from "vitest";
import { chargeForCancelledTurn, chargeForReportedCost, reservationFits, turnBudgetMicros } from "../../src/domain/session/turn/charging";

const gpt4 = { inputMicrosPer1k: 10_000, outputMicrosPer1k: 30_000 };
const limits = { maxOutputTokens: 1000, maxTurnCostMicros: 1_000_000 };
const room = (leftMicros: number, maxTurnCostMicros: number) => ({ leftMicros, maxTurnCostMicros });

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

describe("reservationFits", () => {
  it("lets a turn run only when all of its reservation is spendable", () => {
    expect(reservationFits(677_460, 677_460)).toBe(true);
    expect(reservationFits(677_459, 677_460)).toBe(false);
    expect(reservationFits(1, 290_800)).toBe(false);
    expect(reservationFits(0, 0)).toBe(false);
  });
});

describe("chargeForReportedCost", () => {
  it("charges a sane reported cost as reported", () => {
    expect(chargeForReportedCost(0.001234, room(50_000, 1_000_000))).toEqual({ chargeMicros: 1_234, adjusted: null });
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])("charges what is left of the reservation for a reported cost of %d, and says so", (cost) => {
    const charge = chargeForReportedCost(cost, room(50_000, 1_000_000));
    expect(charge.chargeMicros).toBe(50_000);
    expect(charge.adjusted).toContain("not a cost");
  });

  it("caps a cost above MAX_TURN_COST, and one above the reservation", () => {
    expect(chargeForReportedCost(1e13, room(5_000_000, 1_000_000))).toEqual({ chargeMicros: 1_000_000, adjusted: expect.stringContaining("MAX_TURN_COST") });
    expect(chargeForReportedCost(0.2, room(50_000, 1_000_000))).toEqual({ chargeMicros: 50_000, adjusted: expect.stringContaining("reservation") });
  });
});

describe("chargeForCancelledTurn", () => {
  // A 58,000-character prompt: 14,500 tokens at 10 micro-dollars each.
  const heavy = { promptChars: 58_000, deliveredChars: 0, reportedDollars: 0 };

  it("charges a cancel before the first piece its prompt: characters / 4, rounded up, at the input price", () => {
    expect(chargeForCancelledTurn(heavy, gpt4, room(700_000, 1_000_000))).toEqual({ chargeMicros: 145_000, adjusted: null });
    expect(chargeForCancelledTurn({ ...heavy, promptChars: 58_001 }, gpt4, room(700_000, 1_000_000)).chargeMicros).toBe(145_010);
  });

  it("adds the output delivered at the output price", () => {
    // 384 characters delivered: 96 tokens at 30 micro-dollars.
    expect(chargeForCancelledTurn({ ...heavy, deliveredChars: 384 }, gpt4, room(700_000, 1_000_000)).chargeMicros).toBe(145_000 + 2_880);
  });

  it("charges what the agent reported when that is more, and the estimate when the report is less", () => {
    expect(chargeForCancelledTurn({ ...heavy, deliveredChars: 448, reportedDollars: 0.14842 }, gpt4, room(700_000, 1_000_000))).toEqual({ chargeMicros: 148_420, adjusted: null });
    expect(chargeForCancelledTurn({ ...heavy, deliveredChars: 448, reportedDollars: 0.001 }, gpt4, room(700_000, 1_000_000)).chargeMicros).toBe(145_000 + 3_360);
  });

  it("never charges more than the reservation or MAX_TURN_COST, and says so", () => {
    expect(chargeForCancelledTurn(heavy, gpt4, room(100_000, 1_000_000))).toEqual({ chargeMicros: 100_000, adjusted: expect.stringContaining("reservation") });
    expect(chargeForCancelledTurn(heavy, gpt4, room(700_000, 50_000))).toEqual({ chargeMicros: 50_000, adjusted: expect.stringContaining("MAX_TURN_COST") });
    expect(chargeForCancelledTurn({ ...heavy, reportedDollars: 5 }, gpt4, room(700_000, 1_000_000)).chargeMicros).toBe(700_000);
  });

  it("charges the reservation for a reported cost that is not a cost, as for any turn", () => {
    expect(chargeForCancelledTurn({ ...heavy, reportedDollars: Number.NaN }, gpt4, room(700_000, 1_000_000)).chargeMicros).toBe(700_000);
  });
});
